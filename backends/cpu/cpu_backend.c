#include <anetrain/backend.h>
#include <stddef.h>
#include "ops.h"
static int probe(const struct ant_host *h, const struct ant_chip *c, int *prio, const char **why)
{ *prio = 10; (void)h; (void)c; (void)why; ops_dummy(); return 0; }
static const struct ant_backend cpu = {
    ANT_ABI_MAJOR, ANT_ABI_MINOR, sizeof(struct ant_backend), "cpu", "fp32 reference on OpenBLAS",
    NULL, probe, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
};
int ant_backend_entry(const struct ant_host *host, const struct ant_backend **out)
{ (void)host; *out = &cpu; return 0; }
