// The wrappers are inline in include/ckernel.h; SwiftPM needs one source file per C target.
#include "ckernel.h"
