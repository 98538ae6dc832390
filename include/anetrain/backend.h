/* anetrain public ABI: the backend plugin interface.
 *
 * A backend is a libltdl module that exports one symbol, ant_backend_entry, which hands
 * the core a pointer to a static struct ant_backend. The struct is versioned SQLite-VFS
 * style: abi_major and size come first; later minor versions only append fields; a NULL
 * function pointer means "not provided". The core refuses a module whose abi_major
 * differs from its own and never reads a field beyond the module's declared size.
 *
 * A module built from file ant_<x>.la must be named <x> with '_' for '-' (the file
 * ant_ane_static.la holds backend "ane-static"). Compile it with
 * -DANT_MODULE_NAME=ant_<x> so the entry becomes ant_<x>_LTX_ant_backend_entry and
 * several modules can be preloaded into one program without clashing.
 *
 * Threading: the core calls a backend from one thread only. Errors are returned, never
 * exited: functions return 0 on success and a negative value on failure, with the reason
 * available from last_error(ctx). */
#ifndef ANETRAIN_BACKEND_H
#define ANETRAIN_BACKEND_H

#include <stddef.h>
#include <stdint.h>
#include <anetrain/model.h>

#define ANT_ABI_MAJOR 1
#define ANT_ABI_MINOR 4

enum ant_log_level { ANT_LOG_ERROR, ANT_LOG_WARN, ANT_LOG_INFO, ANT_LOG_DEBUG };

/* What the core knows about the machine, filled from chip detection and the profile
 * file (configs/chips.cfg). Backends read it in probe() and open(). */
struct ant_chip {
    uint32_t size;             /* sizeof(struct ant_chip) of the core */
    const char *name;          /* "M4 Pro", "unknown Apple", "none" */
    int family;                /* 1..5 for M1..M5, 0 unknown Apple, -1 no Apple silicon */
    const char *variant;       /* "base", "Pro", "Max", "Ultra", "" */
    int has_ane;               /* a Neural Engine is present (or forced) */
    int forced;                /* chip came from config/env, not from the hardware */
    const char *cpu_features;  /* "avx2 avx512f ..." or "neon ..." */
    /* Profile: MIL dialect and device rules (docs/ane.md §2, §3, §7, §8) */
    const char *mil_program;   /* "1.3" or "1.0" */
    const char *mil_target;    /* "ios18", "ios17", "ios16" */
    int mil_verbose_scalars;   /* 1: rank-0 tensor forms (program 1.0) */
    int fp16_io;               /* 1: surfaces carry fp16, no cast op (M1/M2) */
    int allows_cast;
    int surface_align;         /* bytes */
    int surface_min_bytes;
    int compile_budget;        /* compiles per process before the device fails */
    double peak_tflops;        /* fp16, for utilisation figures */
    /* ABI 1.1 */
    int allows_sdpa;           /* the scaled_dot_product_attention op compiles */
    /* ABI 1.3: the OS the profile was chosen for (chips.cfg entries with `os = ...`;
     * docs/ane.md §7.1, §7.3, §12.6: what M1 compiles depends on the macOS version) */
    const char *os_version;    /* macOS "15.6", "26.3"; "" unknown; "linux" elsewhere */
    const char *ops_refused;   /* MIL ops that fail on this chip and OS, space-separated
                                  ("reduce_*": a prefix); "" none */
    int silent_zero_rules;     /* 1: the layouts of §7.3 that compile yet give zeros do so
                                  (input order, matmul inner dim, broadcasts, small surfaces) */
};

enum ant_setting_type { ANT_SET_INT, ANT_SET_FLOAT, ANT_SET_BOOL, ANT_SET_STRING };

/* A setting a backend declares; the core validates the config group
 * backends.<name> = { ... } against the list and fills in defaults. */
struct ant_setting {
    const char *key;
    enum ant_setting_type type;
    const char *default_value; /* as text: "4", "0.5", "true", "apple" */
    const char *help;
};

/* A validated setting value handed to open(). The array ends with key == NULL. */
struct ant_setting_value {
    const char *key;
    enum ant_setting_type type;
    long i;         /* INT and BOOL */
    double f;       /* FLOAT */
    const char *s;  /* STRING */
};

static inline const struct ant_setting_value *
ant_setting_find(const struct ant_setting_value *v, const char *key)
{
    for (; v && v->key; v++) {
        const char *a = v->key, *b = key;
        while (*a && *a == *b) a++, b++;
        if (*a == *b) return v;
    }
    return NULL;
}

/* Services the core offers a backend. Append-only like ant_backend. */
struct ant_host {
    uint32_t abi_major, abi_minor, size;
    void (*log)(int level, const char *who, const char *fmt, ...)
#if defined(__GNUC__)
        __attribute__((format(printf, 3, 4)))
#endif
        ;
};

struct ant_open_args {
    uint32_t size;
    const struct ant_model_config *model;
    const struct ant_chip *chip;
    const struct ant_setting_value *settings;
    int max_batch;       /* largest batch_size train_step/eval_loss will see */
    int threads;         /* CPU threads the backend may use */
};

/* A batch of B sequences of T tokens: predict targets[b][t] from tokens[b][0..t]. */
struct ant_batch {
    int batch_size;           /* B */
    int seq_len;              /* T <= model seq_len */
    const int32_t *tokens;    /* [B, T] */
    const int32_t *targets;   /* [B, T] */
};

/* Counters a backend may report for the efficiency report. */
struct ant_backend_stats {
    uint32_t size;
    double forward_ms, backward_ms, compile_ms, other_ms;
    long compiles, evals;
    double flops;             /* floating-point operations done so far */
    /* since ABI 1.1: accelerator figures (0 where they do not apply) */
    double device_flops;      /* the part of flops that ran on the accelerator */
    double staged_bytes;      /* bytes written into device memory (weights, activations) */
    long kernels;             /* device programs built */
    long steps;               /* train_step calls that succeeded */
    double modelled_device_ms;   /* device time modelled from the chip profile, not measured */
    double loss_scale;        /* current fp16 loss scale */
    long scale_backoffs;      /* steps redone at a halved loss scale */
    double cpu_wait_ms;       /* time spent waiting for the backend's own CPU work */
};

struct ant_backend {
    uint32_t abi_major;
    uint32_t abi_minor;
    uint32_t size;            /* sizeof(struct ant_backend) the module was built with */
    const char *name;
    const char *description;
    const struct ant_setting *settings;   /* ends with key == NULL; may be NULL */

    /* Cheap, never compiles: 0 if the backend can run on this chip (priority set,
     * higher wins), else negative with *why a human reason. */
    int (*probe)(const struct ant_host *host, const struct ant_chip *chip,
                 int *priority, const char **why);
    /* Builds kernels, allocates buffers. On failure writes a reason into why. */
    int (*open)(const struct ant_host *host, const struct ant_open_args *args,
                void **ctx, char *why, size_t why_len);
    /* Forward + backward over a batch with the given weights (the core's fp32 master
     * copy, ant_layout order). *loss = mean cross-entropy over B*T tokens; grads (same
     * layout) += grad_scale * d(loss)/d(weights). On failure grads are undefined. */
    int (*train_step)(void *ctx, const float *weights, const struct ant_batch *batch,
                      float *grads, float grad_scale, float *loss);
    /* Forward only: mean cross-entropy over the batch. */
    int (*eval_loss)(void *ctx, const float *weights, const struct ant_batch *batch,
                     float *loss);
    /* Logits [V] of the next token after tokens[0..n_tokens-1], n_tokens <= seq_len. */
    int (*logits)(void *ctx, const float *weights, const int32_t *tokens, int n_tokens,
                  float *logits);
    /* The weights changed (after an optimizer step or a load): static ANE recompiles,
     * dynamic ANE restages, CPU does nothing. May be NULL. */
    int (*weights_changed)(void *ctx, const float *weights);
    int (*stats)(void *ctx, struct ant_backend_stats *out);   /* may be NULL */
    const char *(*last_error)(void *ctx);
    void (*close)(void *ctx);
    /* since ABI 1.2; the core reads it only from modules whose size covers it. */
    /* Asked after each optimizer update, before weights_changed: 1 when that call would
     * exceed a limit of this process (the ANE compile budget, docs/ane.md §1.9), with the
     * reason in why. The core then saves a checkpoint, closes the backend and re-executes
     * itself with --resume, so the run goes on in a fresh process. 0: go on. May be NULL. */
    int (*needs_restart)(void *ctx, char *why, size_t why_len);
    /* Bytes of memory open would take for this model and batch (buffers, surfaces,
     * kernels), for the core's memory plan before it opens the backend; 0 unknown. Cheap.
     * May be NULL. */
    size_t (*memory_bytes)(const struct ant_open_args *args);
    /* since ABI 1.4: state of the backend's own that a resumed run needs in order to
     * continue exactly (the ANE backends' fp16 loss scale and its count of clean steps),
     * as one line of text the core keeps in the checkpoint. save_state writes at most
     * cap bytes, NUL included, and returns 0 (an empty line: nothing to keep).
     * load_state gets what save_state of a backend of the same name wrote, right after
     * open, and returns -1 with last_error set when it cannot use it. Either may be NULL. */
    int (*save_state)(void *ctx, char *buf, size_t cap);
    int (*load_state)(void *ctx, const char *state);
};

/* Whether module table b provides field f (tables of older minors are shorter). */
#define ANT_HAS(b, f) \
    ((b)->size >= offsetof(struct ant_backend, f) + sizeof((b)->f) && (b)->f != NULL)

#ifdef ANT_MODULE_NAME
#define ANT_LTX_PASTE_(m, s) m##_LTX_##s
#define ANT_LTX_PASTE(m, s) ANT_LTX_PASTE_(m, s)
#define ant_backend_entry ANT_LTX_PASTE(ANT_MODULE_NAME, ant_backend_entry)
#endif

/* The one symbol a module exports. Returns 0 and sets *out, or negative. */
int ant_backend_entry(const struct ant_host *host, const struct ant_backend **out);

#endif
