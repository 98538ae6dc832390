/* The training state the core owns and checkpoints: everything that must survive a
 * backend change or a restart (DESIGN.md "Who owns what"). */
#ifndef ANT_STATE_H
#define ANT_STATE_H

#include <anetrain/model.h>
#include <stdint.h>

#include "base/rng.h"

/* Where the data order stands: the next sequential position and the random stream
 * that picks random windows. Checkpointed so resume continues bit-exactly. */
struct ant_cursor {
    uint64_t position;
    struct ant_rng rng;
};

struct ant_train_state {
    struct ant_model_config model;
    struct ant_layout layout;
    float *weights;   /* fp32 master weights [layout.total] */
    float *grads;     /* [layout.total] */
    float *m, *v;     /* AdamW moments [layout.total] */
    long step;        /* optimizer steps completed */
    struct ant_cursor cursor;
    uint64_t tokens_seen;     /* over all data-parallel ranks */
    int dp_ranks;             /* data-parallel ranks sharing the cursor (train/dp.h); 0, 1: one */
};

/* Allocate the four buffers (zeroed) for model c; -1 on out of memory. */
int state_alloc(struct ant_train_state *s, const struct ant_model_config *c);
void state_free(struct ant_train_state *s);
/* Random init the llama2.c way: matrices ~ N(0, std), norms = 1. */
void state_init_weights(struct ant_train_state *s, uint64_t seed, double std);

#endif
