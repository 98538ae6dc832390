/* MIL tokenizer: identifiers, numbers (decimal, exponent, hex float), "strings",
 * punctuation and "->". */
#include "ane/mil/mil_lex.h"

#include <stdlib.h>
#include <string.h>

static int is_alpha(int c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
static int is_digit(int c) { return c >= '0' && c <= '9'; }
static int is_hex(int c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

static int push(struct toks *o, struct tok t, struct ant_err *e)
{
    if (o->n == o->cap) {
        int cap = o->cap ? 2 * o->cap : 256;
        struct tok *nt = realloc(o->t, (size_t)cap * sizeof *nt);
        if (!nt) return ant_errf(e, "out of memory");
        o->t = nt;
        o->cap = cap;
    }
    o->t[o->n++] = t;
    return 0;
}

/* Length of the number starting at p (sign, digits, '.', exponent; or a hex float
 * 0x1.8p-3), bounded by end; 0 if none. Written out rather than strtod so a number
 * never runs past the text. */
static int number_len(const char *p, const char *end)
{
    const char *q = p;
    if (q < end && (*q == '-' || *q == '+')) q++;
    if (end - q >= 2 && q[0] == '0' && (q[1] == 'x' || q[1] == 'X')) {
        q += 2;
        const char *m = q;
        while (q < end && (is_hex(*q) || *q == '.')) q++;
        if (q == m) return 0;
        if (q < end && (*q == 'p' || *q == 'P')) {
            q++;
            if (q < end && (*q == '-' || *q == '+')) q++;
            if (q >= end || !is_digit(*q)) return 0;
            while (q < end && is_digit(*q)) q++;
        }
        return (int)(q - p);
    }
    const char *m = q;
    while (q < end && (is_digit(*q) || *q == '.')) q++;
    if (q == m || (q - m == 1 && *m == '.')) return 0;
    if (q < end && (*q == 'e' || *q == 'E')) {
        const char *x = q + 1;
        if (x < end && (*x == '-' || *x == '+')) x++;
        if (x < end && is_digit(*x)) {
            while (x < end && is_digit(*x)) x++;
            q = x;
        }
    }
    return (int)(q - p);
}

int mil_lex(const char *text, size_t len, const char *file, struct toks *o, struct ant_err *e)
{
    const char *p = text, *end = text + len, *bol = text;
    int line = 1;
    memset(o, 0, sizeof *o);
    while (1) {
        while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')) {
            if (*p == '\n') line++, bol = p + 1;
            p++;
        }
        struct tok t = {TOK_EOF, p, 0, 0, line, (int)(p - bol) + 1};
        if (p >= end) return push(o, t, e);
        int n;
        if (is_alpha(*p)) {
            const char *q = p;
            while (q < end && (is_alpha(*q) || is_digit(*q))) q++;
            t.kind = TOK_IDENT;
            t.len = (int)(q - p);
        } else if ((n = number_len(p, end)) > 0) {
            t.kind = TOK_NUMBER;
            t.len = n;
        } else if (*p == '"') {
            const char *q = p + 1;
            while (q < end && *q != '"' && *q != '\n') q += (*q == '\\' && q + 1 < end) ? 2 : 1;
            /* a control byte in a string would end up inside one-line messages */
            for (const char *c = p + 1; c < q && c < end; c++)
                if ((unsigned char)*c < 32 && *c != '\t')
                    return ant_errf(e, "%s:%d:%d: control byte 0x%02x in a string", file, line,
                                    (int)(c - bol) + 1, (unsigned char)*c);
            if (q >= end || *q != '"')
                return ant_errf(e, "%s:%d:%d: unterminated string", file, t.line, t.col);
            t.kind = TOK_STRING;
            t.s = p + 1;
            t.len = (int)(q - p - 1);
            n = t.len + 2;
        } else if (*p == '-' && p + 1 < end && p[1] == '>') {
            t.kind = TOK_ARROW;
            t.len = 2;
        } else if (strchr("()[]{}<>,=;", *p) && *p) {
            t.kind = TOK_PUNCT;
            t.c = *p;
            t.len = 1;
        } else {
            unsigned char c = (unsigned char)*p;
            if (c >= 32 && c < 127)
                return ant_errf(e, "%s:%d:%d: unexpected character '%c'", file, t.line, t.col, c);
            return ant_errf(e, "%s:%d:%d: unexpected byte 0x%02x", file, t.line, t.col, c);
        }
        if (t.kind != TOK_STRING) n = t.len;
        if (t.len > 4096) return ant_errf(e, "%s:%d:%d: token longer than 4096 bytes", file, t.line, t.col);
        if (push(o, t, e)) return -1;
        p += n;
    }
}
