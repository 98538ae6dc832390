/* The optimizer against independent references: a double-precision transcription of
 * torch.optim.AdamW, hand-computed AdamW steps, clipping and LR schedule values. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "train/optim.h"
#include "base/rng.h"
#include "base/state.h"
#include "tap.h"

static const struct ant_model_config tiny = {
    .dim = 8, .hidden_dim = 16, .n_layers = 2, .n_heads = 2, .n_kv_heads = 1,
    .vocab_size = 11, .seq_len = 4, .shared_classifier = 0, .rope_theta = 10000, .norm_eps = 1e-5f,
};

static struct ant_train_opts opts(double lr, double wd)
{
    struct ant_train_opts o;
    memset(&o, 0, sizeof o);
    o.lr = lr, o.min_lr = lr / 10, o.steps = 20, o.warmup_steps = 2;
    strcpy(o.schedule, "cosine");
    o.beta1 = 0.9, o.beta2 = 0.95, o.eps = 1e-8, o.weight_decay = wd;
    return o;
}

/* Tensor id of flat index i (for the decay rule in the reference). */
static int tensor_of(const struct ant_layout *lay, size_t i)
{
    int t = ANT_N_TENSORS - 1;
    while (t > 0 && lay->offset[t] > i) t--;
    return t;
}

/* torch.optim.AdamW (_single_tensor_adamw) in double precision, written from its
 * documented algorithm: decoupled decay, then moments, then the bias-corrected step. */
static void ref_adamw(double *p, const double *g, double *m, double *v, size_t n,
                      const struct ant_layout *lay, const struct ant_train_opts *o, double lr, long t)
{
    double bc1 = 1 - pow(o->beta1, (double)t), bc2 = 1 - pow(o->beta2, (double)t);
    for (size_t i = 0; i < n; i++) {
        if (!ant_tensor_is_norm(tensor_of(lay, i))) p[i] *= 1 - lr * o->weight_decay;
        m[i] = o->beta1 * m[i] + (1 - o->beta1) * g[i];
        v[i] = o->beta2 * v[i] + (1 - o->beta2) * g[i] * g[i];
        p[i] -= lr / bc1 * m[i] / (sqrt(v[i]) / sqrt(bc2) + o->eps);
    }
}

/* max|got - want| / max|want| */
static double max_err(const float *got, const double *want, size_t n)
{
    double d = 0, w = 0;
    for (size_t i = 0; i < n; i++) {
        d = fmax(d, fabs(got[i] - want[i]));
        w = fmax(w, fabs(want[i]));
    }
    return d / w;
}

/* Several steps on the tiny layout with random gradients; worst error of p, m, v. */
static void test_against_reference(double wd, double eps)
{
    struct ant_train_state s;
    if (state_alloc(&s, &tiny) < 0) abort();
    size_t n = s.layout.total;
    double *p = calloc(n, sizeof *p), *g = calloc(n, sizeof *g), *m = calloc(n, sizeof *m),
           *v = calloc(n, sizeof *v);
    struct ant_rng r;
    rng_seed(&r, 7);
    for (size_t i = 0; i < n; i++) p[i] = s.weights[i] = (float)(rng_normal(&r) * 0.5);
    struct ant_train_opts o = opts(1e-2, wd);
    o.eps = eps;
    for (int step = 0; step < 6; step++) {
        for (size_t i = 0; i < n; i++) g[i] = s.grads[i] = (float)(rng_normal(&r) * 0.1);
        double lr = sched_lr(&o, s.step);
        adamw_step(&s, &o, lr);
        s.step++;
        ref_adamw(p, g, m, v, n, &s.layout, &o, lr, s.step);
    }
    /* Normwise relative error: fp32 arithmetic should stay within a few ulps. */
    double err_p = max_err(s.weights, p, n), err_m = max_err(s.m, m, n), err_v = max_err(s.v, v, n);
    ok(err_p < 1e-6 && err_m < 1e-6 && err_v < 1e-6,
       "6 AdamW steps (wd %g, eps %g, %zu params) match the double reference: rel err p %.2g "
       "m %.2g v %.2g", wd, eps, n, err_p, err_m, err_v);
    free(p), free(g), free(m), free(v);
    state_free(&s);
}

/* Zero gradients and moments: the Adam part is exactly 0, so what remains is the decay,
 * which must hit every matrix and the embedding and no norm weight. */
static void test_decay_targets(void)
{
    struct ant_train_state s;
    if (state_alloc(&s, &tiny) < 0) abort();
    state_init_weights(&s, 3, 0.5);
    for (size_t i = 0; i < s.layout.total; i++) s.weights[i] += 0.25f;   /* norms differ from 1 too */
    float *before = malloc(s.layout.total * sizeof(float));
    memcpy(before, s.weights, s.layout.total * sizeof(float));
    struct ant_train_opts o = opts(0.1, 0.1);
    adamw_step(&s, &o, 0.1);
    const float decay = (float)(1 - 0.1 * 0.1);
    for (int t = 0; t < ANT_N_TENSORS; t++) {
        size_t n = s.layout.per_layer[t] * (s.layout.layered[t] ? (size_t)tiny.n_layers : 1);
        size_t bad = 0;
        for (size_t i = s.layout.offset[t]; i < s.layout.offset[t] + n; i++) {
            float want = ant_tensor_is_norm(t) ? before[i] : before[i] * decay;
            bad += s.weights[i] != want;
        }
        ok(bad == 0, "tensor %d (%s): %zu of %zu values differ from p%s", t,
           ant_tensor_is_norm(t) ? "norm" : "matrix", bad, n,
           ant_tensor_is_norm(t) ? " (no decay)" : "*(1-lr*wd)");
    }
    ok(s.step == 0, "adamw_step leaves s->step alone");
    free(before);
    state_free(&s);
}

/* One element by hand: at t=1, m_hat = g and v_hat = g^2 exactly, so the step is
 * lr*g/(|g|+eps); with a constant gradient the same holds at t=2. */
static void test_bias_correction(void)
{
    struct ant_train_state s;
    if (state_alloc(&s, &tiny) < 0) abort();
    size_t i = s.layout.offset[ANT_WQ] + 5;
    s.weights[i] = 1.0f;
    s.grads[i] = 0.5f;
    struct ant_train_opts o = opts(0.1, 0.1);
    o.beta2 = 0.999;
    adamw_step(&s, &o, 0.1);
    is_close(s.weights[i], 0.890000002, 1e-7, 0, "t=1: p = 1*(1-0.01) - 0.1*0.5/(0.5+1e-8)");
    is_close(s.m[i], 0.05, 0, 1e-7, "t=1: m = 0.1*0.5");
    is_close(s.v[i], 0.00025, 0, 1e-7, "t=1: v = 0.001*0.25");
    s.step = 1;
    adamw_step(&s, &o, 0.1);
    is_close(s.weights[i], 0.7811000039799999, 2e-7, 0, "t=2: p = p1*0.99 - 0.1*0.5/(0.5+1e-8)");

    /* eps is added to sqrt(v_hat), not inside the root nor scaled by sqrt(bc2). */
    s.weights[i] = 1.0f, s.m[i] = s.v[i] = 0, s.step = 0;
    o.eps = 0.1;
    adamw_step(&s, &o, 0.1);
    is_close(s.weights[i], 0.99 - 0.05 / 0.6, 1e-7, 0, "t=1, eps 0.1: p = 0.99 - 0.1*0.5/(0.5+0.1)");
    state_free(&s);
}

static void test_no_decay_when_zero(void)
{
    struct ant_train_state s;
    if (state_alloc(&s, &tiny) < 0) abort();
    state_init_weights(&s, 5, 0.5);
    float *before = malloc(s.layout.total * sizeof(float));
    memcpy(before, s.weights, s.layout.total * sizeof(float));
    struct ant_train_opts o = opts(0.1, 0.0);
    adamw_step(&s, &o, 0.1);
    ok(memcmp(before, s.weights, s.layout.total * sizeof(float)) == 0,
       "weight_decay 0 and zero gradients: every weight unchanged");
    free(before);
    state_free(&s);
}

static void test_clip(void)
{
    float g[5] = {3, 4, 0, 0, 0};
    double norm = grad_global_norm(g, 5);
    is_close(norm, 5.0, 0, 1e-15, "norm of (3,4,0,0,0) is 5");
    grad_clip(g, 5, norm, 1.0);
    is_close(g[0], 3 / (5 + 1e-6), 1e-7, 0, "clip to 1: g0 = 3/(5+1e-6)");
    is_close(g[1], 4 / (5 + 1e-6), 1e-7, 0, "clip to 1: g1 = 4/(5+1e-6)");

    float h[2] = {3, 4};
    grad_clip(h, 2, 5.0, 0.0);
    ok(h[0] == 3 && h[1] == 4, "max_norm 0: no clipping");
    grad_clip(h, 2, 5.0, 10.0);
    ok(h[0] == 3 && h[1] == 4, "norm below max_norm: no clipping");
    grad_clip(h, 2, INFINITY, 1.0);
    grad_clip(h, 2, NAN, 1.0);
    ok(h[0] == 3 && h[1] == 4, "non-finite norm: gradients left for the caller to refuse");

    enum { N = 1003 };   /* blocks plus a tail */
    float *big = malloc(N * sizeof(float));
    for (int i = 0; i < N; i++) big[i] = i % 2 ? 0.5f : -0.5f;
    is_close(grad_global_norm(big, N), sqrt(N * 0.25), 0, 1e-14, "norm of 1003 x 0.5");
    big[N - 1] = NAN;
    ok(isnan(grad_global_norm(big, N)), "a NaN gradient gives a NaN norm");
    big[N - 1] = INFINITY;
    ok(isinf(grad_global_norm(big, N)), "an Inf gradient gives an Inf norm");
    free(big);
}

static void test_schedule(void)
{
    struct ant_train_opts o = opts(1e-3, 0);
    o.min_lr = 1e-4, o.warmup_steps = 10, o.steps = 110;
    is_close(sched_lr(&o, 0), 1e-4, 0, 1e-14, "cosine: warmup step 0 = lr/10");
    is_close(sched_lr(&o, 4), 5e-4, 0, 1e-14, "cosine: warmup step 4 = lr*5/10");
    is_close(sched_lr(&o, 9), 1e-3, 0, 1e-14, "cosine: last warmup step = lr");
    is_close(sched_lr(&o, 10), 1e-3, 0, 1e-14, "cosine: first decay step = lr");
    is_close(sched_lr(&o, 35), 0.0008681980515339464, 0, 1e-13, "cosine: progress 1/4");
    is_close(sched_lr(&o, 60), 5.5e-4, 0, 1e-13, "cosine: progress 1/2 = (lr+min)/2");
    is_close(sched_lr(&o, 109), 0.00010022204783542078, 0, 1e-12, "cosine: last step, progress 0.99");
    is_close(sched_lr(&o, 110), 1e-4, 0, 1e-14, "cosine: end of the run = min_lr");
    is_close(sched_lr(&o, 500), 1e-4, 0, 1e-14, "cosine: past the end stays at min_lr");

    o.warmup_steps = 0, o.steps = 100;
    is_close(sched_lr(&o, 0), 1e-3, 0, 1e-14, "warmup 0: step 0 = lr");
    is_close(sched_lr(&o, 50), 5.5e-4, 0, 1e-13, "warmup 0: step 50 of 100 = (lr+min)/2");

    strcpy(o.schedule, "constant");
    o.lr = 3e-4, o.warmup_steps = 5;
    is_close(sched_lr(&o, 2), 1.8e-4, 0, 1e-14, "constant: warmup step 2 = lr*3/5");
    is_close(sched_lr(&o, 5), 3e-4, 0, 1e-14, "constant: after warmup = lr");
    is_close(sched_lr(&o, 99), 3e-4, 0, 1e-14, "constant: last step = lr");
}

int main(void)
{
    test_against_reference(0.1, 1e-8);
    test_against_reference(0.0, 1e-8);
    test_against_reference(0.1, 1e-2);   /* eps large enough that its place matters */
    test_decay_targets();
    test_bias_correction();
    test_no_decay_when_zero();
    test_clip();
    test_schedule();
    return tap_done();
}
