/* The run configuration: every key a config file, a preset or the command line can set.
 * Precedence: command-line flags > config file > built-in defaults (config_defaults). */
#ifndef ANT_CONFIG_H
#define ANT_CONFIG_H

#include <anetrain/model.h>
#include <stdint.h>

#include "base/util.h"

#define ANT_NAME_MAX 64
#define ANT_LIST_MAX 16

struct ant_train_opts {
    int batch_size;          /* sequences per micro-batch, >= 1 */
    int grad_accum;          /* micro-batches per optimizer step, >= 1 */
    long steps;              /* optimizer steps of the whole run */
    double lr;               /* peak learning rate */
    double min_lr;           /* floor of the cosine decay */
    long warmup_steps;       /* linear warmup from 0 */
    char schedule[ANT_NAME_MAX];   /* "cosine" | "constant" */
    double beta1, beta2, eps, weight_decay;
    double grad_clip;        /* global-norm clip; 0 disables */
    uint64_t seed;
    char data_order[ANT_NAME_MAX]; /* "random" | "sequential" */
    double init_std;         /* std of the random init of matrices */
};

struct ant_data_opts {
    char path[ANT_PATH_MAX];       /* "" = the embedded corpus */
    char format[ANT_NAME_MAX];     /* "auto" | "tokens" (uint16) | "text" (bytes) */
    char tokenizer[ANT_PATH_MAX];  /* llama2.c tokenizer.bin for decoding; "" = bytes */
    char eval_path[ANT_PATH_MAX];  /* optional held-out data */
};

struct ant_ckpt_opts {
    char path[ANT_PATH_MAX];       /* checkpoint file; previous one kept as PATH.prev */
    long every;                    /* steps between checkpoints; 0 = only at the end */
    char init_model[ANT_PATH_MAX]; /* llama2.c model.bin to start from; "" = random */
    double diverge_factor;         /* diverging: smoothed loss above this x its lowest, */
    long diverge_steps;            /* ... for this many steps in a row */
    long max_rollbacks;            /* rollbacks (learning rate halved) before stopping */
};

struct ant_backend_opts {
    char backend[ANT_NAME_MAX];    /* "auto" or a backend name */
    char fallback[ANT_LIST_MAX][ANT_NAME_MAX];
    int n_fallback;
    char exclude[ANT_LIST_MAX][ANT_NAME_MAX];
    int n_exclude;
    char plugin_path[ANT_LIST_MAX][ANT_PATH_MAX];
    int n_plugin_path;
    char chip[ANT_NAME_MAX];       /* force a chip profile: "M1", "M4 Pro", "none"; "" = detect */
    char os[ANT_NAME_MAX];         /* force the macOS version the profile is for: "26.3";
                                      "" = detect (docs/ane.md §7, §12.6) */
    int strict;                    /* forbid any fallback */
    int threads;                   /* 0 = all cores */
};

struct ant_run_config {
    struct ant_model_config model;
    struct ant_train_opts train;
    struct ant_data_opts data;
    struct ant_ckpt_opts ckpt;
    struct ant_backend_opts be;
    long log_every;                /* steps between log lines */
    char source[ANT_PATH_MAX];     /* the config file read, or "<embedded default>" */
    void *backend_settings;        /* libconfig setting of group "backends", or NULL;
                                      owned by cfg_handle */
    void *cfg_handle;              /* the libconfig config_t kept alive for it */
};

void config_defaults(struct ant_run_config *rc);
/* Read FILE over the current values. Errors name file:line and the key. */
int config_load(struct ant_run_config *rc, const char *file, struct ant_err *e);
/* Parse a config held in a string (the embedded default, presets). */
int config_load_string(struct ant_run_config *rc, const char *text, const char *name,
                       struct ant_err *e);
/* Check cross-field rules (dim divisible by n_heads, ...). */
int config_validate(const struct ant_run_config *rc, struct ant_err *e);
void config_free(struct ant_run_config *rc);
/* 1 if key ("model.dim") has the value a config file or preset gave it (not the built-in
 * defaults, not a flag); at gets "FILE:LINE: " then. */
int config_key_from_file(const struct ant_run_config *rc, const char *key, char *at, size_t n);

/* Named presets: "tiny" (the embedded default), "stories15M", "stories42M",
 * "stories110M". Returns the libconfig text or NULL. */
const char *config_preset(const char *name);

#endif
