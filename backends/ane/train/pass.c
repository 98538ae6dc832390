/* Forward and backward passes of one sequence through the kernels, and the ABI calls
 * built on them (net.h). Activations on the CPU are token-major [S, D] like the CPU
 * backend's; shapes are written as [rows, cols] of those buffers. */
#include "ane/train/net_impl.h"

#include <math.h>
#include <string.h>

#include "cpu/ops.h"

static size_t SD(const struct at_net *n) { return (size_t)n->p.S * n->p.D; }
/* Per-layer slot of a buffer that is per layer only when the dW worker reads it. */
static float *wl(const struct at_net *n, float *base, int l, size_t per)
{
    return n->o.dw_on_device ? base : base + (size_t)l * per;
}

/* The input of a forward kernel whose block xb takes the normalised x [S, D]: without
 * the extras the CPU normalises (xn, rstd) and stages xn; with them the kernel gets x
 * and normalises it itself (norm_out then reads what it tapped). */
static int norm_in(struct at_net *n, struct ane_surface *s, enum at_kernel k, int xb, float *xn,
                   float *rstd, const float *x, const float *rms_w)
{
    int S = n->p.S, D = n->p.D;
    if (n->p.extras) return at_put_in(n, s, k, at_in_blk(n, k, xb), x, D, 1);
    rmsnorm_forward(xn, rstd, x, rms_w, S, D, n->c.norm_eps);
    return at_put_in(n, s, k, at_in_blk(n, k, xb), xn, D, 1);
}

/* With the extras, what kernel k tapped of its norm: 1/rms [S] into rstd (the CPU's
 * RMS-weight gradient reads it), xn [S, D] into xn when the CPU needs it, and into
 * block db of dw's surface when a dW kernel does. */
static int norm_out(struct at_net *n, enum at_kernel k, int xnb, int rb, float *xn, float *rstd,
                    struct ane_surface *dw, enum at_kernel dk, int db)
{
    if (!n->p.extras) return 0;
    return at_take(n, k, at_out_blk(n, k, rb), rstd, 1, 1, 1.0f, 0) ||
           (xn && at_take(n, k, at_out_blk(n, k, xnb), xn, n->p.D, 1, 1.0f, 0)) ||
           (dw && at_tap(n, k, xnb, dw, dk, db));
}

/* RMSNorm j's backward (j = 2l attention, 2l+1 FFN, 2L final; plan.h): dx [S, D] +=
 * d/dx and its RMS weights' gradient += d/dw, given dout and the forward's x and rstd.
 * With the extras dx comes from the norm_bwd kernel and the CPU does dw alone. */
static int norm_backward(struct at_net *n, const float *w, int j, float *dx, const float *dout,
                         const float *x, const float *rstd)
{
    int S = n->p.S, D = n->p.D, L = n->p.L;
    int t = j == 2 * L ? ANT_RMS_FINAL : j % 2 ? ANT_RMS_FFN : ANT_RMS_ATT, l = j == 2 * L ? 0 : j / 2;
    if (!n->p.extras) {
        rmsnorm_backward(dx, at_g(n, t, l), dout, x, at_w(n, w, t, l), rstd, S, D);
        return 0;
    }
    struct at_unit *u = &n->norm_bwd[j];
    if (at_put_in(n, u->in, AT_NORM_BWD, at_in_blk(n, AT_NORM_BWD, NB_DY), dout, D, 1) ||
        at_put_in(n, u->in, AT_NORM_BWD, at_in_blk(n, AT_NORM_BWD, NB_X), x, D, 1) ||
        at_eval(n, AT_NORM_BWD, u->req) ||
        at_take(n, AT_NORM_BWD, at_out_blk(n, AT_NORM_BWD, NBO_DX), dx, D, 1, 1.0f, 1))
        return -1;
    rmsnorm_backward_dw(at_g(n, t, l), dout, x, rstd, S, D);
    return 0;
}

static int layer_forward(struct at_net *n, const float *w, int l, int train)
{
    int S = n->p.S, D = n->p.D, H = n->p.H;
    float *x = n->x + l * SD(n), *x2 = n->x2 + l * SD(n);
    float *xn = wl(n, n->xn, l, SD(n)), *x2n = wl(n, n->x2n, l, SD(n));
    struct at_unit *af = at_layer_unit(n, l, AT_ATTN_FWD), *ff = at_layer_unit(n, l, AT_FFN_FWD);
    struct at_unit *ab = at_layer_unit(n, l, AT_ATTN_BWD), *fb = at_layer_unit(n, l, AT_FFN_BWD);
    struct ane_surface *da = at_layer_unit(n, l, AT_DW_ATTN)->in, *df = at_layer_unit(n, l, AT_DW_FFN)->in;
    int dev_dw = train && n->o.dw_on_device, cpu_dw = train && !n->o.dw_on_device;

    /* attention block: x2 [S, D] = x + Wo·attn(xn) */
    if (norm_in(n, af->in, AT_ATTN_FWD, AF_XN, xn, n->rstd1 + l * S, x, at_w(n, w, ANT_RMS_ATT, l)) ||
        (dev_dw && !n->p.extras && at_put_in(n, da, AT_DW_ATTN, at_in_blk(n, AT_DW_ATTN, DA_XN), xn, D, 1)) ||
        at_eval(n, AT_ATTN_FWD, af->req) ||
        at_take(n, AT_ATTN_FWD, at_out_blk(n, AT_ATTN_FWD, AFO_O), x2, D, 1, 1.0f, 0) ||
        norm_out(n, AT_ATTN_FWD, AFO_XN, AFO_R, cpu_dw ? xn : NULL, n->rstd1 + l * S,
                 dev_dw ? da : NULL, AT_DW_ATTN, DA_XN))
        return -1;
    for (size_t i = 0; i < SD(n); i++) x2[i] += x[i];
    if (train && (at_tap(n, AT_ATTN_FWD, AFO_Q, ab->in, AT_ATTN_BWD, AB_Q) ||
                  at_tap(n, AT_ATTN_FWD, AFO_K, ab->in, AT_ATTN_BWD, AB_K) ||
                  at_tap(n, AT_ATTN_FWD, AFO_V, ab->in, AT_ATTN_BWD, AB_V)))
        return -1;
    if (dev_dw && at_tap(n, AT_ATTN_FWD, AFO_AO, da, AT_DW_ATTN, DA_AO)) return -1;
    if (cpu_dw && at_take(n, AT_ATTN_FWD, at_out_blk(n, AT_ATTN_FWD, AFO_AO), n->ao + l * SD(n), D, 1, 1.0f, 0))
        return -1;

    /* feed-forward block: x[l+1] [S, D] = x2 + W2·(silu(W1 x2n) * W3 x2n) */
    float *xnext = x + SD(n);
    if (norm_in(n, ff->in, AT_FFN_FWD, FF_X2N, x2n, n->rstd2 + l * S, x2, at_w(n, w, ANT_RMS_FFN, l)) ||
        (dev_dw && !n->p.extras && at_put_in(n, df, AT_DW_FFN, at_in_blk(n, AT_DW_FFN, DF_X2N), x2n, D, 1)) ||
        at_eval(n, AT_FFN_FWD, ff->req) ||
        at_take(n, AT_FFN_FWD, at_out_blk(n, AT_FFN_FWD, FFO_Y), xnext, D, 1, 1.0f, 0) ||
        norm_out(n, AT_FFN_FWD, FFO_XN, FFO_R, cpu_dw ? x2n : NULL, n->rstd2 + l * S,
                 dev_dw ? df : NULL, AT_DW_FFN, DF_X2N))
        return -1;
    for (size_t i = 0; i < SD(n); i++) xnext[i] += x2[i];
    if (train && (at_tap(n, AT_FFN_FWD, FFO_H1, fb->in, AT_FFN_BWD, FB_H1) ||
                  at_tap(n, AT_FFN_FWD, FFO_H3, fb->in, AT_FFN_BWD, FB_H3)))
        return -1;
    if (dev_dw && at_tap(n, AT_FFN_FWD, FFO_G, df, AT_DW_FFN, DF_G)) return -1;
    if (cpu_dw && at_take(n, AT_FFN_FWD, at_out_blk(n, AT_FFN_FWD, FFO_G), n->g + (size_t)l * S * H, H, 1, 1.0f, 0))
        return -1;
    return 0;
}

/* logits [S, V] = xf [S, D] · E^T. With the extras the device's logits go straight into
 * the softmax's page (fp16 to fp16), where cross_entropy and at_net_logits read them. */
static int classifier_forward(struct at_net *n, const float *w)
{
    int S = n->p.S, D = n->p.D, V = n->p.V, cv = n->p.cv;
    const float *E = at_w(n, w, at_cls_tensor(n), 0);
    if (!n->o.cls_on_device) {
        matmul_forward(n->logits, n->xf, E, S, D, V);
        return 0;
    }
    for (int ch = 0; ch < n->p.n_chunks; ch++) {
        struct at_unit *u = &n->cls[0][ch];
        struct at_rect lg = at_sub(at_out_blk(n, AT_CLS_FWD, CFO_LOGITS), 0, at_chunk_rows(n, ch), 0, S);
        struct at_rect page = at_sub(at_in_blk(n, AT_SOFTMAX, SM_LOGITS), ch * cv, lg.rows, 0, S);
        if (at_put_in(n, u->in, AT_CLS_FWD, at_in_blk(n, AT_CLS_FWD, CF_XF), n->xf, D, 1) ||
            at_eval(n, AT_CLS_FWD, u->req) ||
            (n->p.extras ? at_tap_rect(n, AT_CLS_FWD, lg, n->smax.in, AT_SOFTMAX, page)
                         : at_take(n, AT_CLS_FWD, lg, n->logits + (size_t)ch * cv, V, 1, 1.0f, 0)))
            return -1;
    }
    return 0;
}

/* The whole forward of the padded sequence n->tok; leaves logits [S, V] (with the extras
 * and the classifier on the device: in the softmax's page, logits_of reads them). */
static int forward(struct at_net *n, const float *w, int train)
{
    int S = n->p.S, D = n->p.D;
    embedding_forward(n->x, at_w(n, w, ANT_TOK_EMB, 0), n->tok, S, D);
    for (int l = 0; l < n->p.L; l++)
        if (layer_forward(n, w, l, train)) return -1;
    const float *xl = n->x + (size_t)n->p.L * SD(n);
    if (!n->p.extras)
        rmsnorm_forward(n->xf, n->rstdf, xl, at_w(n, w, ANT_RMS_FINAL, 0), S, D, n->c.norm_eps);
    else if (at_put_in(n, n->norm_fwd.in, AT_NORM_FWD, at_in_blk(n, AT_NORM_FWD, NF_X), xl, D, 1) ||
             at_eval(n, AT_NORM_FWD, n->norm_fwd.req) ||
             at_take(n, AT_NORM_FWD, at_out_blk(n, AT_NORM_FWD, NFO_Y), n->xf, D, 1, 1.0f, 0) ||
             at_take(n, AT_NORM_FWD, at_out_blk(n, AT_NORM_FWD, NFO_R), n->rstdf, 1, 1, 1.0f, 0))
        return -1;
    return classifier_forward(n, w);
}

/* dlogits [S, V] in n->logits -> dxf in n->tmp, dE into G. */
static int classifier_backward(struct at_net *n, const float *w)
{
    int S = n->p.S, D = n->p.D, V = n->p.V, cv = n->p.cv;
    const float *E = at_w(n, w, at_cls_tensor(n), 0);
    float *gE = at_g(n, at_cls_tensor(n), 0);
    if (!n->o.cls_on_device) {
        matmul_backward_dx(n->tmp, n->logits, E, S, D, V, 0.0f);
        matmul_backward_dw(gE, n->logits, n->xf, S, D, V, 1.0f);
        return 0;
    }
    memset(n->tmp, 0, SD(n) * sizeof(float));
    for (int ch = 0; ch < n->p.n_chunks; ch++) {
        struct at_unit *u = &n->cls[1][ch];
        int rows = at_chunk_rows(n, ch);
        struct at_rect dl = at_sub(at_in_blk(n, AT_CLS_BWD, CB_DL), 0, rows, 0, S);
        struct at_rect de = at_sub(at_out_blk(n, AT_CLS_BWD, CBO_DET), 0, D, 0, rows);
        if (at_put_in(n, u->in, AT_CLS_BWD, dl, n->logits + (size_t)ch * cv, V, 1) ||
            at_put_in(n, u->in, AT_CLS_BWD, at_in_blk(n, AT_CLS_BWD, CB_XF), n->xf, D, 1) ||
            at_eval(n, AT_CLS_BWD, u->req) ||
            at_take(n, AT_CLS_BWD, at_out_blk(n, AT_CLS_BWD, CBO_DXF), n->tmp, D, 1, 1.0f, 1) ||
            at_take(n, AT_CLS_BWD, de, gE + (size_t)ch * cv * D, D, 1, 1.0f, 1))
            return -1;
    }
    return 0;
}

/* Gradient wrt x[l+1] in dy_in -> wrt x[l] in dy_out (may be dy_in). Weight gradients
 * go into G: from the dW kernels, or as jobs for the worker thread. */
static int layer_backward(struct at_net *n, const float *w, int l, const float *dy_in, float *dy_out)
{
    int S = n->p.S, D = n->p.D, H = n->p.H, KV = n->p.KV, dev = n->o.dw_on_device;
    float *dx2 = wl(n, n->dx2, l, SD(n));
    struct at_unit *fb = at_layer_unit(n, l, AT_FFN_BWD), *ab = at_layer_unit(n, l, AT_ATTN_BWD);
    struct at_unit *df = at_layer_unit(n, l, AT_DW_FFN), *da = at_layer_unit(n, l, AT_DW_ATTN);

    /* feed-forward branch: dxn [S, D] = d/d(x2n); dx2 = dy + RMSNorm2 backward */
    if (at_put_in(n, fb->in, AT_FFN_BWD, at_in_blk(n, AT_FFN_BWD, FB_DY), dy_in, D, 1) ||
        (dev && at_put_in(n, df->in, AT_DW_FFN, at_in_blk(n, AT_DW_FFN, DF_DY), dy_in, D, 1)) ||
        at_eval(n, AT_FFN_BWD, fb->req) ||
        at_take(n, AT_FFN_BWD, at_out_blk(n, AT_FFN_BWD, FBO_DX), n->dxn, D, 1, 1.0f, 0))
        return -1;
    if (dev) {
        struct at_rect w13 = at_out_blk(n, AT_DW_FFN, DFO_DW13);
        if (at_tap(n, AT_FFN_BWD, FBO_DH1, df->in, AT_DW_FFN, DF_DH1) ||
            at_tap(n, AT_FFN_BWD, FBO_DH3, df->in, AT_DW_FFN, DF_DH3) ||
            at_eval(n, AT_DW_FFN, df->req) ||
            at_take(n, AT_DW_FFN, at_sub(w13, 0, H, 0, D), at_g(n, ANT_W1, l), D, 0, 1.0f, 1) ||
            at_take(n, AT_DW_FFN, at_sub(w13, H, H, 0, D), at_g(n, ANT_W3, l), D, 0, 1.0f, 1) ||
            at_take(n, AT_DW_FFN, at_out_blk(n, AT_DW_FFN, DFO_DW2T), at_g(n, ANT_W2, l), H, 1, 1.0f, 1))
            return -1;
    } else {
        float *dh1 = n->dh1 + (size_t)l * S * H, *dh3 = n->dh3 + (size_t)l * S * H;
        const float *x2n = n->x2n + l * SD(n), *g = n->g + (size_t)l * S * H;
        if (at_take(n, AT_FFN_BWD, at_out_blk(n, AT_FFN_BWD, FBO_DH1), dh1, H, 1, 1.0f, 0) ||
            at_take(n, AT_FFN_BWD, at_out_blk(n, AT_FFN_BWD, FBO_DH3), dh3, H, 1, 1.0f, 0))
            return -1;
        at_dwork_push(n->dwork, at_g(n, ANT_W1, l), dh1, x2n, S, D, H, 1.0f);
        at_dwork_push(n->dwork, at_g(n, ANT_W3, l), dh3, x2n, S, D, H, 1.0f);
        at_dwork_push(n->dwork, at_g(n, ANT_W2, l), dy_in, g, S, H, D, 1.0f);
    }
    memcpy(dx2, dy_in, SD(n) * sizeof(float));
    if (norm_backward(n, w, 2 * l + 1, dx2, n->dxn, n->x2 + l * SD(n), n->rstd2 + l * S)) return -1;

    /* attention branch: dxn = d/d(xn); dy_out = dx2 + RMSNorm1 backward */
    if (at_put_in(n, ab->in, AT_ATTN_BWD, at_in_blk(n, AT_ATTN_BWD, AB_DX2), dx2, D, 1) ||
        (dev && at_put_in(n, da->in, AT_DW_ATTN, at_in_blk(n, AT_DW_ATTN, DA_DX2), dx2, D, 1)) ||
        at_eval(n, AT_ATTN_BWD, ab->req) ||
        at_take(n, AT_ATTN_BWD, at_out_blk(n, AT_ATTN_BWD, ABO_DX), n->dxn, D, 1, 1.0f, 0))
        return -1;
    if (dev) {
        struct at_rect qkv = at_out_blk(n, AT_DW_ATTN, DAO_DWQKV);
        if (at_tap(n, AT_ATTN_BWD, ABO_DQ, da->in, AT_DW_ATTN, DA_DQ) ||
            at_tap(n, AT_ATTN_BWD, ABO_DK, da->in, AT_DW_ATTN, DA_DK) ||
            at_tap(n, AT_ATTN_BWD, ABO_DV, da->in, AT_DW_ATTN, DA_DV) ||
            at_eval(n, AT_DW_ATTN, da->req) ||
            at_take(n, AT_DW_ATTN, at_sub(qkv, 0, D, 0, D), at_g(n, ANT_WQ, l), D, 0, 1.0f, 1) ||
            at_take(n, AT_DW_ATTN, at_sub(qkv, D, KV, 0, D), at_g(n, ANT_WK, l), D, 0, 1.0f, 1) ||
            at_take(n, AT_DW_ATTN, at_sub(qkv, D + KV, KV, 0, D), at_g(n, ANT_WV, l), D, 0, 1.0f, 1) ||
            at_take(n, AT_DW_ATTN, at_out_blk(n, AT_DW_ATTN, DAO_DWO), at_g(n, ANT_WO, l), D, 0, 1.0f, 1))
            return -1;
    } else {
        float *dq = n->dq + l * SD(n), *dk = n->dk + (size_t)l * S * KV, *dv = n->dv + (size_t)l * S * KV;
        const float *xn = n->xn + l * SD(n);
        if (at_take(n, AT_ATTN_BWD, at_out_blk(n, AT_ATTN_BWD, ABO_DQ), dq, D, 1, 1.0f, 0) ||
            at_take(n, AT_ATTN_BWD, at_out_blk(n, AT_ATTN_BWD, ABO_DK), dk, KV, 1, 1.0f, 0) ||
            at_take(n, AT_ATTN_BWD, at_out_blk(n, AT_ATTN_BWD, ABO_DV), dv, KV, 1, 1.0f, 0))
            return -1;
        at_dwork_push(n->dwork, at_g(n, ANT_WQ, l), dq, xn, S, D, D, 1.0f);
        at_dwork_push(n->dwork, at_g(n, ANT_WK, l), dk, xn, S, D, KV, 1.0f);
        at_dwork_push(n->dwork, at_g(n, ANT_WV, l), dv, xn, S, D, KV, 1.0f);
        at_dwork_push(n->dwork, at_g(n, ANT_WO, l), dx2, n->ao + l * SD(n), S, D, D, 1.0f);
    }
    if (dy_out != dx2) memcpy(dy_out, dx2, SD(n) * sizeof(float));
    return norm_backward(n, w, 2 * l, dy_out, n->dxn, n->x + l * SD(n), n->rstd1 + l * S);
}

/* After forward(train) and crossentropy_forward over the first t rows: G += scale *
 * d(mean loss of the sequence)/dW. */
static int backward(struct at_net *n, const float *w, int t, float scale)
{
    int S = n->p.S, D = n->p.D, V = n->p.V, L = n->p.L;
    crossentropy_backward(n->logits, n->tgt, t, V, scale / (float)t);
    memset(n->logits + (size_t)t * V, 0, (size_t)(S - t) * V * sizeof(float));   /* padding */
    if (classifier_backward(n, w)) return -1;
    float *top = wl(n, n->dy, L - 1, SD(n));
    memset(top, 0, SD(n) * sizeof(float));
    int rc = norm_backward(n, w, 2 * L, top, n->tmp, n->x + (size_t)L * SD(n), n->rstdf);
    for (int l = L - 1; l >= 0 && rc == 0; l--)
        rc = layer_backward(n, w, l, wl(n, n->dy, l, SD(n)), l ? wl(n, n->dy, l - 1, SD(n)) : n->tmp);
    if (n->dwork) n->st.cpu_wait_ms += at_dwork_wait(n->dwork);   /* also after a failure */
    if (rc) return -1;
    embedding_backward(at_g(n, ANT_TOK_EMB, 0), n->tmp, n->tok, t, D);
    return 0;
}

/* The logits [V] of token j: from the softmax's page where the device's classifier left
 * them (classifier_forward), else from the CPU's buffer. */
static int logits_of(struct at_net *n, int j, float *dst)
{
    int V = n->p.V;
    if (!n->p.extras || !n->o.cls_on_device) {
        memcpy(dst, n->logits + (size_t)j * V, (size_t)V * sizeof *dst);
        return 0;
    }
    struct at_rect col = at_sub(at_in_blk(n, AT_SOFTMAX, SM_LOGITS), 0, V, j, 1);
    return at_take_in(n, n->smax.in, AT_SOFTMAX, col, dst, 1, 0);
}

/* The softmax cross-entropy of the first t rows of the logits (crossentropy_forward's
 * contract: n->logits [S, V] ends up holding the probabilities, the sum of
 * -log p[target] is returned). With the extras the device computes the probabilities
 * into n->probs, which then trades places with n->logits; a target probability under
 * fp16's smallest normal number (2^-14) has too few bits for its log, so that row alone
 * is done again on the CPU from its logits. */
#define FP16_MIN_NORMAL 6.103515625e-05f
static int cross_entropy(struct at_net *n, int t, double *sum)
{
    int S = n->p.S, V = n->p.V;
    if (!n->p.extras) {
        *sum = crossentropy_forward(n->logits, n->tgt, t, V);
        return 0;
    }
    struct at_rect page = at_in_blk(n, AT_SOFTMAX, SM_LOGITS);
    if ((!n->o.cls_on_device && at_put_in(n, n->smax.in, AT_SOFTMAX, page, n->logits, V, 1)) ||
        at_eval(n, AT_SOFTMAX, n->smax.req) ||
        at_take(n, AT_SOFTMAX, at_out_blk(n, AT_SOFTMAX, SMO_P), n->probs, V, 1, 1.0f, 0))
        return -1;
    *sum = 0;
    for (int i = 0; i < t && i < S; i++) {
        float *p = n->probs + (size_t)i * V;
        if (p[n->tgt[i]] >= FP16_MIN_NORMAL) {
            *sum -= log(p[n->tgt[i]]);
        } else {
            if (logits_of(n, i, p)) return -1;
            *sum += crossentropy_forward(p, &n->tgt[i], 1, V);
            n->st.softmax_cpu_rows++;
        }
    }
    float *logits = n->logits;
    n->logits = n->probs, n->probs = logits;
    return 0;
}

/* Load sequence i of the batch into tok/tgt, padded to S (exact: attention is causal). */
static int load_seq(struct at_net *n, const struct ant_batch *b, int i)
{
    int t = b->seq_len, V = n->p.V;
    for (int j = 0; j < n->p.S; j++) {
        int32_t tok = j < t ? b->tokens[(size_t)i * t + j] : 0;
        int32_t tgt = j < t && b->targets ? b->targets[(size_t)i * t + j] : 0;
        if (tok < 0 || tok >= V || tgt < 0 || tgt >= V)
            return at_fail(n, "%s[%d][%d] = %d is outside the vocabulary [0, %d)",
                           tok < 0 || tok >= V ? "tokens" : "targets", i, j,
                           (int)(tok < 0 || tok >= V ? tok : tgt), V);
        n->tok[j] = tok;
        n->tgt[j] = tgt;
    }
    return 0;
}

static int check_batch(struct at_net *n, const struct ant_batch *b)
{
    if (b->batch_size < 1 || b->batch_size > n->o.max_batch)
        return at_fail(n, "batch size %d outside [1, %d] (max_batch)", b->batch_size, n->o.max_batch);
    if (b->seq_len < 1 || b->seq_len > n->p.S)
        return at_fail(n, "sequence length %d outside [1, %d] (seq_len)", b->seq_len, n->p.S);
    if (!n->staged) return at_fail(n, "weights were never staged (weights_changed not called)");
    return 0;
}

/* Mean loss of the batch with the current scale's gradients in G; -1 on failure. */
static int batch_pass(struct at_net *n, const float *w, const struct ant_batch *b, int train,
                      double *mean)
{
    int t = b->seq_len;
    double sum = 0;
    if (train) memset(n->G, 0, n->lay.total * sizeof *n->G);
    for (int i = 0; i < b->batch_size; i++) {
        if (load_seq(n, b, i) || forward(n, w, train)) return -1;
        double ce;
        if (cross_entropy(n, t, &ce)) return -1;
        sum += ce / t;
        if (train && backward(n, w, t, n->ls.scale)) return -1;
    }
    *mean = sum / b->batch_size;
    if (!isfinite(*mean)) return at_fail(n, "loss is not finite (%g)", *mean);
    return 0;
}

/* FLOPs of b sequences of t tokens (ant_model_flops accounting) and the part the
 * device did: everything but the products configured to run on the CPU. */
static void count_work(struct at_net *n, int b, int t, int train)
{
    struct at_flops f;
    at_plan_flops(&n->c, t, &f);
    double all = ant_model_flops(&n->c, 1, t, train);
    double cpu = n->o.cls_on_device ? 0 : train ? f.cls_fwd + f.cls_dx + f.cls_dw : f.cls_fwd;
    if (train && !n->o.dw_on_device) cpu += f.layers_dw;
    n->st.flops += b * all;
    n->st.device_flops += b * (all - cpu);
    n->st.seqs += b;
}

int at_net_train_step(struct at_net *n, const float *w, const struct ant_batch *b, float *grads,
                      float grad_scale, float *loss)
{
    if (check_batch(n, b)) return -1;
    double mean;
    float scale;
    for (;;) {
        scale = n->ls.scale;
        if (batch_pass(n, w, b, 1, &mean)) return -1;
        int r = at_lscale_check(&n->ls, n->G, n->lay.total);
        if (r == 0) break;
        if (r < 0) return at_fail(n, "gradients are not finite even at loss scale %g", scale);
        if (n->o.host && n->o.host->log)
            n->o.host->log(ANT_LOG_INFO, n->o.who, "non-finite gradients at loss scale %g: "
                           "redoing the step at %g", scale, n->ls.scale);
    }
    float f = grad_scale / (scale * b->batch_size);
    for (size_t i = 0; i < n->lay.total; i++) grads[i] += f * n->G[i];
    *loss = (float)mean;
    n->st.steps++;
    count_work(n, b->batch_size, b->seq_len, 1);
    return 0;
}

int at_net_eval_loss(struct at_net *n, const float *w, const struct ant_batch *b, float *loss)
{
    double mean;
    if (check_batch(n, b) || batch_pass(n, w, b, 0, &mean)) return -1;
    *loss = (float)mean;
    count_work(n, b->batch_size, b->seq_len, 0);
    return 0;
}

int at_net_logits(struct at_net *n, const float *w, const int32_t *tokens, int n_tokens, float *logits)
{
    struct ant_batch b = {.batch_size = 1, .seq_len = n_tokens, .tokens = tokens, .targets = NULL};
    if (check_batch(n, &b) || load_seq(n, &b, 0) || forward(n, w, 0) ||
        logits_of(n, n_tokens - 1, logits))
        return -1;
    count_work(n, 1, n_tokens, 0);
    return 0;
}

int at_net_weights_changed(struct at_net *n, const float *w) { return at_stage_weights(n, w); }
