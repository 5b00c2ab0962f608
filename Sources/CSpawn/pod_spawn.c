#include "pod_spawn.h"
int podspawn_placeholder(void) { return 0; }
