/* MIL programs in memory: the one representation the builder produces, the parser
 * fills from text, the checker validates against a chip profile, the printer writes in
 * either dialect and the emulator executes (docs/ane.md §3).
 *
 * A program is one function main: typed inputs, statements in order, outputs. Every
 * value is a variable; constants (const statements, and literals written inline as op
 * arguments, which become unnamed variables) carry their value with them. */
#ifndef ANE_MIL_H
#define ANE_MIL_H

#include <stddef.h>
#include <stdint.h>

#include <anetrain/backend.h>

#include "ane/base/blob.h"
#include "base/util.h"

#define MIL_MAX_RANK 5
#define MIL_NAME_MAX 128
#define MIL_MAX_ARGS 8
#define MIL_MAX_IO 128
#define MIL_MAX_ELEMS ((int64_t)1 << 28)   /* per tensor: 512 MiB of fp16 */

enum mil_dtype { MIL_NONE, MIL_FP16, MIL_FP32, MIL_INT32, MIL_INT8, MIL_UINT64, MIL_BOOL,
                 MIL_STRING };

struct mil_type {
    enum mil_dtype dt;
    int rank;                 /* 0: scalar */
    int dim[MIL_MAX_RANK];
};

/* The catalogue of ops (mil_ops.c). The order of each op's arguments there is the
 * order upstream writes them (§3.5) and the order the printer uses. */
enum mil_op {
    MIL_CONST, MIL_CAST, MIL_CONV, MIL_MATMUL, MIL_RESHAPE, MIL_TRANSPOSE,
    MIL_SLICE_BY_SIZE, MIL_CONCAT, MIL_REDUCE_SUM, MIL_SOFTMAX, MIL_POW, MIL_ADD, MIL_SUB,
    MIL_MUL, MIL_REAL_DIV, MIL_SIGMOID, MIL_SQRT, MIL_EXP, MIL_TANH, MIL_RELU,
    MIL_IDENTITY, MIL_SDPA, MIL_CONSTEXPR_AFFINE_DEQUANTIZE, MIL_QUANTIZE, MIL_DEQUANTIZE,
    MIL_N_OPS
};

struct mil_const {
    double *num;              /* numbers or bools, row-major; NULL for strings, blobs */
    size_t n;
    char *str;                /* string value */
    char *blob_path;          /* BLOBFILE(path=...) or NULL */
    uint64_t blob_offset;
    const uint8_t *blob_data; /* set by mil_bind_weights: the chunk's data */
};

struct mil_var {
    char name[MIL_NAME_MAX];  /* "" for an inline literal */
    struct mil_type type;
    int def;                  /* defining statement, -1 for a function input */
    struct mil_const *cv;     /* value when the variable is a constant */
    int line, col;            /* where it is defined (0 when built in memory) */
};

struct mil_arg {
    int var;                  /* variable index, -1 when the argument is absent */
    int *tuple, n_tuple;      /* values=(a, b, ...) of concat */
    int line, col;
};

/* Layouts that compile on M1 yet give zeros (docs/ane.md §7.3; m1rules.c). */
enum mil_zero_rule { MIL_ZERO_NONE, MIL_ZERO_INPUT_ORDER, MIL_ZERO_MATMUL_INNER,
                     MIL_ZERO_BROADCAST, MIL_ZERO_SMALL_SURFACE, MIL_ZERO_N };

struct mil_stmt {
    enum mil_op op;
    int out;                              /* variable it defines */
    struct mil_arg arg[MIL_MAX_ARGS];     /* indexed like the catalogue's arguments */
    char attr_name[MIL_NAME_MAX];         /* [name = "..."] */
    double flops;                         /* per evaluation, from shape inference */
    int line, col;
    enum mil_zero_rule zero;              /* set by mil_mark_zero_rules: the emulator
                                             gives zeros here, as M1 does */
};

struct mil_prog {
    char file[256];           /* for messages: the file name, or "<builder>" */
    char version[16];         /* "1.3", "1.0" */
    char target[16];          /* "ios18", "ios16" */
    int version_line, version_col, target_line, target_col;
    int shorthand_line, shorthand_col;    /* first shorthand scalar form, 0 if none */
    int uses_shorthand;
    struct mil_var *var;
    int n_var, cap_var;
    struct mil_stmt *stmt;
    int n_stmt, cap_stmt;
    int in[MIL_MAX_IO], n_in;
    int out[MIL_MAX_IO], n_out;
    double flops;             /* per evaluation */
    char *warn;               /* checker warnings, one "FILE:LINE:COL: ...\n" each; or NULL */
    enum mil_zero_rule zero_outputs;   /* set by mil_mark_zero_rules: every output is zeros */
};

/* --- the catalogue (mil_ops.c) --- */
/* ARG_CONST: a constant of any dtype and rank (the op's inference checks which);
 * ARG_INT8: an int8 tensor, computed or constant. */
enum mil_argkind { ARG_TENSOR, ARG_INTS, ARG_INT, ARG_BOOL, ARG_STRING, ARG_TUPLE, ARG_CONST,
                   ARG_INT8 };
struct mil_argdef {
    const char *name;
    enum mil_argkind kind;
    int optional;
};
struct mil_opdef {
    const char *name;
    struct mil_argdef arg[MIL_MAX_ARGS];
    int n_arg;
    int in_attrs;     /* arguments are literals in the [...] brackets, call is "()" (§3.5) */
    int min_ios;      /* oldest function target whose opset has the op (coremltools); 0: any */
};
const struct mil_opdef *mil_opdef(enum mil_op op);
int mil_op_by_name(const char *name);     /* -1 if unknown */
int mil_arg_index(enum mil_op op, const char *name);   /* -1 if not an argument */
/* Infer the result type of statement s (its arguments already resolved and of the
 * right kinds) and its FLOPs; on failure a reason in why. */
int mil_infer(const struct mil_prog *p, const struct mil_stmt *s, struct mil_type *out,
              double *flops, char *why, size_t why_len);

/* --- types (mil_prog.c) --- */
const char *mil_dtype_name(enum mil_dtype dt);
enum mil_dtype mil_dtype_from_name(const char *s);   /* MIL_NONE if unknown */
int64_t mil_elems(const struct mil_type *t);
size_t mil_dtype_bytes(enum mil_dtype dt);           /* 2 fp16, 4 fp32/int32, ... */
int mil_type_eq(const struct mil_type *a, const struct mil_type *b);
void mil_type_str(const struct mil_type *t, char *buf, size_t n);   /* "tensor<fp16, [1, 2]>" */
/* Reserved names: upstream's list of names that break M1 (§3.3) and MIL's own words. */
int mil_name_reserved(const char *name);

/* --- programs (mil_prog.c) --- */
struct mil_prog *mil_prog_new(const char *file);
void mil_prog_free(struct mil_prog *p);
int mil_add_var(struct mil_prog *p, const char *name, const struct mil_type *t, int def,
                struct ant_err *e);
int mil_add_stmt(struct mil_prog *p, enum mil_op op, struct ant_err *e);  /* index */
int mil_find_var(const struct mil_prog *p, const char *name);
struct mil_const *mil_const_new(void);
void mil_const_free(struct mil_const *c);
/* "FILE:LINE:COL: " or "FILE: " prefix for a message about a place in p. */
int mil_errf(struct ant_err *e, const struct mil_prog *p, int line, int col,
             const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Append a warning line "FILE:LINE:COL: ..." to p->warn (dropped when out of memory). */
void mil_warnf(struct mil_prog *p, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* --- checking (mil_check.c) --- */
/* Resolve statement s against the catalogue: argument kinds, dtypes, inferred type.
 * With `declared`, the output variable's written type must equal the inferred one;
 * otherwise the inferred type is stored. */
int mil_check_stmt(struct mil_prog *p, int s, int declared, struct ant_err *e);
/* Program-level rules and the chip's (§2.5, §3.1, §3.2, §7.1, §7.3): dialect and
 * version, ops the chip or the program's target lacks, I/O precision, what the chip
 * refuses on its OS (mil_check_refused). */
int mil_check_chip(const struct mil_prog *p, const struct ant_chip *chip, struct ant_err *e);
/* Point every BLOBFILE constant at its data in w (§1.4, §4). */
int mil_bind_weights(struct mil_prog *p, const struct ane_weights *w, struct ant_err *e);

/* --- the M1 rules (m1rules.c, docs/ane.md §7.3) --- */
struct mil_zero_ruledef {
    const char *name;         /* "matmul inner dimension" */
    const char *cite;         /* "§7.3 matmul" */
    const char *what;         /* the rule in one sentence */
};
const struct mil_zero_ruledef *mil_zero_rule(enum mil_zero_rule r);   /* NULL for NONE */
/* 1 when MIL op `op` is in chip->ops_refused ("reduce_*" matches by prefix). */
int mil_chip_refuses(const struct ant_chip *chip, const char *op);
/* What the chip refuses outright (part of mil_check_chip): ops in its ops_refused; with
 * silent_zero_rules, a matmul of two runtime (non-const) 4-D inputs or with a constant
 * operand (§7.3). */
int mil_check_refused(const struct mil_prog *p, const struct ant_chip *chip, struct ant_err *e);
/* With chip->silent_zero_rules: mark what gives zeros on the chip (inputs not in
 * ascending byte size: p->zero_outputs; a matmul inner dimension not a multiple of 32
 * and the [1,C,S]x[1,C,1] / [1,1,1] broadcasts: stmt->zero), with a warning at each
 * place (p->warn). Nothing without it. mil_load calls it. */
void mil_mark_zero_rules(struct mil_prog *p, const struct ant_chip *chip);
/* 1 when a surface of `bytes` bound to a request gives zeros on chip (silent-zero
 * rules and under surface_min_bytes; §2.2, §7.3). */
int mil_surface_gives_zeros(const struct ant_chip *chip, size_t bytes);

/* --- text (mil_parse.c, mil_print.c) --- */
/* Parse text into a program and check every statement (not the chip rules). Errors are
 * "FILE:LINE:COL: reason". */
struct mil_prog *mil_parse(const char *text, size_t len, const char *file, struct ant_err *e);
/* Log each line of p->warn as an ANE warning (ant_log). */
void mil_log_warnings(const struct mil_prog *p);
/* Parse, check against chip and mark its silent-zero rules (mil_mark_zero_rules);
 * with w, bind the weights too. */
struct mil_prog *mil_load(const char *text, size_t len, const char *file,
                          const struct ant_chip *chip, const struct ane_weights *w,
                          struct ant_err *e);
/* The program's text in the chip's dialect (verbose scalars or shorthand), malloc'd. */
char *mil_print(const struct mil_prog *p, int verbose, struct ant_err *e);

#endif
