/* The weight blocks of every kernel (wparts.h), with the §6.2 rule: a forward product
 * y = W x reads W^T with its contraction (input) dimension down the rows; a backward
 * product dx = W^T dy reads W as stored, its output dimension down the rows. */
#include "ane/train/wparts.h"

static struct at_wpart part(int t, int r0, int c0, int rows, int cols, int trans, int ld)
{
    return (struct at_wpart){t, 0, 0, r0, c0, rows, cols, trans, ld};
}

/* The RMS weights of norm j (AT_NORM_BWD): a column [D, 1]. */
static struct at_wpart norm_part(const struct at_plan *p, int j)
{
    int t = j == 2 * p->L ? ANT_RMS_FINAL : j % 2 ? ANT_RMS_FFN : ANT_RMS_ATT;
    struct at_wpart w = part(t, 0, 0, p->D, 1, 0, 1);
    w.layer = j == 2 * p->L ? 0 : j / 2;
    return w;
}

int at_wparts(const struct at_plan *p, int shared_classifier, enum at_kernel k, int b, int idx,
              struct at_wpart *w, int *rows, int *cols)
{
    int D = p->D, H = p->H, KV = p->KV, cv = p->cv, n = 0;
    int cls = shared_classifier ? ANT_TOK_EMB : ANT_WCLS;
    int valid = p->V - idx * cv < cv ? p->V - idx * cv : cv;   /* rows of chunk idx */
    switch (k * 16 + b) {
    case AT_ATTN_FWD * 16 + AF_WQKV_T:          /* [Wq; Wk; Wv]^T  [D, D+2KV] */
        *rows = D, *cols = D + 2 * KV;
        w[n++] = part(ANT_WQ, 0, 0, D, D, 1, D);
        w[n++] = part(ANT_WK, 0, D, D, KV, 1, D);
        w[n++] = part(ANT_WV, 0, D + KV, D, KV, 1, D);
        break;
    case AT_ATTN_FWD * 16 + AF_WO_T:            /* Wo^T [D, D] */
        *rows = D, *cols = D;
        w[n++] = part(ANT_WO, 0, 0, D, D, 1, D);
        break;
    case AT_FFN_FWD * 16 + FF_W13_T:            /* [W1; W3]^T [D, 2H] */
        *rows = D, *cols = 2 * H;
        w[n++] = part(ANT_W1, 0, 0, D, H, 1, D);
        w[n++] = part(ANT_W3, 0, H, D, H, 1, D);
        break;
    case AT_FFN_FWD * 16 + FF_W2:               /* W2 [D, H] */
    case AT_FFN_BWD * 16 + FB_W2:
        *rows = D, *cols = H;
        w[n++] = part(ANT_W2, 0, 0, D, H, 0, H);
        break;
    case AT_FFN_BWD * 16 + FB_W1:               /* W1, W3 [H, D] */
    case AT_FFN_BWD * 16 + FB_W3:
        *rows = H, *cols = D;
        w[n++] = part(b == FB_W1 ? ANT_W1 : ANT_W3, 0, 0, H, D, 0, D);
        break;
    case AT_ATTN_BWD * 16 + AB_WO:              /* Wo, Wq [D, D]; Wk, Wv [KV, D] */
    case AT_ATTN_BWD * 16 + AB_WQ:
        *rows = D, *cols = D;
        w[n++] = part(b == AB_WO ? ANT_WO : ANT_WQ, 0, 0, D, D, 0, D);
        break;
    case AT_ATTN_BWD * 16 + AB_WK:
    case AT_ATTN_BWD * 16 + AB_WV:
        *rows = KV, *cols = D;
        w[n++] = part(b == AB_WK ? ANT_WK : ANT_WV, 0, 0, KV, D, 0, D);
        break;
    case AT_CLS_FWD * 16 + CF_ET:               /* E_chunk^T [D, cv] */
        *rows = D, *cols = cv;
        w[n++] = part(cls, 0, 0, D, valid, 1, D);
        break;
    case AT_CLS_BWD * 16 + CB_E:                /* E_chunk [cv, D] */
        *rows = cv, *cols = D;
        w[n++] = part(cls, 0, 0, valid, D, 0, D);
        break;
    case AT_ATTN_FWD * 16 + AF_RMS:             /* RMS weights [D, 1], with the extras */
    case AT_FFN_FWD * 16 + FF_RMS:
        if (!p->extras) return 0;
        *rows = D, *cols = 1;
        w[n++] = norm_part(p, 2 * idx + (k == AT_FFN_FWD));
        break;
    case AT_NORM_FWD * 16 + NF_W:               /* the final norm's */
    case AT_NORM_BWD * 16 + NB_W:               /* norm idx's */
        *rows = D, *cols = 1;
        w[n++] = norm_part(p, k == AT_NORM_FWD ? 2 * p->L : idx);
        break;
    default:
        return 0;
    }
    if (k == AT_CLS_FWD || k == AT_CLS_BWD) w[0].offset = (size_t)idx * cv * D;
    else if (k < AT_CLS_FWD) w[0].layer = idx;
    for (int i = 1; i < n; i++) w[i].layer = w[0].layer;
    return n;
}
