/* Where each weight block's contents come from: the parts of the core's fp32 weights
 * (which tensor, transposed or not) that fill it. One description serves both ways a
 * block reaches the device: staged into a surface (dynamic weights, weights.c) or baked
 * into the kernel as a BLOBFILE constant (static weights, kernels.c). */
#ifndef ANE_TRAIN_WPARTS_H
#define ANE_TRAIN_WPARTS_H

#include <anetrain/model.h>

#include "ane/train/plan.h"

struct at_wpart {
    int tensor;            /* enum ant_tensor_id */
    int layer;             /* of a per-layer tensor */
    size_t offset;         /* floats into the tensor (a vocabulary chunk's first row) */
    int r0, c0, rows, cols;   /* where it goes in the block */
    int trans;             /* element (i, j) = src[j*ld + i], else src[i*ld + j] */
    int ld;
};

/* The parts of block b of kernel k's input for layer (or vocabulary chunk, or norm: see
 * AT_NORM_BWD) idx, and the block's shape; returns the number of parts, 0 when b is not a weight block. Rows or
 * columns no part covers are zero (a partial last vocabulary chunk). */
int at_wparts(const struct at_plan *p, int shared_classifier, enum at_kernel k, int b, int idx,
              struct at_wpart *parts, int *rows, int *cols);

#endif
