/* anetrain public ABI: the Llama2 model shape and its parameter layout.
 *
 * Parameters live in one contiguous fp32 buffer in llama2.c's order (tensors grouped
 * by type across layers), so a llama2.c model.bin body maps onto it directly
 * (docs/ane.md §9.2). Backends receive a pointer to that buffer and find each
 * tensor with ant_tensor(). Everything here is header-only: a plugin needs no core
 * symbol to use it. */
#ifndef ANETRAIN_MODEL_H
#define ANETRAIN_MODEL_H

#include <stddef.h>
#include <stdint.h>

struct ant_model_config {
    int32_t dim;          /* model width D */
    int32_t hidden_dim;   /* FFN width H */
    int32_t n_layers;     /* L */
    int32_t n_heads;      /* query heads; head_dim = dim / n_heads */
    int32_t n_kv_heads;   /* key/value heads (grouped-query attention when < n_heads) */
    int32_t vocab_size;   /* V */
    int32_t seq_len;      /* T, the longest context */
    int32_t shared_classifier; /* 1: logits use the token embedding; 0: separate wcls */
    float rope_theta;     /* 10000 in llama2.c */
    float norm_eps;       /* RMSNorm epsilon, 1e-5 in llama2.c */
};

static inline int ant_head_dim(const struct ant_model_config *c) { return c->dim / c->n_heads; }
static inline int ant_kv_dim(const struct ant_model_config *c)
{
    return c->dim / c->n_heads * c->n_kv_heads;
}

/* Tensors in file order. Per-layer tensors are stored [L][...] back to back. */
enum ant_tensor_id {
    ANT_TOK_EMB,   /* [V, D] */
    ANT_RMS_ATT,   /* [L, D] */
    ANT_WQ,        /* [L, D, D]      out x in */
    ANT_WK,        /* [L, KVD, D] */
    ANT_WV,        /* [L, KVD, D] */
    ANT_WO,        /* [L, D, D] */
    ANT_RMS_FFN,   /* [L, D] */
    ANT_W1,        /* [L, H, D]  gate */
    ANT_W2,        /* [L, D, H]  down */
    ANT_W3,        /* [L, H, D]  up */
    ANT_RMS_FINAL, /* [D] */
    ANT_WCLS,      /* [V, D], size 0 when the classifier is shared */
    ANT_N_TENSORS
};

struct ant_layout {
    size_t offset[ANT_N_TENSORS];    /* in floats from the start of the buffer */
    size_t per_layer[ANT_N_TENSORS]; /* floats per layer (whole size for unlayered) */
    int layered[ANT_N_TENSORS];
    size_t total;                    /* floats in the whole buffer */
};

static inline void ant_layout_init(struct ant_layout *lay, const struct ant_model_config *c)
{
    size_t D = (size_t)c->dim, H = (size_t)c->hidden_dim, V = (size_t)c->vocab_size;
    size_t KV = (size_t)ant_kv_dim(c), L = (size_t)c->n_layers;
    size_t sz[ANT_N_TENSORS] = {
        V * D, D, D * D, KV * D, KV * D, D * D, D, H * D, D * H, H * D, D,
        c->shared_classifier ? 0 : V * D,
    };
    size_t off = 0;
    for (int t = 0; t < ANT_N_TENSORS; t++) {
        int layered = t >= ANT_RMS_ATT && t <= ANT_W3;
        lay->layered[t] = layered;
        lay->per_layer[t] = sz[t];
        lay->offset[t] = off;
        off += layered ? sz[t] * L : sz[t];
    }
    lay->total = off;
}

/* Pointer to tensor t of layer l (l ignored for unlayered tensors). */
static inline float *ant_tensor(float *base, const struct ant_layout *lay, int t, int l)
{
    return base + lay->offset[t] + (lay->layered[t] ? (size_t)l * lay->per_layer[t] : 0);
}

/* Matmul FLOPs of one pass over b sequences of t tokens, as a dense implementation does
 * them: every projection, the classifier, and per head the full t x t blocks of Q.K^T
 * and P.V. Backward counts dx and dW of each (twice the forward). For efficiency
 * figures, so every backend and report counts the same way. */
static inline double ant_model_flops(const struct ant_model_config *c, int b, int t,
                                     int with_backward)
{
    double N = (double)b * t, D = c->dim, H = c->hidden_dim, KV = ant_kv_dim(c);
    double hd = ant_head_dim(c), V = c->vocab_size;
    double proj = 2 * N * (D * D + 2 * KV * D + D * D + 3 * D * H);
    double attn = (double)b * c->n_heads * 2 * (2 * (double)t * t * hd);
    double cls = 2 * N * D * V;
    double fwd = c->n_layers * (proj + attn) + cls;
    return with_backward ? 3 * fwd : fwd;
}

/* Norm weights get no weight decay (PyTorch/llama2.c convention). */
static inline int ant_tensor_is_norm(int t)
{
    return t == ANT_RMS_ATT || t == ANT_RMS_FFN || t == ANT_RMS_FINAL;
}

#endif
