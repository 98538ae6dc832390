/* The services the core hands every backend (struct ant_host of anetrain/backend.h). */
#ifndef ANT_HOST_H
#define ANT_HOST_H

#include <anetrain/backend.h>

const struct ant_host *host_get(void);

#endif
