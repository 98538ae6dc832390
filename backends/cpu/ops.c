#include "ops.h"
void ops_dummy(void) {}
