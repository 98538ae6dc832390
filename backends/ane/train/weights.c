/* Staging the fp32 master weights into the kernels' persistent input surfaces (§6.2's
 * rule: a block holds the matrix with its contraction dimension down the rows, so a
 * forward product y = W x stages W^T and a backward one dx = W^T dy stages W as stored).
 * Every layer has its own surfaces; only the activation blocks change between steps. */
#include "ane/train/net_impl.h"

int at_put_in(struct at_net *n, struct ane_surface *s, enum at_kernel k, struct at_rect r,
              const float *src, int ld, int trans)
{
    struct ant_err e;
    if (at_put(&n->sc, s, n->p.in[k].width, r, src, ld, trans, &e))
        return at_fail(n, "%s input: %s", at_kernel_name(k), e.msg);
    n->st.staged_bytes += 2.0 * r.rows * r.cols;
    return 0;
}

int at_take(struct at_net *n, enum at_kernel k, struct at_rect r, float *dst, int ld, int trans,
            float alpha, int accumulate)
{
    struct ant_err e;
    if (at_get(&n->sc, n->out[k], n->p.out[k].width, r, dst, ld, trans, alpha, accumulate, &e))
        return at_fail(n, "%s output: %s", at_kernel_name(k), e.msg);
    return 0;
}

int at_tap(struct at_net *n, enum at_kernel k, int ob, struct ane_surface *s, enum at_kernel ki, int ib)
{
    struct ant_err e;
    if (at_copy(s, n->p.in[ki].width, at_in_blk(n, ki, ib), n->out[k], n->p.out[k].width,
                at_out_blk(n, k, ob), &e))
        return at_fail(n, "%s -> %s: %s", at_kernel_name(k), at_kernel_name(ki), e.msg);
    return 0;
}

/* Attention: forward [Wq; Wk; Wv]^T and Wo^T; backward Wo, Wq, Wk, Wv as stored. */
static int stage_attn(struct at_net *n, const float *w, int l)
{
    int D = n->p.D, KV = n->p.KV;
    const float *wq = at_w(n, w, ANT_WQ, l), *wk = at_w(n, w, ANT_WK, l);
    const float *wv = at_w(n, w, ANT_WV, l), *wo = at_w(n, w, ANT_WO, l);
    struct ane_surface *f = at_layer_unit(n, l, AT_ATTN_FWD)->in;
    struct ane_surface *b = at_layer_unit(n, l, AT_ATTN_BWD)->in;
    struct at_rect qkv = at_in_blk(n, AT_ATTN_FWD, AF_WQKV_T);
    return at_put_in(n, f, AT_ATTN_FWD, at_sub(qkv, 0, D, 0, D), wq, D, 1) ||
           at_put_in(n, f, AT_ATTN_FWD, at_sub(qkv, 0, D, D, KV), wk, D, 1) ||
           at_put_in(n, f, AT_ATTN_FWD, at_sub(qkv, 0, D, D + KV, KV), wv, D, 1) ||
           at_put_in(n, f, AT_ATTN_FWD, at_in_blk(n, AT_ATTN_FWD, AF_WO_T), wo, D, 1) ||
           at_put_in(n, b, AT_ATTN_BWD, at_in_blk(n, AT_ATTN_BWD, AB_WO), wo, D, 0) ||
           at_put_in(n, b, AT_ATTN_BWD, at_in_blk(n, AT_ATTN_BWD, AB_WQ), wq, D, 0) ||
           at_put_in(n, b, AT_ATTN_BWD, at_in_blk(n, AT_ATTN_BWD, AB_WK), wk, D, 0) ||
           at_put_in(n, b, AT_ATTN_BWD, at_in_blk(n, AT_ATTN_BWD, AB_WV), wv, D, 0);
}

/* FFN: forward [W1; W3]^T and W2 as stored; backward W2, W1, W3 as stored. */
static int stage_ffn(struct at_net *n, const float *w, int l)
{
    int D = n->p.D, H = n->p.H;
    const float *w1 = at_w(n, w, ANT_W1, l), *w2 = at_w(n, w, ANT_W2, l), *w3 = at_w(n, w, ANT_W3, l);
    struct ane_surface *f = at_layer_unit(n, l, AT_FFN_FWD)->in;
    struct ane_surface *b = at_layer_unit(n, l, AT_FFN_BWD)->in;
    struct at_rect w13 = at_in_blk(n, AT_FFN_FWD, FF_W13_T);
    return at_put_in(n, f, AT_FFN_FWD, at_sub(w13, 0, D, 0, H), w1, D, 1) ||
           at_put_in(n, f, AT_FFN_FWD, at_sub(w13, 0, D, H, H), w3, D, 1) ||
           at_put_in(n, f, AT_FFN_FWD, at_in_blk(n, AT_FFN_FWD, FF_W2), w2, H, 0) ||
           at_put_in(n, b, AT_FFN_BWD, at_in_blk(n, AT_FFN_BWD, FB_W2), w2, H, 0) ||
           at_put_in(n, b, AT_FFN_BWD, at_in_blk(n, AT_FFN_BWD, FB_W1), w1, D, 0) ||
           at_put_in(n, b, AT_FFN_BWD, at_in_blk(n, AT_FFN_BWD, FB_W3), w3, D, 0);
}

/* Classifier chunk ch: E[ch*cv .. +rows)^T forward, as stored backward. */
static int stage_cls(struct at_net *n, const float *w, int ch)
{
    int D = n->p.D, rows = at_chunk_rows(n, ch);
    const float *e = at_w(n, w, at_cls_tensor(n), 0) + (size_t)ch * n->p.cv * D;
    struct at_rect et = at_in_blk(n, AT_CLS_FWD, CF_ET), eb = at_in_blk(n, AT_CLS_BWD, CB_E);
    return at_put_in(n, n->cls[0][ch].in, AT_CLS_FWD, at_sub(et, 0, D, 0, rows), e, D, 1) ||
           at_put_in(n, n->cls[1][ch].in, AT_CLS_BWD, at_sub(eb, 0, rows, 0, D), e, D, 0);
}

int at_stage_weights(struct at_net *n, const float *w)
{
    for (int l = 0; l < n->p.L; l++)
        if (stage_attn(n, w, l) || stage_ffn(n, w, l)) return -1;
    for (int ch = 0; ch < n->p.n_chunks && n->o.cls_on_device; ch++)
        if (stage_cls(n, w, ch)) return -1;
    n->staged = 1;
    return 0;
}
