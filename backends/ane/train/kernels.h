/* MIL programs of the ANE training kernels, generated from the plan (plan.h) with the
 * MIL builder in the chip's dialect. Every kernel has one fp16 input and one fp16
 * output surface laid out as the plan says; with dynamic weights the only constants are
 * the causal mask and the RoPE tables (BLOBFILE weights, docs/ane.md §15), with baked
 * weights the weight blocks are constants too. */
#ifndef ANE_TRAIN_KERNELS_H
#define ANE_TRAIN_KERNELS_H

#include <anetrain/backend.h>

#include "ane/base/blob.h"
#include "ane/train/plan.h"
#include "base/util.h"

/* Weights baked into a kernel as constants (ane-static) instead of read from its input
 * surface: the core's buffer and the layer (or vocabulary chunk) the kernel is for. */
struct at_bake {
    const float *w;
    const struct ant_layout *lay;
    int shared;          /* shared classifier */
    int idx;
};

/* The text of kernel k (malloc'd), its constants added to w; NULL with e on failure.
 * bake NULL: weights come in the input surface (plan.h); else they are constants. */
char *at_kernel_text(const struct at_plan *p, enum at_kernel k, const struct ant_model_config *c,
                     const struct ant_chip *chip, const struct at_bake *bake,
                     struct ane_weights *w, struct ant_err *e);

#endif
