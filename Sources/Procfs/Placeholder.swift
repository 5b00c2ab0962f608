enum ProcfsPlaceholder {}
