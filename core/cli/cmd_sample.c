#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <anetrain/backend.h>
#include <time.h>

#include "base/blas.h"
#include "cli/cli.h"
#include "cli/commands.h"
#include "formats/ckpt.h"
#include "formats/model_io.h"
#include "infer/generate.h"

static const char usage[] =
    "usage: anetrain sample [--ckpt FILE | --model FILE] [options]\n"
    "Generate text from a checkpoint (default anetrain.ckpt) or a llama2.c model.bin, the\n"
    "way llama2.c's run.c does: the prompt with BOS and its leading space, a KV cache,\n"
    "top-p sampling, and a stop at the BOS token.\n"
    "\n"
    "  --model FILE        llama2.c model.bin (or a checkpoint)\n"
    "  --tokenizer FILE    llama2.c tokenizer.bin (default: the checkpoint's, else bytes)\n"
    "  --prompt TEXT       text to continue (default: empty)\n"
    "  --tokens N          tokens to generate after the prompt (default 256; the prompt\n"
    "                      and the tokens fit in the model's seq_len)\n"
    "  --temperature T     0 = greedy (default 1.0, as run.c)\n"
    "  --top-p P           nucleus sampling: the smallest set of tokens holding P of the\n"
    "                      probability (default 0.9, as run.c; 0 or 1 = off)\n"
    "  --seed S            the sampler's seed (default: the time, said on stderr)\n"
    CLI_CONFIG_USAGE;

enum { OPT_MODEL = OPT_CLI_LAST, OPT_TOKENIZER, OPT_PROMPT, OPT_TOKENS, OPT_TEMP, OPT_TOPP };

struct sample_args {
    const char *model, *tokenizer, *prompt;
    long n_tokens;
    double temperature, topp;
    unsigned long long seed;
    int config_given;
};

static void print_piece(const char *piece, void *ctx)
{
    (void)ctx;
    fputs(piece, stdout);
    fflush(stdout);
}

/* The tokenizer: --tokenizer, else the config's (when a config was given), else the one
 * the checkpoint's run used, else bytes. */
static const char *pick_tokenizer(const struct ant_run_config *rc, const struct sample_args *a,
                                  struct ant_ckpt_info *info)
{
    struct ant_err pe;
    if (a->tokenizer) return a->tokenizer;
    if (a->config_given || rc->data.tokenizer[0]) return rc->data.tokenizer;
    if (ckpt_peek(a->model, info, &pe) == 0) return info->origin.tokenizer;
    return "";
}

static int generate(struct ant_run_config *rc, const struct sample_args *a, struct ant_err *e)
{
    struct ant_train_state s;
    struct ant_tokenizer *tok = NULL;
    struct ant_kvmodel *kv = NULL;
    struct ant_sampler smp = {0};
    static struct ant_ckpt_info info;
    int32_t *ids = NULL;
    int rc_gen = -1;
    if (model_load(a->model, &s, e) < 0) return -1;
    int V = s.model.vocab_size, T = s.model.seq_len;
    const char *tok_path = pick_tokenizer(rc, a, &info);
    int has_bos = tok_path[0] != 0;   /* a tokenizer.bin has BOS = 1; bytes have none */
    if (tokenizer_open(&tok, tok_path, V, e) < 0) goto out;
    int n = 0;
    if (!(ids = malloc((size_t)T * sizeof *ids))) {
        ant_errf(e, "out of memory");
        goto out;
    }
    if (gen_prompt(tok, a->prompt, has_bos, ids, T, &n, e) < 0 ||
        kv_open(&kv, &s.model, s.weights, e) < 0 ||
        sampler_init(&smp, V, (float)a->temperature, (float)a->topp, a->seed, e) < 0)
        goto out;
    if (n - 1 + a->n_tokens > T)
        ant_log(ANT_LOG_INFO, NULL, "the model's context is %d tokens: %ld of them are the "
                "prompt's, so at most %ld are generated", T, (long)n, (long)(T - n + 1));
    double t0 = ant_now_ms();
    long made = gen_run(kv, T, &smp, tok, ids, n, a->n_tokens, has_bos, print_piece, NULL);
    double ms = ant_now_ms() - t0;
    fputc('\n', stdout);
    fflush(stdout);
    ant_log(ANT_LOG_INFO, NULL, "%ld tokens, %.2f ms/token (%.0f tokens/s), seed %llu",
            made, (n - 1 + made) ? ms / (double)(n - 1 + made) : 0,
            ms > 0 ? (n - 1 + made) / (ms / 1e3) : 0, a->seed);
    rc_gen = 0;
out:
    kv_close(kv);
    sampler_free(&smp);
    if (tok) tokenizer_close(tok);
    free(ids);
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
        {"top-p", required_argument, 0, OPT_TOPP},
        CLI_CONFIG_OPTIONS,
        {0, 0, 0, 0},
    };
    struct cli_config_flags cf = {0};
    struct sample_args a = {NULL, NULL, "", 256, 1.0, 0.9, 0, 0};
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
        case OPT_TOPP:
            if (cli_parse_double(optarg, &a.topp) < 0 || a.topp < 0 || a.topp > 1)
                return fail("sample", "--top-p: expected a number in [0, 1]");
            break;
        }
    }
    if (status >= 0) return status;
    if (!a.model) a.model = cf.ckpt ? cf.ckpt : "anetrain.ckpt";
    a.config_given = cf.config || cf.preset;
    struct ant_run_config rc;
    struct ant_err e;
    status = 0;
    if (cli_build_config(&rc, &cf, &e) < 0) {
        status = fail("sample", e.msg);
    } else {
        /* run.c's rule: the seed is the time unless one is given; 0 would stall xorshift */
        a.seed = cf.seed ? rc.train.seed : (unsigned long long)time(NULL);
        if (a.seed == 0) a.seed = 1;
        /* One BLAS thread unless --threads says otherwise: each token is a series of
         * memory-bound matrix-vector products, where a second thread gains little and
         * costs a handoff per call (bench/bench_sample) */
        ant_blas_set_threads(rc.be.threads > 0 ? rc.be.threads : 1);
        if (generate(&rc, &a, &e) < 0) status = fail("sample", e.msg);
    }
    config_free(&rc);
    return status;
}
