/* The ANE emulator: executes a checked MIL program on the CPU with the ANE's numerics
 * (DESIGN.md "The ANE device layer and the emulator"): every tensor holds fp16 values
 * (kept in floats), every op's result is rounded to fp16 (RNE, overflow to ±inf,
 * subnormals flushed; fp16.h), conv and matmul accumulate in fp32 (OpenBLAS sgemm),
 * as do the sums inside softmax and reduce_sum. fp32 exists only at the I/O edge
 * (inputs declared fp32 and the result of cast to fp32). Where mil_mark_zero_rules
 * marked the program (a chip with silent_zero_rules, docs/ane.md §7.3), the marked
 * statements and outputs are zeros, as M1 computes them. */
#ifndef ANE_EMU_H
#define ANE_EMU_H

#include "ane/mil/mil.h"

struct emu_kernel;

/* Takes ownership of p (checked, weights bound). Loads constants, sizes buffers. */
struct emu_kernel *emu_compile(struct mil_prog *p, struct ant_err *e);
void emu_free(struct emu_kernel *k);
const struct mil_prog *emu_prog(const struct emu_kernel *k);

/* Buffers of the function's inputs and outputs, in declaration order: fill the inputs
 * with values the surface can carry (fp16 values for an fp16 input: device_emu.c decodes
 * them from the surface; emu_run does not round them again), emu_run, read the outputs. */
float *emu_input(struct emu_kernel *k, int i);
const float *emu_output(const struct emu_kernel *k, int i);
int emu_run(struct emu_kernel *k, struct ant_err *e);

/* --- the op kernels (emu_ops.c); shapes are those the checker inferred --- */
enum emu_binop { EMU_ADD, EMU_SUB, EMU_MUL, EMU_DIV, EMU_POW };
/* Returns 1 when it already rounded out to fp16 (all but the broadcasting case). */
int emu_binary(enum emu_binop op, const float *a, const struct mil_type *ta,
               const float *b, const struct mil_type *tb, float *out, const struct mil_type *to);
/* Rounds its result to fp16 itself. */
void emu_unary(enum mil_op op, const float *x, float *out, size_t n);
void emu_softmax(const float *x, const struct mil_type *t, int axis, float *out);
void emu_reduce_sum(const float *x, const struct mil_type *t, int axis_mask, float *out);
struct emu_conv {
    int groups, stride[2], dil[2], pad[4];   /* pad: top, bottom, left, right */
};
/* x [N,C,H,W], w [O,C/g,KH,KW] -> out [N,O,HO,WO]; scratch holds C/g*KH*KW*HO*WO
 * floats unless the conv is 1x1, stride 1, unpadded. */
void emu_conv(const float *x, const struct mil_type *tx, const float *w, const struct mil_type *tw,
              const struct emu_conv *c, float *out, const struct mil_type *to, float *scratch);
size_t emu_conv_scratch(const struct mil_type *tx, const struct mil_type *tw, const struct emu_conv *c,
                        const struct mil_type *to);
void emu_matmul(const float *x, const struct mil_type *tx, int trans_x, const float *y,
                const struct mil_type *ty, int trans_y, float *out, const struct mil_type *to);
void emu_transpose(const float *x, const struct mil_type *t, const int *perm, float *out);
void emu_slice(const float *x, const struct mil_type *t, const int *begin, float *out,
               const struct mil_type *to);
void emu_concat(const float *const *v, const struct mil_type *const *tv, int n, int axis,
                int interleave, float *out);
/* softmax(q kᵀ / sqrt(E)) v per leading index: q [.., L, E], k [.., S, E], v [.., S, EV]
 * -> out [.., L, EV]. Modelled as the ANE's own layers: the scaled scores and the
 * probabilities are stored as fp16, both products accumulate in fp32. No mask: the
 * device ignores attn_mask (§3.5, §12.4). scratch holds L*S floats. */
void emu_sdpa(const float *q, const struct mil_type *tq, const float *k, const struct mil_type *tk,
              const float *v, const struct mil_type *tv, float *out, float *scratch);
size_t emu_sdpa_scratch(const struct mil_type *tq, const struct mil_type *tk);
/* Affine quantization parameters: scale (fp16 values) and zero point (int8 values),
 * each 1 value or one per index of axis. */
struct emu_qparams {
    const float *scale, *zp;   /* zp NULL: 0 */
    int n_scale, n_zp, axis;
};
/* int8 values (as floats) = clamp(round_half_even(x / scale) + zp, -128, 127). */
void emu_quantize(const float *x, const struct mil_type *t, const struct emu_qparams *q, float *out);
/* fp16((x - zp) * scale), rounded here. */
void emu_dequantize(const float *x, const struct mil_type *t, const struct emu_qparams *q, float *out);

#endif
