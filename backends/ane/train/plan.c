/* Surface layouts of the ANE training kernels (plan.h). One function per packing, so
 * each kernel's layout reads as its list of blocks. */
#include "ane/train/plan.h"

/* Column blocks side by side in a page of `rows` rows; block i is rows[i] x cols[i]. */
static void columns(struct at_layout *l, int rows, int n, const int *brows, const int *bcols)
{
    l->rows = rows;
    l->n = n;
    int c = 0;
    for (int i = 0; i < n; i++) {
        l->blk[i] = (struct at_rect){0, brows[i], c, bcols[i]};
        c += bcols[i];
    }
    l->width = c;
}

/* Row blocks of one width stacked along the channels. */
static void stacked(struct at_layout *l, int width, int n, const int *brows)
{
    l->width = width;
    l->n = n;
    int r = 0;
    for (int i = 0; i < n; i++) {
        l->blk[i] = (struct at_rect){r, brows[i], 0, width};
        r += brows[i];
    }
    l->rows = r;
}

static int max2(int a, int b) { return a > b ? a : b; }

void at_plan_init(struct at_plan *p, const struct ant_model_config *c, int cls_chunk, int baked,
                  int extras)
{
    int D = c->dim, H = c->hidden_dim, KV = ant_kv_dim(c), S = c->seq_len, V = c->vocab_size;
    p->D = D, p->H = H, p->KV = KV, p->S = S, p->V = V, p->L = c->n_layers;
    p->nh = c->n_heads, p->nkv = c->n_kv_heads, p->hd = ant_head_dim(c);
    if (cls_chunk < 1 || cls_chunk > V) cls_chunk = V;
    p->n_chunks = (V + cls_chunk - 1) / cls_chunk;
    p->cv = (V + p->n_chunks - 1) / p->n_chunks;    /* equal chunks: one kernel shape */
    int cv = p->cv, R;
    int w = !baked;   /* baked weights are kernel constants: their blocks take no columns */
    int x = p->extras = extras != 0;   /* the norm blocks exist only with the extras */

    columns(&p->in[AT_ATTN_FWD], D, AF_N, (int[]){D, D, D, D}, (int[]){S, w * (D + 2 * KV), w * D, x * w});
    stacked(&p->out[AT_ATTN_FWD], S, AFO_N, (int[]){D, D, D, KV, KV, x * D, x});

    columns(&p->in[AT_FFN_FWD], D, FF_N, (int[]){D, D, D, D}, (int[]){S, w * 2 * H, w * H, x * w});
    stacked(&p->out[AT_FFN_FWD], S, FFO_N, (int[]){D, H, H, H, x * D, x});

    R = max2(D, H);
    columns(&p->in[AT_FFN_BWD], R, FB_N, (int[]){D, D, H, H, H, H}, (int[]){S, w * H, S, S, w * D, w * D});
    stacked(&p->out[AT_FFN_BWD], S, FBO_N, (int[]){D, H, H});

    columns(&p->in[AT_ATTN_BWD], D, AB_N, (int[]){D, D, D, KV, KV, D, KV, KV},
            (int[]){S, w * D, S, S, S, w * D, w * D, w * D});
    stacked(&p->out[AT_ATTN_BWD], S, ABO_N, (int[]){D, D, KV, KV});

    stacked(&p->in[AT_DW_ATTN], S, DA_N, (int[]){D, KV, KV, D, D, D});
    stacked(&p->out[AT_DW_ATTN], D, DAO_N, (int[]){D + 2 * KV, D});

    stacked(&p->in[AT_DW_FFN], S, DF_N, (int[]){H, H, D, H, D});
    stacked(&p->out[AT_DW_FFN], D, DFO_N, (int[]){2 * H, H});

    columns(&p->in[AT_CLS_FWD], D, CF_N, (int[]){D, D}, (int[]){S, w * cv});
    stacked(&p->out[AT_CLS_FWD], S, CFO_N, (int[]){cv});

    R = max2(cv, D);
    columns(&p->in[AT_CLS_BWD], R, CB_N, (int[]){cv, cv, D}, (int[]){S, w * D, S});
    columns(&p->out[AT_CLS_BWD], D, CBO_N, (int[]){D, D}, (int[]){S, cv});

    columns(&p->in[AT_NORM_FWD], D, NF_N, (int[]){D, D}, (int[]){S, w});
    stacked(&p->out[AT_NORM_FWD], S, NFO_N, (int[]){D, 1});
    columns(&p->in[AT_NORM_BWD], D, NB_N, (int[]){D, D, D}, (int[]){S, S, w});
    stacked(&p->out[AT_NORM_BWD], S, NBO_N, (int[]){D});
    stacked(&p->in[AT_SOFTMAX], S, SM_N, (int[]){V});    /* exactly V rows: no padding */
    stacked(&p->out[AT_SOFTMAX], S, SMO_N, (int[]){V});
}

size_t at_layout_bytes(const struct at_layout *l) { return (size_t)l->rows * l->width * 2; }

const char *at_kernel_name(enum at_kernel k)
{
    static const char *names[AT_N_KERNELS] = {"attn_fwd", "ffn_fwd", "ffn_bwd", "attn_bwd",
                                              "dw_attn", "dw_ffn", "cls_fwd", "cls_bwd",
                                              "norm_fwd", "norm_bwd", "softmax"};
    return k >= 0 && k < AT_N_KERNELS ? names[k] : "?";
}

void at_plan_flops(const struct ant_model_config *c, int S, struct at_flops *f)
{
    double D = c->dim, H = c->hidden_dim, KV = ant_kv_dim(c), hd = ant_head_dim(c);
    double N = S, L = c->n_layers, V = c->vocab_size;
    double proj = 2 * N * (2 * D * D + 2 * KV * D + 3 * D * H);
    double attn = c->n_heads * 2 * (2 * N * N * hd);
    f->layers_fwd_dx = L * (2 * proj + 3 * attn);   /* attention has no weights: all dx */
    f->layers_dw = L * proj;
    f->cls_fwd = f->cls_dx = f->cls_dw = 2 * N * D * V;
}
