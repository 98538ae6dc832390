/* llama2.c model files: the legacy "version 0" model.bin (docs/ane.md §9.2), to
 * start from a trained model and to hand ours to llama2.c's run.c.
 *
 * Layout: a 28-byte header of 7 int32 (dim, hidden_dim, n_layers, n_heads, n_kv_heads,
 * vocab_size, seq_len; a negative vocab_size means a separate classifier), then fp32
 * tensors in include/anetrain/model.h's order, with llama2.c's RoPE tables
 * freq_cis_real[seq_len][head_dim/2] and freq_cis_imag[seq_len][head_dim/2] between
 * rms_final and wcls. Little-endian, as every machine llama2.c runs on. */
#ifndef ANT_LLAMA2C_H
#define ANT_LLAMA2C_H

#include <anetrain/model.h>
#include <stddef.h>
#include <stdint.h>

#include "base/util.h"

/* Read path into cfg (rope_theta 10000, norm_eps 1e-5, as llama2.c assumes) and a new
 * buffer *weights of layout.total floats (ant_falloc; free with ant_ffree). The RoPE
 * tables are skipped. Refused, with one line naming the file: any header field not
 * positive, dim % n_heads, n_heads % n_kv_heads, an odd head_dim, a file size other than
 * exactly what the header implies (both numbers given). */
int llama2c_read(const char *path, struct ant_model_config *cfg, float **weights,
                 struct ant_err *e);

/* Write cfg and weights [layout.total] to path atomically (base/fileio.h). The RoPE
 * tables are computed as llama2.c's export.py does: in float32,
 * freq[i] = 1 / theta^((2i)/head_dim), real[p][i] = cos(p*freq[i]), imag = sin, with
 * theta = cfg->rope_theta. */
int llama2c_write(const char *path, const struct ant_model_config *cfg, const float *weights,
                  struct ant_err *e);

/* ---- versions 1 and 2 (llama2.c export.py's version1_export / version2_export) ----
 * A 256-byte header: uint32 magic 0x616b3432 ("ak42"), int32 version, the 7 int32 of
 * version 0 (vocab_size always positive), uint8 shared_classifier, and for version 2 an
 * int32 group_size at byte 37 (unaligned); zeros to byte 256. No RoPE tables.
 * Version 1 body, fp32: rms_att [L,D], rms_ffn [L,D], rms_final [D], token_embedding
 * [V,D], wq, wk, wv, wo, w1, w2, w3 (each [L,...]), wcls [V,D] unless shared.
 * Version 2 body (what llama2.c's runq.c reads): the three norms in fp32 as above, then
 * for token_embedding, each layer's wq, then each layer's wk, ..., w3, and wcls unless
 * shared: int8 q[n] followed by fp32 scale[n / group_size] (Q8_0: x = q * scale). */
int llama2c_read_ak42(const char *path, struct ant_model_config *cfg, float **weights,
                      int *version, struct ant_err *e);
/* Version 1, or version 2 quantized with llama2c_group_size(cfg). */
int llama2c_write_ak42(const char *path, int version, const struct ant_model_config *cfg,
                       const float *weights, struct ant_err *e);

/* Q8_0 (core/llama2c_q8.c). export.py's group: 64, halved until it divides dim; halved
 * further here until it also divides hidden_dim, which runq.c's matmul assumes. */
int llama2c_group_size(const struct ant_model_config *cfg);
/* x [n] -> q [n], scale [n/gs] as export.py's quantize_q80 does in float32: scale =
 * max|x| / 127, q = round-half-even(x / scale) (q = 0 in an all-zero group). A group that
 * already lies exactly on the grid of a scale one float step away (a dequantized
 * version-2 file) keeps that scale, so version 2 round-trips byte for byte. */
void q8_quantize(const float *x, size_t n, int gs, int8_t *q, float *scale);
void q8_dequantize(const int8_t *q, const float *scale, size_t n, int gs, float *x);

/* Shared by the readers (core/llama2c.c). */
int llama2c_check_config(const char *path, const struct ant_model_config *c, struct ant_err *e);
/* Floats of the weights alone (layout.total), checked for overflow; -1 if too large. */
int llama2c_weight_floats(const struct ant_model_config *c, uint64_t *n);
int llama2c_check_finite(const char *path, const float *w, const struct ant_layout *lay,
                         int n_layers, struct ant_err *e);

#endif
