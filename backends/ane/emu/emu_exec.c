/* The emulator's executor: one float buffer per tensor variable, statements run in
 * program order, each result rounded to fp16 (emu.h). */
#include "ane/emu/emu.h"

#include <stdlib.h>
#include <string.h>

#include "ane/base/fp16.h"

struct emu_kernel {
    struct mil_prog *p;
    float **buf;         /* [n_var]: NULL for parameters (ints, bools, strings) */
    float *scratch;      /* im2col columns of the largest general conv, or SDPA scores */
};

const struct mil_prog *emu_prog(const struct emu_kernel *k) { return k->p; }
float *emu_input(struct emu_kernel *k, int i) { return k->buf[k->p->in[i]]; }
const float *emu_output(const struct emu_kernel *k, int i) { return k->buf[k->p->out[i]]; }

void emu_free(struct emu_kernel *k)
{
    if (!k) return;
    for (int i = 0; k->buf && i < k->p->n_var; i++) ant_ffree(k->buf[i]);
    free(k->buf);
    ant_ffree(k->scratch);
    mil_prog_free(k->p);
    free(k);
}

/* Tensors the emulator holds in floats: int8 ones hold integer values. */
static int is_float(enum mil_dtype dt) { return dt == MIL_FP16 || dt == MIL_FP32 || dt == MIL_INT8; }

/* A constant's values as the ANE holds them: fp16 (or fp32, or int8) from the blob or
 * the inline literal. */
static void load_const(const struct mil_var *v, float *d)
{
    size_t n = (size_t)mil_elems(&v->type);
    const struct mil_const *c = v->cv;
    if (c->blob_path) {
        const uint8_t *b = c->blob_data;
        for (size_t i = 0; i < n; i++) {
            if (v->type.dt == MIL_INT8) {
                d[i] = (float)(int8_t)b[i];
            } else if (v->type.dt == MIL_FP16) {
                d[i] = fp16_to_float((uint16_t)(b[2 * i] | b[2 * i + 1] << 8));
            } else {
                uint32_t u = (uint32_t)b[4 * i] | (uint32_t)b[4 * i + 1] << 8 |
                             (uint32_t)b[4 * i + 2] << 16 | (uint32_t)b[4 * i + 3] << 24;
                memcpy(&d[i], &u, 4);
            }
        }
        return;
    }
    for (size_t i = 0; i < n; i++) d[i] = (float)c->num[i];
    if (v->type.dt == MIL_FP16) fp16_round_buf(d, n);
}

static void conv_params(const struct emu_kernel *k, const struct mil_stmt *s, struct emu_conv *c)
{
    const struct mil_var *v = k->p->var;
    c->groups = s->arg[1].var >= 0 ? (int)v[s->arg[1].var].cv->num[0] : 1;
    for (int i = 0; i < 2; i++) {
        c->dil[i] = s->arg[0].var >= 0 ? (int)v[s->arg[0].var].cv->num[i] : 1;
        c->stride[i] = s->arg[4].var >= 0 ? (int)v[s->arg[4].var].cv->num[i] : 1;
    }
    int custom = s->arg[3].var >= 0 && strcmp(v[s->arg[3].var].cv->str, "custom") == 0;
    for (int i = 0; i < 4; i++) c->pad[i] = custom ? (int)v[s->arg[2].var].cv->num[i] : 0;
}

/* Scale, zero point and axis of a quantization op; argument indices from mil_ops.c. */
static void qparams(const struct emu_kernel *k, const struct mil_stmt *s, struct emu_qparams *q)
{
    const struct mil_prog *p = k->p;
    int data = s->op == MIL_CONSTEXPR_AFFINE_DEQUANTIZE ? 1 : 0;
    int as = s->op == MIL_QUANTIZE ? 2 : data + 1, az = as + 1, ax = s->op == MIL_CONSTEXPR_AFFINE_DEQUANTIZE ? 0 : az + 1;
    q->scale = k->buf[s->arg[as].var];
    q->n_scale = (int)mil_elems(&p->var[s->arg[as].var].type);
    q->zp = s->arg[az].var >= 0 ? k->buf[s->arg[az].var] : NULL;
    q->n_zp = s->arg[az].var >= 0 ? (int)mil_elems(&p->var[s->arg[az].var].type) : 0;
    q->axis = -1;
    if (s->arg[ax].var >= 0) {
        int a = (int)p->var[s->arg[ax].var].cv->num[0], r = p->var[s->arg[data].var].type.rank;
        q->axis = a < 0 ? a + r : a;
    }
}

struct emu_kernel *emu_compile(struct mil_prog *p, struct ant_err *e)
{
    struct emu_kernel *k = calloc(1, sizeof *k);
    if (!k) return mil_prog_free(p), ant_errf(e, "out of memory"), NULL;
    k->p = p;
    if (!(k->buf = calloc((size_t)p->n_var, sizeof *k->buf))) goto oom;
    for (int i = 0; i < p->n_var; i++) {
        const struct mil_var *v = &p->var[i];
        if (!is_float(v->type.dt)) continue;
        if (!(k->buf[i] = ant_falloc((size_t)mil_elems(&v->type)))) goto oom;
        if (v->cv) {
            if (v->cv->blob_path && !v->cv->blob_data) {
                emu_free(k);
                return mil_errf(e, p, v->line, v->col, "BLOBFILE of '%s' has no weights bound", v->name), NULL;
            }
            load_const(v, k->buf[i]);
        }
    }
    size_t scratch = 0;
    for (int i = 0; i < p->n_stmt; i++) {
        const struct mil_stmt *s = &p->stmt[i];
        size_t n = 0;
        if (s->op == MIL_CONV) {
            struct emu_conv c;
            conv_params(k, s, &c);
            n = emu_conv_scratch(&p->var[s->arg[6].var].type, &p->var[s->arg[5].var].type, &c,
                                 &p->var[s->out].type);
        } else if (s->op == MIL_SDPA) {
            n = emu_sdpa_scratch(&p->var[s->arg[0].var].type, &p->var[s->arg[1].var].type);
        } else if (s->op == MIL_CONSTEXPR_AFFINE_DEQUANTIZE) {   /* at compile time, once */
            struct emu_qparams q;
            qparams(k, s, &q);
            emu_dequantize(k->buf[s->arg[1].var], &p->var[s->arg[1].var].type, &q, k->buf[s->out]);
        }
        scratch = n > scratch ? n : scratch;
    }
    if (scratch && !(k->scratch = ant_falloc(scratch))) goto oom;
    return k;
oom:
    emu_free(k);
    return ant_errf(e, "out of memory compiling '%s' for the emulator", p->file), NULL;
}

static int ints(const struct emu_kernel *k, const struct mil_arg *a, int *v)
{
    const struct mil_const *c = k->p->var[a->var].cv;
    for (size_t i = 0; i < c->n; i++) v[i] = (int)c->num[i];
    return (int)c->n;
}

static int axis_arg(const struct emu_kernel *k, const struct mil_arg *a, int dflt, int rank)
{
    int ax = a->var >= 0 ? (int)k->p->var[a->var].cv->num[0] : dflt;
    return ax < 0 ? ax + rank : ax;
}

static void run_stmt(struct emu_kernel *k, const struct mil_stmt *s)
{
    const struct mil_prog *p = k->p;
    const struct mil_type *to = &p->var[s->out].type;
    float *out = k->buf[s->out];
    size_t n = (size_t)mil_elems(to);
#define IN(a) k->buf[s->arg[a].var]
#define TY(a) (&p->var[s->arg[a].var].type)
#define FLAG(a) (s->arg[a].var >= 0 && p->var[s->arg[a].var].cv->num[0] != 0)
    int rnd = to->dt == MIL_FP16;
    if (s->zero) {   /* a layout M1 computes as zeros (§7.3, m1rules.c) */
        memset(out, 0, n * sizeof *out);
        return;
    }
    switch (s->op) {
    case MIL_CONST: case MIL_CONSTEXPR_AFFINE_DEQUANTIZE: return;   /* done by emu_compile */
    case MIL_SDPA: emu_sdpa(IN(0), TY(0), IN(1), TY(1), IN(2), TY(2), out, k->scratch); break;
    case MIL_QUANTIZE: case MIL_DEQUANTIZE: {
        struct emu_qparams q;
        qparams(k, s, &q);
        if (s->op == MIL_QUANTIZE) emu_quantize(IN(0), TY(0), &q, out);
        else emu_dequantize(IN(0), TY(0), &q, out);
        rnd = 0;
        break;
    }
    case MIL_CAST: memcpy(out, IN(1), n * sizeof *out); break;
    case MIL_IDENTITY: case MIL_RESHAPE:
        memcpy(out, IN(s->op == MIL_RESHAPE ? 1 : 0), n * sizeof *out);
        rnd = 0;
        break;
    case MIL_CONV: {
        struct emu_conv c;
        conv_params(k, s, &c);
        emu_conv(IN(6), TY(6), IN(5), TY(5), &c, out, to, k->scratch);
        break;
    }
    case MIL_MATMUL: emu_matmul(IN(2), TY(2), FLAG(0), IN(3), TY(3), FLAG(1), out, to); break;
    case MIL_TRANSPOSE: {
        int perm[MIL_MAX_RANK];
        ints(k, &s->arg[0], perm);
        emu_transpose(IN(1), TY(1), perm, out);
        rnd = 0;
        break;
    }
    case MIL_SLICE_BY_SIZE: {
        int begin[MIL_MAX_RANK];
        ints(k, &s->arg[1], begin);
        emu_slice(IN(0), TY(0), begin, out, to);
        rnd = 0;
        break;
    }
    case MIL_CONCAT: {
        const struct mil_arg *a = &s->arg[2];
        const float *v[MIL_MAX_IO];
        const struct mil_type *tv[MIL_MAX_IO];
        int nv = a->n_tuple < MIL_MAX_IO ? a->n_tuple : MIL_MAX_IO;
        for (int i = 0; i < nv; i++) v[i] = k->buf[a->tuple[i]], tv[i] = &p->var[a->tuple[i]].type;
        emu_concat(v, tv, nv, axis_arg(k, &s->arg[0], 0, to->rank), FLAG(1), out);
        rnd = 0;
        break;
    }
    case MIL_REDUCE_SUM: {
        int ax[MIL_MAX_RANK], na = ints(k, &s->arg[1], ax), mask = 0;
        for (int i = 0; i < na; i++) mask |= 1 << (ax[i] < 0 ? ax[i] + TY(0)->rank : ax[i]);
        emu_reduce_sum(IN(0), TY(0), mask, out);
        break;
    }
    case MIL_SOFTMAX: emu_softmax(IN(1), TY(1), axis_arg(k, &s->arg[0], -1, to->rank), out); break;
    case MIL_POW: case MIL_ADD: case MIL_SUB: case MIL_MUL: case MIL_REAL_DIV: {
        static const enum emu_binop ops[] = {[MIL_POW] = EMU_POW, [MIL_ADD] = EMU_ADD,
            [MIL_SUB] = EMU_SUB, [MIL_MUL] = EMU_MUL, [MIL_REAL_DIV] = EMU_DIV};
        rnd = !emu_binary(ops[s->op], IN(0), TY(0), IN(1), TY(1), out, to);
        break;
    }
    default: emu_unary(s->op, IN(0), out, n); rnd = 0; break;
    }
#undef IN
#undef TY
#undef FLAG
    if (rnd) fp16_round_buf(out, n);
}

int emu_run(struct emu_kernel *k, struct ant_err *e)
{
    const struct mil_prog *p = k->p;
    for (int i = 0; i < p->n_stmt; i++) run_stmt(k, &p->stmt[i]);
    for (int i = 0; p->zero_outputs && i < p->n_out; i++)   /* §7.3 slot order */
        memset(k->buf[p->out[i]], 0, (size_t)mil_elems(&p->var[p->out[i]].type) * sizeof(float));
    (void)e;
    return 0;
}
