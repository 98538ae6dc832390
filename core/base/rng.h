/* Deterministic random numbers (xoshiro256**, seeded by splitmix64): the same stream
 * on every platform, and a state small enough to checkpoint whole. */
#ifndef ANT_RNG_H
#define ANT_RNG_H

#include <stdint.h>

struct ant_rng {
    uint64_t s[4];
};

void rng_seed(struct ant_rng *r, uint64_t seed);
uint64_t rng_next(struct ant_rng *r);
uint64_t rng_below(struct ant_rng *r, uint64_t n);   /* uniform in [0, n), n > 0 */
double rng_uniform(struct ant_rng *r);               /* uniform in [0, 1) */
double rng_normal(struct ant_rng *r);                /* standard normal (Box-Muller) */

#endif
