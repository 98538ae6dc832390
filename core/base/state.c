#include "base/state.h"

#include <string.h>

#include "base/util.h"

int state_alloc(struct ant_train_state *s, const struct ant_model_config *c)
{
    memset(s, 0, sizeof *s);
    s->model = *c;
    ant_layout_init(&s->layout, c);
    size_t n = s->layout.total;
    s->weights = ant_falloc(n);
    s->grads = ant_falloc(n);
    s->m = ant_falloc(n);
    s->v = ant_falloc(n);
    if (!s->weights || !s->grads || !s->m || !s->v) {
        state_free(s);
        return -1;
    }
    return 0;
}

void state_free(struct ant_train_state *s)
{
    ant_ffree(s->weights);
    ant_ffree(s->grads);
    ant_ffree(s->m);
    ant_ffree(s->v);
    s->weights = s->grads = s->m = s->v = NULL;
}

void state_init_weights(struct ant_train_state *s, uint64_t seed, double std)
{
    struct ant_rng r;
    rng_seed(&r, seed);
    const struct ant_layout *lay = &s->layout;
    for (int t = 0; t < ANT_N_TENSORS; t++) {
        size_t n = lay->per_layer[t] * (lay->layered[t] ? (size_t)s->model.n_layers : 1);
        float *p = s->weights + lay->offset[t];
        for (size_t i = 0; i < n; i++)
            p[i] = ant_tensor_is_norm(t) ? 1.0f : (float)(rng_normal(&r) * std);
    }
}
