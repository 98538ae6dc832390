/* Staging the fp32 master weights into the kernels' persistent input surfaces, block by
 * block as wparts.c describes them (§6.2's rule). Every layer has its own surfaces; only
 * the activation blocks change between steps. With baked weights (ane-static) the same
 * blocks become kernel constants instead: bake.c. */
#include "ane/train/net_impl.h"
#include "ane/train/wparts.h"

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

int at_take_in(struct at_net *n, struct ane_surface *s, enum at_kernel k, struct at_rect r,
               float *dst, int ld, int trans)
{
    struct ant_err e;
    if (at_get(&n->sc, s, n->p.in[k].width, r, dst, ld, trans, 1.0f, 0, &e))
        return at_fail(n, "%s input: %s", at_kernel_name(k), e.msg);
    return 0;
}

int at_tap_rect(struct at_net *n, enum at_kernel k, struct at_rect sr, struct ane_surface *s,
                enum at_kernel ki, struct at_rect dr)
{
    struct ant_err e;
    if (at_copy(s, n->p.in[ki].width, dr, n->out[k], n->p.out[k].width, sr, &e))
        return at_fail(n, "%s -> %s: %s", at_kernel_name(k), at_kernel_name(ki), e.msg);
    return 0;
}

int at_tap(struct at_net *n, enum at_kernel k, int ob, struct ane_surface *s, enum at_kernel ki, int ib)
{
    return at_tap_rect(n, k, at_out_blk(n, k, ob), s, ki, at_in_blk(n, ki, ib));
}

/* Write every weight block of one input surface of kernel k (layer, chunk or norm idx). */
static int stage_blocks(struct at_net *n, struct at_unit *u, enum at_kernel k, int idx, const float *w)
{
    struct at_wpart part[4];
    for (int b = 0; b < n->p.in[k].n; b++) {
        int rows, cols, np = at_wparts(&n->p, n->c.shared_classifier, k, b, idx, part, &rows, &cols);
        for (int i = 0; i < np; i++) {
            const struct at_wpart *q = &part[i];
            struct at_rect r = at_sub(at_in_blk(n, k, b), q->r0, q->rows, q->c0, q->cols);
            if (at_put_in(n, u->in, k, r, at_w(n, w, q->tensor, q->layer) + q->offset, q->ld, q->trans))
                return -1;
        }
    }
    return 0;
}

int at_stage_weights(struct at_net *n, const float *w)
{
    if (n->o.baked) return at_bake_weights(n, w);
    if (at_each_weighted_unit(n, stage_blocks, w)) return -1;
    n->staged = 1;
    return 0;
}
