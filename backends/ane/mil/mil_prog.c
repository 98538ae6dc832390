/* MIL programs in memory: types, variables, statements, error locations. */
#include "ane/mil/mil.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *dtype_names[] = {"none", "fp16", "fp32", "int32", "int8", "uint64",
                                    "bool", "string"};

const char *mil_dtype_name(enum mil_dtype dt)
{
    return (unsigned)dt < sizeof dtype_names / sizeof *dtype_names ? dtype_names[dt] : "?";
}

enum mil_dtype mil_dtype_from_name(const char *s)
{
    for (int i = 1; i < (int)(sizeof dtype_names / sizeof *dtype_names); i++)
        if (strcmp(s, dtype_names[i]) == 0) return (enum mil_dtype)i;
    return MIL_NONE;
}

size_t mil_dtype_bytes(enum mil_dtype dt)
{
    switch (dt) {
    case MIL_FP16: return 2;
    case MIL_FP32: case MIL_INT32: return 4;
    case MIL_INT8: case MIL_BOOL: return 1;
    case MIL_UINT64: return 8;
    default: return 0;
    }
}

int64_t mil_elems(const struct mil_type *t)
{
    int64_t n = 1;
    for (int i = 0; i < t->rank; i++) n *= t->dim[i];
    return n;
}

int mil_type_eq(const struct mil_type *a, const struct mil_type *b)
{
    if (a->dt != b->dt || a->rank != b->rank) return 0;
    for (int i = 0; i < a->rank; i++)
        if (a->dim[i] != b->dim[i]) return 0;
    return 1;
}

void mil_type_str(const struct mil_type *t, char *buf, size_t n)
{
    size_t k = (size_t)snprintf(buf, n, "tensor<%s, [", mil_dtype_name(t->dt));
    for (int i = 0; i < t->rank && k < n; i++)
        k += (size_t)snprintf(buf + k, n - k, "%s%d", i ? ", " : "", t->dim[i]);
    if (k < n) snprintf(buf + k, n - k, "]>");
}

int mil_name_reserved(const char *name)
{
    /* §3.3: names [I] saw break M1, then MIL's types and keywords. Op names are
     * reserved too (mil_op_by_name). */
    static const char *words[] = {"var", "diff", "mean", "std", "eps", "x", "y", "mul", "add",
        "rsqrt", "c", "C", "tensor", "fp16", "fp32", "int32", "int8", "uint64", "bool",
        "string", "dict", "program", "func", "main", "const", "true", "false", "BLOBFILE",
        "list", "tuple", "name", "val", NULL};
    for (int i = 0; words[i]; i++)
        if (strcmp(name, words[i]) == 0) return 1;
    return mil_op_by_name(name) >= 0;
}

struct mil_prog *mil_prog_new(const char *file)
{
    struct mil_prog *p = calloc(1, sizeof *p);
    if (p) snprintf(p->file, sizeof p->file, "%s", file ? file : "<builder>");
    return p;
}

struct mil_const *mil_const_new(void) { return calloc(1, sizeof(struct mil_const)); }

void mil_const_free(struct mil_const *c)
{
    if (!c) return;
    free(c->num);
    free(c->str);
    free(c->blob_path);
    free(c);
}

void mil_prog_free(struct mil_prog *p)
{
    if (!p) return;
    for (int i = 0; i < p->n_var; i++) mil_const_free(p->var[i].cv);
    for (int i = 0; i < p->n_stmt; i++)
        for (int a = 0; a < MIL_MAX_ARGS; a++) free(p->stmt[i].arg[a].tuple);
    free(p->var);
    free(p->stmt);
    free(p->warn);
    free(p);
}

int mil_find_var(const struct mil_prog *p, const char *name)
{
    if (!name[0]) return -1;
    for (int i = 0; i < p->n_var; i++)
        if (strcmp(p->var[i].name, name) == 0) return i;
    return -1;
}

int mil_add_var(struct mil_prog *p, const char *name, const struct mil_type *t, int def,
                struct ant_err *e)
{
    if (strlen(name) >= MIL_NAME_MAX)
        return ant_errf(e, "%s: name '%.40s...' longer than %d characters", p->file, name,
                        MIL_NAME_MAX - 1);
    if (p->n_var == p->cap_var) {
        int cap = p->cap_var ? 2 * p->cap_var : 64;
        struct mil_var *nv = realloc(p->var, (size_t)cap * sizeof *nv);
        if (!nv) return ant_errf(e, "out of memory");
        p->var = nv;
        p->cap_var = cap;
    }
    struct mil_var *v = &p->var[p->n_var];
    memset(v, 0, sizeof *v);
    strcpy(v->name, name);
    if (t) v->type = *t;
    v->def = def;
    return p->n_var++;
}

int mil_add_stmt(struct mil_prog *p, enum mil_op op, struct ant_err *e)
{
    if (p->n_stmt == p->cap_stmt) {
        int cap = p->cap_stmt ? 2 * p->cap_stmt : 64;
        struct mil_stmt *ns = realloc(p->stmt, (size_t)cap * sizeof *ns);
        if (!ns) return ant_errf(e, "out of memory");
        p->stmt = ns;
        p->cap_stmt = cap;
    }
    struct mil_stmt *s = &p->stmt[p->n_stmt];
    memset(s, 0, sizeof *s);
    s->op = op;
    s->out = -1;
    for (int a = 0; a < MIL_MAX_ARGS; a++) s->arg[a].var = -1;
    return p->n_stmt++;
}

int mil_errf(struct ant_err *e, const struct mil_prog *p, int line, int col,
             const char *fmt, ...)
{
    if (!e) return -1;
    int k = line > 0 ? snprintf(e->msg, sizeof e->msg, "%s:%d:%d: ", p->file, line, col)
                     : snprintf(e->msg, sizeof e->msg, "%s: ", p->file);
    if (k < 0 || (size_t)k >= sizeof e->msg) return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg + k, sizeof e->msg - (size_t)k, fmt, ap);
    va_end(ap);
    return -1;
}

void mil_warnf(struct mil_prog *p, int line, int col, const char *fmt, ...)
{
    char msg[1024];
    int k = line > 0 ? snprintf(msg, sizeof msg, "%s:%d:%d: ", p->file, line, col)
                     : snprintf(msg, sizeof msg, "%s: ", p->file);
    if (k < 0 || (size_t)k >= sizeof msg) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg + k, sizeof msg - (size_t)k, fmt, ap);
    va_end(ap);
    size_t old = p->warn ? strlen(p->warn) : 0, n = strlen(msg);
    char *w = realloc(p->warn, old + n + 2);
    if (!w) return;
    memcpy(w + old, msg, n);
    w[old + n] = '\n';
    w[old + n + 1] = 0;
    p->warn = w;
}

void mil_log_warnings(const struct mil_prog *p)
{
    for (const char *w = p->warn; w && *w;) {
        const char *nl = strchr(w, '\n');
        int n = nl ? (int)(nl - w) : (int)strlen(w);
        ant_log(ANT_LOG_WARN, "ane", "%.*s", n, w);
        w += n + (nl != NULL);
    }
}
