/* The shared ANE training layer: the whole Llama2 model (the CPU backend's model:
 * RoPE, grouped-query attention, shared or separate classifier) run as the kernels of
 * plan.h on an ANE device, with the CPU doing what is cheap there (RMSNorm, residual
 * adds, embedding, softmax cross-entropy) through libantops; with the extras the norms
 * and the softmax are kernels too (docs/ane.md §15.1).
 *
 * Weights reach the device one of two ways (docs/ane.md §14-§15): staged into every
 * layer's persistent input surfaces by at_net_weights_changed ("dynamic", ane-dynamic;
 * each step rewrites only the activation columns), or baked into per-layer kernels as
 * constants and recompiled at every weights_changed ("static", ane-static; the compile
 * budget then bounds the updates a process can do: at_net_needs_restart). A batch
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
    int baked;                /* weights as kernel constants, recompiled after each update
                                 (ane-static); else staged into surfaces (ane-dynamic) */
    float loss_scale;         /* starting scale */
    int scale_growth;         /* clean steps before the scale doubles; 0 never */
    int dw_on_device;         /* weight gradients as kernels (else the CPU worker) */
    int cls_on_device;        /* classifier products as kernels (else OpenBLAS) */
    int cls_chunk;            /* most vocabulary rows per classifier kernel */
    int extras;               /* RMSNorms (forward and backward) and the softmax as
                                 kernels too (docs/ane.md §5.6), else on the CPU */
    int max_batch;
    int cache;                /* the on-disk compile cache (docs/ane.md §18): on/off */
    size_t cache_bytes;       /* its size limit, 0: the device's default */
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
    long softmax_cpu_rows;    /* extras: rows whose loss the CPU redid (fp16 underflow) */
};

struct at_net *at_net_open(const struct ant_model_config *c, const struct ant_chip *chip,
                           const struct at_opts *o, char *why, size_t why_len);
void at_net_close(struct at_net *n);
/* Bytes at_net_open would allocate for c and o: buffers, gradients, surfaces. */
size_t at_net_memory_bytes(const struct ant_model_config *c, const struct at_opts *o);
/* The ABI's calls (include/anetrain/backend.h), with the same contracts. */
int at_net_weights_changed(struct at_net *n, const float *w);
/* 1 when the next weights_changed would exceed the chip's per-process compile budget
 * (baked weights only), with the reason in why. */
int at_net_needs_restart(struct at_net *n, char *why, size_t why_len);
int at_net_train_step(struct at_net *n, const float *w, const struct ant_batch *b, float *grads,
                      float grad_scale, float *loss);
int at_net_eval_loss(struct at_net *n, const float *w, const struct ant_batch *b, float *loss);
int at_net_logits(struct at_net *n, const float *w, const int32_t *tokens, int n_tokens,
                  float *logits);
void at_net_stats(const struct at_net *n, struct at_stats *s);
/* The ABI's save_state and load_state: the loss scale (lscale.h). */
int at_net_save_state(const struct at_net *n, char *buf, size_t cap);
int at_net_load_state(struct at_net *n, const char *state);
const char *at_net_error(const struct at_net *n);

#endif
