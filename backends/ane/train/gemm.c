/* Matrix products on the device in the M1 form (gemm.h). */
#define _POSIX_C_SOURCE 200809L
#include "ane/train/gemm.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ane/device/device.h"
#include "ane/device/kcache.h"
#include "ane/mil/mil_build.h"
#include "ane/train/stage.h"
#include "base/blas.h"
#include "base/fileio.h"
#include "base/rng.h"

struct shape {                  /* one compiled product: [M, K] · [K, P], K padded */
    int M, K, P;
    int k_used;                 /* columns of a (rows of b) the caller fills; the rest stay 0 */
    struct ane_kernel *k;
    struct ane_surface *a, *b, *out;
    struct ane_request *req;
    int on_cpu;                 /* failed its self-test: OpenBLAS does it */
    struct shape *next;
};

struct at_gemm {
    struct ant_chip chip;       /* the profile, as the device checks programs against it */
    struct ant_chip build;      /* its copy with the dialect the builder writes in */
    struct at_gemm_opts o;
    struct ane_device *dev;
    struct shape *shapes;
    struct at_scratch sc;
    struct at_gemm_stats st;
    int dialect_known;          /* a compile has succeeded in the current dialect */
    char memory[1400];          /* the file remembering the dialect */
    char err[512];
};

static int gfail(struct at_gemm *g, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g->err, sizeof g->err, fmt, ap);
    va_end(ap);
    return -1;
}

static void say(struct at_gemm *g, int level, const char *fmt, ...)
{
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (g->o.host && g->o.host->log) g->o.host->log(level, g->o.who, "%s", msg);
}

static void set_dialect(struct at_gemm *g, int verbose)
{
    g->build.mil_program = verbose ? "1.0" : "1.3";   /* §3.1 */
    g->build.mil_target = verbose ? "ios16" : "ios18";
    g->build.mil_verbose_scalars = verbose;
    g->st.verbose_dialect = verbose;
}

/* <dir>/dialect-<chip>-<os build>: dir the compile cache's folder (or memory_dir), the OS
 * build as the compile cache keys it. */
static void memory_path(struct at_gemm *g)
{
    char base[900], os[128];
    struct ant_err e;
    if (g->o.memory_dir) snprintf(base, sizeof base, "%s", g->o.memory_dir);
    else if (ane_kcache_default_dir(base, sizeof base, &e)) return;   /* nowhere: not remembered */
    ane_os_build(os, sizeof os);
    snprintf(g->memory, sizeof g->memory, "%s/dialect-%s-%s", base, g->chip.name, os);
    for (char *p = g->memory + strlen(base) + 1; *p; p++)
        if (*p == ' ' || *p == '/') *p = '_';
}

static int remembered(struct at_gemm *g)   /* 1 verbose, 0 modern, -1 unknown */
{
    char buf[16] = "";
    FILE *f = *g->memory ? fopen(g->memory, "r") : NULL;
    if (!f) return -1;
    int n = fgets(buf, sizeof buf, f) != NULL;
    fclose(f);
    return !n ? -1 : !strncmp(buf, "verbose", 7) ? 1 : !strncmp(buf, "modern", 6) ? 0 : -1;
}

static void remember(struct at_gemm *g)
{
    char dir[sizeof g->memory];
    struct ant_err e;
    snprintf(dir, sizeof dir, "%s", g->memory);
    char *slash = strrchr(dir, '/');
    if (!*g->memory || !slash) return;
    *slash = 0;
    FILE *f = file_make_dirs(dir, 0700, &e) ? NULL : fopen(g->memory, "w");
    if (f) {
        fprintf(f, "%s\n", g->st.verbose_dialect ? "verbose" : "modern");
        fclose(f);
    }
}

static char *kernel_text(struct at_gemm *g, int M, int K, int P, struct ant_err *e)
{
    struct mil_builder *b = milb_new(&g->build);
    mil_v x, y;
    if (g->o.swap_inputs) {   /* test knob: the larger input first breaks §7.3's order */
        y = milb_input(b, "gemm_rhs", MIL_FP16, MIL_SHAPE(1, K, P));
        x = milb_input(b, "gemm_lhs", MIL_FP16, MIL_SHAPE(1, M, K));
    } else {
        x = milb_input(b, "gemm_lhs", MIL_FP16, MIL_SHAPE(1, M, K));
        y = milb_input(b, "gemm_rhs", MIL_FP16, MIL_SHAPE(1, K, P));
    }
    milb_output(b, milb_matmul(b, "gemm_out", x, y, 0, 0));
    char *text = milb_text(b, e);
    milb_free(b);
    return text;
}

/* Compile (retrying once in the other dialect before any compile has worked). */
static struct ane_kernel *compile(struct at_gemm *g, int M, int K, int P)
{
    char first[sizeof ((struct ant_err *)0)->msg + 32] = "";
    for (int attempt = 0; attempt < 2; attempt++) {
        struct ant_err e;
        double t0 = ant_now_ms();
        char *text = kernel_text(g, M, K, P, &e);
        struct ane_kernel *k = text ? ane_compile(g->dev, text, strlen(text), NULL, "gemm", &e) : NULL;
        free(text);
        g->st.compile_ms += ant_now_ms() - t0;
        if (k) {
            g->st.compiles++;
            if (!g->dialect_known) {
                g->dialect_known = 1;
                remember(g);
            }
            return k;
        }
        if (g->dialect_known || attempt)
            return gfail(g, "gemm %dx%dx%d: %s%s%s", M, K, P, first, *first ? "; then " : "", e.msg), NULL;
        snprintf(first, sizeof first, "program %s: %s", g->build.mil_program, e.msg);
        say(g, ANT_LOG_WARN, "program %s refused (%s); retrying in program %s",
            g->build.mil_program, e.msg, g->st.verbose_dialect ? "1.3" : "1.0");
        set_dialect(g, !g->st.verbose_dialect);
        g->st.retries++;
    }
    return NULL;
}

static int run_device(struct at_gemm *g, struct shape *s)
{
    struct ant_err e;
    double t0 = ant_now_ms();
    if (ane_eval(s->req, &e)) return gfail(g, "gemm %dx%dx%d: %s", s->M, s->K, s->P, e.msg);
    g->st.eval_ms += ant_now_ms() - t0;
    g->st.evals++;
    return 0;
}

/* Random inputs through the new kernel against double precision: a kernel that gives
 * zeros or garbage (§7.3) is left to OpenBLAS. */
static int self_test(struct at_gemm *g, struct shape *s)
{
    int M = s->M, K = s->K, P = s->P;
    float *a = malloc(sizeof(float) * M * K), *b = malloc(sizeof(float) * K * P);
    float *c = malloc(sizeof(float) * M * P);
    struct ant_err e;
    struct ant_rng r;
    rng_seed(&r, 7);
    if (!a || !b || !c) return free(a), free(b), free(c), gfail(g, "out of memory");
    for (int i = 0; i < M * K; i++) a[i] = (float)rng_normal(&r);
    for (int i = 0; i < K * P; i++) b[i] = (float)rng_normal(&r);
    int rc = at_put(&g->sc, s->a, K, (struct at_rect){0, M, 0, K}, a, K, 0, &e) ||
             at_put(&g->sc, s->b, P, (struct at_rect){0, K, 0, P}, b, P, 0, &e) ? gfail(g, "%s", e.msg)
             : run_device(g, s);
    if (rc == 0 && at_get(&g->sc, s->out, P, (struct at_rect){0, M, 0, P}, c, P, 0, 1.0f, 0, &e))
        rc = gfail(g, "%s", e.msg);
    double num = 0, den = 0;
    for (int i = 0; rc == 0 && i < M; i++)
        for (int j = 0; j < P; j++) {
            double ref = 0;
            for (int k = 0; k < K; k++) ref += (double)a[i * K + k] * b[k * P + j];
            num += (c[i * P + j] - ref) * (c[i * P + j] - ref), den += ref * ref;
        }
    double err = den > 0 ? sqrt(num / den) : 1;
    struct ane_surface *in[2] = {s->a, s->b};   /* real calls rely on zero padding */
    for (int i = 0; i < 2; i++) {
        memset(ane_surface_lock(in[i], 0), 0, ane_surface_size(in[i]));
        ane_surface_unlock(in[i], 0);
    }
    if (rc == 0 && !(err < 2e-2)) {   /* fp16 inputs and output: ~1e-3 when right */
        s->on_cpu = 1;
        g->st.replaced++;
        say(g, ANT_LOG_WARN, "kernel gemm %dx%dx%d failed its self-test on the device (relative "
            "error %.2g; docs/ane.md §7.3): OpenBLAS runs it for this run", M, K, P, err);
    }
    free(a), free(b), free(c);
    return rc;
}

static struct shape *shape_for(struct at_gemm *g, int M, int K, int k_used, int P)
{
    for (struct shape *s = g->shapes; s; s = s->next)
        if (s->M == M && s->K == K && s->k_used == k_used && s->P == P) return s;
    struct shape *s = calloc(1, sizeof *s);
    struct ant_err e;
    if (!s) return gfail(g, "out of memory"), NULL;
    s->M = M, s->K = K, s->k_used = k_used, s->P = P;
    s->next = g->shapes;
    g->shapes = s;
    if (!(s->k = compile(g, M, K, P))) return NULL;
    g->st.kernels++;
    struct ane_surface *in[2];
    if (!(s->a = ane_surface_new(g->dev, (size_t)M * K * 2, &e)) ||
        !(s->b = ane_surface_new(g->dev, (size_t)K * P * 2, &e)) ||
        !(s->out = ane_surface_new(g->dev, (size_t)M * P * 2, &e)))
        return gfail(g, "gemm surfaces: %s", e.msg), NULL;
    in[0] = g->o.swap_inputs ? s->b : s->a;
    in[1] = g->o.swap_inputs ? s->a : s->b;
    if (!(s->req = ane_request_new(s->k, in, 2, &s->out, 1, &e)))
        return gfail(g, "gemm request: %s", e.msg), NULL;
    return self_test(g, s) ? NULL : s;
}

struct at_gemm *at_gemm_open(const struct ant_chip *chip, const struct at_gemm_opts *o, char *why,
                             size_t why_len)
{
    struct at_gemm *g = calloc(1, sizeof *g);
    struct ant_err e;
    if (!g) return snprintf(why, why_len, "out of memory"), NULL;
    g->chip = g->build = *chip;
    g->o = *o;
    memory_path(g);
    int want = !strcmp(o->dialect, "modern") ? 0 : !strcmp(o->dialect, "verbose") ? 1 : remembered(g);
    set_dialect(g, want >= 0 ? want : chip->mil_verbose_scalars);
    if (!(g->dev = ane_open(o->device, &g->chip, &e)) ||
        ane_cache_configure(g->dev, NULL, 0, o->cache, &e)) {
        snprintf(why, why_len, "device %s: %s", o->device, e.msg);
        ane_close(g->dev);
        free(g);
        return NULL;
    }
    return g;
}

void at_gemm_close(struct at_gemm *g)
{
    if (!g) return;
    while (g->shapes) {
        struct shape *s = g->shapes;
        g->shapes = s->next;
        ane_request_free(s->req);
        ane_surface_free(s->a), ane_surface_free(s->b), ane_surface_free(s->out);
        ane_kernel_free(s->k);
        free(s);
    }
    ane_close(g->dev);
    at_scratch_free(&g->sc);
    free(g);
}

static void cpu_gemm(float *C, const float *A, int lda, int ta, const float *B, int ldb, int tb,
                     int M, int K, int P, float alpha, float beta)
{
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                M, P, K, alpha, A, lda, B, ldb, beta, C, P);
}

int at_gemm(struct at_gemm *g, float *C, const float *A, int lda, int ta, const float *B, int ldb,
            int tb, int M, int K, int P, float alpha, float beta)
{
    int Kp = g->o.no_pad ? K : (K + 31) / 32 * 32;       /* §7.3: K a multiple of 32 */
    int Mc = g->o.no_chunks || M < P ? M : P;             /* §7.3: a's bytes <= b's */
    struct shape *s = shape_for(g, Mc, Kp, K, P);
    struct ant_err e;
    if (!s) return -1;
    if (s->on_cpu) {
        cpu_gemm(C, A, lda, ta, B, ldb, tb, M, K, P, alpha, beta);
        g->st.cpu_flops += 2.0 * M * K * P;
        return 0;
    }
    if (beta != 0.0f && beta != 1.0f)
        for (size_t i = 0; i < (size_t)M * P; i++) C[i] *= beta;
    if (at_put(&g->sc, s->b, P, (struct at_rect){0, K, 0, P}, B, ldb, tb, &e)) return gfail(g, "%s", e.msg);
    for (int m0 = 0; m0 < M; m0 += Mc) {
        int rows = M - m0 < Mc ? M - m0 : Mc;
        const float *a0 = ta ? A + m0 : A + (size_t)m0 * lda;
        if (rows < Mc) {   /* rows past M: zeros, so the one kernel serves every chunk */
            uint16_t *p = ane_surface_lock(s->a, 0);
            memset(p + (size_t)rows * Kp, 0, (size_t)(Mc - rows) * Kp * 2);
            ane_surface_unlock(s->a, 0);
        }
        if (at_put(&g->sc, s->a, Kp, (struct at_rect){0, rows, 0, K}, a0, lda, ta, &e))
            return gfail(g, "%s", e.msg);
        if (run_device(g, s)) return -1;
        if (at_get(&g->sc, s->out, P, (struct at_rect){0, rows, 0, P}, C + (size_t)m0 * P, P, 0,
                   alpha, beta != 0.0f, &e))
            return gfail(g, "%s", e.msg);
        g->st.staged_bytes += 2.0 * rows * K;
    }
    g->st.staged_bytes += 2.0 * K * P;
    g->st.device_flops += 2.0 * M * K * P;
    return 0;
}

void at_gemm_stats(const struct at_gemm *g, struct at_gemm_stats *s) { *s = g->st; }
const char *at_gemm_error(const struct at_gemm *g) { return g->err; }
