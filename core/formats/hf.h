/* Hugging Face Llama folders: config.json + model.safetensors, or shards listed in
 * model.safetensors.index.json (core/hf.c; core/hf_none.c when built without jansson).
 *
 * Hugging Face stores q_proj and k_proj with each head's rows permuted: Meta's weights
 * (and llama2.c's, and ours) rotate interleaved pairs (2i, 2i+1) of a head, Hugging
 * Face's rotate halves (i, i + head_dim/2). transformers' convert_llama_weights_to_hf.py
 * `permute` maps Meta row h*hd + 2i + j to Hugging Face row h*hd + j*hd/2 + i (j = 0, 1);
 * hf_read undoes it, hf_write applies it. */
#ifndef ANT_HF_H
#define ANT_HF_H

#include <anetrain/model.h>

#include "base/util.h"

/* 1 when this build reads and writes Hugging Face folders (jansson found). */
extern const int hf_supported;

int hf_read(const char *dir, struct ant_model_config *cfg, float **weights, struct ant_err *e);
/* Writes dir/config.json and dir/model.safetensors (fp32), making dir if needed. */
int hf_write(const char *dir, const struct ant_model_config *cfg, const float *weights,
             struct ant_err *e);

/* One [n_heads * hd, cols] matrix between the two row orders (to_hf 1: Meta -> HF). */
void hf_permute_rows(const float *src, float *dst, int n_heads, int hd, int cols, int to_hf);

#endif
