/* The training kernels as MIL (kernels.h). Shapes are written next to each value;
 * [r, c] is a matrix held as the tensor [1, 1, r, c]. The math is the CPU backend's
 * (backends/cpu/model.c), so the two compute the same model. */
#include "ane/train/kernels.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "ane/mil/mil_build.h"
#include "ane/train/wparts.h"
#include "cpu/ops.h"

struct kb {
    struct mil_builder *b;
    const struct at_plan *p;
    float eps;                  /* RMSNorm's */
    const struct at_bake *bake;   /* baked weights, or NULL: weights come in the surface */
    struct ane_weights *w;
    int oom;
    mil_v in;
    int n;                      /* for unique names */
    mil_v mask, cos_t, sin_t;   /* [1,1,S,S], [1,1,S,hd] */
};

static const char *nm(struct kb *k, const char *what)
{
    static char buf[4][64];
    char *s = buf[k->n % 4];
    snprintf(s, sizeof buf[0], "%s_%d", what, k->n++);
    return s;
}

/* A rectangle of a surface tensor [1, R, 1, W] as the matrix [1, 1, rows, cols]. */
static mil_v rect(struct kb *k, mil_v x, struct at_rect r)
{
    mil_v s = milb_slice(k->b, nm(k, "blk"), x, MIL_SHAPE(0, r.r0, 0, r.c0),
                         MIL_SHAPE(1, r.rows, 1, r.cols));
    return milb_reshape(k->b, nm(k, "mat"), s, MIL_SHAPE(1, 1, r.rows, r.cols));
}

static mil_v in_blk(struct kb *k, enum at_kernel kern, int i)
{
    return rect(k, k->in, k->p->in[kern].blk[i]);
}

/* Weight block b of kernel kern: a slice of the input surface (dynamic weights), or a
 * BLOBFILE constant filled from the core's weights as wparts.c describes it (baked). */
static mil_v wt(struct kb *k, enum at_kernel kern, int b)
{
    if (!k->bake) return in_blk(k, kern, b);
    struct at_wpart part[4];
    int rows, cols, np = at_wparts(k->p, k->bake->shared, kern, b, k->bake->idx, part, &rows, &cols);
    float *m = calloc((size_t)rows * cols, sizeof *m);
    if (!m) return (k->oom = 1), -1;
    for (int i = 0; i < np; i++) {
        const struct at_wpart *q = &part[i];
        const float *src = ant_tensor((float *)k->bake->w, k->bake->lay, q->tensor, q->layer) + q->offset;
        for (int r = 0; r < q->rows; r++)
            for (int c = 0; c < q->cols; c++)
                m[(size_t)(q->r0 + r) * cols + q->c0 + c] =
                    q->trans ? src[(size_t)c * q->ld + r] : src[(size_t)r * q->ld + c];
    }
    char file[48];
    snprintf(file, sizeof file, "w_%s_%d.bin", at_kernel_name(kern), b);
    mil_v v = milb_weight(k->b, nm(k, "weight"), k->w, file, MIL_SHAPE(1, 1, rows, cols), m);
    free(m);
    return v;
}

/* Rows [r0, r0+n) of a matrix [1, 1, R, C]. */
static mil_v rows(struct kb *k, mil_v x, int r0, int n, int C)
{
    return milb_slice(k->b, nm(k, "rows"), x, MIL_SHAPE(0, 0, r0, 0), MIL_SHAPE(1, 1, n, C));
}

/* x^T [h*hd, S] -> heads [1, h, S, hd] */
static mil_v heads(struct kb *k, mil_v x, int h)
{
    int hd = k->p->hd, S = k->p->S;
    mil_v r = milb_reshape(k->b, nm(k, "hsplit"), x, MIL_SHAPE(1, h, hd, S));
    return milb_transpose(k->b, nm(k, "hrows"), r, MIL_SHAPE(0, 1, 3, 2));
}

/* heads [1, h, S, hd] -> x^T [h*hd, S] */
static mil_v merge(struct kb *k, mil_v x, int h)
{
    int hd = k->p->hd, S = k->p->S;
    mil_v t = milb_transpose(k->b, nm(k, "hcols"), x, MIL_SHAPE(0, 1, 3, 2));
    return milb_reshape(k->b, nm(k, "hmerge"), t, MIL_SHAPE(1, 1, h * hd, S));
}

/* RoPE on pairs (2i, 2i+1) of x [1, h, S, hd] (§6.4, llama2.c's convention):
 * x*cos + rot(x)*sin with rot(x) = (-x1, x0); sign -1 gives the transpose (backward). */
static mil_v rope(struct kb *k, mil_v x, int h, int sign)
{
    int S = k->p->S, hd = k->p->hd, n = S * hd / 2;
    mil_v pr = milb_reshape(k->b, nm(k, "pairs"), x, MIL_SHAPE(1, h, n, 2));
    mil_v ev = milb_slice(k->b, nm(k, "even"), pr, MIL_SHAPE(0, 0, 0, 0), MIL_SHAPE(1, h, n, 1));
    mil_v od = milb_slice(k->b, nm(k, "odd"), pr, MIL_SHAPE(0, 0, 0, 1), MIL_SHAPE(1, h, n, 1));
    mil_v neg = milb_mul(k->b, nm(k, "negodd"), od, milb_scalar(k->b, nm(k, "minus1"), -1.0f));
    mil_v rot = milb_concat(k->b, nm(k, "rotp"), 3, 2, (mil_v[]){neg, ev});
    rot = milb_reshape(k->b, nm(k, "rot"), rot, MIL_SHAPE(1, h, S, hd));
    mil_v a = milb_mul(k->b, nm(k, "xcos"), x, k->cos_t);
    mil_v r = milb_mul(k->b, nm(k, "rsin"), rot, k->sin_t);
    return sign > 0 ? milb_add(k->b, nm(k, "roped"), a, r) : milb_sub(k->b, nm(k, "unroped"), a, r);
}

/* Causal softmax of q4 [1, nkv, r*S, hd] against k [1, nkv, S, hd]: P [1, nkv, r*S, S].
 * Query head h = kv*r + j reads kv head h / r, the CPU backend's GQA mapping (§12.1). */
static mil_v probs(struct kb *k, mil_v q4, mil_v kk)
{
    const struct at_plan *p = k->p;
    mil_v s = milb_matmul(k->b, nm(k, "scores"), q4, kk, 0, 1);
    s = milb_mul(k->b, nm(k, "scaled"), s, milb_scalar(k->b, nm(k, "rsqrt_hd"), 1.0f / sqrtf((float)p->hd)));
    s = milb_reshape(k->b, nm(k, "perhead"), s, MIL_SHAPE(1, p->nh, p->S, p->S));
    s = milb_add(k->b, nm(k, "masked"), s, k->mask);
    s = milb_softmax(k->b, nm(k, "probs"), s, -1);
    return milb_reshape(k->b, nm(k, "pgroup"), s, MIL_SHAPE(1, p->nkv, p->nh / p->nkv * p->S, p->S));
}

static mil_v group(struct kb *k, mil_v x)   /* [1, nh, S, hd] -> [1, nkv, r*S, hd] */
{
    const struct at_plan *p = k->p;
    return milb_reshape(k->b, nm(k, "qgroup"), x, MIL_SHAPE(1, p->nkv, p->nh / p->nkv * p->S, p->hd));
}

static mil_v ungroup(struct kb *k, mil_v x)
{
    const struct at_plan *p = k->p;
    return milb_reshape(k->b, nm(k, "qheads"), x, MIL_SHAPE(1, p->nh, p->S, p->hd));
}

/* Output taps: matrices [1, 1, r_i, W] stacked into the surface tensor [1, sum r_i, 1, W]. */
static void taps(struct kb *k, int n, const mil_v *v, int total, int width)
{
    mil_v c = n == 1 ? v[0] : milb_concat(k->b, nm(k, "taps"), 2, n, v);
    milb_output(k->b, milb_reshape(k->b, nm(k, "out"), c, MIL_SHAPE(1, total, 1, width)));
}

/* fp16 has normal numbers from 2^-14 to 65504 and the device flushes the rest (docs/ane.md
 * §7.3, §15.1), so a mean over D rows is taken as MEAN_K * mean: groups of up to 32 rows
 * are summed, scaled by MEAN_K / D, and the groups summed. Every partial result then
 * stays normal for squares of values between 2^-7 and 45, and MEAN_K * eps (1.6e-4) is
 * normal where eps (1e-5) alone would flush. */
#define MEAN_K 16.0f

/* MEAN_K times the mean over the D rows of v [D, S]: [1, S]. */
static mil_v mean_rows_k(struct kb *k, mil_v v)
{
    int D = k->p->D, S = k->p->S, g = 32;
    while (D % g) g--;
    mil_v grp = milb_reshape(k->b, nm(k, "groups"), v, MIL_SHAPE(1, D / g, g, S));
    mil_v part = milb_reduce_sum(k->b, nm(k, "group_sum"), grp, 1, (int[]){2}, 1);   /* [1, D/g, 1, S] */
    part = milb_mul(k->b, nm(k, "k_over_d"), part, milb_scalar(k->b, nm(k, "k_d"), MEAN_K / D));
    return milb_reduce_sum(k->b, nm(k, "mean_k"), part, 1, (int[]){1}, 1);          /* [1, 1, 1, S] */
}

/* 1/rms of each token of x [D, S]: r [1, S] = (mean(x^2) + eps)^-1/2 (§3.7's idiom),
 * computed as sqrt(K) * (K mean(x^2) + K eps)^-1/2. */
static mil_v rstd(struct kb *k, mil_v x)
{
    mil_v ms = mean_rows_k(k, milb_mul(k->b, nm(k, "sq"), x, x));
    mil_v v = milb_add(k->b, nm(k, "var_eps"), ms, milb_scalar(k->b, nm(k, "k_eps"), MEAN_K * k->eps));
    mil_v r = milb_pow(k->b, nm(k, "rstd_k"), v, milb_scalar(k->b, nm(k, "minus_half"), -0.5f));
    return milb_mul(k->b, nm(k, "rstd"), r, milb_scalar(k->b, nm(k, "sqrt_k"), sqrtf(MEAN_K)));
}

/* RMSNorm of x [D, S] with the weights of block wb of kernel kern: y = x * r * w.
 * Sets *r to the [1, S] row of 1/rms, which the CPU's RMS-weight gradient reads. */
static mil_v rmsnorm(struct kb *k, mil_v x, enum at_kernel kern, int wb, mil_v *r)
{
    *r = rstd(k, x);
    return milb_mul(k->b, nm(k, "xn"), milb_mul(k->b, nm(k, "xr"), x, *r), wt(k, kern, wb));
}

static int tables(struct kb *k, const struct ant_model_config *c, struct ane_weights *w)
{
    int ok = 0;
    int S = k->p->S, hd = k->p->hd, half = hd / 2;
    float *m = malloc(sizeof(float) * S * S), *ct = malloc(sizeof(float) * S * half),
          *st = malloc(sizeof(float) * S * half), *cf = malloc(sizeof(float) * S * hd),
          *sf = malloc(sizeof(float) * S * hd);
    if (m && ct && st && cf && sf) {
        for (int t = 0; t < S; t++)
            for (int u = 0; u < S; u++) m[t * S + u] = u <= t ? 0.0f : -65504.0f;
        rope_table(ct, st, S, hd, c->rope_theta);   /* the CPU backend's own angles */
        for (int t = 0; t < S; t++)
            for (int i = 0; i < hd; i++)
                cf[t * hd + i] = ct[t * half + i / 2], sf[t * hd + i] = st[t * half + i / 2];
        k->mask = milb_weight(k->b, "causal_mask", w, "mask.bin", MIL_SHAPE(1, 1, S, S), m);
        k->cos_t = milb_weight(k->b, "rope_cos", w, "rope.bin", MIL_SHAPE(1, 1, S, hd), cf);
        k->sin_t = milb_weight(k->b, "rope_sin", w, "rope.bin", MIL_SHAPE(1, 1, S, hd), sf);
        ok = 1;
    }
    free(m), free(ct), free(st), free(cf), free(sf);
    return ok ? 0 : -1;
}

static void attn_fwd(struct kb *k)
{
    const struct at_plan *p = k->p;
    int D = p->D, KV = p->KV, S = p->S;
    mil_v xn = in_blk(k, AT_ATTN_FWD, AF_XN), r = -1;                       /* [D, S] */
    if (p->extras) xn = rmsnorm(k, xn, AT_ATTN_FWD, AF_RMS, &r);            /* r [1, S] */
    mil_v wqkv = wt(k, AT_ATTN_FWD, AF_WQKV_T);                         /* [D, D+2KV] */
    mil_v qkv = milb_matmul(k->b, "qkv", wqkv, xn, 1, 0);                   /* [D+2KV, S] */
    mil_v q = rope(k, heads(k, rows(k, qkv, 0, D, S), p->nh), p->nh, 1);    /* [1,nh,S,hd] */
    mil_v kk = rope(k, heads(k, rows(k, qkv, D, KV, S), p->nkv), p->nkv, 1);
    mil_v v = heads(k, rows(k, qkv, D + KV, KV, S), p->nkv);                /* [1,nkv,S,hd] */
    mil_v ao = milb_matmul(k->b, "attn", probs(k, group(k, q), kk), v, 0, 0);
    ao = merge(k, ungroup(k, ao), p->nh);                                   /* [D, S] */
    mil_v o = milb_matmul(k->b, "o_proj", wt(k, AT_ATTN_FWD, AF_WO_T), ao, 1, 0);
    mil_v t[] = {o, ao, merge(k, q, p->nh), merge(k, kk, p->nkv), merge(k, v, p->nkv), xn, r};
    taps(k, p->extras ? AFO_N : AFO_XN, t, p->out[AT_ATTN_FWD].rows, S);
}

static void ffn_fwd(struct kb *k)
{
    const struct at_plan *p = k->p;
    int H = p->H, S = p->S;
    mil_v xn = in_blk(k, AT_FFN_FWD, FF_X2N), r = -1;                       /* [D, S] */
    if (p->extras) xn = rmsnorm(k, xn, AT_FFN_FWD, FF_RMS, &r);             /* r [1, S] */
    mil_v h13 = milb_matmul(k->b, "h13", wt(k, AT_FFN_FWD, FF_W13_T), xn, 1, 0);   /* [2H, S] */
    mil_v h1 = rows(k, h13, 0, H, S), h3 = rows(k, h13, H, H, S);
    mil_v silu = milb_mul(k->b, "silu", h1, milb_sigmoid(k->b, "sig", h1));
    mil_v g = milb_mul(k->b, "gate", silu, h3);                              /* [H, S] */
    mil_v y = milb_matmul(k->b, "down", wt(k, AT_FFN_FWD, FF_W2), g, 0, 0);   /* [D, S] */
    taps(k, p->extras ? FFO_N : FFO_XN, (mil_v[]){y, h1, h3, g, xn, r}, p->out[AT_FFN_FWD].rows, S);
}

/* SwiGLU backward: g = silu(h1) * h3, so dh3 = dg * silu(h1) and
 * dh1 = dg * h3 * s * (1 + h1 * (1 - s)) with s = sigmoid(h1). */
static void ffn_bwd(struct kb *k)
{
    const struct at_plan *p = k->p;
    mil_v dy = in_blk(k, AT_FFN_BWD, FB_DY);                                /* [D, S] */
    mil_v dg = milb_matmul(k->b, "dgate", wt(k, AT_FFN_BWD, FB_W2), dy, 1, 0);   /* [H, S] */
    mil_v h1 = in_blk(k, AT_FFN_BWD, FB_H1), h3 = in_blk(k, AT_FFN_BWD, FB_H3);
    mil_v s = milb_sigmoid(k->b, "sig", h1);
    mil_v dh3 = milb_mul(k->b, "dh3", dg, milb_mul(k->b, "silu", h1, s));
    mil_v one = milb_scalar(k->b, "one", 1.0f);
    mil_v t = milb_mul(k->b, "h1_1ms", h1, milb_sub(k->b, "one_ms", one, s));
    mil_v ds = milb_mul(k->b, "dsilu", s, milb_add(k->b, "one_pt", t, one));
    mil_v dh1 = milb_mul(k->b, "dh1", milb_mul(k->b, "dg_h3", dg, h3), ds);
    mil_v dx = milb_add(k->b, "dx_ffn",
                        milb_matmul(k->b, "dx_w1", wt(k, AT_FFN_BWD, FB_W1), dh1, 1, 0),
                        milb_matmul(k->b, "dx_w3", wt(k, AT_FFN_BWD, FB_W3), dh3, 1, 0));
    taps(k, FBO_N, (mil_v[]){dx, dh1, dh3}, p->out[AT_FFN_BWD].rows, p->S);
}

/* Attention backward from the gradient at the Wo output: probabilities recomputed,
 * dS = P * (dP - rowsum(P * dP)) / sqrt(hd), RoPE undone on dQ and dK. */
static void attn_bwd(struct kb *k)
{
    const struct at_plan *p = k->p;
    int S = p->S;
    mil_v da = milb_matmul(k->b, "da", wt(k, AT_ATTN_BWD, AB_WO), in_blk(k, AT_ATTN_BWD, AB_DX2), 1, 0);
    mil_v dA = group(k, heads(k, da, p->nh));                               /* [1,nkv,r*S,hd] */
    mil_v q = group(k, heads(k, in_blk(k, AT_ATTN_BWD, AB_Q), p->nh));
    mil_v kk = heads(k, in_blk(k, AT_ATTN_BWD, AB_K), p->nkv);              /* [1,nkv,S,hd] */
    mil_v v = heads(k, in_blk(k, AT_ATTN_BWD, AB_V), p->nkv);
    mil_v P = probs(k, q, kk);                                              /* [1,nkv,r*S,S] */
    mil_v dV = milb_matmul(k->b, "dv_h", P, dA, 1, 0);                      /* [1,nkv,S,hd] */
    mil_v dP = milb_matmul(k->b, "dp", dA, v, 0, 1);                        /* [1,nkv,r*S,S] */
    mil_v sum = milb_reduce_sum(k->b, "pdp_sum", milb_mul(k->b, "pdp", P, dP), 1, (int[]){3}, 1);
    mil_v dS = milb_mul(k->b, "ds", P, milb_sub(k->b, "dp_c", dP, sum));
    dS = milb_mul(k->b, "ds_scaled", dS, milb_scalar(k->b, "rsqrt_hd_b", 1.0f / sqrtf((float)p->hd)));
    mil_v dQ = rope(k, ungroup(k, milb_matmul(k->b, "dq_h", dS, kk, 0, 0)), p->nh, -1);
    mil_v dK = rope(k, milb_matmul(k->b, "dk_h", dS, q, 1, 0), p->nkv, -1);
    mil_v dq = merge(k, dQ, p->nh), dk = merge(k, dK, p->nkv), dv = merge(k, dV, p->nkv);
    mil_v dx = milb_matmul(k->b, "dx_q", wt(k, AT_ATTN_BWD, AB_WQ), dq, 1, 0);
    dx = milb_add(k->b, "dx_qk", dx, milb_matmul(k->b, "dx_k", wt(k, AT_ATTN_BWD, AB_WK), dk, 1, 0));
    dx = milb_add(k->b, "dx_attn", dx, milb_matmul(k->b, "dx_v", wt(k, AT_ATTN_BWD, AB_WV), dv, 1, 0));
    taps(k, ABO_N, (mil_v[]){dx, dq, dk, dv}, p->out[AT_ATTN_BWD].rows, S);
}

/* dW [out, in] = dy^T x summed over the S tokens: matmul(dy [out, S], x [in, S], ty). */
static void dw_attn(struct kb *k)
{
    const struct at_plan *p = k->p;
    struct at_rect qkv = {0, p->D + 2 * p->KV, 0, p->S};    /* dq, dk, dv are adjacent */
    mil_v xn = in_blk(k, AT_DW_ATTN, DA_XN);
    mil_v dwqkv = milb_matmul(k->b, "dw_qkv", rect(k, k->in, qkv), xn, 0, 1);   /* [D+2KV, D] */
    mil_v dwo = milb_matmul(k->b, "dw_o", in_blk(k, AT_DW_ATTN, DA_DX2), in_blk(k, AT_DW_ATTN, DA_AO), 0, 1);
    taps(k, DAO_N, (mil_v[]){dwqkv, dwo}, p->out[AT_DW_ATTN].rows, p->D);
}

static void dw_ffn(struct kb *k)
{
    const struct at_plan *p = k->p;
    struct at_rect h13 = {0, 2 * p->H, 0, p->S};            /* dh1, dh3 are adjacent */
    mil_v dw13 = milb_matmul(k->b, "dw_13", rect(k, k->in, h13), in_blk(k, AT_DW_FFN, DF_X2N), 0, 1);
    mil_v dw2t = milb_matmul(k->b, "dw_2t", in_blk(k, AT_DW_FFN, DF_G), in_blk(k, AT_DW_FFN, DF_DY), 0, 1);
    taps(k, DFO_N, (mil_v[]){dw13, dw2t}, p->out[AT_DW_FFN].rows, p->D);
}

static void cls_fwd(struct kb *k)
{
    const struct at_plan *p = k->p;
    mil_v lg = milb_matmul(k->b, "logits", wt(k, AT_CLS_FWD, CF_ET), in_blk(k, AT_CLS_FWD, CF_XF), 1, 0);
    taps(k, 1, &lg, p->cv, p->S);                                           /* [cv, S] */
}

/* dx_final part [D, S] = E_chunk^T dl and dE_chunk^T [D, cv] = x_final dl^T, side by side. */
static void cls_bwd(struct kb *k)
{
    const struct at_plan *p = k->p;
    mil_v dl = in_blk(k, AT_CLS_BWD, CB_DL), xf = in_blk(k, AT_CLS_BWD, CB_XF);
    mil_v dx = milb_matmul(k->b, "dxf", wt(k, AT_CLS_BWD, CB_E), dl, 1, 0);
    mil_v de = milb_matmul(k->b, "de_t", xf, dl, 0, 1);
    mil_v c = milb_concat(k->b, "dxf_de", 3, 2, (mil_v[]){dx, de});
    milb_output(k->b, milb_reshape(k->b, "out", c, MIL_SHAPE(1, p->D, 1, p->S + p->cv)));
}

/* The final RMSNorm: y [D, S] and r [1, S]. */
static void norm_fwd(struct kb *k)
{
    mil_v r, y = rmsnorm(k, in_blk(k, AT_NORM_FWD, NF_X), AT_NORM_FWD, NF_W, &r);
    taps(k, NFO_N, (mil_v[]){y, r}, k->p->out[AT_NORM_FWD].rows, k->p->S);
}

/* RMSNorm backward (the CPU's rmsnorm_backward): with g = dy * w and x^ = x r,
 * dx = r g - x r^3 mean(g x) = r (g - x^ mean(g x^)), the second form because r^3
 * overflows fp16 once rms(x) is under 0.025. */
static void norm_bwd(struct kb *k)
{
    mil_v dy = in_blk(k, AT_NORM_BWD, NB_DY), x = in_blk(k, AT_NORM_BWD, NB_X);   /* [D, S] */
    mil_v r = rstd(k, x);                                                            /* [1, S] */
    mil_v g = milb_mul(k->b, "g", dy, wt(k, AT_NORM_BWD, NB_W));
    mil_v xh = milb_mul(k->b, "xhat", x, r);
    mil_v m = mean_rows_k(k, milb_mul(k->b, "gxh", g, xh));                          /* [1, S] */
    m = milb_mul(k->b, "mean_gxh", m, milb_scalar(k->b, "inv_k", 1.0f / MEAN_K));
    mil_v dx = milb_mul(k->b, "dx", milb_sub(k->b, "g_c", g, milb_mul(k->b, "xh_m", xh, m)), r);
    taps(k, NBO_N, &dx, k->p->out[AT_NORM_BWD].rows, k->p->S);
}

/* Probabilities [V, S] of the logits of the whole vocabulary, per token. */
static void softmax_all(struct kb *k)
{
    mil_v pr = milb_softmax(k->b, "probs", in_blk(k, AT_SOFTMAX, SM_LOGITS), 2);
    taps(k, SMO_N, &pr, k->p->V, k->p->S);
}

char *at_kernel_text(const struct at_plan *p, enum at_kernel kern, const struct ant_model_config *c,
                     const struct ant_chip *chip, const struct at_bake *bake,
                     struct ane_weights *w, struct ant_err *e)
{
    static void (*const build[AT_N_KERNELS])(struct kb *) = {
        attn_fwd, ffn_fwd, ffn_bwd, attn_bwd, dw_attn, dw_ffn, cls_fwd, cls_bwd,
        norm_fwd, norm_bwd, softmax_all,
    };
    if (kern < 0 || kern >= AT_N_KERNELS) return ant_errf(e, "no kernel %d", (int)kern), NULL;
    struct kb k = {.p = p, .b = milb_new(chip), .bake = bake, .w = w, .eps = c->norm_eps};
    if (!k.b) return ant_errf(e, "out of memory"), NULL;
    const struct at_layout *l = &p->in[kern];
    k.in = milb_input(k.b, "surface_in", MIL_FP16, MIL_SHAPE(1, l->rows, 1, l->width));
    int attn = kern == AT_ATTN_FWD || kern == AT_ATTN_BWD;
    if (attn && tables(&k, c, w)) {
        milb_free(k.b);
        return ant_errf(e, "%s: out of memory for the mask and RoPE tables", at_kernel_name(kern)), NULL;
    }
    build[kern](&k);
    char *text = k.oom ? NULL : milb_text(k.b, e);
    if (k.oom) ant_errf(e, "%s: out of memory for its weight constants", at_kernel_name(kern));
    milb_free(k.b);
    return text;
}
