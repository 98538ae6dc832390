/* Moving tensors between the CPU's fp32 buffers and rectangles of fp16 surfaces
 * (plan.h), converting with the vectorised fp16 routines (RNE, ane/base/fp16.h).
 * The CPU keeps activations token-major [S, C] (the CPU backend's layout) and weights
 * as stored [out, in]; surfaces are channel-first, so most moves transpose, blocked by
 * AT_TILE rows to stay in cache. Surfaces are locked only around the copy (§2.3). */
#ifndef ANE_TRAIN_STAGE_H
#define ANE_TRAIN_STAGE_H

#include "ane/device/device.h"
#include "ane/train/plan.h"
#include "base/util.h"

#define AT_TILE 16

/* Scratch the moves share: AT_TILE rows of the widest rectangle. */
struct at_scratch {
    float *tile;
    size_t cap;   /* floats */
};
void at_scratch_free(struct at_scratch *s);

/* Write rectangle r of a surface whose tensor is `width` wide:
 * element (i, j) = src[j*ld + i] when trans, else src[i*ld + j]. */
int at_put(struct at_scratch *sc, struct ane_surface *s, int width, struct at_rect r,
           const float *src, int ld, int trans, struct ant_err *e);
/* Read rectangle r: dst[j*ld + i] (trans) or dst[i*ld + j] = alpha * element (i, j),
 * added to what dst holds when accumulate. */
int at_get(struct at_scratch *sc, struct ane_surface *s, int width, struct at_rect r,
           float *dst, int ld, int trans, float alpha, int accumulate, struct ant_err *e);
/* fp16 rectangle to rectangle of the same size, between surfaces (or within one). */
int at_copy(struct ane_surface *dst, int dst_width, struct at_rect dr,
            struct ane_surface *src, int src_width, struct at_rect sr, struct ant_err *e);

#endif
