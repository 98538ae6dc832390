/* The whole Llama2 model on the CPU in fp32: forward, backward and next-token logits over
 * the core's weight buffer (ant_layout order). All activations are allocated once, for
 * max_batch sequences of c->seq_len tokens; no call allocates.
 *
 * A model object is not thread-safe, and backward uses the activations of the latest
 * forward, so a logits call between them invalidates the pending backward. */
#ifndef ANT_CPU_MODEL_H
#define ANT_CPU_MODEL_H

#include <anetrain/model.h>
#include <stddef.h>
#include <stdint.h>

struct cpu_model;

/* Bytes cpu_model_create allocates for c and max_batch (the memory plan). */
size_t cpu_model_bytes(const struct ant_model_config *c, int max_batch);

/* NULL on a bad config or out of memory, with the reason in why. */
struct cpu_model *cpu_model_create(const struct ant_model_config *c, int max_batch,
                                   char *why, size_t why_len);
void cpu_model_free(struct cpu_model *m);

/* Forward over B sequences of T tokens: *loss = mean cross-entropy over all B*T
 * positions. tokens, targets [B, T]. Keeps what backward needs. 0 or -1. */
int cpu_model_forward(struct cpu_model *m, const float *weights, const int32_t *tokens,
                      const int32_t *targets, int b, int t, float *loss);
/* After cpu_model_forward: grads (layout order) += grad_scale * d(loss)/d(weights). */
int cpu_model_backward(struct cpu_model *m, const float *weights, float *grads,
                       float grad_scale);
/* logits [V] of the token after tokens[0..n-1], 1 <= n <= seq_len. */
int cpu_model_logits(struct cpu_model *m, const float *weights, const int32_t *tokens, int n,
                     float *logits);

/* The three matrix products of the model, replaceable: an accelerator backend can run
 * them on its device and keep everything else of this fp32 model (the ane-fp16io
 * backend does). Same contracts as ops.h's matmul_forward, matmul_backward_dx and
 * matmul_backward_dw. A provider that fails sets its own error flag; the caller checks it
 * after the pass. NULL restores the OpenBLAS ones. */
struct cpu_matmul_ops {
    void *ctx;
    void (*forward)(void *ctx, float *y, const float *x, const float *w, int n, int in, int out);
    void (*backward_dx)(void *ctx, float *dx, const float *dy, const float *w, int n, int in,
                        int out, float beta);
    void (*backward_dw)(void *ctx, float *dw, const float *dy, const float *x, int n, int in,
                        int out, float alpha);
};
void cpu_model_set_matmul(struct cpu_model *m, const struct cpu_matmul_ops *ops);

/* Why the last call failed. */
const char *cpu_model_error(const struct cpu_model *m);

#endif
