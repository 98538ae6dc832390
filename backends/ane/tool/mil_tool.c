/* anetrain mil check FILE [--chip NAME] [--os VERSION] [--weights DIR]
 * anetrain mil run FILE [--chip NAME] [--os VERSION] [--weights DIR] --in FILE... --out FILE...
 *
 * @model_path in BLOBFILE paths is DIR (the layout of the compile temp dir, §1.3: DIR
 * holds weights/<file>); a blob missing there is also looked for as DIR/<file>. Input
 * files hold exactly the raw little-endian values of each function input in declaration
 * order (fp16 or fp32 as declared); outputs are written the same way. */
#include <config.h>

#include "ane/tool/mil_tool.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dispatch/chip.h"
#include "ane/device/device.h"
#include "base/fileio.h"
#include "base/util.h"

static const char usage[] =
    "usage: anetrain mil check FILE [--chip NAME] [--os VERSION] [--weights DIR]\n"
    "       anetrain mil run FILE [--chip NAME] [--os VERSION] [--weights DIR] --in FILE... --out FILE...\n"
    "\n"
    "check  parse FILE and validate it against the chip's profile (dialect, ops, I/O\n"
    "       precision); with --weights also every BLOBFILE reference. Warnings (an\n"
    "       attn_mask the ANE ignores, a layout that gives zeros on M1, §7.3) go to\n"
    "       stderr and do not fail the check.\n"
    "run    execute FILE on the ANE emulator: one raw fp16/fp32 file per input, one per\n"
    "       output, in the order the function declares them.\n"
    "--chip NAME    M1..M5 [Pro|Max|Ultra]; default: $ANETRAIN_CHIP, this machine's\n"
    "               chip, else M4\n"
    "--os VERSION   the macOS version the profile is for (\"15.6\", \"26.3\"); default:\n"
    "               $ANETRAIN_OS, else this machine's (unknown off macOS: the\n"
    "               conservative rules)\n"
    "--weights DIR  the folder @model_path names (it holds weights/*.bin)\n";

#define MAX_FILES MIL_MAX_IO

struct args {
    const char *cmd, *file, *chip, *os, *weights;
    const char *in[MAX_FILES], *out[MAX_FILES];
    int n_in, n_out;
};

static int err(const char *msg)
{
    fprintf(stderr, "anetrain mil: %s\n", msg);
    return 1;
}

static int parse_args(int argc, char **argv, struct args *a, struct ant_err *e)
{
    memset(a, 0, sizeof *a);
    if (argc < 3) return ant_errf(e, "needs a command and a FILE");
    a->cmd = argv[1];
    a->file = argv[2];
    const char **list = NULL;
    int *n = NULL;
    for (int i = 3; i < argc; i++) {
        const char *s = argv[i];
        if (!strcmp(s, "--in")) list = a->in, n = &a->n_in;
        else if (!strcmp(s, "--out")) list = a->out, n = &a->n_out;
        else if (!strcmp(s, "--chip") || !strcmp(s, "--os") || !strcmp(s, "--weights")) {
            if (i + 1 >= argc) return ant_errf(e, "%s needs a value", s);
            *(s[2] == 'c' ? &a->chip : s[2] == 'o' ? &a->os : &a->weights) = argv[++i];
            list = NULL;
        } else if (s[0] == '-' && s[1] == '-') {
            return ant_errf(e, "unknown option '%s'", s);
        } else if (list) {
            if (*n == MAX_FILES) return ant_errf(e, "more than %d files", MAX_FILES);
            list[(*n)++] = s;
        } else {
            return ant_errf(e, "unexpected argument '%s'", s);
        }
    }
    return 0;
}

static char *read_all(const char *path, size_t *len, struct ant_err *e)
{
    uint64_t size;
    FILE *f = file_open_read(path, &size, e);
    if (!f) return NULL;
    char *buf = NULL;
    if (size > BLOB_MAX_BYTES) ant_errf(e, "%s: larger than 2 GiB", path);
    else if (!(buf = malloc(size + 1))) ant_errf(e, "out of memory reading %s", path);
    else if (fread(buf, 1, size, f) != size) {
        free(buf);
        buf = NULL;
        ant_errf(e, "%s: read error", path);
    }
    fclose(f);
    if (buf) buf[size] = 0, *len = (size_t)size;
    return buf;
}

/* Read every blob the program references from dir into w. */
static int load_weights(const struct mil_prog *p, const char *dir, struct ane_weights *w, struct ant_err *e)
{
    for (int i = 0; i < p->n_var; i++) {
        const char *key = p->var[i].cv ? p->var[i].cv->blob_path : NULL;
        if (!key || weights_find(w, key)) continue;
        size_t pre = strlen(BLOB_KEY_PREFIX);
        if (strncmp(key, BLOB_KEY_PREFIX, pre))
            return mil_errf(e, p, p->var[i].line, p->var[i].col, "BLOBFILE path '%s' is not under @model_path/", key);
        if (!dir)
            return mil_errf(e, p, p->var[i].line, p->var[i].col, "BLOBFILE '%s' needs --weights DIR", key);
        char path[2048];
        snprintf(path, sizeof path, "%s/%s", dir, key + pre);
        struct ant_err fe;
        size_t n;
        char *data = read_all(path, &n, &fe);
        if (!data && !strncmp(key + pre, "weights/", 8)) {
            snprintf(path, sizeof path, "%s/%s", dir, key + pre + 8);
            data = read_all(path, &n, &fe);
        }
        if (!data) return mil_errf(e, p, p->var[i].line, p->var[i].col, "BLOBFILE '%s': %s", key, fe.msg);
        int rc = weights_add_raw(w, key, data, n, e);
        free(data);
        if (rc) return -1;
    }
    return 0;
}

/* The flag, else the environment, as the run-config commands do (core/cli/cli.c). */
static int pick_chip(const char *name, const char *os, struct ant_chip *chip, struct ant_err *e)
{
    if (!name || !*name) name = getenv("ANETRAIN_CHIP");
    if (!os || !*os) os = getenv("ANETRAIN_OS");
    if (name && *name) return chip_detect(chip, name, os, e);
    if (chip_detect(chip, NULL, os, e) == 0 && chip->has_ane) return 0;
    return chip_detect(chip, "M4", os, e);
}

static int run(const struct args *a, const struct ant_chip *chip, const char *text, size_t len,
               const struct ane_weights *w, struct ant_err *e)
{
    struct ane_device *d = ane_open("emulator", chip, e);
    struct ane_kernel *k = d ? ane_compile(d, text, len, w, a->file, e) : NULL;
    struct ane_surface *s[2][MAX_FILES] = {{0}};
    struct ane_request *r = NULL;
    int rc = -1;
    if (!k) goto out;
    if (a->n_in != ane_kernel_n_io(k, 0) || a->n_out != ane_kernel_n_io(k, 1)) {
        ant_errf(e, "%s takes %d inputs and gives %d outputs: got %d --in and %d --out files", a->file,
                 ane_kernel_n_io(k, 0), ane_kernel_n_io(k, 1), a->n_in, a->n_out);
        goto out;
    }
    for (int o = 0; o < 2; o++)
        for (int i = 0; i < ane_kernel_n_io(k, o); i++)
            if (!(s[o][i] = ane_surface_for(k, o, i, e))) goto out;
    for (int i = 0; i < a->n_in; i++) {
        const struct ane_io *io = ane_kernel_io(k, 0, i);
        size_t n;
        char *data = read_all(a->in[i], &n, e);
        if (!data) goto out;
        if (n != io->bytes) {
            free(data);
            ant_errf(e, "%s: %zu bytes; input '%s' is %zu bytes of %s", a->in[i], n, io->name, io->bytes,
                     mil_dtype_name(io->type.dt));
            goto out;
        }
        int wr = ane_surface_write(s[0][i], 0, data, n, e);
        free(data);
        if (wr) goto out;
    }
    if (!(r = ane_request_new(k, s[0], a->n_in, s[1], a->n_out, e)) || ane_eval(r, e)) goto out;
    for (int i = 0; i < a->n_out; i++) {
        const struct ane_io *io = ane_kernel_io(k, 1, i);
        char *buf = malloc(io->bytes);
        if (!buf || ane_surface_read(s[1][i], 0, buf, io->bytes, e)) { free(buf); goto out; }
        FILE *f = fopen(a->out[i], "wb");
        size_t wn = f ? fwrite(buf, 1, io->bytes, f) : 0;
        free(buf);
        if (!f || fclose(f) || wn != io->bytes) { ant_errf(e, "%s: cannot write", a->out[i]); goto out; }
    }
    struct ane_kernel_stats st;
    ane_kernel_stats(k, &st);
    printf("%s: ran on the emulator as %s: %.0f FLOP in %.3f ms\n", a->file, chip->name, st.flops, st.eval_ms);
    rc = 0;
out:
    ane_request_free(r);
    for (int o = 0; o < 2; o++)
        for (int i = 0; i < MAX_FILES; i++) ane_surface_free(s[o][i]);
    ane_kernel_free(k);
    ane_close(d);
    return rc;
}

int ane_mil_main(int argc, char **argv)
{
    struct args a;
    struct ant_err e = {{0}};
    if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) return fputs(usage, stdout), 0;
    if (parse_args(argc, argv, &a, &e)) return fprintf(stderr, "anetrain mil: %s\n\n%s", e.msg, usage), 2;
    int is_run = !strcmp(a.cmd, "run");
    if (!is_run && strcmp(a.cmd, "check")) return fprintf(stderr, "anetrain mil: unknown command '%s'\n\n%s", a.cmd, usage), 2;
    if (!is_run && (a.n_in || a.n_out)) return err("check takes no --in/--out files");
    struct ant_chip chip;
    if (pick_chip(a.chip, a.os, &chip, &e)) return err(e.msg);
    if (!chip.mil_program) return fprintf(stderr, "anetrain mil: chip '%s' has no Neural Engine profile\n", chip.name), 1;
    size_t len;
    char *text = read_all(a.file, &len, &e);
    if (!text) return err(e.msg);
    struct ane_weights w;
    weights_init(&w);
    int rc = 1;
    struct mil_prog *p = mil_parse(text, len, a.file, &e);
    if (p && (a.weights || is_run) && load_weights(p, a.weights, &w, &e)) mil_prog_free(p), p = NULL;
    if (p && !is_run) {
        struct mil_prog *q = mil_load(text, len, a.file, &chip, a.weights ? &w : NULL, &e);
        if (q) {
            mil_log_warnings(q);
            printf("%s: valid for %s (os %s): %d inputs, %d outputs, %d statements, %.0f FLOP per "
                   "evaluation%s\n", a.file, chip.name, *chip.os_version ? chip.os_version : "unknown",
                   q->n_in, q->n_out, q->n_stmt, q->flops,
                   a.weights ? "" : " (weights not checked: no --weights)");
            rc = 0;
        }
        mil_prog_free(q);
    } else if (p) {
        rc = run(&a, &chip, text, len, &w, &e) ? 1 : 0;
    }
    if (rc) err(e.msg);
    mil_prog_free(p);
    weights_free(&w);
    free(text);
    return rc;
}
