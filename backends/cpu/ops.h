/* fp32 building blocks of the Llama2 forward and backward pass, shared by every backend
 * (libantops.la). Rows are tokens: N = B*T. Matrices are row-major; weights are stored
 * [out, in] as in llama2.c. Functions named *_backward ADD into weight gradients and say
 * for each input gradient whether it is overwritten or accumulated. No function
 * allocates memory or checks its input: callers validate tokens and shapes. */
#ifndef ANT_OPS_H
#define ANT_OPS_H

#include <stddef.h>
#include <stdint.h>

/* y [N, out] = x [N, in] · W^T, W [out, in] */
void matmul_forward(float *y, const float *x, const float *w, int n, int in, int out);
/* dx [N, in] = dy [N, out] · W + beta * dx   (beta 0: overwrite, 1: accumulate) */
void matmul_backward_dx(float *dx, const float *dy, const float *w, int n, int in, int out,
                        float beta);
/* dW [out, in] += alpha * dy^T [out, N] · x [N, in] */
void matmul_backward_dw(float *dw, const float *dy, const float *x, int n, int in, int out,
                        float alpha);

/* out [N, D] = x * rstd * w, rstd [N] = 1 / sqrt(mean(x^2) + eps) (saved for backward).
 * out may not alias x. */
void rmsnorm_forward(float *out, float *rstd, const float *x, const float *w, int n, int d,
                     float eps);
/* dx [N, D] += d/dx, dw [D] += d/dw, given dout [N, D] and the forward's x and rstd. */
void rmsnorm_backward(float *dx, float *dw, const float *dout, const float *x, const float *w,
                      const float *rstd, int n, int d);
/* dw [D] += d/dw alone (dx computed elsewhere: the ANE's norm kernel). */
void rmsnorm_backward_dw(float *dw, const float *dout, const float *x, const float *rstd, int n,
                         int d);

/* RoPE tables cos, sin [seq_len, head_dim/2]: angle pos * theta^(-2i/head_dim) for pair i. */
void rope_table(float *cos_t, float *sin_t, int seq_len, int head_dim, float theta);
/* Rotate in place x [B*T, n_heads*head_dim]: position t of every sequence by angle t. */
void rope_forward(float *x, const float *cos_t, const float *sin_t, int b, int t, int n_heads,
                  int head_dim);
/* The transpose: rotate the gradient dx in place by -angle. */
void rope_backward(float *dx, const float *cos_t, const float *sin_t, int b, int t,
                   int n_heads, int head_dim);

/* Causal grouped-query attention, scale 1/sqrt(hd); query head h reads kv head
 * h / (nh / nkv).  q [B*T, nh*hd], k, v [B*T, nkv*hd] (after RoPE),
 * out [B*T, nh*hd], att [B, nh, T, T] softmax probabilities (upper triangle 0), saved. */
void attention_forward(float *out, float *att, const float *q, const float *k, const float *v,
                       int b, int t, int nh, int nkv, int hd);
/* dq [B*T, nh*hd], dk, dv [B*T, nkv*hd] overwritten; scratch [T, T]. */
void attention_backward(float *dq, float *dk, float *dv, float *scratch, const float *dout,
                        const float *att, const float *q, const float *k, const float *v,
                        int b, int t, int nh, int nkv, int hd);

/* out [n] = silu(a) * c  (a = W1·h gate, c = W3·h up); no buffer may overlap another */
void swiglu_forward(float *out, const float *a, const float *c, size_t n);
/* da, dc [n] overwritten */
void swiglu_backward(float *da, float *dc, const float *dout, const float *a, const float *c,
                     size_t n);

/* x [N, D] = emb [tokens[i], :] */
void embedding_forward(float *x, const float *emb, const int32_t *tokens, int n, int d);
/* demb [V, D] += rows of dx [N, D] at tokens */
void embedding_backward(float *demb, const float *dx, const int32_t *tokens, int n, int d);

/* logits [N, V] are replaced by their softmax; returns the SUM over rows of
 * -log p[target] (double, so means over long batches stay exact). */
double crossentropy_forward(float *logits, const int32_t *targets, int n, int v);
/* probs [N, V] (from crossentropy_forward) become dlogits = scale * (p - onehot(target)).
 * For the mean loss, scale = grad_scale / N. */
void crossentropy_backward(float *probs, const int32_t *targets, int n, int v, float scale);

#endif
