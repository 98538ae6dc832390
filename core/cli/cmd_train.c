#include <anetrain/backend.h>
#include <getopt.h>
#include <stdarg.h>
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
    "  --min-lr X         floor of the cosine decay\n"
    "  --warmup N         steps of linear warmup\n"
    "  --schedule S       cosine or constant\n"
    "  --clip X           clip the gradient's global norm at X (0 = off)\n"
    "  --batch-size N     sequences per micro-batch\n"
    "  --grad-accum N     micro-batches per optimizer step\n"
    "  --data-order S     random or sequential\n"
    "  --eval-data FILE   held-out data for the validation loss (default: a text file's\n"
    "                     last 5%, data.eval_tail)\n"
    "  --log FILE         metrics log, JSON lines (default PATH.log.jsonl beside the\n"
    "                     checkpoint; 'none' for no log)\n"
    "  --log-every N      steps between progress lines (on a pipe also every log.seconds)\n"
    "  --init-model FILE  start from a model (llama2.c model.bin of any version, a\n"
    "                     Hugging Face folder, a checkpoint): fine-tuning. The model\n"
    "                     shape comes from the file; a config that sets another is an\n"
    "                     error (seq_len may be lower)\n"
    "  --resume           continue from the checkpoint (--ckpt) bit-exactly, with the\n"
    "                     options it holds (no --config needed; flags given override them\n"
    "                     and are logged); if it is damaged, from PATH.prev, then PATH.best\n"
    "  --force            start a fresh run over the checkpoint of another run,\n"
    "                     deleting PATH, PATH.prev and PATH.best\n"
    "  --stop-after N     run at most N steps now, save, and exit (resume later)\n"
    "  --quiet            only warnings, errors and the final report\n"
    CLI_CONFIG_USAGE
    "\n"
    "Flags override the config file, which overrides the built-in defaults.\n"
    "Ctrl-C (and SIGTERM, SIGHUP, SIGQUIT, SIGUSR1/2, SIGALRM, SIGXCPU) finishes the\n"
    "current step, saves a checkpoint and exits; a second Ctrl-C stops at once. One\n"
    "trainer per checkpoint: a second one on the same PATH is refused (PATH.lock).\n"
    "mpirun passes SIGUSR1 on to every rank of a data-parallel run: all stop at the same\n"
    "step (see README).\n";

enum { OPT_STEPS = OPT_CLI_LAST, OPT_LR, OPT_BATCH, OPT_ACCUM, OPT_INIT, OPT_RESUME,
       OPT_STOP_AFTER, OPT_QUIET, OPT_FORCE, OPT_MIN_LR, OPT_WARMUP, OPT_SCHEDULE, OPT_CLIP,
       OPT_ORDER, OPT_EVAL_DATA, OPT_LOG, OPT_LOG_EVERY };

/* The train-only flags that set config fields, kept as text until the config is built. */
struct train_overrides {
    const char *steps, *lr, *batch, *accum, *init, *min_lr, *warmup, *schedule, *clip,
        *order, *eval_data, *log, *log_every;
};

static int set_path(char *dst, size_t cap, const char *src, const char *flag, struct ant_err *e)
{
    if (strlen(src) >= cap) return ant_errf(e, "%s: path too long", flag);
    strcpy(dst, src);
    return 0;
}

static int set_choice(char *dst, size_t cap, const char *src, const char *flag,
                      const char *a, const char *b, struct ant_err *e)
{
    if (strcmp(src, a) && strcmp(src, b))
        return ant_errf(e, "%s %s: expected %s or %s", flag, src, a, b);
    snprintf(dst, cap, "%s", src);
    return 0;
}

static int apply_overrides(struct ant_run_config *rc, const struct train_overrides *o,
                           struct ant_err *e)
{
    struct ant_train_opts *t = &rc->train;
    long v;
    double x;
    if (o->steps) {
        if (cli_parse_long(o->steps, 1, 1L << 40, &v) < 0)
            return ant_errf(e, "--steps %s: expected a whole number >= 1", o->steps);
        t->steps = v;
        /* A short run from a config with a long warmup: warm up over the whole run. */
        if (t->warmup_steps > v && !o->warmup) t->warmup_steps = v;
    }
    if (o->warmup) {
        if (cli_parse_long(o->warmup, 0, 1L << 40, &v) < 0)
            return ant_errf(e, "--warmup %s: expected a whole number >= 0", o->warmup);
        t->warmup_steps = v;
    }
    if (o->batch) {
        if (cli_parse_long(o->batch, 1, 1 << 20, &v) < 0)
            return ant_errf(e, "--batch-size %s: expected a whole number >= 1", o->batch);
        t->batch_size = (int)v;
    }
    if (o->accum) {
        if (cli_parse_long(o->accum, 1, 1 << 20, &v) < 0)
            return ant_errf(e, "--grad-accum %s: expected a whole number >= 1", o->accum);
        t->grad_accum = (int)v;
    }
    if (o->lr) {
        if (cli_parse_double(o->lr, &x) < 0 || x <= 0)
            return ant_errf(e, "--lr %s: expected a number > 0", o->lr);
        t->lr = x;
        if (t->min_lr > x && !o->min_lr) t->min_lr = x;
    }
    if (o->min_lr) {
        if (cli_parse_double(o->min_lr, &x) < 0 || x < 0)
            return ant_errf(e, "--min-lr %s: expected a number >= 0", o->min_lr);
        t->min_lr = x;
    }
    if (o->clip) {
        if (cli_parse_double(o->clip, &x) < 0 || x < 0)
            return ant_errf(e, "--clip %s: expected a number >= 0 (0 = off)", o->clip);
        t->grad_clip = x;
    }
    if (o->log_every) {
        if (cli_parse_long(o->log_every, 1, 1L << 40, &v) < 0)
            return ant_errf(e, "--log-every %s: expected a whole number >= 1", o->log_every);
        rc->log_every = v;
    }
    if ((o->schedule && set_choice(t->schedule, sizeof t->schedule, o->schedule, "--schedule",
                                   "cosine", "constant", e) < 0) ||
        (o->order && set_choice(t->data_order, sizeof t->data_order, o->order, "--data-order",
                                "random", "sequential", e) < 0) ||
        (o->init && set_path(rc->ckpt.init_model, sizeof rc->ckpt.init_model, o->init,
                             "--init-model", e) < 0) ||
        (o->eval_data && set_path(rc->data.eval_path, sizeof rc->data.eval_path, o->eval_data,
                                  "--eval-data", e) < 0) ||
        (o->log && set_path(rc->metrics.path, sizeof rc->metrics.path, o->log, "--log", e) < 0))
        return -1;
    return config_validate(rc, e);
}

static void note(char *buf, size_t cap, size_t *k, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void note(char *buf, size_t cap, size_t *k, const char *fmt, ...)
{
    if (*k + 2 >= cap) return;
    if (*k) *k += (size_t)snprintf(buf + *k, cap - *k, ", ");
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf + *k, cap - *k, fmt, ap);
    va_end(ap);
    if (n > 0) *k = *k + (size_t)n < cap ? *k + (size_t)n : cap - 1;
}

/* What the flags changed of the options a resumed checkpoint holds: logged, and written
 * into the metrics log's resume line. */
static void describe_overrides(const struct ant_ckpt_info *in, const struct ant_run_config *rc,
                               char *buf, size_t cap)
{
    const struct ant_train_opts *a = &in->train, *b = &rc->train;
    size_t k = 0;
    buf[0] = 0;
#define NOTE(cond, ...) if (cond) note(buf, cap, &k, __VA_ARGS__)
    NOTE(a->steps != b->steps, "steps %ld (was %ld)", b->steps, a->steps);
    NOTE(a->lr != b->lr, "lr %g (was %g)", b->lr, a->lr);
    NOTE(a->min_lr != b->min_lr, "min_lr %g (was %g)", b->min_lr, a->min_lr);
    NOTE(a->warmup_steps != b->warmup_steps, "warmup %ld (was %ld)", b->warmup_steps, a->warmup_steps);
    NOTE(strcmp(a->schedule, b->schedule), "schedule %s (was %s)", b->schedule, a->schedule);
    NOTE(a->grad_clip != b->grad_clip, "clip %g (was %g)", b->grad_clip, a->grad_clip);
    NOTE(a->batch_size != b->batch_size, "batch_size %d (was %d)", b->batch_size, a->batch_size);
    NOTE(a->grad_accum != b->grad_accum, "grad_accum %d (was %d)", b->grad_accum, a->grad_accum);
    NOTE(strcmp(a->data_order, b->data_order), "data_order %s (was %s)", b->data_order, a->data_order);
    NOTE(a->seed != b->seed, "seed %llu (was %llu)", (unsigned long long)b->seed,
         (unsigned long long)a->seed);
    NOTE(in->origin.data_format[0] && strcmp(in->origin.eval_path, rc->data.eval_path),
         "eval data %s (was %s)", rc->data.eval_path, in->origin.eval_path[0] ? in->origin.eval_path : "none");
#undef NOTE
}

/* The command that continues this run: the checkpoint holds the rest. */
static void resume_command(const struct cli_config_flags *cf, const struct ant_run_config *rc,
                           char *buf, size_t cap)
{
    char q[2 * ANT_PATH_MAX];
    size_t k = (size_t)snprintf(buf, cap, "anetrain train --resume --ckpt %s",
                                cli_shell_quote(rc->ckpt.path, q, sizeof q));
    const struct { const char *flag, *val; } keep[] = {
        {"--config", cf->config}, {"--preset", cf->preset}, {"--backend", cf->backend},
        {"--chip", cf->chip}, {"--plugin-path", cf->plugin_path}, {"--threads", cf->threads},
    };
    for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++)
        if (keep[i].val && k < cap)
            k += (size_t)snprintf(buf + k, cap - k, " %s %s", keep[i].flag,
                                  cli_shell_quote(keep[i].val, q, sizeof q));
}

int cmd_train(int argc, char **argv)
{
    static const struct option opts[] = {
        {"steps", required_argument, 0, OPT_STEPS},
        {"lr", required_argument, 0, OPT_LR},
        {"min-lr", required_argument, 0, OPT_MIN_LR},
        {"warmup", required_argument, 0, OPT_WARMUP},
        {"schedule", required_argument, 0, OPT_SCHEDULE},
        {"clip", required_argument, 0, OPT_CLIP},
        {"batch-size", required_argument, 0, OPT_BATCH},
        {"grad-accum", required_argument, 0, OPT_ACCUM},
        {"data-order", required_argument, 0, OPT_ORDER},
        {"eval-data", required_argument, 0, OPT_EVAL_DATA},
        {"log", required_argument, 0, OPT_LOG},
        {"log-every", required_argument, 0, OPT_LOG_EVERY},
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
        case OPT_MIN_LR: ov.min_lr = optarg; break;
        case OPT_WARMUP: ov.warmup = optarg; break;
        case OPT_SCHEDULE: ov.schedule = optarg; break;
        case OPT_CLIP: ov.clip = optarg; break;
        case OPT_BATCH: ov.batch = optarg; break;
        case OPT_ACCUM: ov.accum = optarg; break;
        case OPT_ORDER: ov.order = optarg; break;
        case OPT_EVAL_DATA: ov.eval_data = optarg; break;
        case OPT_LOG: ov.log = optarg; break;
        case OPT_LOG_EVERY: ov.log_every = optarg; break;
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
    if (tf.quiet) ant_log_level = ANT_LOG_WARN;

    /* --resume alone: the checkpoint's own options, not the defaults' */
    static struct ant_ckpt_info base;
    char base_path[ANT_PATH_MAX + 8];
    if (tf.resume && !cf.config && !cf.preset &&
        cli_ckpt_base(cf.ckpt ? cf.ckpt : "anetrain.ckpt", &base, base_path, sizeof base_path) == 0)
        cf.base = &base;

    struct ant_run_config rc;
    struct ant_err e;
    static char overrides[1024], resume_cmd[4 * ANT_PATH_MAX];
    status = 0;
    int rc_run = -1;
    if (cli_build_config(&rc, &cf, &e) < 0 || apply_overrides(&rc, &ov, &e) < 0 ||
        (rc.ckpt.init_model[0] && init_model_adopt(&rc, &e) < 0)) {
        status = dp_rank() > 0 ? 0 : fail("train", e.msg);
    } else {
        if (cf.base) {
            describe_overrides(&base, &rc, overrides, sizeof overrides);
            ant_log(ANT_LOG_INFO, NULL, "options from %s%s%s", base_path,
                    overrides[0] ? "; the flags given change " : "", overrides);
            tf.overrides = overrides;
        }
        resume_command(&cf, &rc, resume_cmd, sizeof resume_cmd);
        tf.resume_cmd = resume_cmd;
        if ((rc_run = train_run(&rc, &tf, &e)) < 0)
            /* Rank 0 says it and sets the job's status: another rank exiting non-zero
             * first would have mpirun kill rank 0 before it could. */
            status = dp_rank() > 0 ? 0 : fail("train", e.msg);
    }
    if (rc_run == TRAIN_RESTART && dp_size() > 1) {
        /* mpirun cannot re-execute one rank: the job ends, to be launched again */
        if (dp_rank() == 0) fprintf(stderr, "anetrain train: %s\n", e.msg);
        status = dp_rank() > 0 ? 0 : TRAIN_EXIT_RELAUNCH;
    } else if (rc_run == TRAIN_RESTART) {
        /* the checkpoint is saved and every resource released: go on in a new process */
        fflush(stdout);
        fflush(stderr);
        train_carry_stop();
        reexec_resume(&e);
        fprintf(stderr, "anetrain train: the run needs a fresh process but %s; %s holds the "
                "last good state: continue with `%s`\n", e.msg, rc.ckpt.path, resume_cmd);
        status = 1;
    }
    config_free(&rc);
    return status;
}
