/* A forward pass one token at a time with a key/value cache, over the fp32 weights in
 * the public layout (anetrain/model.h): what sampling needs. It is llama2.c run.c's
 * forward() computing exactly the CPU backend's model (RoPE on pairs (2i, 2i+1), grouped
 * query attention with query head h reading kv head h / (n_heads / n_kv_heads), SwiGLU,
 * shared or separate classifier), with every matrix-vector product through BLAS sgemv.
 *
 * Why here and not in the CPU backend: sampling is a core feature that must work
 * whatever backend trained the weights, and the backend ABI has no incremental call;
 * the backends' full-sequence logits() stays the reference this file is tested
 * against (tests/test_kvmodel.c). Cost per token: O(params + pos * kv_dim * L) instead
 * of a whole forward over the window. */
#ifndef ANT_KVMODEL_H
#define ANT_KVMODEL_H

#include <anetrain/model.h>

#include "base/util.h"

struct ant_kvmodel;

/* w: [layout.total] fp32, borrowed (must outlive the model). */
int kv_open(struct ant_kvmodel **m, const struct ant_model_config *c, const float *w,
            struct ant_err *e);
/* Logits [vocab_size] of the token after `token` at position pos (0 <= pos < seq_len),
 * given that positions 0..pos-1 were fed before (their keys and values are cached).
 * The pointer stays valid until the next call. */
const float *kv_forward(struct ant_kvmodel *m, int token, int pos);
void kv_close(struct ant_kvmodel *m);

#endif
