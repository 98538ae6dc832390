/* Tokens of MIL text, each with its line and column (for "FILE:LINE:COL" errors). */
#ifndef ANE_MIL_LEX_H
#define ANE_MIL_LEX_H

#include <stddef.h>

#include "base/util.h"

enum tok_kind { TOK_EOF, TOK_IDENT, TOK_NUMBER, TOK_STRING, TOK_PUNCT, TOK_ARROW };

struct tok {
    enum tok_kind kind;
    const char *s;      /* into the text (strings: after the opening quote) */
    int len;            /* bytes of s (strings: up to the closing quote) */
    char c;             /* TOK_PUNCT: the character */
    int line, col;
};

struct toks {
    struct tok *t;
    int n, cap;
};

/* Split text into tokens; the last one is TOK_EOF. Errors name FILE:LINE:COL. */
int mil_lex(const char *text, size_t len, const char *file, struct toks *out, struct ant_err *e);

#endif
