enum SpawnPlaceholder {}
