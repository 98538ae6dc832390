/* Program -> MIL text in the modern (program 1.3, shorthand scalars) or the verbose
 * (program 1.0, rank-0 tensor forms) dialect (§3.1-§3.3). Numbers that are not
 * integers are written as hex floats, which the device reads (§3.3) and which are
 * exact. */
#include "ane/mil/mil.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct out {
    char *s;
    size_t n, cap;
    int oom;
};

static void put(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct out *o, const char *fmt, ...)
{
    if (o->oom) return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int k = vsnprintf(o->s + o->n, o->cap - o->n, fmt, ap);
        va_end(ap);
        if (k < 0) { o->oom = 1; return; }
        if ((size_t)k < o->cap - o->n) { o->n += (size_t)k; return; }
        size_t cap = (o->cap + (size_t)k + 1) * 2;
        char *ns = realloc(o->s, cap);
        if (!ns) { o->oom = 1; return; }
        o->s = ns;
        o->cap = cap;
    }
}

static void put_type(struct out *o, const struct mil_type *t, int verbose)
{
    if (t->rank == 0 && !verbose) { put(o, "%s", mil_dtype_name(t->dt)); return; }
    put(o, "tensor<%s, [", mil_dtype_name(t->dt));
    for (int i = 0; i < t->rank; i++) put(o, "%s%d", i ? ", " : "", t->dim[i]);
    put(o, "]>");
}

static void put_number(struct out *o, enum mil_dtype dt, double v)
{
    if (dt == MIL_BOOL) put(o, "%s", v != 0 ? "true" : "false");
    else if (isfinite(v) && v == floor(v) && fabs(v) < 1e15) put(o, "%.0f", v);
    else put(o, "%a", v);
}

static void put_string(struct out *o, const char *s)
{
    put(o, "\"");
    for (; *s; s++) put(o, *s == '"' || *s == '\\' ? "\\%c" : "%c", *s);
    put(o, "\"");
}

static void put_scalar_lit_str(struct out *o, const char *s, int verbose)
{
    put(o, verbose ? "tensor<string, []>(" : "string(");
    put_string(o, s);
    put(o, ")");
}

static void put_literal(struct out *o, const struct mil_type *t, const struct mil_const *c, int verbose)
{
    put_type(o, t, verbose);
    put(o, "(");
    if (c->blob_path) {
        put(o, "BLOBFILE(path = ");
        put_scalar_lit_str(o, c->blob_path, verbose);
        put(o, verbose ? ", offset = tensor<uint64, []>(%llu))" : ", offset = uint64(%llu))",
            (unsigned long long)c->blob_offset);
    } else if (t->dt == MIL_STRING) {
        put_string(o, c->str ? c->str : "");
    } else if (t->rank == 0) {
        put_number(o, t->dt, c->num[0]);
    } else {
        put(o, "[");
        for (size_t i = 0; i < c->n; i++) {
            if (i) put(o, ", ");
            put_number(o, t->dt, c->num[i]);
        }
        put(o, "]");
    }
    put(o, ")");
}

static void put_operand(struct out *o, const struct mil_prog *p, int v, int verbose)
{
    if (p->var[v].name[0]) put(o, "%s", p->var[v].name);
    else put_literal(o, &p->var[v].type, p->var[v].cv, verbose);
}

static void put_stmt(struct out *o, const struct mil_prog *p, const struct mil_stmt *s, int verbose)
{
    const struct mil_opdef *d = mil_opdef(s->op);
    const struct mil_var *v = &p->var[s->out];
    put(o, "        ");
    put_type(o, &v->type, verbose);
    put(o, " %s = %s(", v->name, d->name);
    if (d->in_attrs) {   /* op()[arguments and name, in alphabetical order] (§3.5) */
        put(o, ")[");
        int named = 0, n = 0;
        for (int a = 0; a <= d->n_arg; a++) {
            if (!named && (a == d->n_arg || strcmp(d->arg[a].name, "name") > 0)) {
                put(o, "%sname = ", n++ ? ", " : "");
                put_scalar_lit_str(o, s->attr_name, verbose);
                named = 1;
            }
            if (a == d->n_arg || s->arg[a].var < 0) continue;
            put(o, "%s%s = ", n++ ? ", " : "", d->arg[a].name);
            put_operand(o, p, s->arg[a].var, verbose);
        }
        put(o, "];\n");
        return;
    }
    int first = 1;
    for (int a = 0; a < d->n_arg; a++) {
        const struct mil_arg *arg = &s->arg[a];
        if (arg->var < 0 && !arg->n_tuple) continue;
        put(o, "%s%s = ", first ? "" : ", ", d->arg[a].name);
        first = 0;
        if (d->arg[a].kind == ARG_TUPLE) {
            put(o, "(");
            for (int k = 0; k < arg->n_tuple; k++) {
                if (k) put(o, ", ");
                put_operand(o, p, arg->tuple[k], verbose);
            }
            put(o, ")");
        } else {
            put_operand(o, p, arg->var, verbose);
        }
    }
    put(o, ")[name = ");
    put_scalar_lit_str(o, s->attr_name, verbose);
    if (s->op == MIL_CONST) {
        put(o, ", val = ");
        put_literal(o, &v->type, v->cv, verbose);
    }
    put(o, "];\n");
}

char *mil_print(const struct mil_prog *p, int verbose, struct ant_err *e)
{
    struct out o = {0};
    put(&o, "program(%s)\n", p->version);
    /* buildInfo copied verbatim from coremltools output (§3.1). */
    if (verbose)
        put(&o, "[buildInfo = dict<tensor<string, []>, tensor<string, []>>({{\"coremlc-version\", \"3505.4.1\"}})]\n");
    else
        put(&o, "[buildInfo = dict<string, string>({{\"coremlc-component-MIL\", \"3510.2.1\"}, "
                "{\"coremlc-version\", \"3505.4.1\"}, {\"coremltools-component-milinternal\", \"\"}, "
                "{\"coremltools-version\", \"9.0\"}})]\n");
    put(&o, "{\n    func main<%s>(", p->target);
    for (int i = 0; i < p->n_in; i++) {
        const struct mil_var *v = &p->var[p->in[i]];
        if (i) put(&o, ", ");
        put_type(&o, &v->type, verbose);
        put(&o, " %s", v->name);
    }
    put(&o, ") {\n");
    for (int i = 0; i < p->n_stmt; i++) put_stmt(&o, p, &p->stmt[i], verbose);
    put(&o, "    } -> (");
    for (int i = 0; i < p->n_out; i++) put(&o, "%s%s", i ? ", " : "", p->var[p->out[i]].name);
    put(&o, ");\n}\n");
    if (o.oom) {
        free(o.s);
        return ant_errf(e, "out of memory printing MIL"), NULL;
    }
    return o.s;
}
