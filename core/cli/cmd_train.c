#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/commands.h"
#include "cli/reexec.h"
#include "formats/init_model.h"
#include "train/dp.h"
#include "train/restart.h"
#include "train/train.h"

static const char usage[] =
    "usage: anetrain train [options]\n"
    "Train a model. With no options: the tiny byte-level model on the embedded corpus.\n"
    "\n"
    "  --steps N          optimizer steps of the whole run\n"
    "  --lr X             peak learning rate\n"
    "  --batch-size N     sequences per micro-batch\n"
    "  --grad-accum N     micro-batches per optimizer step\n"
    "  --init-model FILE  start from a model (llama2.c model.bin of any version, a\n"
    "                     Hugging Face folder, a checkpoint): fine-tuning. The model\n"
    "                     shape comes from the file; a config that sets another is an\n"
    "                     error (seq_len may be lower)\n"
    "  --resume           continue from the checkpoint (--ckpt) bit-exactly; if it is\n"
    "                     damaged, from PATH.prev, then PATH.best (with a warning)\n"
    "  --force            start a fresh run over the checkpoint of another run,\n"
    "                     deleting PATH, PATH.prev and PATH.best\n"
    "  --stop-after N     run at most N steps now, save, and exit (resume later)\n"
    "  --quiet            no progress line\n"
    CLI_CONFIG_USAGE
    "\n"
    "Flags override the config file, which overrides the built-in defaults.\n"
    "Ctrl-C (and SIGTERM, SIGHUP, SIGQUIT, SIGUSR1/2, SIGALRM, SIGXCPU) finishes the\n"
    "current step, saves a checkpoint and exits. One trainer per checkpoint: a second\n"
    "one on the same PATH is refused (PATH.lock). mpirun passes SIGUSR1 on to every rank\n"
    "of a data-parallel run: all stop at the same step (see README).\n";

enum { OPT_STEPS = OPT_CLI_LAST, OPT_LR, OPT_BATCH, OPT_ACCUM, OPT_INIT, OPT_RESUME,
       OPT_STOP_AFTER, OPT_QUIET, OPT_FORCE };

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
        {"force", no_argument, 0, OPT_FORCE},
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
        case OPT_FORCE: tf.force = 1; break;
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
    int rc_run = -1;
    if (cli_build_config(&rc, &cf, &e) < 0 || apply_overrides(&rc, &ov, &e) < 0 ||
        (rc.ckpt.init_model[0] && init_model_adopt(&rc, &e) < 0) ||
        (rc_run = train_run(&rc, &tf, &e)) < 0)
        /* Rank 0 says it and sets the job's status: another rank exiting non-zero
         * first would have mpirun kill rank 0 before it could. */
        status = dp_rank() > 0 ? 0 : fail("train", e.msg);
    if (rc_run == TRAIN_RESTART && dp_size() > 1) {
        /* mpirun cannot re-execute one rank: the job ends, to be launched again */
        if (dp_rank() == 0) fprintf(stderr, "anetrain train: %s\n", e.msg);
        status = dp_rank() > 0 ? 0 : TRAIN_EXIT_RELAUNCH;
    } else if (rc_run == TRAIN_RESTART) {
        /* the checkpoint is saved and every resource released: go on in a new process */
        fflush(stdout);
        fflush(stderr);
        reexec_resume(&e);
        fprintf(stderr, "anetrain train: the run needs a fresh process but %s; %s holds the "
                "last good state: continue with `anetrain train --resume` and the same options\n",
                e.msg, rc.ckpt.path);
        status = 1;
    }
    config_free(&rc);
    return status;
}
