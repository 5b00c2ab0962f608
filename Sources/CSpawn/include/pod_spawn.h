#pragma once
int podspawn_placeholder(void);
