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

#endif
