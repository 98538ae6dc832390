/* CPU backend speed: the machine's sgemm peak measured in the same run, then training
 * steps (forward + backward) of the stories models, as ms/step, tokens/s, GFLOP/s of the
 * matmuls done and % of that peak. Prints figures; never fails on time.
 *
 *   bench/bench_cpu [--model 15M|110M|all] [--steps N] [--threads N] [--batch B] */
#include "base/blas.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/model.h"
#include "dispatch/cpufeat.h"
#include "base/rng.h"
#include "bench_util.h"

static void bench_model(const char *name, const struct ant_model_config *c, int batch,
                        int steps, double peak)
{
    struct ant_layout lay;
    ant_layout_init(&lay, c);
    float *w = malloc(lay.total * sizeof *w), *g = calloc(lay.total, sizeof *g);
    int n = batch * c->seq_len;
    int32_t *tok = malloc(sizeof(int32_t) * (n + 1));
    char why[256];
    struct cpu_model *m = cpu_model_create(c, batch, why, sizeof why);
    if (!w || !g || !tok || !m) {
        printf("%s: %s\n", name, m ? "out of memory" : why);
        goto out;
    }
    struct ant_rng r;
    rng_seed(&r, 1);
    for (size_t i = 0; i < lay.total; i++) w[i] = (float)((rng_uniform(&r) - 0.5) * 0.04);
    for (int i = 0; i <= n; i++) tok[i] = (int32_t)rng_below(&r, c->vocab_size);

    double *fwd = malloc(sizeof(double) * steps), *tot = malloc(sizeof(double) * steps);
    float loss = 0;
    for (int s = -1; s < steps; s++) {   /* step -1 warms up */
        double t0 = now_ms();
        int rc = cpu_model_forward(m, w, tok, tok + 1, batch, c->seq_len, &loss);
        double t1 = now_ms();
        if (rc || cpu_model_backward(m, w, g, 1.0f)) {
            printf("%s: %s\n", name, cpu_model_error(m));
            free(fwd), free(tot);
            goto out;
        }
        if (s >= 0) fwd[s] = t1 - t0, tot[s] = now_ms() - t0;
    }
    qsort(fwd, steps, sizeof *fwd, cmp_double);
    qsort(tot, steps, sizeof *tot, cmp_double);
    double ms = tot[steps / 2], flops = ant_model_flops(c, batch, c->seq_len, 1);
    double gflops = flops / (ms * 1e6);
    printf("%-12s B=%d T=%d: %8.1f ms/step (fwd %.1f, bwd %.1f; median of %d), %7.0f tok/s, "
           "%.1f GFLOP/step, %6.1f GFLOP/s = %4.1f%% of peak  (loss %.3f)\n",
           name, batch, c->seq_len, ms, fwd[steps / 2], ms - fwd[steps / 2], steps,
           n / (ms / 1e3), flops / 1e9, gflops, 100 * gflops / peak, loss);
    free(fwd), free(tot);
out:
    cpu_model_free(m);
    free(w), free(g), free(tok);
}

int main(int argc, char **argv)
{
    blas_env_prepare(argv);
    const char *which = "all";
    int steps = 3, threads = 0, batch = 1;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--model")) which = argv[i + 1];
        else if (!strcmp(argv[i], "--steps")) steps = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--threads")) threads = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--batch")) batch = atoi(argv[i + 1]);
        else {
            fprintf(stderr, "bench_cpu: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    if (steps < 1 || batch < 1) {
        fprintf(stderr, "bench_cpu: --steps and --batch must be >= 1\n");
        return 2;
    }
    if (threads > 0) ant_blas_set_threads(threads);
    const char *coretype = getenv("OPENBLAS_CORETYPE");
    printf("OpenBLAS core %s, %d threads (OPENBLAS_CORETYPE=%s)\ncpu: %s\n",
           ant_blas_core(), ant_blas_threads(), coretype ? coretype : "unset",
           cpufeat_string());
    double peak = sgemm_peak(2048);
    printf("sgemm peak (2048^3, best of 5): %.1f GFLOP/s\n", peak);

    /* llama2.c's stories presets (shared classifier, vocab 32000) at seq 256 */
    struct ant_model_config s15 = {288, 768, 6, 6, 6, 32000, 256, 1, 10000.0f, 1e-5f};
    struct ant_model_config s110 = {768, 2048, 12, 12, 12, 32000, 256, 1, 10000.0f, 1e-5f};
    if (!strcmp(which, "15M") || !strcmp(which, "all"))
        bench_model("stories15M", &s15, batch, steps + 2, peak);
    if (!strcmp(which, "110M") || !strcmp(which, "all"))
        bench_model("stories110M", &s110, batch, steps, peak);
    return 0;
}
