/* A one-layer model small enough for any backend, run once forward and backward. */
#include <config.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dispatch/host.h"
#include "base/rng.h"
#include "dispatch/selftest.h"

/* Channel counts multiples of 32 and T = 32 so ANE backends can take it (§2.2). */
static const struct ant_model_config st_model = {
    .dim = 64, .hidden_dim = 128, .n_layers = 1, .n_heads = 4, .n_kv_heads = 2,
    .vocab_size = 64, .seq_len = 32, .shared_classifier = 1, .rope_theta = 10000.0f,
    .norm_eps = 1e-5f,
};
enum { ST_B = 2 };

struct st_run { const struct ant_module *m; void *ctx; };

static int st_open(const struct ant_module *m, const struct ant_chip *chip, struct st_run *r,
                   char *why, size_t n)
{
    struct ant_open_args a = {sizeof a, &st_model, chip, m->settings, ST_B, 1};
    r->m = m;
    r->ctx = NULL;
    why[0] = 0;
    if (m->b->open(host_get(), &a, &r->ctx, why, n) != 0 || !r->ctx) {
        if (!why[0]) snprintf(why, n, "open failed");
        return -1;
    }
    return 0;
}

static int st_step(struct st_run *r, const float *w, const struct ant_batch *b, float *g,
                   float *loss, char *why, size_t n)
{
    const struct ant_backend *be = r->m->b;
    if ((be->weights_changed && be->weights_changed(r->ctx, w) != 0) ||
        be->train_step(r->ctx, w, b, g, 1.0f, loss) != 0) {
        const char *e = be->last_error(r->ctx);
        snprintf(why, n, "%s", e && *e ? e : "call failed");
        return -1;
    }
    return 0;
}

/* Central differences of the loss on the k coordinates with the largest gradients. */
static double fd_error(struct st_run *r, float *w, const struct ant_batch *b, const float *g,
                       size_t n, char *why, size_t why_len)
{
    enum { K = 6 };
    size_t top[K] = {0};
    for (size_t i = 0; i < n; i++)
        for (int k = 0; k < K; k++)
            if (fabsf(g[i]) > fabsf(g[top[k]])) {
                memmove(top + k + 1, top + k, sizeof *top * (K - 1 - k));
                top[k] = i;
                break;
            }
    float *scratch = calloc(n, sizeof *scratch);
    double worst = 0;
    const float h = 1e-2f;
    for (int k = 0; k < K && scratch; k++) {
        float keep = w[top[k]], lp, lm;
        w[top[k]] = keep + h;
        int bad = st_step(r, w, b, scratch, &lp, why, why_len);
        w[top[k]] = keep - h;
        bad |= st_step(r, w, b, scratch, &lm, why, why_len);
        w[top[k]] = keep;
        if (bad) {
            worst = NAN;
            break;
        }
        double fd = ((double)lp - lm) / (2.0 * h);
        double err = fabs(fd - g[top[k]]) / fmax(fabs(fd), 1e-6);
        worst = fmax(worst, err);
    }
    free(scratch);
    return worst;
}

int selftest_run(const struct ant_registry *reg, int idx, int ref, const struct ant_chip *chip,
                 struct selftest_result *out)
{
    struct ant_layout lay;
    struct ant_rng rng;
    ant_layout_init(&lay, &st_model);
    memset(out, 0, sizeof *out);
    size_t n = lay.total;
    float *w = malloc(n * sizeof *w), *g = calloc(n, sizeof *g), *gr = calloc(n, sizeof *gr);
    int32_t tok[ST_B * 32], tgt[ST_B * 32];
    struct ant_batch b = {ST_B, st_model.seq_len, tok, tgt};
    struct st_run run = {0}, rrun = {0};
    int rc = -1;
    if (!w || !g || !gr) {
        snprintf(out->err, sizeof out->err, "out of memory");
        goto done;
    }
    rng_seed(&rng, 1234);
    for (size_t i = 0; i < n; i++) w[i] = (float)(0.05 * rng_normal(&rng));
    for (int l = 0; l < st_model.n_layers; l++)
        for (int j = 0; j < st_model.dim; j++) {
            ant_tensor(w, &lay, ANT_RMS_ATT, l)[j] = 1.0f;
            ant_tensor(w, &lay, ANT_RMS_FFN, l)[j] = 1.0f;
        }
    for (int j = 0; j < st_model.dim; j++) ant_tensor(w, &lay, ANT_RMS_FINAL, 0)[j] = 1.0f;
    for (int i = 0; i < ST_B * st_model.seq_len; i++) {
        tok[i] = (int32_t)rng_below(&rng, (uint64_t)st_model.vocab_size);
        tgt[i] = (int32_t)rng_below(&rng, (uint64_t)st_model.vocab_size);
    }
    float loss = 0, lref = 0;
    if (st_open(&reg->mods[idx], chip, &run, out->err, sizeof out->err) < 0 ||
        st_step(&run, w, &b, g, &loss, out->err, sizeof out->err) < 0)
        goto done;
    out->loss = loss;
    out->stats.size = sizeof out->stats;
    if (!run.m->b->stats || run.m->b->stats(run.ctx, &out->stats)) out->stats.size = 0;
    if (idx == ref || ref < 0) {
        out->against = "finite differences";
        out->loss_ref = loss;
        out->grad_err = fd_error(&run, w, &b, g, n, out->err, sizeof out->err);
        out->pass = out->grad_err < 5e-2;
    } else {
        out->against = reg->mods[ref].name;
        if (st_open(&reg->mods[ref], chip, &rrun, out->err, sizeof out->err) < 0 ||
            st_step(&rrun, w, &b, gr, &lref, out->err, sizeof out->err) < 0)
            goto done;
        double d2 = 0, r2 = 0;
        for (size_t i = 0; i < n; i++) {
            d2 += ((double)g[i] - gr[i]) * ((double)g[i] - gr[i]);
            r2 += (double)gr[i] * gr[i];
        }
        out->loss_ref = lref;
        out->loss_err = fabs((double)loss - lref) / fmax(fabs(lref), 1e-12);
        out->grad_err = sqrt(d2) / fmax(sqrt(r2), 1e-30);
        /* fp16 compute keeps ~3 decimal digits; 1e-2 relative leaves room for sums. */
        out->pass = out->loss_err < 1e-2 && out->grad_err < 5e-2;
    }
    rc = isfinite(out->grad_err) ? 0 : -1;
done:
    if (run.ctx) run.m->b->close(run.ctx);
    if (rrun.ctx) rrun.m->b->close(rrun.ctx);
    free(w);
    free(g);
    free(gr);
    return rc;
}
