/* The M1 rules of docs/ane.md §7.3 (imperatormk's probes, M1 / M1 Pro, macOS 26), in
 * one place: what the chip refuses outright (the profile's ops_refused; a matmul of two
 * runtime 4-D inputs, or with a constant operand) and the layouts that compile yet give
 * zeros. The checker refuses
 * the first kind; the second kind is marked on the program with a warning, and the
 * emulator gives zeros where a mark is (emu_exec.c), the device layer for small
 * surfaces (device.c), so a backend's self-test meets the failure as on the hardware.
 * Every rule applies only where the chip's profile says so (configs/chips.cfg: M1, M2
 * and unknown Apple chips from macOS 26 on, or an unknown OS). */
#include "ane/mil/mil.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

static const struct mil_zero_ruledef rules[MIL_ZERO_N] = {
    [MIL_ZERO_INPUT_ORDER] = {"input order", "§7.3 slot order",
        "inputs are bound in ascending byte size; declared otherwise, every output reads zeros"},
    [MIL_ZERO_MATMUL_INNER] = {"matmul inner dimension", "§7.3 matmul",
        "an inner (contraction) dimension that is not a multiple of 32 gives zeros "
        "(16, 48, 80 and 112 did)"},
    [MIL_ZERO_BROADCAST] = {"broadcast", "§7.3 broadcast",
        "[1,C,S] with [1,C,1] (per channel) or [1,1,1] gives zeros; [1,C,S] with [1,1,S] works"},
    [MIL_ZERO_SMALL_SURFACE] = {"surface size", "§2.2, §7.3 minimum buffer",
        "a surface under the minimum size gives zeros"},
};

const struct mil_zero_ruledef *mil_zero_rule(enum mil_zero_rule r)
{
    return r > MIL_ZERO_NONE && r < MIL_ZERO_N ? &rules[r] : NULL;
}

int mil_chip_refuses(const struct ant_chip *chip, const char *op)
{
    size_t n = strlen(op);
    for (const char *t = chip->ops_refused; t && *t;) {
        size_t k = strcspn(t, " ");
        int prefix = k > 0 && t[k - 1] == '*';
        if (prefix ? k - 1 <= n && !strncmp(t, op, k - 1) : k == n && !strncmp(t, op, n)) return 1;
        t += k + (t[k] == ' ');
    }
    return 0;
}

/* "macOS 26.3", or what an unknown version means for the profile. */
static const char *os_label(const struct ant_chip *c, char *buf, size_t n)
{
    const char *v = c->os_version ? c->os_version : "";
    if (isdigit((unsigned char)v[0])) snprintf(buf, n, "macOS %s", v);
    else snprintf(buf, n, "an unknown macOS version (the newest rules)");
    return buf;
}

int mil_check_refused(const struct mil_prog *p, const struct ant_chip *chip, struct ant_err *e)
{
    const char *cn = chip->name ? chip->name : "this chip";
    char os[80];
    for (int i = 0; i < p->n_stmt; i++) {
        const struct mil_stmt *s = &p->stmt[i];
        const char *op = mil_opdef(s->op)->name, *out = p->var[s->out].name;
        if (mil_chip_refuses(chip, op))
            return mil_errf(e, p, s->line, s->col, "%s '%s': reported failing on %s under %s "
                            "(§7.3, §12.6; the profile's ops_refused)", op, out, cn,
                            os_label(chip, os, sizeof os));
        if (s->op != MIL_MATMUL || !chip->silent_zero_rules) continue;
        const struct mil_var *x = &p->var[s->arg[2].var], *y = &p->var[s->arg[3].var];
        if (x->type.rank == 4 && y->type.rank == 4 && !x->cv && !y->cv)
            return mil_errf(e, p, s->line, s->col, "matmul '%s': two runtime 4-D inputs fail on %s "
                            "(§7.3, §3.2); use 3-D [1,M,N] operands", out, cn);
        if (x->cv || y->cv)
            return mil_errf(e, p, s->line, s->col, "matmul '%s': a constant operand ('%s') is "
                            "rejected on %s (§7.3, §3.5); pass it as an input", out,
                            x->cv ? (x->name[0] ? x->name : "literal") : (y->name[0] ? y->name : "literal"), cn);
    }
    return 0;
}

static size_t io_bytes(const struct mil_var *v)
{
    return (size_t)mil_elems(&v->type) * mil_dtype_bytes(v->type.dt);
}

/* The first input smaller than the one before it, or -1. */
static int input_out_of_order(const struct mil_prog *p)
{
    for (int i = 1; i < p->n_in; i++)
        if (io_bytes(&p->var[p->in[i]]) < io_bytes(&p->var[p->in[i - 1]])) return i;
    return -1;
}

/* [1,C,S] (S > 1) with [1,C,1] or [1,1,1]: §7.3's broadcasts that give zeros. */
static int bad_broadcast(const struct mil_type *big, const struct mil_type *small)
{
    if (big->rank != 3 || small->rank != 3 || big->dim[0] != 1 || small->dim[0] != 1) return 0;
    if (big->dim[2] < 2 || small->dim[2] != 1) return 0;
    return small->dim[1] == 1 || small->dim[1] == big->dim[1];
}

static void shape(const struct mil_type *t, char *buf, size_t n)
{
    size_t k = (size_t)snprintf(buf, n, "[");
    for (int i = 0; i < t->rank && k < n; i++)
        k += (size_t)snprintf(buf + k, n - k, "%s%d", i ? "," : "", t->dim[i]);
    if (k < n) snprintf(buf + k, n - k, "]");
}

void mil_mark_zero_rules(struct mil_prog *p, const struct ant_chip *chip)
{
    if (!chip || !chip->silent_zero_rules) return;
    const char *cn = chip->name ? chip->name : "this chip";
    int i = input_out_of_order(p);
    if (i > 0) {
        const struct mil_var *a = &p->var[p->in[i - 1]], *b = &p->var[p->in[i]];
        p->zero_outputs = MIL_ZERO_INPUT_ORDER;
        mil_warnf(p, b->line, b->col, "input '%s' (%zu B) after '%s' (%zu B): on %s %s (%s); "
                  "declare the inputs smallest first", b->name, io_bytes(b), a->name, io_bytes(a),
                  cn, rules[MIL_ZERO_INPUT_ORDER].what, rules[MIL_ZERO_INPUT_ORDER].cite);
    }
    for (int si = 0; si < p->n_stmt; si++) {
        struct mil_stmt *s = &p->stmt[si];
        const char *op = mil_opdef(s->op)->name, *out = p->var[s->out].name;
        if (s->op == MIL_MATMUL) {
            const struct mil_type *x = &p->var[s->arg[2].var].type;
            int tx = s->arg[0].var >= 0 && p->var[s->arg[0].var].cv->num[0] != 0;
            int inner = x->rank < 2 ? x->dim[0] : x->dim[x->rank - (tx ? 2 : 1)];
            if (inner % 32) {
                s->zero = MIL_ZERO_MATMUL_INNER;
                mil_warnf(p, s->line, s->col, "matmul '%s': inner dimension %d is not a multiple "
                          "of 32: its output is zeros on %s (%s)", out, inner, cn,
                          rules[MIL_ZERO_MATMUL_INNER].cite);
            }
        } else if (s->op == MIL_ADD || s->op == MIL_SUB || s->op == MIL_MUL ||
                   s->op == MIL_REAL_DIV || s->op == MIL_POW) {
            const struct mil_type *a = &p->var[s->arg[0].var].type, *b = &p->var[s->arg[1].var].type;
            if (bad_broadcast(a, b) || bad_broadcast(b, a)) {
                char sa[64], sb[64];
                shape(a, sa, sizeof sa);
                shape(b, sb, sizeof sb);
                s->zero = MIL_ZERO_BROADCAST;
                mil_warnf(p, s->line, s->col, "%s '%s': broadcast of %s with %s: its result is "
                          "zeros on %s (%s: %s)", op, out, sa, sb, cn, rules[MIL_ZERO_BROADCAST].cite,
                          rules[MIL_ZERO_BROADCAST].what);
            }
        }
    }
}

int mil_surface_gives_zeros(const struct ant_chip *chip, size_t bytes)
{
    return chip->silent_zero_rules && chip->surface_min_bytes > 0 &&
           bytes < (size_t)chip->surface_min_bytes;
}
