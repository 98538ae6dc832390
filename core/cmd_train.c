#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "dp.h"
#include "train.h"

static const char usage[] =
    "usage: anetrain train [options]\n"
    "Train a model. With no options: the tiny byte-level model on the embedded corpus.\n"
    "\n"
    "  --steps N          optimizer steps of the whole run\n"
    "  --lr X             peak learning rate\n"
    "  --batch-size N     sequences per micro-batch\n"
    "  --grad-accum N     micro-batches per optimizer step\n"
    "  --init-model FILE  start from a llama2.c model.bin (fine-tuning; its shape must\n"
    "                     match the config, e.g. --preset stories15M)\n"
    "  --resume           continue from the checkpoint (--ckpt) bit-exactly\n"
    "  --stop-after N     run at most N steps now, save, and exit (resume later)\n"
    "  --quiet            no progress line\n"
    CLI_CONFIG_USAGE
    "\n"
    "Flags override the config file, which overrides the built-in defaults.\n"
    "Ctrl-C finishes the current step, saves a checkpoint and exits; so does SIGUSR1,\n"
    "which mpirun passes on to every rank of a data-parallel run (see README).\n";

enum { OPT_STEPS = OPT_CLI_LAST, OPT_LR, OPT_BATCH, OPT_ACCUM, OPT_INIT, OPT_RESUME,
       OPT_STOP_AFTER, OPT_QUIET };

/* The train-only flags that set config fields, kept as text until the config is built. */
struct train_overrides {
    const char *steps, *lr, *batch, *accum, *init;
};

static int apply_overrides(struct ant_run_config *rc, const struct train_overrides *o,
                           struct ant_err *e)
{
    long v;
    double x;
    if (o->steps) {
        if (cli_parse_long(o->steps, 1, 1L << 40, &v) < 0)
            return ant_errf(e, "--steps %s: expected a whole number >= 1", o->steps);
        rc->train.steps = v;
        /* A short run from a config with a long warmup: warm up over the whole run. */
        if (rc->train.warmup_steps > v) rc->train.warmup_steps = v;
    }
    if (o->batch) {
        if (cli_parse_long(o->batch, 1, 1 << 20, &v) < 0)
            return ant_errf(e, "--batch-size %s: expected a whole number >= 1", o->batch);
        rc->train.batch_size = (int)v;
    }
    if (o->accum) {
        if (cli_parse_long(o->accum, 1, 1 << 20, &v) < 0)
            return ant_errf(e, "--grad-accum %s: expected a whole number >= 1", o->accum);
        rc->train.grad_accum = (int)v;
    }
    if (o->lr) {
        if (cli_parse_double(o->lr, &x) < 0 || x <= 0)
            return ant_errf(e, "--lr %s: expected a number > 0", o->lr);
        rc->train.lr = x;
        if (rc->train.min_lr > x) rc->train.min_lr = x;
    }
    if (o->init) {
        if (strlen(o->init) >= sizeof rc->ckpt.init_model)
            return ant_errf(e, "--init-model: path too long");
        strcpy(rc->ckpt.init_model, o->init);
    }
    return config_validate(rc, e);
}

int cmd_train(int argc, char **argv)
{
    static const struct option opts[] = {
        {"steps", required_argument, 0, OPT_STEPS},
        {"lr", required_argument, 0, OPT_LR},
        {"batch-size", required_argument, 0, OPT_BATCH},
        {"grad-accum", required_argument, 0, OPT_ACCUM},
        {"init-model", required_argument, 0, OPT_INIT},
        {"resume", no_argument, 0, OPT_RESUME},
        {"stop-after", required_argument, 0, OPT_STOP_AFTER},
        {"quiet", no_argument, 0, OPT_QUIET},
        CLI_CONFIG_OPTIONS,
        {0, 0, 0, 0},
    };
    struct cli_config_flags cf = {0};
    struct train_flags tf = {0};
    struct train_overrides ov = {0};
    int c, status = -1;
    optind = 1;
    while ((c = cli_next_option(argc, argv, opts, &cf, usage, &status)) != -1) {
        switch (c) {
        case OPT_STEPS: ov.steps = optarg; break;
        case OPT_LR: ov.lr = optarg; break;
        case OPT_BATCH: ov.batch = optarg; break;
        case OPT_ACCUM: ov.accum = optarg; break;
        case OPT_INIT: ov.init = optarg; break;
        case OPT_RESUME: tf.resume = 1; break;
        case OPT_QUIET: tf.quiet = 1; break;
        case OPT_STOP_AFTER:
            if (cli_parse_long(optarg, 1, 1L << 40, &tf.stop_after) < 0)
                return fail("train", "--stop-after: expected a whole number >= 1");
            break;
        }
    }
    if (status >= 0) return status;

    struct ant_run_config rc;
    struct ant_err e;
    status = 0;
    if (cli_build_config(&rc, &cf, &e) < 0 || apply_overrides(&rc, &ov, &e) < 0 ||
        train_run(&rc, &tf, &e) < 0)
        /* Rank 0 says it and sets the job's status: another rank exiting non-zero
         * first would have mpirun kill rank 0 before it could. */
        status = dp_rank() > 0 ? 0 : fail("train", e.msg);
    config_free(&rc);
    return status;
}
