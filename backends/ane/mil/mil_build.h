/* Building MIL programs in C: the only way the backends make kernels (they never paste
 * MIL text). Each call adds one statement, infers its type with the same checker the
 * parser uses, and returns the new value; the text comes out in the chip's dialect
 * (§3.1-§3.3). Errors are sticky: after the first, calls return -1 and milb_text
 * reports it, so kernel code reads as a straight list of ops.
 *
 *   struct mil_builder *b = milb_new(chip);
 *   mil_v x = milb_input(b, "act_in", MIL_FP16, MIL_SHAPE(1, 64, 1, 32));
 *   mil_v w = milb_weight(b, "proj_w", &weights, "proj.bin", MIL_SHAPE(128, 64, 1, 1), W);
 *   mil_v y = milb_conv(b, "proj_out", x, w);
 *   milb_output(b, milb_mul(b, "proj_act", y, milb_sigmoid(b, "proj_sig", y)));
 *   char *text = milb_text(b, &err);
 */
#ifndef ANE_MIL_BUILD_H
#define ANE_MIL_BUILD_H

#include "ane/mil/mil.h"

typedef int mil_v;    /* a value: its variable's index; -1 after an error */

struct mil_shape {
    int rank;
    int dim[MIL_MAX_RANK];
};
#define MIL_SHAPE(...) ((struct mil_shape){sizeof((int[]){__VA_ARGS__}) / sizeof(int), {__VA_ARGS__}})

struct mil_builder;

/* Dialect from the chip: program/target version and scalar spelling. */
struct mil_builder *milb_new(const struct ant_chip *chip);
void milb_free(struct mil_builder *b);

mil_v milb_input(struct mil_builder *b, const char *name, enum mil_dtype dt, struct mil_shape s);
/* Weights: appends the values (converted to fp16) as a new chunk of blob `file` in w
 * and binds it with a BLOBFILE const at that chunk's offset (§3.4, §4). */
mil_v milb_weight(struct mil_builder *b, const char *name, struct ane_weights *w,
                  const char *file, struct mil_shape s, const float *data);
mil_v milb_blobfile(struct mil_builder *b, const char *name, enum mil_dtype dt,
                    struct mil_shape s, const char *key, uint64_t offset);
mil_v milb_scalar(struct mil_builder *b, const char *name, float v);      /* fp16 const */
mil_v milb_tensor(struct mil_builder *b, const char *name, struct mil_shape s, const float *v);

mil_v milb_conv(struct mil_builder *b, const char *name, mil_v x, mil_v w);   /* 1x1, §3.7 */
mil_v milb_conv_groups(struct mil_builder *b, const char *name, mil_v x, mil_v w, int groups);
mil_v milb_matmul(struct mil_builder *b, const char *name, mil_v x, mil_v y, int trans_x, int trans_y);
mil_v milb_binary(struct mil_builder *b, enum mil_op op, const char *name, mil_v x, mil_v y);
mil_v milb_unary(struct mil_builder *b, enum mil_op op, const char *name, mil_v x);
mil_v milb_softmax(struct mil_builder *b, const char *name, mil_v x, int axis);
mil_v milb_reduce_sum(struct mil_builder *b, const char *name, mil_v x, int n_axes,
                      const int *axes, int keep_dims);
mil_v milb_reshape(struct mil_builder *b, const char *name, mil_v x, struct mil_shape s);
mil_v milb_transpose(struct mil_builder *b, const char *name, mil_v x, struct mil_shape perm);
mil_v milb_slice(struct mil_builder *b, const char *name, mil_v x, struct mil_shape begin,
                 struct mil_shape size);
mil_v milb_concat(struct mil_builder *b, const char *name, int axis, int n, const mil_v *values);
mil_v milb_cast(struct mil_builder *b, const char *name, mil_v x, enum mil_dtype dt);
/* softmax(q kᵀ / sqrt(E)) v over the last two axes (§3.5). No mask: the ANE ignores
 * attn_mask (§12.4), so causal attention is matmul + mask + softmax + matmul. */
mil_v milb_sdpa(struct mil_builder *b, const char *name, mil_v q, mil_v k, mil_v v);
/* int8 weights: n values q as a chunk of blob `file` in w, read back as fp16
 * scale * q by constexpr_affine_dequantize (zero point 0, §3.5, §8.3); n_scale is 1
 * (one scale) or s.dim[0] (one per output channel, axis 0). */
mil_v milb_weight_int8(struct mil_builder *b, const char *name, struct ane_weights *w,
                       const char *file, struct mil_shape s, const int8_t *q, int n_scale,
                       const float *scale);
/* W8A8 activations (§8.3): fp16 -> int8 (round half to even, clamp to [-128, 127]) and
 * back, with one fp16 scale and zero point 0. */
mil_v milb_quantize(struct mil_builder *b, const char *name, mil_v x, float scale);
mil_v milb_dequantize(struct mil_builder *b, const char *name, mil_v x, float scale);

#define milb_add(b, n, x, y) milb_binary(b, MIL_ADD, n, x, y)
#define milb_sub(b, n, x, y) milb_binary(b, MIL_SUB, n, x, y)
#define milb_mul(b, n, x, y) milb_binary(b, MIL_MUL, n, x, y)
#define milb_div(b, n, x, y) milb_binary(b, MIL_REAL_DIV, n, x, y)
#define milb_pow(b, n, x, y) milb_binary(b, MIL_POW, n, x, y)
#define milb_sigmoid(b, n, x) milb_unary(b, MIL_SIGMOID, n, x)
#define milb_sqrt(b, n, x) milb_unary(b, MIL_SQRT, n, x)
#define milb_exp(b, n, x) milb_unary(b, MIL_EXP, n, x)
#define milb_identity(b, n, x) milb_unary(b, MIL_IDENTITY, n, x)

int milb_output(struct mil_builder *b, mil_v v);
const struct mil_type *milb_type(const struct mil_builder *b, mil_v v);
const char *milb_name(const struct mil_builder *b, mil_v v);
/* The program so far (for the emulator or tests); NULL after an error. */
const struct mil_prog *milb_prog(const struct mil_builder *b);
/* Check the program against the chip and return its text (malloc'd), or NULL with
 * the first error of the whole build in e. */
char *milb_text(struct mil_builder *b, struct ant_err *e);

#endif
