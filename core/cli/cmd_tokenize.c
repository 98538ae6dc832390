#include <getopt.h>
#include <stdio.h>

#include "cli/commands.h"
#include "data/pretokenize.h"
#include "data/tokenizer.h"

static const char usage[] =
    "usage: anetrain tokenize --tokenizer tokenizer.bin [--delimiter STR] IN.txt OUT.bin\n"
    "Pretokenize a text file into the uint16 token file the trainer reads, with the ids\n"
    "llama2.c's encoder gives: each document (a line, or the text between two STR such as\n"
    "\"<|endoftext|>\") stripped of surrounding whitespace, BOS first, no EOS.\n";

enum { OPT_TOKENIZER = 1, OPT_DELIM, OPT_HELP_TOK };

int cmd_tokenize(int argc, char **argv)
{
    static const struct option opts[] = {
        {"tokenizer", required_argument, 0, OPT_TOKENIZER},
        {"delimiter", required_argument, 0, OPT_DELIM},
        {"help", no_argument, 0, OPT_HELP_TOK},
        {0, 0, 0, 0},
    };
    const char *tok_path = NULL, *delim = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case OPT_TOKENIZER: tok_path = optarg; break;
        case OPT_DELIM: delim = optarg; break;
        case OPT_HELP_TOK: fputs(usage, stdout); return 0;
        default: fputs(usage, stderr); return 2;
        }
    }
    if (!tok_path || !*tok_path || argc - optind != 2) {
        fputs(usage, stderr);
        return 2;
    }
    struct ant_tokenizer *t;
    struct ant_err e;
    if (tokenizer_open(&t, tok_path, 0, &e) != 0) return fail("tokenize", e.msg);
    struct pretok_stats st;
    double t0 = ant_now_ms();
    int rc = pretokenize_file(t, argv[optind], delim, argv[optind + 1], &st, &e);
    double ms = ant_now_ms() - t0;
    tokenizer_close(t);
    if (rc != 0) return fail("tokenize", e.msg);
    printf("%s: %llu documents, %llu bytes -> %llu tokens in %.2f s (%.0f tokens/s, %.1f MB/s)\n",
           argv[optind + 1], (unsigned long long)st.documents, (unsigned long long)st.bytes,
           (unsigned long long)st.tokens, ms / 1e3, ms > 0 ? st.tokens / (ms / 1e3) : 0,
           ms > 0 ? st.bytes / 1e6 / (ms / 1e3) : 0);
    return 0;
}
