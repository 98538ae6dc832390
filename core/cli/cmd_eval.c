#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/commands.h"
#include "data/data.h"
#include "dispatch/dispatch.h"
#include "train/evaluate.h"
#include "formats/ckpt.h"
#include "formats/model_io.h"

static const char usage[] =
    "usage: anetrain eval [--ckpt FILE | --model FILE] [--data FILE] [--batches N]\n"
    "Mean cross-entropy of a model on a data file, over consecutive windows from the\n"
    "start of the file. Defaults: --ckpt anetrain.ckpt, and the held-out data its run\n"
    "validated on (data.eval_path, or the tail of its text data), so the figure matches\n"
    "the run's validation loss; with --config or --preset, that file's data instead.\n"
    "\n"
    "  --model FILE       llama2.c model.bin (or a checkpoint)\n"
    "  --batches N        batches to average over (default 20; fewer if the file is short)\n"
    CLI_CONFIG_USAGE;

enum { OPT_MODEL = OPT_CLI_LAST, OPT_BATCHES };

/* The held-out data of the checkpoint's run, when it says (format 3). */
static int ckpt_data(struct ant_run_config *rc, const char *model, int *tail)
{
    static struct ant_ckpt_info info;
    struct ant_err pe;
    const struct ant_ckpt_origin *o = &info.origin;
    *tail = 0;
    if (ckpt_peek(model, &info, &pe) < 0 || !o->data_format[0]) return 0;
    snprintf(rc->data.format, sizeof rc->data.format, "%s", o->data_format);
    if (o->eval_path[0]) {
        snprintf(rc->data.path, sizeof rc->data.path, "%s", o->eval_path);
    } else {
        snprintf(rc->data.path, sizeof rc->data.path, "%s", o->data_path);
        rc->data.eval_tail = o->eval_tail;
        *tail = o->eval_tail > 0;
    }
    return 0;
}

static int evaluate(struct ant_run_config *rc, const char *model, long batches, int from_ckpt,
                    struct ant_err *e)
{
    struct ant_train_state s;
    struct ant_data *data = NULL, *whole = NULL;
    struct ant_dispatch *d = NULL;
    int32_t *buf = NULL;
    int rc_eval = -1;
    if (model_load(model, &s, e) < 0) return -1;
    rc->model = s.model;
    int B = rc->train.batch_size, T = s.model.seq_len;
    int tail = 0;
    if (from_ckpt) ckpt_data(rc, model, &tail);
    if (data_open(&data, rc->data.path, rc->data.format, s.model.vocab_size, T, e) < 0) goto out;
    if (tail && data_is_text(data)) {   /* the tail reads whole's memory: close it last */
        whole = data;
        data = NULL;
        if (data_split_tail(whole, rc->data.eval_tail, T, &data, e) < 0) goto out;
    }
    buf = malloc(sizeof *buf * 2 * (size_t)B * T);
    if (!buf) {
        ant_errf(e, "out of memory");
        goto out;
    }
    if (dispatch_open(&d, rc, B, e) < 0 || dispatch_weights_changed(d, s.weights, e) < 0) goto out;
    double mean;
    if (eval_mean_loss(d, s.weights, data, B, T, batches, buf, &mean, &batches, e) < 0) goto out;
    printf("%s on %s: loss %.6f over %ld batches of %dx%d tokens (backend %s)\n", model,
           data_name(data), mean, batches, B, T, dispatch_backend_name(d));
    rc_eval = 0;
out:
    if (d) dispatch_close(d);
    if (data) data_close(data);
    if (whole) data_close(whole);
    free(buf);
    state_free(&s);
    return rc_eval;
}

int cmd_eval(int argc, char **argv)
{
    static const struct option opts[] = {
        {"model", required_argument, 0, OPT_MODEL},
        {"batches", required_argument, 0, OPT_BATCHES},
        CLI_CONFIG_OPTIONS,
        {0, 0, 0, 0},
    };
    struct cli_config_flags cf = {0};
    const char *model = NULL;
    long batches = 20;
    int c, status = -1;
    optind = 1;
    while ((c = cli_next_option(argc, argv, opts, &cf, usage, &status)) != -1) {
        switch (c) {
        case OPT_MODEL: model = optarg; break;
        case OPT_BATCHES:
            if (cli_parse_long(optarg, 1, 1L << 30, &batches) < 0)
                return fail("eval", "--batches: expected a whole number >= 1");
            break;
        }
    }
    if (status >= 0) return status;
    if (!model) model = cf.ckpt ? cf.ckpt : "anetrain.ckpt";
    int from_ckpt = !cf.data && !cf.config && !cf.preset;
    struct ant_run_config rc;
    struct ant_err e;
    status = 0;
    if (cli_build_config(&rc, &cf, &e) < 0 || evaluate(&rc, model, batches, from_ckpt, &e) < 0)
        status = fail("eval", e.msg);
    config_free(&rc);
    return status;
}
