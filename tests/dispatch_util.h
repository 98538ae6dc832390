/* Shared by the dispatcher tests: a tiny model, its data, and a training loop with plain
 * SGD that runs through the dispatcher so two runs can be compared bit for bit. */
#ifndef ANT_DISPATCH_UTIL_H
#define ANT_DISPATCH_UTIL_H

#include <libconfig.h>
#include <stdlib.h>
#include <string.h>

#include "dispatch/dispatch.h"
#include "base/rng.h"

#define DU_B 2       /* sequences per micro-batch */
#define DU_MICRO 2   /* micro-batches per step */
#define DU_STEPS 6

/* Grouped-query attention (4 heads, 2 kv heads) and an unshared classifier, so every
 * tensor kind is exercised. */
static const struct ant_model_config du_model = {
    .dim = 16, .hidden_dim = 24, .n_layers = 2, .n_heads = 4, .n_kv_heads = 2,
    .vocab_size = 32, .seq_len = 8, .shared_classifier = 0, .rope_theta = 10000.0f,
    .norm_eps = 1e-5f,
};

struct du_run {
    float *w, *g;             /* [n] weights after the run, grads of the last step */
    size_t n;
    float loss[DU_STEPS];
    double norm[DU_STEPS];
    int steps_done, switches;
    char backend[64], err[1024];
};

static config_t du_cfg;
static int du_cfg_live;

/* A run config by hand (no config.c needed): plugin folders, backend, fallback list and
 * a libconfig text for the `backends` settings group. */
static void du_config(struct ant_run_config *rc, const char *backend, const char *fallback,
                      int strict, const char *settings)
{
    memset(rc, 0, sizeof *rc);
    rc->model = du_model;
    snprintf(rc->source, sizeof rc->source, "test.cfg");
    snprintf(rc->be.backend, sizeof rc->be.backend, "%s", backend);
    snprintf(rc->be.chip, sizeof rc->be.chip, "none");
    const char *b = getenv("ANETRAIN_BUILDDIR");
    snprintf(rc->be.plugin_path[0], sizeof rc->be.plugin_path[0], "%s/tests/plugins", b ? b : ".");
    snprintf(rc->be.plugin_path[1], sizeof rc->be.plugin_path[1], "%s/plugins/example", b ? b : ".");
    rc->be.n_plugin_path = 2;
    for (const char *p = fallback; p && *p;) {
        size_t n = strcspn(p, " ");
        snprintf(rc->be.fallback[rc->be.n_fallback++], ANT_NAME_MAX, "%.*s", (int)n, p);
        p += n + (p[n] == ' ');
    }
    rc->be.strict = strict;
    rc->be.threads = 1;
    if (du_cfg_live) config_destroy(&du_cfg);
    config_init(&du_cfg);
    du_cfg_live = 1;
    if (settings && config_read_string(&du_cfg, settings))
        rc->backend_settings = config_lookup(&du_cfg, "backends");
}

static void du_init_weights(float *w, size_t n, uint64_t seed)
{
    struct ant_layout lay;
    struct ant_rng r;
    ant_layout_init(&lay, &du_model);
    rng_seed(&r, seed);
    for (size_t i = 0; i < n; i++) w[i] = (float)(0.1 * rng_normal(&r));
    for (int t = 0; t < ANT_N_TENSORS; t++)
        if (ant_tensor_is_norm(t))
            for (int l = 0; l < (lay.layered[t] ? du_model.n_layers : 1); l++)
                for (size_t i = 0; i < lay.per_layer[t]; i++)
                    ant_tensor(w, &lay, t, l)[i] = 1.0f + 0.1f * (float)rng_normal(&r);
}

/* Tokens of step s, micro-batch m: deterministic, so every run sees the same data. */
static void du_batch(int32_t *tok, int32_t *tgt, int s, int m)
{
    struct ant_rng r;
    rng_seed(&r, 1000 + 10 * (uint64_t)s + (uint64_t)m);
    for (int i = 0; i < DU_B * du_model.seq_len; i++) {
        tok[i] = (int32_t)rng_below(&r, (uint64_t)du_model.vocab_size);
        tgt[i] = (int32_t)((tok[i] * 7 + 3) % du_model.vocab_size);   /* learnable */
    }
}

/* DU_STEPS SGD steps (w -= lr g) through the dispatcher; weights_changed after each. */
static int du_train(const struct ant_run_config *rc, struct du_run *out, const float *init)
{
    struct ant_layout lay;
    struct ant_err e = {""};
    struct ant_dispatch *d = NULL;
    ant_layout_init(&lay, &du_model);
    memset(out, 0, sizeof *out);
    out->n = lay.total;
    out->w = malloc(out->n * sizeof *out->w);
    out->g = calloc(out->n, sizeof *out->g);
    memcpy(out->w, init, out->n * sizeof *out->w);
    int32_t tok[DU_MICRO][DU_B * 8], tgt[DU_MICRO][DU_B * 8];
    struct ant_batch mb[DU_MICRO];
    int rc_ = -1;
    if (dispatch_open(&d, rc, DU_B, &e) < 0 || dispatch_weights_changed(d, out->w, &e) < 0)
        goto done;
    for (int s = 0; s < DU_STEPS; s++) {
        for (int m = 0; m < DU_MICRO; m++) {
            du_batch(tok[m], tgt[m], s, m);
            mb[m] = (struct ant_batch){DU_B, du_model.seq_len, tok[m], tgt[m]};
        }
        int r = dispatch_train_step(d, out->w, mb, DU_MICRO, out->g, out->n, &out->loss[s],
                                    &out->norm[s], &e);
        if (r < 0) {
            rc_ = r;
            goto done;
        }
        for (size_t i = 0; i < out->n; i++) out->w[i] -= 0.5f * out->g[i];
        if (dispatch_weights_changed(d, out->w, &e) < 0) goto done;
        out->steps_done++;
    }
    rc_ = 0;
done:
    snprintf(out->err, sizeof out->err, "%s", e.msg);
    if (d) {
        out->switches = dispatch_switches(d);
        snprintf(out->backend, sizeof out->backend, "%s", dispatch_backend_name(d));
        dispatch_close(d);
    }
    return rc_;
}

static void du_free(struct du_run *r)
{
    free(r->w);
    free(r->g);
}

#endif
