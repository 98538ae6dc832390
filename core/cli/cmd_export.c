#include <getopt.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/commands.h"
#include "data/tokenizer.h"
#include "data/tokenizer_write.h"
#include "formats/ckpt.h"
#include "formats/hf.h"
#include "formats/llama2c.h"
#include "formats/model_io.h"

static const char usage[] =
    "usage: anetrain export [--ckpt FILE | --model FILE] --out PATH [options]\n"
    "Write a model for other programs. The input is any model anetrain reads (default\n"
    "anetrain.ckpt). The output is written atomically; --out never replaces a checkpoint.\n"
    "\n"
    "  --format llama2c   llama2.c's model.bin (default), plus the tokenizer.bin that\n"
    "                     llama2.c's run.c needs, written beside it: the byte tokenizer\n"
    "                     for a vocab-256 model, else a copy of --tokenizer FILE\n"
    "  --version N        model.bin version: 0 (legacy, run.c; default), 1 (fp32) or\n"
    "                     2 (Q8_0, runq.c)\n"
    "  --format hf        a Hugging Face Llama folder at PATH: config.json +\n"
    "                     model.safetensors (fp32), for transformers\n"
    "  --tokenizer FILE   the model's tokenizer.bin (models with another vocabulary)\n";

enum { OPT_FORMAT = 1, OPT_MODEL, OPT_CKPT_IN, OPT_OUT, OPT_VERSION, OPT_TOKENIZER,
       OPT_HELP_EXPORT };

/* tokenizer.bin in the folder of model.bin. */
static int write_tokenizer(const char *model_out, const char *tok_in, int vocab,
                           struct ant_err *e)
{
    char dir[4096], path[4200];
    snprintf(dir, sizeof dir, "%s", model_out);
    snprintf(path, sizeof path, "%s/tokenizer.bin", dirname(dir));
    if (!tok_in) {
        if (vocab != 256) {
            fprintf(stderr, "anetrain export: note: no tokenizer.bin written (vocab_size %d; "
                    "give the model's own with --tokenizer FILE)\n", vocab);
            return 0;
        }
        if (tokenizer_write_bytes(path, e) != 0) return -1;
    } else {
        /* Checked against the model's vocabulary, then rewritten entry by entry. */
        struct ant_tokenizer *t;
        if (tokenizer_open(&t, tok_in, vocab, e) != 0) return -1;
        int n = tokenizer_vocab_size(t), rc = -1;
        const char **piece = calloc((size_t)n, sizeof *piece);
        int *len = calloc((size_t)n, sizeof *len);
        float *score = calloc((size_t)n, sizeof *score);
        if (piece && len && score) {
            for (int i = 0; i < n; i++) {
                piece[i] = tokenizer_piece(t, i, &len[i]);
                score[i] = tokenizer_score(t, i);
            }
            rc = tokenizer_write(path, n, piece, len, score, e);
        } else {
            ant_errf(e, "out of memory");
        }
        free(piece);
        free(len);
        free(score);
        tokenizer_close(t);
        if (rc) return -1;
    }
    fprintf(stderr, "anetrain export: wrote %s\n", path);
    return 0;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && !strcmp(s + n - m, suffix);
}

/* --out must not replace a checkpoint (its moments and run record would be lost for a
 * model.bin): not the input, not a file holding a checkpoint, not a checkpoint's name. */
static int check_out(const char *in, const char *out, struct ant_err *e)
{
    char *ri = realpath(in, NULL), *ro = realpath(out, NULL);
    int same = ri && ro && !strcmp(ri, ro);
    free(ri);
    free(ro);
    if (same || !strcmp(in, out))
        return ant_errf(e, "--out %s: is the model being exported; choose another name", out);
    struct ant_ckpt_info info;
    struct ant_err pe;
    if (ckpt_peek(out, &info, &pe) == 0)
        return ant_errf(e, "--out %s: holds an anetrain checkpoint (step %ld) that export "
                           "would replace with a model.bin; choose another name", out, info.step);
    if (ends_with(out, ".ckpt") || ends_with(out, ".ckpt.prev") || ends_with(out, ".ckpt.best"))
        return ant_errf(e, "--out %s: a checkpoint's name, but export writes a llama2.c "
                           "model.bin; choose another name (model.bin)", out);
    return 0;
}

int cmd_export(int argc, char **argv)
{
    static const struct option opts[] = {
        {"format", required_argument, 0, OPT_FORMAT},
        {"model", required_argument, 0, OPT_MODEL},
        {"ckpt", required_argument, 0, OPT_CKPT_IN},
        {"out", required_argument, 0, OPT_OUT},
        {"version", required_argument, 0, OPT_VERSION},
        {"tokenizer", required_argument, 0, OPT_TOKENIZER},
        {"help", no_argument, 0, OPT_HELP_EXPORT},
        {0, 0, 0, 0},
    };
    const char *format = "llama2c", *in = NULL, *out = NULL, *tok = NULL;
    long version = 0;
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        switch (c) {
        case OPT_FORMAT: format = optarg; break;
        case OPT_MODEL:
        case OPT_CKPT_IN: in = optarg; break;
        case OPT_OUT: out = optarg; break;
        case OPT_TOKENIZER: tok = optarg; break;
        case OPT_VERSION:
            if (cli_parse_long(optarg, 0, 2, &version) < 0)
                return fail("export", "--version: expected 0, 1 or 2");
            break;
        case OPT_HELP_EXPORT: fputs(usage, stdout); return 0;
        default:
            fprintf(stderr, "anetrain export: %s '%s'\nTry 'anetrain export --help'.\n",
                    c == ':' ? "option needs a value:" : "unknown option", argv[optind - 1]);
            return 2;
        }
    }
    int hf = !strcmp(format, "hf");
    if (!hf && strcmp(format, "llama2c") != 0)
        return fail("export", "--format: llama2c or hf");
    if (!in) in = "anetrain.ckpt";
    if (!out) return fail("export", "give --out PATH (and --ckpt FILE, default anetrain.ckpt)");
    struct ant_train_state s;
    struct ant_err e;
    if (check_out(in, out, &e) < 0) return fail("export", e.msg);
    if (model_load(in, &s, &e) < 0) return fail("export", e.msg);
    int rc;
    if (hf) rc = hf_write(out, &s.model, s.weights, &e);
    else if (version == 0) rc = llama2c_write(out, &s.model, s.weights, &e);
    else rc = llama2c_write_ak42(out, (int)version, &s.model, s.weights, &e);
    if (rc == 0 && !hf) rc = write_tokenizer(out, tok, s.model.vocab_size, &e);
    state_free(&s);
    return rc < 0 ? fail("export", e.msg) : 0;
}
