/* The cpu backend through its ABI struct, the way the core uses it: the preloadable copy
 * linked in, and the installable module opened with libltdl from the build tree. */
#include <anetrain/backend.h>
#include <ltdl.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "base/rng.h"
#include "tap.h"

int ant_cpu_LTX_ant_backend_entry(const struct ant_host *host, const struct ant_backend **out);

static void host_log(int level, const char *who, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("# %s: ", who);
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
}

static const struct ant_host host = {ANT_ABI_MAJOR, ANT_ABI_MINOR, sizeof host, host_log};
static const struct ant_chip chip = {.size = sizeof chip, .name = "none", .family = -1};
static const struct ant_model_config cfg = {32, 64, 2, 4, 2, 37, 16, 0, 10000.0f, 1e-5f};

static double max_abs_diff(const float *a, const float *b, size_t n, double *scale)
{
    double d = 0, s = 0;
    for (size_t i = 0; i < n; i++) {
        d = fmax(d, fabs((double)a[i] - b[i]));
        s = fmax(s, fabs((double)b[i]));
    }
    *scale = s;
    return d;
}

static void *open_backend(const struct ant_backend *be, const struct ant_model_config *c,
                          char *why, size_t why_len)
{
    static const struct ant_setting_value settings[] = {
        {"threads", ANT_SET_INT, 1, 0, NULL}, {NULL, 0, 0, 0, NULL}};
    struct ant_open_args args = {sizeof args, c, &chip, settings, 2, 2};
    void *ctx = NULL;
    return be->open(&host, &args, &ctx, why, why_len) == 0 ? ctx : NULL;
}

static void test_errors(const struct ant_backend *be, void *ctx, const float *w, float *g)
{
    int32_t tok[2 * 16] = {0}, tgt[2 * 16] = {0};
    float loss, logits[37];
    tok[16 + 3] = 37;
    struct ant_batch bad = {2, 16, tok, tgt};
    ok(be->train_step(ctx, w, &bad, g, 1.0f, &loss) < 0 &&
           strstr(be->last_error(ctx), "tokens[1][3] = 37"),
       "out-of-vocabulary token refused: %s", be->last_error(ctx));
    tok[16 + 3] = 0;
    tgt[5] = -1;
    ok(be->eval_loss(ctx, w, &bad, &loss) < 0 && strstr(be->last_error(ctx), "targets[0][5]"),
       "negative target refused: %s", be->last_error(ctx));
    struct ant_batch big = {3, 16, tok, tok};
    ok(be->eval_loss(ctx, w, &big, &loss) < 0 && strstr(be->last_error(ctx), "max_batch"),
       "batch above max_batch refused: %s", be->last_error(ctx));
    struct ant_batch longer = {1, 17, tok, tok};
    ok(be->eval_loss(ctx, w, &longer, &loss) < 0 && strstr(be->last_error(ctx), "seq_len"),
       "sequence above seq_len refused: %s", be->last_error(ctx));
    ok(be->logits(ctx, w, tok, 0, logits) < 0, "logits of an empty prefix refused: %s",
       be->last_error(ctx));

    struct ant_model_config odd = cfg;
    odd.n_kv_heads = 3;
    char why[256] = "";
    ok(open_backend(be, &odd, why, sizeof why) == NULL && strstr(why, "n_kv_heads"),
       "open refuses n_kv_heads not dividing n_heads: %s", why);
}

int main(void)
{
    const struct ant_backend *be = NULL;
    ok(ant_cpu_LTX_ant_backend_entry(&host, &be) == 0 && be, "entry point returns the struct");
    ok(be->abi_major == ANT_ABI_MAJOR && be->size == sizeof *be && !strcmp(be->name, "cpu"),
       "ABI %u, size %u, name %s", be->abi_major, be->size, be->name);
    int prio = -1;
    const char *why_not = NULL;
    int rc = be->probe(&host, &chip, &prio, &why_not);
    ok(rc == 0 && prio == 10, "probe accepts, priority %d", prio);
    ok(be->settings && !strcmp(be->settings[0].key, "threads") &&
           !strcmp(be->settings[0].default_value, "0"),
       "declares the threads setting, default 0");

    char why[256] = "";
    void *ctx = open_backend(be, &cfg, why, sizeof why);
    if (!ok(ctx != NULL, "open")) {
        diag("%s", why);
        return tap_done();
    }

    /* a fresh llama2.c-style init (matrices N(0, 0.02), norms 1) */
    struct ant_layout lay;
    ant_layout_init(&lay, &cfg);
    float *w = malloc(lay.total * sizeof *w);
    float *g1 = calloc(lay.total, sizeof *g1), *g2 = calloc(lay.total, sizeof *g2);
    struct ant_rng rng;
    rng_seed(&rng, 7);
    for (int id = 0; id < ANT_N_TENSORS; id++)
        for (size_t i = 0; i < lay.per_layer[id] * (lay.layered[id] ? cfg.n_layers : 1); i++)
            w[lay.offset[id] + i] =
                ant_tensor_is_norm(id) ? 1.0f : (float)(0.02 * rng_normal(&rng));
    int32_t tok[2 * 16], tgt[2 * 16];
    for (int i = 0; i < 2 * 16; i++) tok[i] = (int32_t)rng_below(&rng, cfg.vocab_size);
    for (int i = 0; i < 2 * 16; i++) tgt[i] = i + 1 < 32 ? tok[i + 1] : 0;
    struct ant_batch batch = {2, 16, tok, tgt};

    float loss1 = 0, loss_a = 0, loss_b = 0, eval = 0;
    ok(be->train_step(ctx, w, &batch, g1, 1.0f, &loss1) == 0, "train_step, grad_scale 1");
    is_close(loss1, log(cfg.vocab_size), 0.05, 0, "fresh model's loss is about ln(vocab)");
    ok(be->train_step(ctx, w, &batch, g2, 0.5f, &loss_a) == 0 &&
           be->train_step(ctx, w, &batch, g2, 0.5f, &loss_b) == 0,
       "train_step twice, grad_scale 0.5");
    ok(loss_a == loss1 && loss_b == loss1, "same loss every time (%.9g)", loss1);
    double scale, d = max_abs_diff(g2, g1, lay.total, &scale);
    if (!ok(scale > 0 && d <= 1e-6 * scale, "two half-scaled steps add up to one full step"))
        diag("max difference %.3g, largest gradient %.3g", d, scale);
    ok(be->eval_loss(ctx, w, &batch, &eval) == 0, "eval_loss");
    is_close(eval, loss1, 0, 1e-7, "eval_loss equals train_step's loss");

    /* logits after each prefix of sequence 1 give the per-position losses; their mean is
     * the loss of the full forward over that sequence */
    struct ant_batch one = {1, 16, tok + 16, tgt + 16};
    float seq_loss = 0, logits[37];
    double sum = 0;
    int good = be->eval_loss(ctx, w, &one, &seq_loss) == 0;
    for (int n = 1; n <= 16 && good; n++) {
        good = be->logits(ctx, w, tok + 16, n, logits) == 0;
        double mx = logits[0], z = 0;
        for (int j = 1; j < 37; j++) mx = fmax(mx, logits[j]);
        for (int j = 0; j < 37; j++) z += exp(logits[j] - mx);
        sum += mx + log(z) - logits[tgt[16 + n - 1]];
    }
    ok(good, "logits for every prefix length 1..16");
    is_close(sum / 16, seq_loss, 0, 1e-5,
             "logits at each last position match the full forward");

    struct ant_backend_stats st = {.size = sizeof st};
    rc = be->stats ? be->stats(ctx, &st) : -1;
    ok(rc == 0 && st.flops > 0 && st.evals == 21 && st.forward_ms > 0,
       "stats: %ld evals, %.3g flops, %.3f ms forward, %.3f ms backward", st.evals, st.flops,
       st.forward_ms, st.backward_ms);

    test_errors(be, ctx, w, g2);

    /* the installable module: found with libltdl under ANETRAIN_PLUGIN_PATH, same numbers */
    const char *dir = getenv("ANETRAIN_PLUGIN_PATH");
    if (dir && lt_dlinit() == 0) {
        char path[1024];
        snprintf(path, sizeof path, "%s/ant_cpu", dir);
        lt_dlhandle h = lt_dlopenext(path);
        int (*entry)(const struct ant_host *, const struct ant_backend **) =
            h ? (int (*)(const struct ant_host *, const struct ant_backend **))lt_dlsym(
                    h, "ant_backend_entry")
              : NULL;
        const struct ant_backend *mod = NULL;
        void *mctx = NULL;
        float mloss = 0;
        if (ok(entry && entry(&host, &mod) == 0 && mod != be, "module %s loads, entry found",
               path) &&
            ok((mctx = open_backend(mod, &cfg, why, sizeof why)) != NULL, "module opens")) {
            rc = mod->eval_loss(mctx, w, &batch, &mloss);
            ok(rc == 0 && mloss == eval, "module's loss equals the preloaded copy's (%.9g)",
               mloss);
            mod->close(mctx);
        } else if (!h) {
            diag("%s", lt_dlerror());
        }
        if (h) lt_dlclose(h);
        lt_dlexit();
    } else {
        diag("ANETRAIN_PLUGIN_PATH unset: the installable module is not checked");
    }

    be->close(ctx);
    free(w), free(g1), free(g2);
    return tap_done();
}
