#include <getopt.h>
#include <stdio.h>

#include "cli/cli.h"
#include "cli/commands.h"
#include "data/vocab_train.h"

static const char usage[] =
    "usage: anetrain vocab --size N IN.txt -o tokenizer.bin\n"
    "Train a BPE vocabulary of N tokens (SentencePiece, with byte fallback, as llama2.c's\n"
    "train_vocab.sh does) on a text file and write it as llama2.c's tokenizer.bin.\n"
    "N counts <unk>, <s>, </s> and the 256 byte tokens, so N > 259.\n";

int cmd_vocab(int argc, char **argv)
{
    static const struct option opts[] = {
        {"size", required_argument, 0, 's'},
        {"out", required_argument, 0, 'o'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    const char *out = NULL;
    long size = 0;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
        switch (c) {
        case 's':
            if (cli_parse_long(optarg, 260, 65536, &size) < 0)
                return fail("vocab", "--size: expected a whole number 260..65536");
            break;
        case 'o': out = optarg; break;
        case 'h': fputs(usage, stdout); return 0;
        default: fputs(usage, stderr); return 2;
        }
    }
    if (!size || !out || argc - optind != 1) {
        fputs(usage, stderr);
        return 2;
    }
    struct ant_err e;
    if (vocab_train(argv[optind], (int)size, out, &e) != 0) return fail("vocab", e.msg);
    printf("wrote %s (%ld tokens)\n", out, size);
    return 0;
}
