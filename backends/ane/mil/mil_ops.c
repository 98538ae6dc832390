/* The op catalogue: each op's arguments (names as §3.5 writes them) and its shape
 * inference, shared by the builder, the parser's checker and the emulator. */
#include "ane/mil/mil.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define T(n) {n, ARG_TENSOR, 0}
#define OPT(n, k) {n, k, 1}
#define REQ(n, k) {n, k, 0}

static const struct mil_opdef ops[MIL_N_OPS] = {
    [MIL_CONST] = {"const", {{0}}, 0},
    [MIL_CAST] = {"cast", {REQ("dtype", ARG_STRING), T("x")}, 2},
    [MIL_CONV] = {"conv", {OPT("dilations", ARG_INTS), OPT("groups", ARG_INT),
                  OPT("pad", ARG_INTS), OPT("pad_type", ARG_STRING), OPT("strides", ARG_INTS),
                  T("weight"), T("x")}, 7},
    [MIL_MATMUL] = {"matmul", {OPT("transpose_x", ARG_BOOL), OPT("transpose_y", ARG_BOOL),
                    T("x"), T("y")}, 4},
    [MIL_RESHAPE] = {"reshape", {REQ("shape", ARG_INTS), T("x")}, 2},
    [MIL_TRANSPOSE] = {"transpose", {REQ("perm", ARG_INTS), T("x")}, 2},
    [MIL_SLICE_BY_SIZE] = {"slice_by_size", {T("x"), REQ("begin", ARG_INTS),
                           REQ("size", ARG_INTS)}, 3},
    /* interleave is required by the device [M#40] */
    [MIL_CONCAT] = {"concat", {REQ("axis", ARG_INT), REQ("interleave", ARG_BOOL),
                    REQ("values", ARG_TUPLE)}, 3},
    [MIL_REDUCE_SUM] = {"reduce_sum", {T("x"), REQ("axes", ARG_INTS),
                        OPT("keep_dims", ARG_BOOL)}, 3},
    [MIL_SOFTMAX] = {"softmax", {OPT("axis", ARG_INT), T("x")}, 2},
    [MIL_POW] = {"pow", {T("x"), T("y")}, 2},
    [MIL_ADD] = {"add", {T("x"), T("y")}, 2},
    [MIL_SUB] = {"sub", {T("x"), T("y")}, 2},
    [MIL_MUL] = {"mul", {T("x"), T("y")}, 2},
    [MIL_REAL_DIV] = {"real_div", {T("x"), T("y")}, 2},
    [MIL_SIGMOID] = {"sigmoid", {T("x")}, 1},
    [MIL_SQRT] = {"sqrt", {T("x")}, 1},
    [MIL_EXP] = {"exp", {T("x")}, 1},
    [MIL_TANH] = {"tanh", {T("x")}, 1},
    [MIL_RELU] = {"relu", {T("x")}, 1},
    [MIL_IDENTITY] = {"identity", {T("x")}, 1},
    /* The last four as upstream ran them on an M4 (§3.5, §8.3); argument rules and
     * opsets from coremltools (iOS18 transformers.py, iOS16 constexpr_ops.py, iOS17
     * quantization_ops.py). attn_mask is accepted and ignored, as the ANE does (§12.4). */
    [MIL_SDPA] = {"scaled_dot_product_attention", {T("query"), T("key"), T("value"),
                  OPT("attn_mask", ARG_TENSOR)}, 4, 0, 18},
    [MIL_CONSTEXPR_AFFINE_DEQUANTIZE] = {"constexpr_affine_dequantize", {REQ("axis", ARG_INT),
                  REQ("quantized_data", ARG_CONST), REQ("scale", ARG_CONST),
                  REQ("zero_point", ARG_CONST)}, 4, 1, 16},
    [MIL_QUANTIZE] = {"quantize", {T("input"), REQ("output_dtype", ARG_STRING),
                      REQ("scale", ARG_CONST), OPT("zero_point", ARG_CONST), OPT("axis", ARG_INT)}, 5, 0, 17},
    [MIL_DEQUANTIZE] = {"dequantize", {REQ("input", ARG_INT8), REQ("scale", ARG_CONST),
                        OPT("zero_point", ARG_CONST), OPT("axis", ARG_INT)}, 4, 0, 17},
};

const struct mil_opdef *mil_opdef(enum mil_op op) { return &ops[op]; }

int mil_op_by_name(const char *name)
{
    for (int i = 0; i < MIL_N_OPS; i++)
        if (strcmp(ops[i].name, name) == 0) return i;
    return -1;
}

int mil_arg_index(enum mil_op op, const char *name)
{
    for (int i = 0; i < ops[op].n_arg; i++)
        if (strcmp(ops[op].arg[i].name, name) == 0) return i;
    return -1;
}

/* --- helpers over a statement's resolved arguments --- */
struct ctx {
    const struct mil_prog *p;
    const struct mil_stmt *s;
    char *why;
    size_t n;
};

static int fail(struct ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct ctx *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->why, c->n, fmt, ap);
    va_end(ap);
    return -1;
}

static const struct mil_type *ty(struct ctx *c, int a)
{
    return &c->p->var[c->s->arg[a].var].type;
}

static int present(struct ctx *c, int a) { return c->s->arg[a].var >= 0; }

/* Const integer list of argument a (checked to be int32 rank 1 by the checker). */
static int ints(struct ctx *c, int a, int *v, int max)
{
    const struct mil_const *k = c->p->var[c->s->arg[a].var].cv;
    if ((int)k->n > max) return fail(c, "'%s' has %zu values, at most %d allowed",
                                     ops[c->s->op].arg[a].name, k->n, max);
    for (size_t i = 0; i < k->n; i++) v[i] = (int)k->num[i];
    return (int)k->n;
}

static double num(struct ctx *c, int a, double dflt)
{
    return present(c, a) ? c->p->var[c->s->arg[a].var].cv->num[0] : dflt;
}

static const char *str(struct ctx *c, int a, const char *dflt)
{
    return present(c, a) ? c->p->var[c->s->arg[a].var].cv->str : dflt;
}

static void shape_str(const struct mil_type *t, char *b, size_t n)
{
    size_t k = (size_t)snprintf(b, n, "[");
    for (int i = 0; i < t->rank && k < n; i++)
        k += (size_t)snprintf(b + k, n - k, "%s%d", i ? ", " : "", t->dim[i]);
    if (k < n) snprintf(b + k, n - k, "]");
}

/* Numpy broadcasting, aligned on the last axis (§3.5). */
static int broadcast(struct ctx *c, const struct mil_type *a, const struct mil_type *b,
                     struct mil_type *out)
{
    int r = a->rank > b->rank ? a->rank : b->rank;
    out->rank = r;
    for (int i = 0; i < r; i++) {
        int ia = i - (r - a->rank), ib = i - (r - b->rank);
        int da = ia >= 0 ? a->dim[ia] : 1, db = ib >= 0 ? b->dim[ib] : 1;
        if (da != db && da != 1 && db != 1) {
            char sa[96], sb[96];
            shape_str(a, sa, sizeof sa);
            shape_str(b, sb, sizeof sb);
            return fail(c, "shapes %s and %s do not broadcast (axis %d: %d vs %d)", sa, sb,
                        i, da, db);
        }
        out->dim[i] = da > db ? da : db;
    }
    return 0;
}

static int axis_of(struct ctx *c, int axis, int rank)
{
    if (axis < -rank || axis >= rank) return fail(c, "axis %d out of range for rank %d", axis, rank);
    return axis < 0 ? axis + rank : axis;
}

/* --- inference per op --- */
static int infer_conv(struct ctx *c, struct mil_type *o, double *fl)
{
    const struct mil_type *x = ty(c, 6), *w = ty(c, 5);
    int st[2] = {1, 1}, dl[2] = {1, 1}, pad[4] = {0, 0, 0, 0};
    if (x->rank != 4 || w->rank != 4)
        return fail(c, "conv needs 4-D x [N,C,H,W] and weight [O,C/groups,KH,KW]");
    int g = (int)num(c, 1, 1);
    if (present(c, 4) && ints(c, 4, st, 2) != 2) return fail(c, "strides needs 2 values");
    if (present(c, 0) && ints(c, 0, dl, 2) != 2) return fail(c, "dilations needs 2 values");
    const char *pt = str(c, 3, "valid");
    if (strcmp(pt, "custom") == 0) {
        if (!present(c, 2) || ints(c, 2, pad, 4) != 4) return fail(c, "pad_type custom needs pad of 4 values");
    } else if (strcmp(pt, "valid") != 0) {
        return fail(c, "pad_type '%s' not supported (valid or custom)", pt);
    }
    if (g < 1 || x->dim[1] % g || w->dim[0] % g)
        return fail(c, "groups %d must divide the %d input and %d output channels", g, x->dim[1], w->dim[0]);
    if (w->dim[1] * g != x->dim[1])
        return fail(c, "weight has %d input channels per group, x has %d channels in %d groups",
                    w->dim[1], x->dim[1], g);
    for (int i = 0; i < 2; i++) {
        if (st[i] < 1 || dl[i] < 1 || pad[2 * i] < 0 || pad[2 * i + 1] < 0)
            return fail(c, "strides and dilations must be >= 1, pad >= 0");
        /* int32 factors: the extents need 64 bits */
        int64_t span = (int64_t)dl[i] * (w->dim[2 + i] - 1) + 1,
                in = (int64_t)x->dim[2 + i] + pad[2 * i] + pad[2 * i + 1];
        if (in < span)
            return fail(c, "kernel (extent %lld) larger than the padded input (%lld)",
                        (long long)span, (long long)in);
        int64_t out = (in - span) / st[i] + 1;
        if (out > MIL_MAX_ELEMS) return fail(c, "conv output axis of %lld elements", (long long)out);
        o->dim[2 + i] = (int)out;
    }
    o->rank = 4;
    o->dim[0] = x->dim[0];
    o->dim[1] = w->dim[0];
    *fl = 2.0 * o->dim[0] * o->dim[1] * o->dim[2] * o->dim[3] * w->dim[1] * w->dim[2] * w->dim[3];
    return 0;
}

static int infer_matmul(struct ctx *c, struct mil_type *o, double *fl)
{
    const struct mil_type *x = ty(c, 2), *y = ty(c, 3);
    int tx = num(c, 0, 0) != 0, ty_ = num(c, 1, 0) != 0;
    if (x->rank < 2 || y->rank < 2) return fail(c, "matmul needs x and y of rank >= 2");
    int M = x->dim[x->rank - (tx ? 1 : 2)], K = x->dim[x->rank - (tx ? 2 : 1)];
    int K2 = y->dim[y->rank - (ty_ ? 1 : 2)], N = y->dim[y->rank - (ty_ ? 2 : 1)];
    if (K != K2) return fail(c, "matmul inner dimensions differ: x gives %d, y gives %d", K, K2);
    struct mil_type bx = *x, by = *y;
    bx.rank -= 2;
    by.rank -= 2;
    if (broadcast(c, &bx, &by, o)) return -1;
    o->dim[o->rank++] = M;
    o->dim[o->rank++] = N;
    *fl = 2.0 * (double)mil_elems(o) * K;
    return 0;
}

static int infer_reshape(struct ctx *c, struct mil_type *o)
{
    int sh[MIL_MAX_RANK + 1], n = ints(c, 0, sh, MIL_MAX_RANK), infer = -1;
    if (n < 0) return -1;
    int64_t known = 1, total = mil_elems(ty(c, 1));
    for (int i = 0; i < n; i++) {
        if (sh[i] == -1 && infer < 0) infer = i;
        else if (sh[i] < 1) return fail(c, "reshape: bad dimension %d in shape", sh[i]);
        else if ((known *= sh[i]) > MIL_MAX_ELEMS)   /* at most 2^28 * 2^31: no overflow */
            return fail(c, "reshape: shape has more than %lld elements", (long long)MIL_MAX_ELEMS);
    }
    if (infer >= 0) {
        if (known == 0 || total % known) return fail(c, "reshape: cannot infer the -1 dimension");
        sh[infer] = (int)(total / known);
        known = total;
    }
    if (known != total)
        return fail(c, "reshape of %lld elements into shape with %lld", (long long)total, (long long)known);
    o->rank = n;
    memcpy(o->dim, sh, sizeof(int) * (size_t)n);
    return 0;
}

static int infer_transpose(struct ctx *c, struct mil_type *o)
{
    const struct mil_type *x = ty(c, 1);
    int perm[MIL_MAX_RANK], n = ints(c, 0, perm, MIL_MAX_RANK), seen = 0;
    if (n < 0) return -1;
    if (n != x->rank) return fail(c, "transpose: perm has %d values for rank %d", n, x->rank);
    for (int i = 0; i < n; i++) {
        if (perm[i] < 0 || perm[i] >= n || (seen >> perm[i] & 1))
            return fail(c, "transpose: perm is not a permutation of 0..%d", n - 1);
        seen |= 1 << perm[i];
        o->dim[i] = x->dim[perm[i]];
    }
    o->rank = n;
    return 0;
}

static int infer_slice(struct ctx *c, struct mil_type *o)
{
    const struct mil_type *x = ty(c, 0);
    int b[MIL_MAX_RANK], sz[MIL_MAX_RANK];
    int nb = ints(c, 1, b, MIL_MAX_RANK), ns = nb < 0 ? -1 : ints(c, 2, sz, MIL_MAX_RANK);
    if (ns < 0) return -1;
    if (nb != x->rank || ns != x->rank)
        return fail(c, "slice_by_size: begin and size need %d values (rank of x)", x->rank);
    *o = *x;
    for (int i = 0; i < x->rank; i++) {
        /* begin checked first: x->dim[i] - b[i] must not overflow */
        if (b[i] >= 0 && b[i] < x->dim[i] && sz[i] == -1) sz[i] = x->dim[i] - b[i];
        if (b[i] < 0 || b[i] >= x->dim[i] || sz[i] < 1 || sz[i] > x->dim[i] - b[i])
            return fail(c, "slice_by_size: axis %d begin %d size %d outside dimension %d", i,
                        b[i], sz[i], x->dim[i]);
        o->dim[i] = sz[i];
    }
    return 0;
}

static int infer_concat(struct ctx *c, struct mil_type *o)
{
    const struct mil_arg *a = &c->s->arg[2];
    if (a->n_tuple < 1 || a->n_tuple > MIL_MAX_IO) return fail(c, "concat takes 1 to %d values", MIL_MAX_IO);
    const struct mil_type *t0 = &c->p->var[a->tuple[0]].type;
    int ax = axis_of(c, (int)num(c, 0, 0), t0->rank);
    if (ax < 0) return -1;
    *o = *t0;
    int64_t along = 0;   /* up to MIL_MAX_IO x 2^28: summed in 64 bits */
    for (int k = 0; k < a->n_tuple; k++) {
        const struct mil_type *t = &c->p->var[a->tuple[k]].type;
        if (t->rank != t0->rank) return fail(c, "concat: value %d has rank %d, value 0 has %d", k, t->rank, t0->rank);
        for (int i = 0; i < t->rank; i++)
            if (i != ax && t->dim[i] != t0->dim[i])
                return fail(c, "concat: value %d differs from value 0 in axis %d (%d vs %d)", k, i,
                            t->dim[i], t0->dim[i]);
        if (num(c, 1, 0) != 0 && t->dim[ax] != t0->dim[ax])
            return fail(c, "concat: interleave needs equal sizes along axis %d", ax);
        along += t->dim[ax];
    }
    if (along > MIL_MAX_ELEMS)
        return fail(c, "concat: axis %d would have %lld elements", ax, (long long)along);
    o->dim[ax] = (int)along;
    return 0;
}

static int infer_reduce(struct ctx *c, struct mil_type *o, double *fl)
{
    const struct mil_type *x = ty(c, 0);
    int ax[MIL_MAX_RANK], n = ints(c, 1, ax, MIL_MAX_RANK), mask = 0;
    if (n < 0) return -1;
    if (n == 0) return fail(c, "reduce_sum: axes is empty");
    for (int i = 0; i < n; i++) {
        int a = axis_of(c, ax[i], x->rank);
        if (a < 0) return -1;
        if (mask >> a & 1) return fail(c, "reduce_sum: axis %d listed twice", a);
        mask |= 1 << a;
    }
    int keep = num(c, 2, 0) != 0;
    o->rank = 0;
    for (int i = 0; i < x->rank; i++) {
        if (!(mask >> i & 1)) o->dim[o->rank++] = x->dim[i];
        else if (keep) o->dim[o->rank++] = 1;
    }
    *fl = (double)mil_elems(x);
    return 0;
}

/* softmax(Q Kᵀ / sqrt(E)) V: query [..., L, E], key [..., S, E], value [..., S, EV],
 * the same leading axes; a mask must broadcast to [..., L, S] (coremltools). */
static int infer_sdpa(struct ctx *c, struct mil_type *o, double *fl)
{
    const struct mil_type *q = ty(c, 0), *k = ty(c, 1), *v = ty(c, 2);
    int r = q->rank;
    if (r < 3 || k->rank != r || v->rank != r)
        return fail(c, "query, key and value need one rank of at least 3 (got %d, %d, %d)", q->rank,
                    k->rank, v->rank);
    for (int i = 0; i < r - 2; i++)
        if (k->dim[i] != q->dim[i] || v->dim[i] != q->dim[i])
            return fail(c, "query, key and value differ in batch axis %d (%d, %d, %d)", i, q->dim[i],
                        k->dim[i], v->dim[i]);
    int L = q->dim[r - 2], E = q->dim[r - 1], S = k->dim[r - 2], EV = v->dim[r - 1];
    if (k->dim[r - 1] != E) return fail(c, "query has %d features, key has %d", E, k->dim[r - 1]);
    if (v->dim[r - 2] != S) return fail(c, "key has %d positions, value has %d", S, v->dim[r - 2]);
    if (present(c, 3)) {
        const struct mil_type *m = ty(c, 3);
        struct mil_type mq = *q, mm = *m, bo;
        if (m->rank < 1 || m->dim[m->rank - 1] != S)
            return fail(c, "attn_mask's last axis must be the %d key positions", S);
        mq.rank--, mm.rank--;
        if (broadcast(c, &mm, &mq, &bo)) return -1;
        if (bo.rank != mq.rank) return fail(c, "attn_mask has more axes than the scores");
        for (int i = 0; i < bo.rank; i++)
            if (bo.dim[i] != mq.dim[i]) return fail(c, "attn_mask does not broadcast to the scores");
    }
    *o = *q;
    o->dim[r - 1] = EV;
    double B = (double)mil_elems(q) / ((double)L * E);
    *fl = B * L * S * (2.0 * E + 2.0 * EV + 4.0);   /* two matmuls, scale, softmax */
    return 0;
}

/* scale (fp16) and zero_point (int8) of the quantization ops: scalars, or vectors along
 * axis of data (coremltools). a_zp, a_axis: -1 when the op has no such argument. */
static int infer_qparams(struct ctx *c, const struct mil_type *data, int a_scale, int a_zp, int a_axis,
                         int axis_required)
{
    const struct mil_type *ts = ty(c, a_scale), *tz = a_zp >= 0 && present(c, a_zp) ? ty(c, a_zp) : NULL;
    if (ts->dt != MIL_FP16 || ts->rank > 1) return fail(c, "scale must be an fp16 scalar or vector");
    if (tz && (tz->dt != MIL_INT8 || tz->rank > 1))
        return fail(c, "zero_point must be an int8 scalar or vector");
    int vec = ts->rank == 1 || (tz && tz->rank == 1), ax = -1;
    if (a_axis >= 0 && present(c, a_axis)) {
        if ((ax = axis_of(c, (int)num(c, a_axis, 0), data->rank)) < 0) return -1;
        if (!vec && !axis_required) return fail(c, "axis is given but scale and zero_point are scalars");
    } else if (vec) {
        return fail(c, "a vector scale or zero_point needs axis");
    }
    if ((ts->rank == 1 && ts->dim[0] != data->dim[ax]) || (tz && tz->rank == 1 && tz->dim[0] != data->dim[ax]))
        return fail(c, "a vector scale or zero_point needs the %d values of axis %d", data->dim[ax], ax);
    return 0;
}

static int infer_quant(struct ctx *c, struct mil_type *o, double *fl)
{
    switch (c->s->op) {
    case MIL_CONSTEXPR_AFFINE_DEQUANTIZE: {
        const struct mil_type *d = ty(c, 1);
        if (d->dt != MIL_INT8 || d->rank < 1) return fail(c, "quantized_data must be an int8 tensor");
        if (infer_qparams(c, d, 2, 3, 0, 1)) return -1;
        *o = *d;
        o->dt = MIL_FP16;
        return 0;   /* done once, when the program is compiled */
    }
    case MIL_QUANTIZE: {
        const char *dt = str(c, 1, "");
        if (strcmp(dt, "int8")) return fail(c, "output_dtype '%s': only int8", dt);
        if (infer_qparams(c, ty(c, 0), 2, 3, 4, 0)) return -1;
        *o = *ty(c, 0);
        o->dt = MIL_INT8;
        break;
    }
    default:
        if (infer_qparams(c, ty(c, 0), 1, 2, 3, 0)) return -1;
        *o = *ty(c, 0);
        o->dt = MIL_FP16;
        break;
    }
    *fl = 2.0 * (double)mil_elems(o);
    return 0;
}

int mil_infer(const struct mil_prog *p, const struct mil_stmt *s, struct mil_type *o,
              double *flops, char *why, size_t why_len)
{
    struct ctx c = {p, s, why, why_len};
    memset(o, 0, sizeof *o);
    o->dt = MIL_FP16;
    *flops = 0;
    switch (s->op) {
    case MIL_CONST: *o = p->var[s->out].type; return 0;
    case MIL_CAST: {
        const char *d = str(&c, 0, "");
        *o = *ty(&c, 1);
        if (strcmp(d, "fp16") && strcmp(d, "fp32")) return fail(&c, "cast to '%s': only fp16 and fp32", d);
        o->dt = mil_dtype_from_name(d);
        return 0;
    }
    case MIL_IDENTITY: *o = *ty(&c, 0); return 0;
    case MIL_CONV: return infer_conv(&c, o, flops);
    case MIL_MATMUL: return infer_matmul(&c, o, flops);
    case MIL_RESHAPE: return infer_reshape(&c, o);
    case MIL_TRANSPOSE: return infer_transpose(&c, o);
    case MIL_SLICE_BY_SIZE: return infer_slice(&c, o);
    case MIL_CONCAT: return infer_concat(&c, o);
    case MIL_REDUCE_SUM: return infer_reduce(&c, o, flops);
    case MIL_SDPA: return infer_sdpa(&c, o, flops);
    case MIL_CONSTEXPR_AFFINE_DEQUANTIZE: case MIL_QUANTIZE: case MIL_DEQUANTIZE:
        return infer_quant(&c, o, flops);
    case MIL_SOFTMAX:
        *o = *ty(&c, 1);
        if (axis_of(&c, (int)num(&c, 0, -1), o->rank) < 0) return -1;
        *flops = 3.0 * (double)mil_elems(o);   /* exp, sum, divide */
        return 0;
    case MIL_POW: case MIL_ADD: case MIL_SUB: case MIL_MUL: case MIL_REAL_DIV:
        if (broadcast(&c, ty(&c, 0), ty(&c, 1), o)) return -1;
        o->dt = MIL_FP16;
        *flops = (double)mil_elems(o);
        return 0;
    default:   /* unary */
        *o = *ty(&c, 0);
        *flops = (double)mil_elems(o);
        return 0;
    }
}
