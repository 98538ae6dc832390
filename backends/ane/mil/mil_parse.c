/* MIL text -> program (§3.1-§3.4). Recursive descent over the tokens; every statement
 * is checked against the op catalogue as soon as it is read, so the first error names
 * the line and column where it was made. */
#include "ane/mil/mil.h"
#include "ane/mil/mil_lex.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INLINE_MAX ((int64_t)1 << 22)   /* values written inline in one literal */
/* A literal holds a BLOBFILE whose path is a literal: 2 deep. Deeper nesting is an error,
 * not a recursion that runs the stack out (a crafted file nested 10^5 times did). */
#define LITERAL_DEPTH_MAX 4

struct parser {
    struct toks tk;
    int i;
    int depth;   /* parse_literal calls under way */
    struct mil_prog *p;
    struct ant_err *e;
};

static const struct tok *peek(struct parser *P) { return &P->tk.t[P->i]; }
static const struct tok *next(struct parser *P)
{
    const struct tok *t = &P->tk.t[P->i];
    if (t->kind != TOK_EOF) P->i++;
    return t;
}

static void describe(const struct tok *t, char *b, size_t n)
{
    if (t->kind == TOK_EOF) snprintf(b, n, "end of file");
    else if (t->kind == TOK_STRING) snprintf(b, n, "\"%.*s\"", t->len > 40 ? 40 : t->len, t->s);
    else snprintf(b, n, "'%.*s'", t->len > 40 ? 40 : t->len, t->s);
}

static int is_punct(const struct tok *t, char c) { return t->kind == TOK_PUNCT && t->c == c; }
static int is_word(const struct tok *t, const char *w)
{
    return t->kind == TOK_IDENT && (int)strlen(w) == t->len && memcmp(t->s, w, (size_t)t->len) == 0;
}

static int expect(struct parser *P, char c, const char *what)
{
    const struct tok *t = peek(P);
    if (is_punct(t, c)) return next(P), 0;
    char d[64];
    describe(t, d, sizeof d);
    return mil_errf(P->e, P->p, t->line, t->col, "expected '%c' %s, found %s", c, what, d);
}

static int expect_word(struct parser *P, const char *w)
{
    const struct tok *t = peek(P);
    if (is_word(t, w)) return next(P), 0;
    char d[64];
    describe(t, d, sizeof d);
    return mil_errf(P->e, P->p, t->line, t->col, "expected '%s', found %s", w, d);
}

/* An identifier copied into buf (at most MIL_NAME_MAX-1 bytes). */
static int ident(struct parser *P, char *buf, const char *what)
{
    const struct tok *t = peek(P);
    if (t->kind != TOK_IDENT) {
        char d[64];
        describe(t, d, sizeof d);
        return mil_errf(P->e, P->p, t->line, t->col, "expected %s, found %s", what, d);
    }
    if (t->len >= MIL_NAME_MAX)
        return mil_errf(P->e, P->p, t->line, t->col, "%s longer than %d characters", what, MIL_NAME_MAX - 1);
    memcpy(buf, t->s, (size_t)t->len);
    buf[t->len] = 0;
    next(P);
    return 0;
}

static void note_shorthand(struct parser *P, const struct tok *t)
{
    if (P->p->uses_shorthand) return;
    P->p->uses_shorthand = 1;
    P->p->shorthand_line = t->line;
    P->p->shorthand_col = t->col;
}

static int is_type_start(struct parser *P)
{
    const struct tok *t = peek(P);
    if (t->kind != TOK_IDENT) return 0;
    if (is_word(t, "tensor")) return 1;
    char w[16];
    if (t->len >= (int)sizeof w) return 0;
    memcpy(w, t->s, (size_t)t->len);
    w[t->len] = 0;
    return mil_dtype_from_name(w) != MIL_NONE;
}

/* tensor<DT, [d0, ...]> or a shorthand scalar DT (§3.2). */
static int parse_type(struct parser *P, struct mil_type *ty)
{
    const struct tok *t = peek(P);
    char w[MIL_NAME_MAX];
    memset(ty, 0, sizeof *ty);
    if (!is_type_start(P)) {
        char d[64];
        describe(t, d, sizeof d);
        return mil_errf(P->e, P->p, t->line, t->col, "expected a type, found %s", d);
    }
    if (!is_word(t, "tensor")) {
        note_shorthand(P, t);
        ident(P, w, "a type");
        ty->dt = mil_dtype_from_name(w);
        return 0;
    }
    next(P);
    if (expect(P, '<', "after tensor")) return -1;
    const struct tok *dt = peek(P);
    if (ident(P, w, "an element type")) return -1;
    if ((ty->dt = mil_dtype_from_name(w)) == MIL_NONE)
        return mil_errf(P->e, P->p, dt->line, dt->col, "unknown element type '%s'", w);
    if (expect(P, ',', "after the element type") || expect(P, '[', "before the shape")) return -1;
    while (!is_punct(peek(P), ']')) {
        const struct tok *d = peek(P);
        char *end;
        long v = d->kind == TOK_NUMBER ? strtol(d->s, &end, 10) : 0;
        if (d->kind != TOK_NUMBER || end != d->s + d->len || v < 1 || v > MIL_MAX_ELEMS)
            return mil_errf(P->e, P->p, d->line, d->col, "a dimension must be a positive integer");
        if (ty->rank == MIL_MAX_RANK)
            return mil_errf(P->e, P->p, d->line, d->col, "more than %d dimensions", MIL_MAX_RANK);
        ty->dim[ty->rank++] = (int)v;
        next(P);
        if (!is_punct(peek(P), ']') && expect(P, ',', "between dimensions")) return -1;
    }
    next(P);
    int64_t n = 1;
    for (int i = 0; i < ty->rank; i++)
        if ((n *= ty->dim[i]) > MIL_MAX_ELEMS)
            return mil_errf(P->e, P->p, t->line, t->col, "tensor larger than %lld elements", (long long)MIL_MAX_ELEMS);
    return expect(P, '>', "after the shape");
}

/* One scalar value of type dt into c->num[k] (or c->str). */
static int parse_scalar(struct parser *P, enum mil_dtype dt, struct mil_const *c, size_t k)
{
    const struct tok *t = peek(P);
    if (dt == MIL_STRING) {
        if (t->kind != TOK_STRING) return mil_errf(P->e, P->p, t->line, t->col, "expected a \"string\"");
        if (!(c->str = malloc((size_t)t->len + 1))) return ant_errf(P->e, "out of memory");
        int n = 0;
        for (int i = 0; i < t->len; i++) {
            if (t->s[i] == '\\' && i + 1 < t->len) i++;
            c->str[n++] = t->s[i];
        }
        c->str[n] = 0;
        return next(P), 0;
    }
    if (dt == MIL_BOOL) {
        if (!is_word(t, "true") && !is_word(t, "false"))
            return mil_errf(P->e, P->p, t->line, t->col, "expected true or false");
        c->num[k] = is_word(t, "true");
        return next(P), 0;
    }
    char buf[80];
    if (t->kind != TOK_NUMBER || t->len >= (int)sizeof buf)
        return mil_errf(P->e, P->p, t->line, t->col, "expected a number");
    memcpy(buf, t->s, (size_t)t->len);
    buf[t->len] = 0;
    char *end;
    double v = strtod(buf, &end);
    if (*end)   /* the lexer takes "1.2.3" as one number; strtod only "1.2" of it */
        return mil_errf(P->e, P->p, t->line, t->col, "%s is not a number", buf);
    if (!isfinite(v))   /* 1e999: printed back as "inf", which no MIL reader takes */
        return mil_errf(P->e, P->p, t->line, t->col, "%s is out of range", buf);
    int integral = isfinite(v) && v == floor(v);
    if ((dt == MIL_INT32 && (!integral || v < -2147483648.0 || v > 2147483647.0)) ||
        (dt == MIL_INT8 && (!integral || v < -128 || v > 127)) ||
        (dt == MIL_UINT64 && (!integral || v < 0 || v > 9007199254740992.0)))
        return mil_errf(P->e, P->p, t->line, t->col, "%s is not a valid %s", buf, mil_dtype_name(dt));
    c->num[k] = v;
    return next(P), 0;
}

static int parse_literal(struct parser *P, struct mil_type *ty, struct mil_const **out);

/* BLOBFILE(path = <string>, offset = <uint64>) (§3.4). */
static int parse_blobfile(struct parser *P, const struct tok *at, const struct mil_type *ty,
                          struct mil_const *c)
{
    struct mil_type pt, ot;
    struct mil_const *path = NULL, *off = NULL;
    if (ty->dt != MIL_FP16 && ty->dt != MIL_FP32 && ty->dt != MIL_INT8)   /* int8: §4 */
        return mil_errf(P->e, P->p, at->line, at->col, "BLOBFILE holds fp16, fp32 or int8, not %s", mil_dtype_name(ty->dt));
    next(P);
    int rc = expect(P, '(', "after BLOBFILE") || expect_word(P, "path") || expect(P, '=', "after path") ||
             parse_literal(P, &pt, &path);
    if (!rc && (pt.dt != MIL_STRING || pt.rank))
        rc = mil_errf(P->e, P->p, at->line, at->col, "BLOBFILE path must be a string");
    if (!rc) rc = expect(P, ',', "after the path") || expect_word(P, "offset") ||
                  expect(P, '=', "after offset") || parse_literal(P, &ot, &off);
    if (!rc && (ot.dt != MIL_UINT64 || ot.rank))
        rc = mil_errf(P->e, P->p, at->line, at->col, "BLOBFILE offset must be a uint64");
    if (!rc) rc = expect(P, ')', "after the BLOBFILE offset");
    if (!rc) {
        c->blob_path = path->str;
        path->str = NULL;
        c->blob_offset = (uint64_t)off->num[0];
    }
    mil_const_free(path);
    mil_const_free(off);
    return rc ? -1 : 0;
}

static int parse_literal_in(struct parser *P, struct mil_type *ty, struct mil_const **out);

static int parse_literal(struct parser *P, struct mil_type *ty, struct mil_const **out)
{
    const struct tok *at = peek(P);
    if (P->depth >= LITERAL_DEPTH_MAX)
        return mil_errf(P->e, P->p, at->line, at->col, "literals nested more than %d deep",
                        LITERAL_DEPTH_MAX);
    P->depth++;
    int rc = parse_literal_in(P, ty, out);
    P->depth--;
    return rc;
}

/* TYPE(value), TYPE([v, ...]) or TYPE(BLOBFILE(...)) (§3.3). */
static int parse_literal_in(struct parser *P, struct mil_type *ty, struct mil_const **out)
{
    const struct tok *at = peek(P);
    if (parse_type(P, ty) || expect(P, '(', "before the value")) return -1;
    struct mil_const *c = mil_const_new();
    if (!c) return ant_errf(P->e, "out of memory");
    *out = c;
    int64_t n = mil_elems(ty);
    const struct tok *t = peek(P);
    if (is_word(t, "BLOBFILE")) {
        if (parse_blobfile(P, t, ty, c)) return -1;
        return expect(P, ')', "after BLOBFILE(...)");
    }
    if (ty->dt == MIL_STRING && ty->rank) return mil_errf(P->e, P->p, at->line, at->col, "string tensors are not supported");
    if (n > INLINE_MAX) return mil_errf(P->e, P->p, at->line, at->col, "inline literal of %lld values: use a BLOBFILE", (long long)n);
    if (ty->dt != MIL_STRING && !(c->num = calloc((size_t)n, sizeof(double))))
        return ant_errf(P->e, "out of memory");
    c->n = (size_t)n;
    if (ty->rank == 0) {
        if (parse_scalar(P, ty->dt, c, 0)) return -1;
        return expect(P, ')', "after the value");
    }
    if (expect(P, '[', "before the values")) return -1;
    for (int64_t k = 0; k < n; k++) {
        if (parse_scalar(P, ty->dt, c, (size_t)k)) return -1;
        t = peek(P);
        if (k + 1 < n && is_punct(t, ']'))
            return mil_errf(P->e, P->p, t->line, t->col, "literal has %lld values, its type needs %lld",
                            (long long)k + 1, (long long)n);
        if (k + 1 < n && expect(P, ',', "between values")) return -1;
    }
    t = peek(P);
    if (!is_punct(t, ']'))
        return mil_errf(P->e, P->p, t->line, t->col, "literal has more values than its %lld elements", (long long)n);
    next(P);
    return expect(P, ')', "after the values");
}

/* c as an unnamed variable defined at t; c is freed on failure. */
static int add_literal(struct parser *P, const struct tok *t, const struct mil_type *ty,
                       struct mil_const *c, int *var)
{
    if ((*var = mil_add_var(P->p, "", ty, -1, P->e)) < 0) return mil_const_free(c), -1;
    P->p->var[*var].cv = c;
    P->p->var[*var].line = t->line;
    P->p->var[*var].col = t->col;
    return 0;
}

/* A variable defined before this point, or an inline literal as an unnamed const:
 * a typed literal, or a bare true/false (upstream writes transpose_x = false). With
 * blob_ok a literal may be a BLOBFILE (the attribute arguments of constexpr ops). */
static int parse_operand_in(struct parser *P, int *var, int blob_ok)
{
    const struct tok *t = peek(P);
    if (is_word(t, "true") || is_word(t, "false")) {
        struct mil_type ty = {MIL_BOOL, 0, {0}};
        struct mil_const *c = mil_const_new();
        if (!c || !(c->num = malloc(sizeof *c->num))) return mil_const_free(c), ant_errf(P->e, "out of memory");
        c->num[0] = is_word(t, "true");
        c->n = 1;
        next(P);
        return add_literal(P, t, &ty, c, var);
    }
    if (is_type_start(P) && (is_word(t, "tensor") || is_punct(&P->tk.t[P->i + 1], '('))) {
        struct mil_type ty;
        struct mil_const *c = NULL;
        if (parse_literal(P, &ty, &c)) return mil_const_free(c), -1;
        if (c->blob_path && !blob_ok) {
            mil_const_free(c);
            return mil_errf(P->e, P->p, t->line, t->col, "BLOBFILE must be bound by a const statement");
        }
        return add_literal(P, t, &ty, c, var);
    }
    char name[MIL_NAME_MAX];
    if (ident(P, name, "a variable or literal")) return -1;
    if ((*var = mil_find_var(P->p, name)) < 0)
        return mil_errf(P->e, P->p, t->line, t->col, "undefined variable '%s'", name);
    return 0;
}

static int parse_operand(struct parser *P, int *var) { return parse_operand_in(P, var, 0); }

static int parse_args(struct parser *P, int si)
{
    if (expect(P, '(', "after the op name")) return -1;
    while (!is_punct(peek(P), ')')) {
        struct mil_stmt *s = &P->p->stmt[si];
        const char *op = mil_opdef(s->op)->name;
        const struct tok *t = peek(P);
        char name[MIL_NAME_MAX];
        if (ident(P, name, "an argument name")) return -1;
        int a = mil_arg_index(s->op, name);
        if (a < 0) return mil_errf(P->e, P->p, t->line, t->col, "%s has no argument '%s'", op, name);
        if (mil_opdef(s->op)->in_attrs)
            return mil_errf(P->e, P->p, t->line, t->col, "%s takes '%s' in the attribute brackets: "
                            "%s()[%s = ..., name = ...] (§3.5)", op, name, op, name);
        struct mil_arg *arg = &s->arg[a];
        if (arg->var >= 0 || arg->n_tuple)
            return mil_errf(P->e, P->p, t->line, t->col, "%s: argument '%s' given twice", op, name);
        arg->line = t->line;
        arg->col = t->col;
        if (expect(P, '=', "after the argument name")) return -1;
        int is_tuple = mil_opdef(s->op)->arg[a].kind == ARG_TUPLE;
        if (is_punct(peek(P), '(')) {
            if (!is_tuple) return mil_errf(P->e, P->p, t->line, t->col, "%s: argument '%s' takes one value, not a tuple", op, name);
            next(P);
            while (!is_punct(peek(P), ')')) {
                int v;
                if (parse_operand(P, &v)) return -1;
                s = &P->p->stmt[si];
                arg = &s->arg[a];
                int *nt = realloc(arg->tuple, (size_t)(arg->n_tuple + 1) * sizeof(int));
                if (!nt) return ant_errf(P->e, "out of memory");
                arg->tuple = nt;
                arg->tuple[arg->n_tuple++] = v;
                if (!is_punct(peek(P), ')') && expect(P, ',', "between tuple values")) return -1;
            }
            next(P);
        } else {
            int v;
            if (parse_operand(P, &v)) return -1;
            s = &P->p->stmt[si];
            arg = &s->arg[a];
            if (is_tuple) {
                if (!(arg->tuple = malloc(sizeof(int)))) return ant_errf(P->e, "out of memory");
                arg->tuple[arg->n_tuple++] = v;
            } else {
                arg->var = v;
            }
        }
        if (!is_punct(peek(P), ')') && expect(P, ',', "between arguments")) return -1;
    }
    next(P);
    return 0;
}

/* [name = <string>(, val = <literal>)] */
static int parse_attrs(struct parser *P, int si, struct mil_type *vt, struct mil_const **val)
{
    const struct tok *open = peek(P);
    if (expect(P, '[', "before the op attributes ([name = ...])")) return -1;
    int have_name = 0;
    while (!is_punct(peek(P), ']')) {
        const struct tok *t = peek(P);
        char key[MIL_NAME_MAX];
        struct mil_type ty;
        struct mil_const *c = NULL;
        if (ident(P, key, "an attribute name") || expect(P, '=', "after the attribute name")) return -1;
        int is_val = strcmp(key, "val") == 0;
        enum mil_op op = P->p->stmt[si].op;
        int a = mil_opdef(op)->in_attrs ? mil_arg_index(op, key) : -1;
        if (a >= 0) {   /* an argument of a constexpr op (§3.5) */
            struct mil_arg *arg = &P->p->stmt[si].arg[a];
            if (arg->var >= 0) return mil_errf(P->e, P->p, t->line, t->col, "attribute '%s' given twice", key);
            int v;
            if (parse_operand_in(P, &v, 1)) return -1;
            arg = &P->p->stmt[si].arg[a];
            arg->var = v;
            arg->line = t->line;
            arg->col = t->col;
            if (!is_punct(peek(P), ']') && expect(P, ',', "between attributes")) return -1;
            continue;
        }
        if (!is_val && strcmp(key, "name"))
            return mil_errf(P->e, P->p, t->line, t->col, "unknown attribute '%s' (name or val%s)", key,
                            mil_opdef(op)->in_attrs ? ", or an argument of the op" : "");
        if ((is_val ? *val != NULL : have_name))
            return mil_errf(P->e, P->p, t->line, t->col, "attribute '%s' given twice", key);
        if (parse_literal(P, &ty, &c)) return mil_const_free(c), -1;
        if (is_val) {
            *val = c;
            *vt = ty;
        } else {
            if (ty.dt != MIL_STRING || ty.rank || strlen(c->str) >= MIL_NAME_MAX) {
                mil_const_free(c);
                return mil_errf(P->e, P->p, t->line, t->col, "name must be a string of at most %d bytes", MIL_NAME_MAX - 1);
            }
            strcpy(P->p->stmt[si].attr_name, c->str);
            mil_const_free(c);
            have_name = 1;
        }
        if (!is_punct(peek(P), ']') && expect(P, ',', "between attributes")) return -1;
    }
    next(P);
    if (!have_name) return mil_errf(P->e, P->p, open->line, open->col, "op has no [name = ...] attribute");
    for (int k = 0; k < si; k++)
        if (strcmp(P->p->stmt[k].attr_name, P->p->stmt[si].attr_name) == 0)
            return mil_errf(P->e, P->p, open->line, open->col, "op name \"%s\" already used at line %d",
                            P->p->stmt[si].attr_name, P->p->stmt[k].line);
    return 0;
}

/* TYPE NAME = OP(ARGS)[ATTRS]; */
static int parse_stmt(struct parser *P)
{
    struct mil_prog *p = P->p;
    struct mil_type ty, vt;
    struct mil_const *val = NULL;
    const struct tok *nt, *ot;
    char name[MIL_NAME_MAX], op[MIL_NAME_MAX];
    if (parse_type(P, &ty)) return -1;
    nt = peek(P);
    if (ident(P, name, "a variable name") || expect(P, '=', "after the variable name")) return -1;
    int prev = mil_find_var(p, name);
    if (prev >= 0)
        return mil_errf(P->e, p, nt->line, nt->col, "'%s' redefined (first defined at line %d)", name, p->var[prev].line);
    ot = peek(P);
    if (ident(P, op, "an op name")) return -1;
    int o = mil_op_by_name(op);
    if (o < 0) return mil_errf(P->e, p, ot->line, ot->col, "unknown op '%s'", op);
    int si = mil_add_stmt(p, (enum mil_op)o, P->e);
    if (si < 0) return -1;
    p->stmt[si].line = ot->line;
    p->stmt[si].col = ot->col;
    if (parse_args(P, si)) return -1;
    if (parse_attrs(P, si, &vt, &val)) return mil_const_free(val), -1;
    if ((o == MIL_CONST) != (val != NULL)) {
        mil_const_free(val);
        return mil_errf(P->e, p, ot->line, ot->col, o == MIL_CONST ? "const without [val = ...]"
                                                                   : "only const takes a val attribute");
    }
    if (val && !mil_type_eq(&ty, &vt)) {
        char a[160], b[160];
        mil_type_str(&ty, a, sizeof a);
        mil_type_str(&vt, b, sizeof b);
        mil_const_free(val);
        return mil_errf(P->e, p, nt->line, nt->col, "shape mismatch: const '%s' is declared %s, its value is %s", name, a, b);
    }
    int v = mil_add_var(p, name, &ty, si, P->e);
    if (v < 0) return mil_const_free(val), -1;
    p->var[v].cv = val;
    p->var[v].line = nt->line;
    p->var[v].col = nt->col;
    p->stmt[si].out = v;
    if (expect(P, ';', "after the statement")) return -1;
    return mil_check_stmt(p, si, 1, P->e);
}

/* [buildInfo = dict<K, V>({{"k", "v"}, ...})]: read and ignored (§3.1). */
static int parse_build_info(struct parser *P)
{
    struct mil_type k, v;
    next(P);
    if (expect_word(P, "buildInfo") || expect(P, '=', "after buildInfo") || expect_word(P, "dict") ||
        expect(P, '<', "after dict") || parse_type(P, &k) || expect(P, ',', "in dict<K, V>") ||
        parse_type(P, &v) || expect(P, '>', "after dict<K, V") || expect(P, '(', "before the dict") ||
        expect(P, '{', "to open the dict"))
        return -1;
    while (!is_punct(peek(P), '}')) {
        if (expect(P, '{', "to open a dict entry")) return -1;
        for (int j = 0; j < 2; j++) {
            const struct tok *t = next(P);
            if (t->kind != TOK_STRING) return mil_errf(P->e, P->p, t->line, t->col, "dict entries are \"strings\"");
            if (j == 0 && expect(P, ',', "between key and value")) return -1;
        }
        if (expect(P, '}', "to close a dict entry")) return -1;
        if (!is_punct(peek(P), '}') && expect(P, ',', "between dict entries")) return -1;
    }
    next(P);
    return expect(P, ')', "after the dict") || expect(P, ']', "after buildInfo") ? -1 : 0;
}

static int parse_header(struct parser *P)
{
    struct mil_prog *p = P->p;
    if (expect_word(P, "program") || expect(P, '(', "after program")) return -1;
    const struct tok *v = peek(P);
    if (v->kind != TOK_NUMBER || v->len >= (int)sizeof p->version)
        return mil_errf(P->e, p, v->line, v->col, "expected the program version, e.g. program(1.3)");
    memcpy(p->version, v->s, (size_t)v->len);
    p->version_line = v->line;
    p->version_col = v->col;
    next(P);
    if (expect(P, ')', "after the version")) return -1;
    if (is_punct(peek(P), '[') && parse_build_info(P)) return -1;
    if (expect(P, '{', "to open the program") || expect_word(P, "func")) return -1;
    char fn[MIL_NAME_MAX];
    const struct tok *f = peek(P);
    if (ident(P, fn, "the function name")) return -1;
    if (strcmp(fn, "main")) return mil_errf(P->e, p, f->line, f->col, "function '%s': the ANE runs func main", fn);
    if (expect(P, '<', "before the target")) return -1;
    const struct tok *t = peek(P);
    char tg[MIL_NAME_MAX];
    if (ident(P, tg, "the target (ios18)")) return -1;
    if (strlen(tg) >= sizeof p->target) return mil_errf(P->e, p, t->line, t->col, "target '%s' too long", tg);
    strcpy(p->target, tg);
    p->target_line = t->line;
    p->target_col = t->col;
    return expect(P, '>', "after the target");
}

static int parse_params(struct parser *P)
{
    struct mil_prog *p = P->p;
    if (expect(P, '(', "before the inputs")) return -1;
    while (!is_punct(peek(P), ')')) {
        struct mil_type ty;
        char name[MIL_NAME_MAX];
        const struct tok *at = peek(P);
        if (parse_type(P, &ty)) return -1;
        const struct tok *nt = peek(P);
        if (ident(P, name, "an input name")) return -1;
        if ((ty.dt != MIL_FP16 && ty.dt != MIL_FP32) || ty.rank < 1)
            return mil_errf(P->e, p, at->line, at->col, "input '%s' must be an fp16 or fp32 tensor", name);
        if (mil_find_var(p, name) >= 0) return mil_errf(P->e, p, nt->line, nt->col, "input '%s' declared twice", name);
        if (p->n_in == MIL_MAX_IO) return mil_errf(P->e, p, nt->line, nt->col, "more than %d inputs", MIL_MAX_IO);
        int v = mil_add_var(p, name, &ty, -1, P->e);
        if (v < 0) return -1;
        p->var[v].line = nt->line;
        p->var[v].col = nt->col;
        p->in[p->n_in++] = v;
        if (!is_punct(peek(P), ')') && expect(P, ',', "between inputs")) return -1;
    }
    next(P);
    return 0;
}

static int parse_outputs(struct parser *P)
{
    struct mil_prog *p = P->p;
    if (expect(P, '(', "before the outputs")) return -1;
    while (!is_punct(peek(P), ')')) {
        const struct tok *t = peek(P);
        char name[MIL_NAME_MAX];
        if (ident(P, name, "an output name")) return -1;
        int v = mil_find_var(p, name);
        if (v < 0) return mil_errf(P->e, p, t->line, t->col, "output '%s' is not defined", name);
        if (p->var[v].cv) return mil_errf(P->e, p, t->line, t->col, "output '%s' is a constant", name);
        if (p->var[v].type.dt != MIL_FP16 && p->var[v].type.dt != MIL_FP32)
            return mil_errf(P->e, p, t->line, t->col, "output '%s' is %s: surfaces carry fp16 or fp32",
                            name, mil_dtype_name(p->var[v].type.dt));
        for (int k = 0; k < p->n_out; k++)
            if (p->out[k] == v) return mil_errf(P->e, p, t->line, t->col, "output '%s' listed twice", name);
        if (p->n_out == MIL_MAX_IO) return mil_errf(P->e, p, t->line, t->col, "more than %d outputs", MIL_MAX_IO);
        p->out[p->n_out++] = v;
        if (!is_punct(peek(P), ')') && expect(P, ',', "between outputs")) return -1;
    }
    const struct tok *close = next(P);
    if (p->n_out == 0) return mil_errf(P->e, p, close->line, close->col, "the function has no outputs");
    return 0;
}

static int parse_program(struct parser *P)
{
    if (parse_header(P) || parse_params(P) || expect(P, '{', "to open the function body")) return -1;
    while (!is_punct(peek(P), '}'))
        if (parse_stmt(P)) return -1;
    next(P);
    if (!(peek(P)->kind == TOK_ARROW))
        return mil_errf(P->e, P->p, peek(P)->line, peek(P)->col, "expected '->' and the outputs after the function body");
    next(P);
    if (parse_outputs(P) || expect(P, ';', "after the outputs") || expect(P, '}', "to close the program")) return -1;
    const struct tok *t = peek(P);
    if (t->kind != TOK_EOF) {
        char d[64];
        describe(t, d, sizeof d);
        return mil_errf(P->e, P->p, t->line, t->col, "unexpected %s after the end of the program", d);
    }
    for (int i = 0; i < P->p->n_stmt; i++) P->p->flops += P->p->stmt[i].flops;
    return 0;
}

struct mil_prog *mil_parse(const char *text, size_t len, const char *file, struct ant_err *e)
{
    struct parser P = {{0}, 0, 0, mil_prog_new(file), e};
    if (!P.p) return ant_errf(e, "out of memory"), NULL;
    if (mil_lex(text, len, P.p->file, &P.tk, e) || parse_program(&P)) {
        free(P.tk.t);
        mil_prog_free(P.p);
        return NULL;
    }
    free(P.tk.t);
    return P.p;
}

struct mil_prog *mil_load(const char *text, size_t len, const char *file,
                          const struct ant_chip *chip, const struct ane_weights *w,
                          struct ant_err *e)
{
    struct mil_prog *p = mil_parse(text, len, file, e);
    if (p && ((chip && mil_check_chip(p, chip, e)) || (w && mil_bind_weights(p, w, e)))) {
        mil_prog_free(p);
        return NULL;
    }
    if (p) mil_mark_zero_rules(p, chip);
    return p;
}
