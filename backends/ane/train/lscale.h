/* Dynamic loss scaling for fp16 gradients (docs/ane.md "Numerics"): the backward pass
 * runs on gradients multiplied by `scale` so small ones do not flush to zero in fp16
 * (upstream lost convergence to exactly that, §11 926f977). A non-finite gradient
 * halves the scale and the same batch is redone; `growth_interval` clean steps in a row
 * double it, up to max. */
#ifndef ANE_TRAIN_LSCALE_H
#define ANE_TRAIN_LSCALE_H

#include <stddef.h>

struct at_lscale {
    float scale, min_scale, max_scale;
    int growth_interval;
    int clean;            /* clean steps since the last change */
    long backoffs, growths;
};

void at_lscale_init(struct at_lscale *ls, float scale, int growth_interval);
/* After a step's gradients were checked. Returns 1 when the step must be redone at the
 * new (halved) scale, 0 when it stands, -1 when the scale is already at its minimum. */
int at_lscale_update(struct at_lscale *ls, int finite);
/* at_lscale_update for the n gradients in g (finite when every one is). */
int at_lscale_check(struct at_lscale *ls, const float *g, size_t n);
/* The scale and its counters as one line of text (the ABI's save_state), and back: a
 * resumed or restarted run goes on with the scale it had. load returns -1 on a line it
 * cannot read; a scale outside [min, max] is clamped. */
int at_lscale_save(const struct at_lscale *ls, char *buf, size_t cap);
int at_lscale_load(struct at_lscale *ls, const char *line);

#endif
