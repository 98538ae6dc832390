/* The MIL builder (mil_build.h): statements go into a struct mil_prog, checked one by
 * one with mil_check_stmt; mil_print writes the text in the chip's dialect. */
#include "ane/mil/mil_build.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ane/base/fp16.h"

struct mil_builder {
    const struct ant_chip *chip;
    struct mil_prog *p;
    struct ant_err err;
    int failed;
};

static mil_v fail(struct mil_builder *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static mil_v fail(struct mil_builder *b, const char *fmt, ...)
{
    if (b->failed) return -1;
    va_list ap;
    va_start(ap, fmt);
    int k = snprintf(b->err.msg, sizeof b->err.msg, "%s: ", b->p->file);
    vsnprintf(b->err.msg + k, sizeof b->err.msg - (size_t)k, fmt, ap);
    va_end(ap);
    b->failed = 1;
    return -1;
}

struct mil_builder *milb_new(const struct ant_chip *chip)
{
    struct mil_builder *b = calloc(1, sizeof *b);
    if (!b || !(b->p = mil_prog_new("<builder>"))) return free(b), NULL;
    b->chip = chip;
    snprintf(b->p->version, sizeof b->p->version, "%s", chip && chip->mil_program ? chip->mil_program : "1.3");
    snprintf(b->p->target, sizeof b->p->target, "%s", chip && chip->mil_target ? chip->mil_target : "ios18");
    return b;
}

void milb_free(struct mil_builder *b)
{
    if (!b) return;
    mil_prog_free(b->p);
    free(b);
}

static int valid(const struct mil_builder *b, mil_v v) { return v >= 0 && v < b->p->n_var; }
const struct mil_type *milb_type(const struct mil_builder *b, mil_v v) { return valid(b, v) ? &b->p->var[v].type : NULL; }
const char *milb_name(const struct mil_builder *b, mil_v v) { return valid(b, v) ? b->p->var[v].name : NULL; }
const struct mil_prog *milb_prog(const struct mil_builder *b) { return b->failed ? NULL : b->p; }

/* A name no variable has, that is an identifier and not reserved (§3.3): the hint
 * with other characters made '_', then _2, _3, ... until free. */
static void unique_name(struct mil_builder *b, const char *hint, char *out)
{
    char base[MIL_NAME_MAX - 16];
    size_t n = 0;
    if (!hint || !*hint) hint = "v";
    if (hint[0] >= '0' && hint[0] <= '9') base[n++] = 'v', base[n++] = '_';
    for (const char *h = hint; *h && n + 1 < sizeof base; h++)
        base[n++] = ((*h >= 'a' && *h <= 'z') || (*h >= 'A' && *h <= 'Z') || (*h >= '0' && *h <= '9')) ? *h : '_';
    base[n] = 0;
    strcpy(out, base);
    for (int k = 2; mil_name_reserved(out) || mil_find_var(b->p, out) >= 0; k++)
        snprintf(out, MIL_NAME_MAX, "%s_%d", base, k);
}

static int same_value(const struct mil_var *v, const struct mil_type *t, const struct mil_const *c)
{
    const struct mil_const *d = v->cv;
    if (!d || !v->name[0] || d->blob_path || c->blob_path || !mil_type_eq(&v->type, t)) return 0;
    if ((d->str == NULL) != (c->str == NULL) || (c->str && strcmp(c->str, d->str))) return 0;
    return d->n == c->n && (!c->n || memcmp(d->num, c->num, c->n * sizeof *c->num) == 0);
}

/* Add a const statement owning c; with intern, reuse an equal constant instead. */
static mil_v add_const(struct mil_builder *b, const char *hint, const struct mil_type *t,
                       struct mil_const *c, int intern)
{
    if (b->failed || !c) return mil_const_free(c), fail(b, "out of memory");
    /* Reuse only a constant of the same role: its name is the hint ("strides_1_1"). */
    for (int i = 0; intern && i < b->p->n_var; i++)
        if (!strcmp(b->p->var[i].name, hint) && same_value(&b->p->var[i], t, c)) return mil_const_free(c), i;
    char name[MIL_NAME_MAX];
    unique_name(b, hint, name);
    int s = mil_add_stmt(b->p, MIL_CONST, &b->err);
    int v = s < 0 ? -1 : mil_add_var(b->p, name, t, s, &b->err);
    if (v < 0) return mil_const_free(c), (b->failed = 1), -1;
    b->p->var[v].cv = c;
    b->p->stmt[s].out = v;
    strcpy(b->p->stmt[s].attr_name, name);
    return v;
}

static struct mil_const *numbers(const double *v, size_t n)
{
    struct mil_const *c = mil_const_new();
    if (c && n && !(c->num = malloc(n * sizeof *c->num))) return mil_const_free(c), NULL;
    if (c) memcpy(c->num, v, n * sizeof *v), c->n = n;
    return c;
}

static mil_v ints(struct mil_builder *b, const char *what, int n, const int *v)
{
    char hint[MIL_NAME_MAX];
    double d[MIL_MAX_RANK];
    int k = snprintf(hint, 48, "%s", what);
    if (n < 1 || n > MIL_MAX_RANK) return fail(b, "%s: %d values (1 to %d)", what, n, MIL_MAX_RANK);
    for (int i = 0; i < n; i++) {
        d[i] = v[i];
        if (k < 48) k += snprintf(hint + k, (size_t)(48 - k), v[i] < 0 ? "_m%d" : "_%d", v[i] < 0 ? -v[i] : v[i]);
    }
    struct mil_type t = {MIL_INT32, 1, {n}};
    return add_const(b, hint, &t, numbers(d, (size_t)n), 1);
}

static mil_v scalar_const(struct mil_builder *b, enum mil_dtype dt, double v, const char *hint)
{
    struct mil_type t = {dt, 0, {0}};
    return add_const(b, hint, &t, numbers(&v, 1), 1);
}

static mil_v bool_const(struct mil_builder *b, int v) { return scalar_const(b, MIL_BOOL, v != 0, v ? "bool_true" : "bool_false"); }

static mil_v int_const(struct mil_builder *b, int v, const char *what)
{
    char hint[48];
    snprintf(hint, sizeof hint, v < 0 ? "%s_m%d" : "%s_%d", what, v < 0 ? -v : v);
    return scalar_const(b, MIL_INT32, v, hint);
}

static mil_v string_const(struct mil_builder *b, const char *s, const char *hint)
{
    struct mil_const *c = mil_const_new();
    struct mil_type t = {MIL_STRING, 0, {0}};
    if (c && !(c->str = strdup(s))) mil_const_free(c), c = NULL;
    return add_const(b, hint, &t, c, 1);
}

/* Add op with arguments given in catalogue order (-1 = absent) and check it. */
static mil_v add_op(struct mil_builder *b, enum mil_op op, const char *name, const mil_v *args,
                    int n_tuple, const mil_v *tuple)
{
    if (b->failed) return -1;
    const struct mil_opdef *d = mil_opdef(op);
    for (int a = 0; a < d->n_arg; a++)
        if (d->arg[a].kind != ARG_TUPLE && args[a] != -1 && !valid(b, args[a]))
            return fail(b, "%s '%s': argument '%s' is not a value", d->name, name, d->arg[a].name);
    for (int k = 0; k < n_tuple; k++)
        if (!valid(b, tuple[k])) return fail(b, "%s '%s': value %d is not a value", d->name, name, k);
    char vname[MIL_NAME_MAX];
    unique_name(b, name, vname);
    int s = mil_add_stmt(b->p, op, &b->err);
    int v = s < 0 ? -1 : mil_add_var(b->p, vname, NULL, s, &b->err);
    if (v < 0) return (b->failed = 1), -1;
    struct mil_stmt *st = &b->p->stmt[s];
    st->out = v;
    strcpy(st->attr_name, vname);
    for (int a = 0; a < d->n_arg; a++) {
        if (d->arg[a].kind != ARG_TUPLE) { st->arg[a].var = args[a]; continue; }
        if (!(st->arg[a].tuple = malloc((size_t)(n_tuple ? n_tuple : 1) * sizeof(int)))) return fail(b, "out of memory");
        memcpy(st->arg[a].tuple, tuple, (size_t)n_tuple * sizeof(int));
        st->arg[a].n_tuple = n_tuple;
    }
    if (mil_check_stmt(b->p, s, 0, &b->err)) return (b->failed = 1), -1;
    return v;
}

mil_v milb_input(struct mil_builder *b, const char *name, enum mil_dtype dt, struct mil_shape s)
{
    if (b->failed) return -1;
    if (b->p->n_stmt) return fail(b, "input '%s' declared after the first op", name);
    if (b->p->n_in == MIL_MAX_IO) return fail(b, "more than %d inputs", MIL_MAX_IO);
    if ((dt != MIL_FP16 && dt != MIL_FP32) || s.rank < 1 || s.rank > MIL_MAX_RANK)
        return fail(b, "input '%s' must be an fp16 or fp32 tensor of rank 1..%d", name, MIL_MAX_RANK);
    struct mil_type t = {dt, s.rank, {0}};
    memcpy(t.dim, s.dim, sizeof t.dim);
    for (int i = 0; i < s.rank; i++)
        if (s.dim[i] < 1) return fail(b, "input '%s': dimension %d is %d", name, i, s.dim[i]);
    char vname[MIL_NAME_MAX];
    unique_name(b, name, vname);
    int v = mil_add_var(b->p, vname, &t, -1, &b->err);
    if (v < 0) return (b->failed = 1), -1;
    b->p->in[b->p->n_in++] = v;
    return v;
}

static int shape_type(struct mil_builder *b, const char *name, enum mil_dtype dt, struct mil_shape s,
                      struct mil_type *t)
{
    int64_t n = 1;
    if (s.rank < 0 || s.rank > MIL_MAX_RANK) return fail(b, "'%s': rank %d", name, s.rank);
    t->dt = dt;
    t->rank = s.rank;
    memcpy(t->dim, s.dim, sizeof t->dim);
    for (int i = 0; i < s.rank; i++)
        if (s.dim[i] < 1 || (n *= s.dim[i]) > MIL_MAX_ELEMS) return fail(b, "'%s': bad shape", name);
    return 0;
}

mil_v milb_blobfile(struct mil_builder *b, const char *name, enum mil_dtype dt,
                    struct mil_shape s, const char *key, uint64_t offset)
{
    struct mil_type t;
    if (b->failed || shape_type(b, name, dt, s, &t)) return -1;
    struct mil_const *c = mil_const_new();
    if (c && !(c->blob_path = strdup(key))) mil_const_free(c), c = NULL;
    if (c) c->blob_offset = offset;
    return add_const(b, name, &t, c, 0);
}

mil_v milb_weight(struct mil_builder *b, const char *name, struct ane_weights *w,
                  const char *file, struct mil_shape s, const float *data)
{
    struct mil_type t;
    uint64_t off;
    if (b->failed || shape_type(b, name, MIL_FP16, s, &t)) return -1;
    struct ane_blob *blob = weights_blob(w, file, &b->err);
    if (!blob || blob_add_f32(blob, data, (size_t)mil_elems(&t), &off, &b->err)) return (b->failed = 1), -1;
    return milb_blobfile(b, name, MIL_FP16, s, blob->key, off);
}

mil_v milb_scalar(struct mil_builder *b, const char *name, float v)
{
    struct mil_type t = {MIL_FP16, 0, {0}};
    double d = fp16_round(v);   /* the value the device will hold */
    return add_const(b, name, &t, numbers(&d, 1), 0);
}

mil_v milb_tensor(struct mil_builder *b, const char *name, struct mil_shape s, const float *v)
{
    struct mil_type t;
    if (b->failed || shape_type(b, name, MIL_FP16, s, &t)) return -1;
    size_t n = (size_t)mil_elems(&t);
    double *d = malloc(n * sizeof *d);
    if (!d) return fail(b, "out of memory");
    for (size_t i = 0; i < n; i++) d[i] = fp16_round(v[i]);
    struct mil_const *c = numbers(d, n);
    free(d);
    return add_const(b, name, &t, c, 0);
}

mil_v milb_conv_groups(struct mil_builder *b, const char *name, mil_v x, mil_v w, int groups)
{
    /* §3.5 conv: dilations, groups, pad, pad_type, strides, weight, x */
    /* (initializers are unsequenced in C: one statement each keeps the text stable) */
    mil_v a[7] = {ints(b, "dilations", 2, (int[]){1, 1})};
    a[1] = int_const(b, groups, "groups");
    a[2] = ints(b, "pad", 4, (int[]){0, 0, 0, 0});
    a[3] = string_const(b, "valid", "pad_type_valid");
    a[4] = ints(b, "strides", 2, (int[]){1, 1});
    a[5] = w;
    a[6] = x;
    return add_op(b, MIL_CONV, name, a, 0, NULL);
}

mil_v milb_conv(struct mil_builder *b, const char *name, mil_v x, mil_v w)
{
    return milb_conv_groups(b, name, x, w, 1);
}

mil_v milb_matmul(struct mil_builder *b, const char *name, mil_v x, mil_v y, int trans_x, int trans_y)
{
    mil_v a[4] = {bool_const(b, trans_x)};
    a[1] = bool_const(b, trans_y);
    a[2] = x;
    a[3] = y;
    return add_op(b, MIL_MATMUL, name, a, 0, NULL);
}

mil_v milb_binary(struct mil_builder *b, enum mil_op op, const char *name, mil_v x, mil_v y)
{
    if (op != MIL_ADD && op != MIL_SUB && op != MIL_MUL && op != MIL_REAL_DIV && op != MIL_POW)
        return fail(b, "'%s': %s is not a binary op", name, mil_opdef(op)->name);
    return add_op(b, op, name, (mil_v[]){x, y}, 0, NULL);
}

mil_v milb_unary(struct mil_builder *b, enum mil_op op, const char *name, mil_v x)
{
    if (op < MIL_SIGMOID || op > MIL_IDENTITY) return fail(b, "'%s': %s is not a unary op", name, mil_opdef(op)->name);
    return add_op(b, op, name, (mil_v[]){x}, 0, NULL);
}

mil_v milb_softmax(struct mil_builder *b, const char *name, mil_v x, int axis)
{
    return add_op(b, MIL_SOFTMAX, name, (mil_v[]){int_const(b, axis, "axis"), x}, 0, NULL);
}

mil_v milb_reduce_sum(struct mil_builder *b, const char *name, mil_v x, int n_axes,
                      const int *axes, int keep_dims)
{
    mil_v a[3] = {x, ints(b, "axes", n_axes, axes)};
    a[2] = bool_const(b, keep_dims);
    return add_op(b, MIL_REDUCE_SUM, name, a, 0, NULL);
}

mil_v milb_reshape(struct mil_builder *b, const char *name, mil_v x, struct mil_shape s)
{
    return add_op(b, MIL_RESHAPE, name, (mil_v[]){ints(b, "shape", s.rank, s.dim), x}, 0, NULL);
}

mil_v milb_transpose(struct mil_builder *b, const char *name, mil_v x, struct mil_shape perm)
{
    return add_op(b, MIL_TRANSPOSE, name, (mil_v[]){ints(b, "perm", perm.rank, perm.dim), x}, 0, NULL);
}

mil_v milb_slice(struct mil_builder *b, const char *name, mil_v x, struct mil_shape begin,
                 struct mil_shape size)
{
    mil_v a[3] = {x, ints(b, "begin", begin.rank, begin.dim)};
    a[2] = ints(b, "size", size.rank, size.dim);
    return add_op(b, MIL_SLICE_BY_SIZE, name, a, 0, NULL);
}

mil_v milb_concat(struct mil_builder *b, const char *name, int axis, int n, const mil_v *values)
{
    if (n < 1 || n > MIL_MAX_IO) return fail(b, "concat '%s': %d values", name, n);
    mil_v a[3] = {int_const(b, axis, "axis")};
    a[1] = bool_const(b, 0);
    a[2] = -1;
    return add_op(b, MIL_CONCAT, name, a, n, values);
}

mil_v milb_cast(struct mil_builder *b, const char *name, mil_v x, enum mil_dtype dt)
{
    char hint[32];
    snprintf(hint, sizeof hint, "to_%s", mil_dtype_name(dt));
    return add_op(b, MIL_CAST, name, (mil_v[]){string_const(b, mil_dtype_name(dt), hint), x}, 0, NULL);
}

mil_v milb_sdpa(struct mil_builder *b, const char *name, mil_v q, mil_v k, mil_v v)
{
    return add_op(b, MIL_SDPA, name, (mil_v[]){q, k, v, -1}, 0, NULL);
}

/* An unnamed constant, printed inline as a literal (the attribute arguments of
 * constexpr ops). Takes c. */
static mil_v literal(struct mil_builder *b, const struct mil_type *t, struct mil_const *c)
{
    if (b->failed || !c) return mil_const_free(c), fail(b, "out of memory");
    int v = mil_add_var(b->p, "", t, -1, &b->err);
    if (v < 0) return mil_const_free(c), (b->failed = 1), -1;
    b->p->var[v].cv = c;
    return v;
}

mil_v milb_weight_int8(struct mil_builder *b, const char *name, struct ane_weights *w,
                       const char *file, struct mil_shape s, const int8_t *q, int n_scale,
                       const float *scale)
{
    struct mil_type t;
    uint64_t off;
    if (b->failed || shape_type(b, name, MIL_INT8, s, &t)) return -1;
    if (s.rank < 1 || (n_scale != 1 && n_scale != s.dim[0]))
        return fail(b, "'%s': %d scales for %d output channels (1 or one each)", name, n_scale, s.dim[0]);
    struct ane_blob *blob = weights_blob(w, file, &b->err);
    if (!blob || blob_add_i8(blob, q, (size_t)mil_elems(&t), &off, &b->err)) return (b->failed = 1), -1;
    struct mil_const *data = mil_const_new();
    if (data && !(data->blob_path = strdup(blob->key))) mil_const_free(data), data = NULL;
    if (data) data->blob_offset = off;
    double sc[1], *scv = n_scale > 1 ? malloc((size_t)n_scale * sizeof *scv) : sc;
    if (!scv) return mil_const_free(data), fail(b, "out of memory");
    for (int i = 0; i < n_scale; i++) scv[i] = fp16_round(scale[i]);
    struct mil_type ts = {MIL_FP16, n_scale > 1, {n_scale}}, tz = {MIL_INT8, 0, {0}}, ta = {MIL_INT32, 0, {0}};
    double zero = 0;
    /* catalogue order: axis, quantized_data, scale, zero_point */
    mil_v a[4] = {literal(b, &ta, numbers(&zero, 1))};
    a[1] = literal(b, &t, data);
    a[2] = literal(b, &ts, numbers(scv, (size_t)n_scale));
    a[3] = literal(b, &tz, numbers(&zero, 1));
    if (scv != sc) free(scv);
    return add_op(b, MIL_CONSTEXPR_AFFINE_DEQUANTIZE, name, a, 0, NULL);
}

mil_v milb_quantize(struct mil_builder *b, const char *name, mil_v x, float scale)
{
    char hint[MIL_NAME_MAX];
    snprintf(hint, sizeof hint, "%s_scale", name ? name : "q");
    mil_v a[5] = {x, string_const(b, "int8", "to_int8")};
    a[2] = milb_scalar(b, hint, scale);
    a[3] = a[4] = -1;
    return add_op(b, MIL_QUANTIZE, name, a, 0, NULL);
}

mil_v milb_dequantize(struct mil_builder *b, const char *name, mil_v x, float scale)
{
    char hint[MIL_NAME_MAX];
    snprintf(hint, sizeof hint, "%s_scale", name ? name : "dq");
    mil_v a[4] = {x, milb_scalar(b, hint, scale), -1, -1};
    return add_op(b, MIL_DEQUANTIZE, name, a, 0, NULL);
}

int milb_output(struct mil_builder *b, mil_v v)
{
    if (b->failed) return -1;
    if (!valid(b, v) || b->p->var[v].cv) return fail(b, "output: not a computed value");
    if (b->p->var[v].type.dt != MIL_FP16 && b->p->var[v].type.dt != MIL_FP32)
        return fail(b, "output '%s' is %s: surfaces carry fp16 or fp32", b->p->var[v].name,
                    mil_dtype_name(b->p->var[v].type.dt));
    for (int i = 0; i < b->p->n_out; i++)
        if (b->p->out[i] == v) return fail(b, "output '%s' given twice", b->p->var[v].name);
    if (b->p->n_out == MIL_MAX_IO) return fail(b, "more than %d outputs", MIL_MAX_IO);
    b->p->out[b->p->n_out++] = v;
    return 0;
}

char *milb_text(struct mil_builder *b, struct ant_err *e)
{
    if (!b->failed && !b->p->n_out) fail(b, "the program has no outputs");
    if (!b->failed && b->chip && mil_check_chip(b->p, b->chip, &b->err)) b->failed = 1;
    if (b->failed) {
        if (e) *e = b->err;
        return NULL;
    }
    b->p->flops = 0;
    for (int i = 0; i < b->p->n_stmt; i++) b->p->flops += b->p->stmt[i].flops;
    return mil_print(b->p, b->chip ? b->chip->mil_verbose_scalars : 0, e);
}
