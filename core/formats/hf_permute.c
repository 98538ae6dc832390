/* The RoPE row order of q_proj/k_proj between Meta/llama2.c and Hugging Face (hf.h). */
#include <string.h>

#include "formats/hf.h"

void hf_permute_rows(const float *src, float *dst, int n_heads, int hd, int cols, int to_hf)
{
    int half = hd / 2;
    for (int h = 0; h < n_heads; h++)
        for (int i = 0; i < half; i++)
            for (int j = 0; j < 2; j++) {
                size_t meta = (size_t)h * hd + 2 * (size_t)i + (size_t)j;   /* pair i, member j */
                size_t hf = (size_t)h * hd + (size_t)j * half + (size_t)i;  /* half j, index i */
                size_t from = to_hf ? meta : hf, to = to_hf ? hf : meta;
                memcpy(dst + to * (size_t)cols, src + from * (size_t)cols,
                       (size_t)cols * sizeof *dst);
            }
}
