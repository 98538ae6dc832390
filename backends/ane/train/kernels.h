/* MIL programs of the ANE training kernels, generated from the plan (plan.h) with the
 * MIL builder in the chip's dialect. Every kernel has one fp16 input and one fp16
 * output surface laid out as the plan says; the only constants are the causal mask and
 * the RoPE tables (BLOBFILE weights, docs/ane.md "Kernels"). */
#ifndef ANE_TRAIN_KERNELS_H
#define ANE_TRAIN_KERNELS_H

#include <anetrain/backend.h>

#include "ane/base/blob.h"
#include "ane/train/plan.h"
#include "base/util.h"

/* The text of kernel k (malloc'd), its constants added to w; NULL with e on failure. */
char *at_kernel_text(const struct at_plan *p, enum at_kernel k, const struct ant_model_config *c,
                     const struct ant_chip *chip, struct ane_weights *w, struct ant_err *e);

#endif
