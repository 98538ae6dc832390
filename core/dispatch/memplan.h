/* The memory plan: before a backend opens, the core adds what the run will hold (the
 * training state: weights, gradients, two AdamW moments) to what the backend says it
 * will allocate (memory_bytes in the ABI) and compares the sum with the machine's
 * memory, so a run that cannot fit is refused with the figures instead of swapping or
 * being killed halfway. */
#ifndef ANT_MEMPLAN_H
#define ANT_MEMPLAN_H

#include <stddef.h>
#include <stdint.h>

/* The machine's memory in bytes: $ANETRAIN_MEMORY ("512M", "16G", bytes) when set (to
 * test or to leave room for other work), else the physical memory (hw.memsize on macOS,
 * sysconf elsewhere); 0 when unknown. */
uint64_t memplan_machine_bytes(void);
/* Log the plan for backend `name`; -1 with the figures in why when state + backend
 * bytes exceed 90% of the machine's memory. */
int memplan_check(const char *name, uint64_t state, uint64_t backend, char *why, size_t n);

#endif
