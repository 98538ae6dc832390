#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/commands.h"
#include "dispatch/dispatch.h"
#include "formats/model_io.h"
#include "base/rng.h"
#include "data/tokenizer.h"

static const char usage[] =
    "usage: anetrain sample (--ckpt FILE | --model FILE) [options]\n"
    "Generate text from a checkpoint or a llama2.c model.bin.\n"
    "\n"
    "  --model FILE        llama2.c model.bin (or a checkpoint)\n"
    "  --tokenizer FILE    llama2.c tokenizer.bin (default: bytes, for vocab 256)\n"
    "  --prompt TEXT       text to continue (default: empty)\n"
    "  --tokens N          tokens to generate (default 256)\n"
    "  --temperature T     0 = greedy (default 0.8)\n"
    CLI_CONFIG_USAGE;

enum { OPT_MODEL = OPT_CLI_LAST, OPT_TOKENIZER, OPT_PROMPT, OPT_TOKENS, OPT_TEMP };

/* Pick a token from logits [V]: argmax at temperature 0, else a softmax draw. */
static int32_t pick(float *logits, int V, double temperature, struct ant_rng *r)
{
    int32_t best = 0;
    for (int i = 1; i < V; i++)
        if (logits[i] > logits[best]) best = i;
    if (temperature <= 0) return best;
    double sum = 0, maxl = logits[best];
    for (int i = 0; i < V; i++) sum += exp((logits[i] - maxl) / temperature);
    double u = rng_uniform(r) * sum, acc = 0;
    for (int i = 0; i < V; i++) {
        acc += exp((logits[i] - maxl) / temperature);
        if (acc > u) return i;   /* '>' so a zero-probability token is never drawn */
    }
    return best;
}

struct sample_args {
    const char *model, *tokenizer, *prompt;
    long n_tokens;
    double temperature;
};

static int generate(struct ant_run_config *rc, const struct sample_args *a, struct ant_err *e)
{
    struct ant_train_state s;
    struct ant_tokenizer *tok = NULL;
    struct ant_dispatch *d = NULL;
    int32_t *ids = NULL;
    float *logits = NULL;
    int rc_gen = -1;
    if (model_load(a->model, &s, e) < 0) return -1;
    rc->model = s.model;
    int V = s.model.vocab_size, T = s.model.seq_len;
    /* --tokenizer, else the config's data.tokenizer, else bytes */
    const char *tok_path = a->tokenizer ? a->tokenizer : rc->data.tokenizer;
    if (tokenizer_open(&tok, tok_path, V, e) < 0) goto out;
    size_t cap = strlen(a->prompt) + (size_t)a->n_tokens + 2;
    ids = malloc(cap * sizeof *ids);
    logits = malloc((size_t)V * sizeof *logits);
    if (!ids || !logits) {
        ant_errf(e, "out of memory");
        goto out;
    }
    int n = 0;
    if (tokenizer_encode(tok, a->prompt, tok_path[0] != 0, ids, (int)cap, &n) < 0) {
        ant_errf(e, "--prompt: cannot encode");
        goto out;
    }
    if (dispatch_open(&d, rc, 1, e) < 0 || dispatch_weights_changed(d, s.weights, e) < 0)
        goto out;
    fputs(a->prompt, stdout);
    struct ant_rng r;
    rng_seed(&r, rc->train.seed);
    if (n == 0) ids[n++] = '\n';   /* byte-level with no prompt: start a new line */
    for (long i = 0; i < a->n_tokens; i++) {
        int ctx = n < T ? n : T;   /* a sliding window past the model's context */
        if (dispatch_logits(d, s.weights, ids + n - ctx, ctx, logits, e) < 0) goto out;
        int32_t next = pick(logits, V, a->temperature, &r);
        fputs(tokenizer_decode(tok, ids[n - 1], next), stdout);
        fflush(stdout);
        ids[n++] = next;
    }
    fputc('\n', stdout);
    rc_gen = 0;
out:
    if (d) dispatch_close(d);
    if (tok) tokenizer_close(tok);
    free(ids);
    free(logits);
    state_free(&s);
    return rc_gen;
}

int cmd_sample(int argc, char **argv)
{
    static const struct option opts[] = {
        {"model", required_argument, 0, OPT_MODEL},
        {"tokenizer", required_argument, 0, OPT_TOKENIZER},
        {"prompt", required_argument, 0, OPT_PROMPT},
        {"tokens", required_argument, 0, OPT_TOKENS},
        {"temperature", required_argument, 0, OPT_TEMP},
        CLI_CONFIG_OPTIONS,
        {0, 0, 0, 0},
    };
    struct cli_config_flags cf = {0};
    struct sample_args a = {NULL, NULL, "", 256, 0.8};
    int c, status = -1;
    optind = 1;
    while ((c = cli_next_option(argc, argv, opts, &cf, usage, &status)) != -1) {
        switch (c) {
        case OPT_MODEL: a.model = optarg; break;
        case OPT_TOKENIZER: a.tokenizer = optarg; break;
        case OPT_PROMPT: a.prompt = optarg; break;
        case OPT_TOKENS:
            if (cli_parse_long(optarg, 1, 1 << 24, &a.n_tokens) < 0)
                return fail("sample", "--tokens: expected a whole number >= 1");
            break;
        case OPT_TEMP:
            if (cli_parse_double(optarg, &a.temperature) < 0 || a.temperature < 0)
                return fail("sample", "--temperature: expected a number >= 0");
            break;
        }
    }
    if (status >= 0) return status;
    if (!a.model) a.model = cf.ckpt;
    if (!a.model) return fail("sample", "give --ckpt FILE or --model FILE");
    struct ant_run_config rc;
    struct ant_err e;
    status = 0;
    if (cli_build_config(&rc, &cf, &e) < 0 || generate(&rc, &a, &e) < 0)
        status = fail("sample", e.msg);
    config_free(&rc);
    return status;
}
