/* Checking a program: each statement against the op catalogue, the whole program
 * against a chip profile, and BLOBFILE constants against the weights. */
#include "ane/mil/mil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Dimensions positive and the element count bounded, without overflow. */
static int type_size_ok(const struct mil_type *t)
{
    int64_t n = 1;
    for (int i = 0; i < t->rank; i++) {
        if (t->dim[i] < 1 || t->dim[i] > MIL_MAX_ELEMS) return 0;
        n *= t->dim[i];
        if (n > MIL_MAX_ELEMS) return 0;
    }
    return 1;
}

static int check_arg(struct mil_prog *p, const struct mil_stmt *s, int a, int v,
                     const struct mil_arg *arg, struct ant_err *e)
{
    const struct mil_argdef *d = &mil_opdef(s->op)->arg[a];
    const struct mil_var *x = &p->var[v];
    const struct mil_type *t = &x->type;
    const char *op = mil_opdef(s->op)->name;
    int line = arg->line ? arg->line : s->line, col = arg->line ? arg->col : s->col;
    switch (d->kind) {
    case ARG_TENSOR: case ARG_TUPLE:
        /* The ANE computes in fp16; fp32 exists only at the I/O edge (§2.5). */
        if (t->dt == MIL_FP16 || (t->dt == MIL_FP32 && (s->op == MIL_CAST || s->op == MIL_IDENTITY)))
            return 0;
        return mil_errf(e, p, line, col, "%s: argument '%s' must be an fp16 tensor, '%s' is %s",
                        op, d->name, x->name[0] ? x->name : "literal", mil_dtype_name(t->dt));
    case ARG_INTS:
        if (x->cv && t->dt == MIL_INT32 && t->rank == 1) return 0;
        return mil_errf(e, p, line, col, "%s: argument '%s' must be a const tensor<int32, [n]>", op, d->name);
    case ARG_INT:
        if (x->cv && t->dt == MIL_INT32 && t->rank == 0) return 0;
        return mil_errf(e, p, line, col, "%s: argument '%s' must be a const int32 scalar", op, d->name);
    case ARG_BOOL:
        if (x->cv && t->dt == MIL_BOOL && t->rank == 0) return 0;
        return mil_errf(e, p, line, col, "%s: argument '%s' must be a const bool", op, d->name);
    case ARG_STRING:
        if (x->cv && t->dt == MIL_STRING && t->rank == 0) return 0;
        return mil_errf(e, p, line, col, "%s: argument '%s' must be a const string", op, d->name);
    case ARG_CONST:
        if (x->cv) return 0;
        return mil_errf(e, p, line, col, "%s: argument '%s' must be a constant", op, d->name);
    case ARG_INT8:
        if (t->dt == MIL_INT8 && t->rank >= 1) return 0;
        return mil_errf(e, p, line, col, "%s: argument '%s' must be an int8 tensor, '%s' is %s",
                        op, d->name, x->name[0] ? x->name : "literal", mil_dtype_name(t->dt));
    }
    return 0;
}

int mil_check_stmt(struct mil_prog *p, int si, int declared, struct ant_err *e)
{
    struct mil_stmt *s = &p->stmt[si];
    const struct mil_opdef *d = mil_opdef(s->op);
    if (s->op == MIL_CONST) return 0;
    for (int a = 0; a < d->n_arg; a++) {
        const struct mil_arg *arg = &s->arg[a];
        if (d->arg[a].kind == ARG_TUPLE) {
            if (arg->n_tuple == 0)
                return mil_errf(e, p, s->line, s->col, "%s: missing argument '%s'", d->name, d->arg[a].name);
            for (int k = 0; k < arg->n_tuple; k++)
                if (check_arg(p, s, a, arg->tuple[k], arg, e)) return -1;
            continue;
        }
        if (arg->var < 0) {
            if (d->arg[a].optional) continue;
            return mil_errf(e, p, s->line, s->col, "%s: missing argument '%s'", d->name, d->arg[a].name);
        }
        if (check_arg(p, s, a, arg->var, arg, e)) return -1;
    }
    struct mil_type t;
    char why[256];
    if (mil_infer(p, s, &t, &s->flops, why, sizeof why))
        return mil_errf(e, p, s->line, s->col, "%s '%s': %s", d->name, p->var[s->out].name, why);
    if (!type_size_ok(&t))
        return mil_errf(e, p, s->line, s->col, "%s '%s': result larger than %lld elements",
                        d->name, p->var[s->out].name, (long long)MIL_MAX_ELEMS);
    struct mil_var *o = &p->var[s->out];
    if (declared && !mil_type_eq(&o->type, &t)) {
        char want[160], got[160];
        mil_type_str(&o->type, want, sizeof want);
        mil_type_str(&t, got, sizeof got);
        return mil_errf(e, p, o->line, o->col, "shape mismatch: '%s' is declared %s, %s gives %s",
                        o->name, want, d->name, got);
    }
    o->type = t;
    if (s->op == MIL_SDPA && s->arg[3].var >= 0)   /* §3.5, §12.4: every source agrees */
        mil_warnf(p, s->arg[3].line ? s->arg[3].line : s->line, s->arg[3].line ? s->arg[3].col : s->col,
                  "scaled_dot_product_attention '%s': attn_mask is ignored on the ANE, so the "
                  "result is not causal (every query attends to every key; §3.5, §12.4); for "
                  "causal attention use matmul, add the mask, softmax, matmul", o->name);
    return 0;
}

/* "1.3" -> 13, "ios18" -> 18; -1 if malformed. */
static int version_num(const char *v)
{
    int a, b;
    char extra;
    if (!v || sscanf(v, "%d.%d%c", &a, &b, &extra) != 2 || a < 0 || b < 0 || b > 9) return -1;
    return a * 10 + b;
}

static int target_num(const char *t)
{
    int n;
    char extra;
    if (!t || sscanf(t, "ios%d%c", &n, &extra) != 1) return -1;
    return n;
}

int mil_check_chip(const struct mil_prog *p, const struct ant_chip *chip, struct ant_err *e)
{
    const char *cn = chip->name ? chip->name : "this chip";
    int pv = version_num(p->version), cv = version_num(chip->mil_program);
    int pt = target_num(p->target), ct = target_num(chip->mil_target);
    if (pv < 0) return mil_errf(e, p, p->version_line, p->version_col, "bad program version '%s'", p->version);
    if (pt < 0) return mil_errf(e, p, p->target_line, p->target_col, "bad function target '%s' (want iosNN)", p->target);
    /* A chip takes its own dialect and older ones (§3.1, §7.1). */
    if (cv >= 0 && pv > cv)
        return mil_errf(e, p, p->version_line, p->version_col,
                        "program(%s) is newer than %s takes (program(%s); §3.1, §7.1)",
                        p->version, cn, chip->mil_program);
    if (ct >= 0 && pt > ct)
        return mil_errf(e, p, p->target_line, p->target_col,
                        "target %s is newer than %s takes (%s; §3.1, §7.1)", p->target, cn, chip->mil_target);
    if (chip->mil_verbose_scalars && p->uses_shorthand)
        return mil_errf(e, p, p->shorthand_line, p->shorthand_col,
                        "shorthand scalar form: %s takes only the verbose tensor<T, []> form (§3.2, §7.1)", cn);
    for (int i = 0; i < p->n_stmt; i++) {
        const struct mil_stmt *s = &p->stmt[i];
        const struct mil_opdef *d = mil_opdef(s->op);
        if (s->op == MIL_CAST && !chip->allows_cast)
            return mil_errf(e, p, s->line, s->col, "cast '%s': %s has no cast op; use fp16 I/O (§2.5, §7.1)",
                            p->var[s->out].name, cn);
        if (s->op == MIL_SDPA && !chip->allows_sdpa)
            return mil_errf(e, p, s->line, s->col, "scaled_dot_product_attention '%s': fails on %s "
                            "(an M4+ op per [M#6], §7.1); use matmul and softmax",
                            p->var[s->out].name, cn);
        if (d->min_ios && pt < d->min_ios)
            return mil_errf(e, p, s->line, s->col, "%s '%s': the op exists from target ios%d on, the "
                            "program targets %s", d->name, p->var[s->out].name, d->min_ios, p->target);
    }
    for (int k = 0; k < p->n_in + p->n_out; k++) {
        const struct mil_var *v = &p->var[k < p->n_in ? p->in[k] : p->out[k - p->n_in]];
        if (chip->fp16_io && v->type.dt != MIL_FP16)
            return mil_errf(e, p, v->line, v->col, "%s '%s' is %s: %s takes fp16 surfaces only (§2.5, §7.1)",
                            k < p->n_in ? "input" : "output", v->name, mil_dtype_name(v->type.dt), cn);
    }
    return mil_check_refused(p, chip, e);
}

int mil_bind_weights(struct mil_prog *p, const struct ane_weights *w, struct ant_err *e)
{
    for (int i = 0; i < p->n_var; i++) {
        struct mil_var *v = &p->var[i];
        if (!v->cv || !v->cv->blob_path) continue;
        const struct ane_blob *b = weights_find(w, v->cv->blob_path);
        const char *name = v->name[0] ? v->name : "literal";
        if (!b)
            return mil_errf(e, p, v->line, v->col, "BLOBFILE '%s' of '%s' is not among the %d weight blobs "
                            "given (keys must match exactly, §1.4)", v->cv->blob_path, name, w ? w->n : 0);
        size_t bytes = (size_t)mil_elems(&v->type) * mil_dtype_bytes(v->type.dt);
        struct ant_err be;
        if (blob_chunk(b, v->cv->blob_offset, bytes, &v->cv->blob_data, &be))
            return mil_errf(e, p, v->line, v->col, "BLOBFILE of '%s': %s", name, be.msg);
    }
    return 0;
}
