#include "train/optim.h"

#include <math.h>
#include <string.h>

/* Loops below work in blocks of BLOCK floats with a scalar tail: a loop whose trip count
 * is a known multiple of the vector width is vectorized even by GCC's -O2 cost model,
 * which refuses loops that would need a runtime-sized epilogue. (This file is built with
 * -fno-math-errno, see ckpt.mk: otherwise sqrtf's errno path blocks vectorization.) */
#define BLOCK 16

#define PI 3.14159265358979323846

double sched_lr(const struct ant_train_opts *o, long step)
{
    if (step < o->warmup_steps) return o->lr * (double)(step + 1) / (double)o->warmup_steps;
    if (strcmp(o->schedule, "constant") == 0) return o->lr;
    /* config_validate admits only "cosine" and "constant". */
    long decay_steps = o->steps - o->warmup_steps;
    double progress = decay_steps > 0 ? (double)(step - o->warmup_steps) / (double)decay_steps : 1.0;
    if (progress < 0) progress = 0;
    if (progress > 1) progress = 1;
    return o->min_lr + 0.5 * (o->lr - o->min_lr) * (1.0 + cos(PI * progress));
}

double grad_global_norm(const float *g, size_t n)
{
    /* Independent partial sums let the loop vectorize without reassociating it. */
    double acc[BLOCK] = {0};
    size_t i = 0;
    for (; i + BLOCK <= n; i += BLOCK)
        for (int j = 0; j < BLOCK; j++) acc[j] += (double)g[i + j] * g[i + j];
    double sum = 0;
    for (; i < n; i++) sum += (double)g[i] * g[i];
    for (int j = 0; j < BLOCK; j++) sum += acc[j];
    return sqrt(sum);
}

static void scale(float *g, size_t n, float c)
{
    size_t i = 0;
    for (; i + BLOCK <= n; i += BLOCK)
        for (int j = 0; j < BLOCK; j++) g[i + j] *= c;
    for (; i < n; i++) g[i] *= c;
}

void grad_clip(float *g, size_t n, double norm, double max_norm)
{
    /* A non-finite norm leaves g alone for the caller to see and refuse (PyTorch would
     * turn an Inf norm into all-zero or NaN gradients). */
    if (!(max_norm > 0) || !isfinite(norm)) return;
    /* torch.nn.utils.clip_grad_norm_: coef = max/(norm + 1e-6), clamped to 1, in fp32. */
    float coef = (float)(max_norm / (norm + 1e-6));
    if (norm > max_norm && coef < 1.0f) scale(g, n, coef);
}

/* Per-step constants of the AdamW update, rounded to fp32 as PyTorch does when it
 * passes Python scalars to fp32 tensor ops. */
struct adamw_k {
    float decay;       /* 1 - lr*wd, or 1 for norm weights */
    float lerp_w;      /* 1 - beta1: weight of exp_avg.lerp_(grad, w) */
    float lerp_w1;     /* w - 1: the form lerp uses when w >= 0.5 */
    float beta2, one_m_beta2;
    float inv_bc2_sqrt;/* 1/sqrt(1 - beta2^t): a multiply instead of a division */
    float eps;
    float neg_step;    /* -lr / (1 - beta1^t) */
};

/* The update of n elements, in PyTorch _single_tensor_adamw's order of operations:
 *   p.mul_(1 - lr*wd); m.lerp_(g, 1-b1); v.mul_(b2).addcmul_(g, g, 1-b2);
 *   denom = (v.sqrt() / sqrt(bc2)).add_(eps); p.addcdiv_(m, denom, -lr/bc1).
 * lerp(a, b, w) is a + w*(b-a) for w < 0.5 and b + (w-1)*(b-a) otherwise (ATen). */
static inline void adamw_span(float *restrict p, const float *restrict g, float *restrict m,
                              float *restrict v, size_t n, const struct adamw_k k, int lerp_big)
{
    for (size_t i = 0; i < n; i++) {
        float gi = g[i], mi = m[i];
        float pi = p[i] * k.decay;
        mi = lerp_big ? gi + k.lerp_w1 * (gi - mi) : mi + k.lerp_w * (gi - mi);
        float vi = v[i] * k.beta2 + k.one_m_beta2 * gi * gi;
        float denom = sqrtf(vi) * k.inv_bc2_sqrt + k.eps;
        p[i] = pi + k.neg_step * mi / denom;
        m[i] = mi;
        v[i] = vi;
    }
}

static void adamw_tensor(float *p, const float *g, float *m, float *v, size_t n,
                         const struct adamw_k *k)
{
    int big = !(k->lerp_w < 0.5f);
    size_t i = 0;
    /* Two instantiations so the lerp form is fixed inside each vectorized block. */
    if (big)
        for (; i + BLOCK <= n; i += BLOCK) adamw_span(p + i, g + i, m + i, v + i, BLOCK, *k, 1);
    else
        for (; i + BLOCK <= n; i += BLOCK) adamw_span(p + i, g + i, m + i, v + i, BLOCK, *k, 0);
    adamw_span(p + i, g + i, m + i, v + i, n - i, *k, big);
}

void adamw_step(struct ant_train_state *s, const struct ant_train_opts *o, double lr)
{
    double t = (double)s->step + 1;
    double bc1 = 1.0 - pow(o->beta1, t), bc2 = 1.0 - pow(o->beta2, t);
    struct adamw_k k = {
        .lerp_w = (float)(1.0 - o->beta1),
        .lerp_w1 = (float)(1.0 - o->beta1) - 1.0f,
        .beta2 = (float)o->beta2,
        .one_m_beta2 = (float)(1.0 - o->beta2),
        .inv_bc2_sqrt = (float)(1.0 / sqrt(bc2)),
        .eps = (float)o->eps,
        .neg_step = (float)(-lr / bc1),
    };
    const struct ant_layout *lay = &s->layout;
    for (int t_id = 0; t_id < ANT_N_TENSORS; t_id++) {
        size_t off = lay->offset[t_id];
        size_t n = lay->per_layer[t_id] * (lay->layered[t_id] ? (size_t)s->model.n_layers : 1);
        k.decay = ant_tensor_is_norm(t_id) ? 1.0f : (float)(1.0 - lr * o->weight_decay);
        adamw_tensor(s->weights + off, s->grads + off, s->m + off, s->v + off, n, &k);
    }
}
