/* Random model weights for the format tests: every element N(0, 1) times scale, drawn
 * from seed in ant_layout order. Header-only; ant_ffree the result. */
#ifndef ANT_TEST_WEIGHTS_H
#define ANT_TEST_WEIGHTS_H

#include <anetrain/model.h>

#include "base/rng.h"
#include "base/util.h"

static inline float *test_random_weights(const struct ant_model_config *c, uint64_t seed, float scale)
{
    struct ant_layout lay;
    ant_layout_init(&lay, c);
    float *w = ant_falloc(lay.total);
    struct ant_rng r;
    rng_seed(&r, seed);
    for (size_t i = 0; w && i < lay.total; i++) w[i] = (float)rng_normal(&r) * scale;
    return w;
}

#endif
