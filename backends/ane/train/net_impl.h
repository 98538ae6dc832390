/* The inside of struct at_net, shared by net.c (resources, weight staging) and
 * pass.c (forward, backward, steps). Internal to backends/ane/train. */
#ifndef ANE_TRAIN_NET_IMPL_H
#define ANE_TRAIN_NET_IMPL_H

#include "ane/device/device.h"
#include "ane/train/dwork.h"
#include "ane/train/kernels.h"
#include "ane/train/lscale.h"
#include "ane/train/net.h"
#include "ane/train/plan.h"
#include "ane/train/stage.h"
#include "base/util.h"

/* Kernels with a surface per layer (the rest have one per vocabulary chunk). */
#define AT_LAYER_KERNELS (AT_DW_FFN + 1)

struct at_unit {                 /* one kernel's input surface and its request */
    struct ane_surface *in;
    struct ane_request *req;
    struct ane_kernel *k;        /* baked weights: this layer's (or chunk's) own kernel */
};

struct at_net {
    struct ant_model_config c;
    struct ant_layout lay;
    struct at_plan p;
    struct at_opts o;
    struct ane_device *dev;
    struct ane_kernel *k[AT_N_KERNELS];
    struct ane_surface *out[AT_N_KERNELS];   /* one output surface per kernel, shared */
    struct at_unit *layer;                   /* [L][AT_LAYER_KERNELS] */
    struct at_unit *cls[2];                  /* [n_chunks] for AT_CLS_FWD, AT_CLS_BWD */
    struct at_unit *norm_bwd;                /* extras: [2L+1] for AT_NORM_BWD, by norm */
    struct at_unit norm_fwd, smax;           /* extras: AT_NORM_FWD, AT_SOFTMAX */
    struct at_dwork *dwork;                  /* when dW runs on the CPU */
    struct at_scratch sc;
    struct at_lscale ls;
    struct at_stats st;
    double kernel_flops[AT_N_KERNELS];       /* per evaluation, as the device counts them */
    int staged;                              /* weights staged since open */

    /* CPU activations of one sequence, token-major; per layer where the backward or
     * the dW worker reads them later. */
    float *x;            /* [L+1][S, D] residual stream into each layer */
    float *x2;           /* [L][S, D] after the attention residual */
    float *rstd1, *rstd2;   /* [L][S] */
    float *xn, *x2n;     /* [L][S, D] RMSNorm outputs (per layer only for the worker) */
    float *xf, *rstdf;   /* [S, D], [S] */
    float *logits;       /* [S, V] logits, then dlogits */
    float *probs;        /* extras: [S, V] the device's softmax (trades places with logits) */
    float *tmp, *dxn;    /* [S, D] */
    float *dy, *dx2;     /* [L][S, D] (one layer's worth unless the worker reads them) */
    float *ao, *g;       /* worker only: [L][S, D], [L][S, H] */
    float *dq, *dk, *dv, *dh1, *dh3;   /* worker only: [L][S, D|KV|KV|H|H] */
    float *G;            /* private gradients [lay.total], loss-scaled */
    int32_t *tok, *tgt;  /* [S] the padded sequence */
    char err[512];
};

static inline struct at_unit *at_layer_unit(struct at_net *n, int l, enum at_kernel k)
{
    return &n->layer[l * AT_LAYER_KERNELS + k];
}
static inline const float *at_w(const struct at_net *n, const float *w, int t, int l)
{
    return ant_tensor((float *)w, &n->lay, t, l);
}
static inline float *at_g(struct at_net *n, int t, int l) { return ant_tensor(n->G, &n->lay, t, l); }
/* The classifier weights: the token embedding when shared. */
static inline int at_cls_tensor(const struct at_net *n)
{
    return n->c.shared_classifier ? ANT_TOK_EMB : ANT_WCLS;
}
/* Vocabulary rows of chunk ch that exist (the last chunk may be partly padding). */
static inline int at_chunk_rows(const struct at_net *n, int ch)
{
    int left = n->p.V - ch * n->p.cv;
    return left < n->p.cv ? left : n->p.cv;
}

static inline struct at_rect at_sub(struct at_rect r, int dr, int rows, int dc, int cols)
{
    return (struct at_rect){r.r0 + dr, rows, r.c0 + dc, cols};
}
static inline struct at_rect at_in_blk(const struct at_net *n, enum at_kernel k, int b)
{
    return n->p.in[k].blk[b];
}
static inline struct at_rect at_out_blk(const struct at_net *n, enum at_kernel k, int b)
{
    return n->p.out[k].blk[b];
}

int at_fail(struct at_net *n, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Evaluate one request, counting it; failures name the kernel. */
int at_eval(struct at_net *n, enum at_kernel k, struct ane_request *r);

/* Moves (stage.h) with the net's scratch and counters; failures name the kernel.
 * at_put: fp32 into rectangle r of an input surface of kernel k.
 * at_take: rectangle r of kernel k's output into fp32; at_take_in: of an input surface.
 * at_tap_rect: rectangle sr of kernel k's output into rectangle dr of an input surface
 * of kernel ki, fp16 to fp16; at_tap: output block ob into input block ib. */
int at_put_in(struct at_net *n, struct ane_surface *s, enum at_kernel k, struct at_rect r,
              const float *src, int ld, int trans);
int at_take(struct at_net *n, enum at_kernel k, struct at_rect r, float *dst, int ld, int trans,
            float alpha, int accumulate);
int at_take_in(struct at_net *n, struct ane_surface *s, enum at_kernel k, struct at_rect r,
               float *dst, int ld, int trans);
int at_tap_rect(struct at_net *n, enum at_kernel k, struct at_rect sr, struct ane_surface *s,
                enum at_kernel ki, struct at_rect dr);
int at_tap(struct at_net *n, enum at_kernel k, int ob, struct ane_surface *s, enum at_kernel ki, int ib);
/* Call fn on every unit whose kernel holds weights (each layer's, chunk's or norm's
 * input surface), with its kernel and index; stops at the first failure. */
typedef int at_unit_fn(struct at_net *n, struct at_unit *u, enum at_kernel k, int idx, const float *w);
int at_each_weighted_unit(struct at_net *n, at_unit_fn *fn, const float *w);
/* Convert the weights into every surface that holds them (weights.c), or with baked
 * weights recompile every weight-bearing kernel (bake.c). */
int at_stage_weights(struct at_net *n, const float *w);
int at_bake_weights(struct at_net *n, const float *w);
/* Compile kernel k (bake: NULL or the weights to bake) and count it. */
struct ane_kernel *at_compile(struct at_net *n, enum at_kernel k, const struct at_bake *bake);
/* Compiles one weights_changed needs (baked weights). */
int at_compiles_per_update(const struct at_net *n);
/* Kernels the net holds once its weights are in: one per used kernel, and with baked
 * weights one per unit of each weight-bearing kernel. */
int at_kernels_held(const struct at_net *n);

#endif
