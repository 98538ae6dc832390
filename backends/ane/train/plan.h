/* The surface plan of the ANE training pipeline: which kernels a layer runs, and where
 * every tensor sits in each kernel's input and output surface.
 *
 * A surface holds one fp16 tensor [1, rows, 1, width] (channel-first, docs/ane.md
 * "Surfaces"): element (r, c) at r * width + c. Tensors are rectangles in it. Two packings
 * (docs/ane.md "Packing"):
 *  - column blocks: the page's rows are a matmul's contraction dimension, so activations
 *    x^T [C, S] and weights sit side by side in the spatial axis; a block with fewer rows
 *    than the page uses its top rows (the rest is never read);
 *  - row blocks: tensors of the same width stacked along the channels (dW kernels, whose
 *    contraction runs over the S tokens, and every kernel's output taps).
 * S is the model's seq_len: every kernel works on one whole sequence.
 *
 * Weight blocks are named by what the CPU writes there: Wqkv^T means the stacked
 * [Wq; Wk; Wv] transposed (rows = model dim). */
#ifndef ANE_TRAIN_PLAN_H
#define ANE_TRAIN_PLAN_H

#include <anetrain/model.h>
#include <stddef.h>

enum at_kernel {
    AT_ATTN_FWD,   /* RMSNorm'd x -> Wo·attention(rope(Wq x), rope(Wk x), Wv x) + taps */
    AT_FFN_FWD,    /* RMSNorm'd x2 -> W2·(silu(W1 x2) * W3 x2) + taps */
    AT_FFN_BWD,    /* dy -> dx of the FFN branch, dh1, dh3 (SiLU-gate backward inside) */
    AT_ATTN_BWD,   /* dx2 -> dx of the attention branch, dq, dk, dv (RoPE backward inside) */
    AT_DW_ATTN,    /* dWq, dWk, dWv, dWo of one layer */
    AT_DW_FFN,     /* dW1, dW3, dW2^T of one layer */
    AT_CLS_FWD,    /* logits of one vocabulary chunk */
    AT_CLS_BWD,    /* dx_final part and dE^T of one vocabulary chunk */
    /* The norms and the softmax on the device (the extras, docs/ane.md §5.6): */
    AT_NORM_FWD,   /* the final RMSNorm (the layers' two are inside ATTN_FWD and FFN_FWD) */
    AT_NORM_BWD,   /* dx of one RMSNorm: norm j = 2l (attention), 2l+1 (FFN), 2L (final) */
    AT_SOFTMAX,    /* probabilities over the whole vocabulary */
    AT_N_KERNELS
};

/* Blocks, by kernel. Inputs first, then outputs. With the extras the forward kernels
 * take x itself in AF_XN / FF_X2N, normalise it with the RMS weights of AF_RMS / FF_RMS,
 * and tap the normalised x and its 1/rms row (AFO_XN, AFO_R); without them those blocks
 * are empty and the CPU normalises. */
enum { AF_XN, AF_WQKV_T, AF_WO_T, AF_RMS, AF_N };
enum { AFO_O, AFO_AO, AFO_Q, AFO_K, AFO_V, AFO_XN, AFO_R, AFO_N };
enum { FF_X2N, FF_W13_T, FF_W2, FF_RMS, FF_N };
enum { FFO_Y, FFO_H1, FFO_H3, FFO_G, FFO_XN, FFO_R, FFO_N };
enum { FB_DY, FB_W2, FB_H1, FB_H3, FB_W1, FB_W3, FB_N };
enum { FBO_DX, FBO_DH1, FBO_DH3, FBO_N };
enum { AB_DX2, AB_WO, AB_Q, AB_K, AB_V, AB_WQ, AB_WK, AB_WV, AB_N };
enum { ABO_DX, ABO_DQ, ABO_DK, ABO_DV, ABO_N };
enum { DA_DQ, DA_DK, DA_DV, DA_XN, DA_DX2, DA_AO, DA_N };
enum { DAO_DWQKV, DAO_DWO, DAO_N };
enum { DF_DH1, DF_DH3, DF_X2N, DF_G, DF_DY, DF_N };
enum { DFO_DW13, DFO_DW2T, DFO_N };
enum { CF_XF, CF_ET, CF_N };
enum { CFO_LOGITS, CFO_N };
enum { CB_DL, CB_E, CB_XF, CB_N };
enum { CBO_DXF, CBO_DET, CBO_N };
enum { NF_X, NF_W, NF_N };
enum { NFO_Y, NFO_R, NFO_N };
enum { NB_DY, NB_X, NB_W, NB_N };
enum { NBO_DX, NBO_N };
enum { SM_LOGITS, SM_N };
enum { SMO_P, SMO_N };

#define AT_MAX_BLOCKS 8

struct at_rect {
    int r0, rows, c0, cols;
};

struct at_layout {
    int rows, width;                     /* the surface's tensor [1, rows, 1, width] */
    struct at_rect blk[AT_MAX_BLOCKS];
    int n;
};

struct at_plan {
    int D, H, KV, nh, nkv, hd, S, V, L;
    int cv, n_chunks;                    /* vocabulary chunk (rows past V are zero) */
    int extras;                          /* norms and softmax on the device */
    struct at_layout in[AT_N_KERNELS], out[AT_N_KERNELS];
};

/* Lay out every kernel for model c with sequences of c->seq_len tokens and vocabulary
 * chunks of at most cls_chunk rows. baked: the weights are kernel constants, so the
 * weight blocks take no columns (their shapes come from wparts.h). extras: the norms and
 * the softmax run on the device. */
void at_plan_init(struct at_plan *p, const struct ant_model_config *c, int cls_chunk, int baked,
                  int extras);
size_t at_layout_bytes(const struct at_layout *l);    /* fp16 bytes of the tensor */
const char *at_kernel_name(enum at_kernel k);

/* Matmul FLOPs of one sequence (ant_model_flops accounting) by where they can run:
 * the layers' forward and input-gradient work, their weight gradients, and the
 * classifier's three products. Their sum is ant_model_flops(c, 1, S, 1). */
struct at_flops {
    double layers_fwd_dx, layers_dw, cls_fwd, cls_dx, cls_dw;
};
void at_plan_flops(const struct ant_model_config *c, int S, struct at_flops *f);

#endif
