#include "control/xfr/tsig.h"
// Placeholder: implemented by the TSIG work in progress.
