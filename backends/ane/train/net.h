/* The shared ANE training layer: the whole Llama2 model (the CPU backend's model:
 * RoPE, grouped-query attention, shared or separate classifier) run as the kernels of
 * plan.h on an ANE device, with the CPU doing what is cheap there (RMSNorm, residual
 * adds, embedding, softmax cross-entropy) through libantops.
 *
 * Weights reach the device as staged surfaces ("dynamic" weights, docs/ane.md):
 * at_net_weights_changed converts the core's fp32 master copy into every layer's
 * persistent input surfaces; each step rewrites only the activation columns. A batch
 * runs one sequence at a time (every kernel is compiled for seq_len tokens; a shorter
 * sequence is padded, which causality makes exact). Gradients are computed at a
 * dynamic loss scale (lscale.h) into a private buffer and handed over only when finite. */
#ifndef ANE_TRAIN_NET_H
#define ANE_TRAIN_NET_H

#include <anetrain/backend.h>
#include <stddef.h>

struct at_net;

struct at_opts {
    const char *device;       /* "apple" or "emulator" */
    float loss_scale;         /* starting scale */
    int scale_growth;         /* clean steps before the scale doubles; 0 never */
    int dw_on_device;         /* weight gradients as kernels (else the CPU worker) */
    int cls_on_device;        /* classifier products as kernels (else OpenBLAS) */
    int cls_chunk;            /* most vocabulary rows per classifier kernel */
    int max_batch;
    const struct ant_host *host;
    const char *who;          /* backend name for log lines */
};

struct at_stats {
    long kernels, compiles, evals, steps, seqs;
    double compile_ms, eval_ms, cpu_wait_ms;
    double staged_bytes;      /* fp16 bytes the CPU wrote into surfaces */
    double flops, device_flops;   /* ant_model_flops accounting of the work done */
    double modelled_ms;       /* device time modelled from the profile (docs/ane.md) */
    double loss_scale;
    long backoffs, growths;
};

struct at_net *at_net_open(const struct ant_model_config *c, const struct ant_chip *chip,
                           const struct at_opts *o, char *why, size_t why_len);
void at_net_close(struct at_net *n);
/* The ABI's calls (include/anetrain/backend.h), with the same contracts. */
int at_net_weights_changed(struct at_net *n, const float *w);
int at_net_train_step(struct at_net *n, const float *w, const struct ant_batch *b, float *grads,
                      float grad_scale, float *loss);
int at_net_eval_loss(struct at_net *n, const float *w, const struct ant_batch *b, float *loss);
int at_net_logits(struct at_net *n, const float *w, const int32_t *tokens, int n_tokens,
                  float *logits);
void at_net_stats(const struct at_net *n, struct at_stats *s);
const char *at_net_error(const struct at_net *n);

#endif
