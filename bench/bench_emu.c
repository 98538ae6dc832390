/* bench_emu: one transformer FFN layer, forward + backward (the activation gradient,
 * §5.2 fwdFFN and ffnBwd), on the ANE emulator against the same arithmetic on the CPU
 * backend's ops (backends/cpu/ops.h). Never fails on time.
 *
 * What is timed, per iteration:
 *   emulator: fp16-encode x into a surface, eval the forward kernel, decode its taps,
 *     repack [dy | h1 | h3], encode, eval the backward kernel, decode dx: the host work
 *     of an ANE backend per layer plus the emulated kernels (3 + 3 sgemm, all
 *     elementwise ops rounded to fp16).
 *   cpu ops: the same six sgemm shapes and SwiGLU forward/backward in fp32, with no
 *     conversions (there are none to do on the CPU).
 * Both run on the same OpenBLAS with the same thread count, alternately in one loop
 * (so both see the same machine load), after a warm-up; the figures are medians.
 * The emulator's dx checksum (FNV-1a of its fp16 bits) shows whether its numerics
 * changed between builds.
 * Usage: bench_emu [D H T iters [threads]]   (default: stories15M, 288 768 256 21) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/blas.h"

#include "ane/device/device.h"
#include "ane/base/fp16.h"
#include "ane/mil/mil_build.h"
#include "cpu/ops.h"
#include "base/rng.h"

static int D = 288, H = 768, T = 256, ITERS = 21;
enum { WARMUP = 3 };

static struct ane_kernel *compile(struct ane_device *d, struct mil_builder *b, struct ane_weights *w)
{
    struct ant_err e;
    char *text = milb_text(b, &e);
    milb_free(b);
    struct ane_kernel *k = text ? ane_compile(d, text, strlen(text), w, "bench", &e) : NULL;
    free(text);
    if (!k) fprintf(stderr, "bench_emu: %s\n", e.msg);
    return k;
}

/* fwd: x [1,D,1,T] -> y = W2 (silu(W1 x) * W3 x), taps h1, h3 (channel concat) */
static struct ane_kernel *ffn_fwd(struct ane_device *d, struct ane_weights *w, float *const *W)
{
    struct mil_builder *b = milb_new(ane_chip(d));
    mil_v x = milb_input(b, "x_in", MIL_FP16, MIL_SHAPE(1, D, 1, T));
    mil_v h1 = milb_conv(b, "h1", x, milb_weight(b, "w1", w, "w1.bin", MIL_SHAPE(H, D, 1, 1), W[0]));
    mil_v h3 = milb_conv(b, "h3", x, milb_weight(b, "w3", w, "w3.bin", MIL_SHAPE(H, D, 1, 1), W[2]));
    mil_v gate = milb_mul(b, "gate", milb_mul(b, "silu", h1, milb_sigmoid(b, "sig", h1)), h3);
    mil_v y = milb_conv(b, "y", gate, milb_weight(b, "w2", w, "w2.bin", MIL_SHAPE(D, H, 1, 1), W[1]));
    milb_output(b, milb_concat(b, "taps", 1, 3, (mil_v[]){y, h1, h3}));
    return compile(d, b, w);
}

/* bwd: [dy | h1 | h3] -> dx = W1^T dh1 + W3^T dh3 (transposed blobs, §3.7) */
static struct ane_kernel *ffn_bwd(struct ane_device *d, struct ane_weights *w, float *const *Wt)
{
    struct mil_builder *b = milb_new(ane_chip(d));
    mil_v in = milb_input(b, "packed", MIL_FP16, MIL_SHAPE(1, D + 2 * H, 1, T));
    mil_v dy = milb_slice(b, "dy", in, MIL_SHAPE(0, 0, 0, 0), MIL_SHAPE(1, D, 1, T));
    mil_v h1 = milb_slice(b, "h1", in, MIL_SHAPE(0, D, 0, 0), MIL_SHAPE(1, H, 1, T));
    mil_v h3 = milb_slice(b, "h3", in, MIL_SHAPE(0, D + H, 0, 0), MIL_SHAPE(1, H, 1, T));
    mil_v dg = milb_conv(b, "dgate", dy, milb_weight(b, "w2t", w, "w2t.bin", MIL_SHAPE(H, D, 1, 1), Wt[1]));
    mil_v sg = milb_sigmoid(b, "sig", h1);
    mil_v one = milb_scalar(b, "one", 1.0f);
    /* dsilu = sig * (1 + h1 * (1 - sig)) */
    mil_v ds = milb_mul(b, "dsilu", sg, milb_add(b, "ds1", one, milb_mul(b, "ds2", h1, milb_sub(b, "ds3", one, sg))));
    mil_v dh1 = milb_mul(b, "dh1", milb_mul(b, "dh1a", dg, h3), ds);
    mil_v dh3 = milb_mul(b, "dh3", dg, milb_mul(b, "silu", h1, sg));
    mil_v dx1 = milb_conv(b, "dx1", dh1, milb_weight(b, "w1t", w, "w1t.bin", MIL_SHAPE(D, H, 1, 1), Wt[0]));
    mil_v dx3 = milb_conv(b, "dx3", dh3, milb_weight(b, "w3t", w, "w3t.bin", MIL_SHAPE(D, H, 1, 1), Wt[2]));
    milb_output(b, milb_add(b, "dx", dx1, dx3));
    return compile(d, b, w);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void transpose(float *dst, const float *src, int rows, int cols)
{
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++) dst[(size_t)c * rows + r] = src[(size_t)r * cols + c];
}

int main(int argc, char **argv)
{
    int threads = 0;
    if (argc >= 5) D = atoi(argv[1]), H = atoi(argv[2]), T = atoi(argv[3]), ITERS = atoi(argv[4]);
    if (argc == 6) threads = atoi(argv[5]);
    if ((argc != 1 && argc != 5 && argc != 6) || D < 1 || H < 1 || T < 1 || ITERS < 1 || threads < 0)
        return fprintf(stderr, "usage: bench_emu [D H T iters [threads]]\n"), 2;
    if (threads) ant_blas_set_threads(threads);
    struct ant_chip chip = {sizeof chip, "M4", 4, "base", 1, 1, "", "1.3", "ios18", 0, 0, 1, 128, 49152, 100, 18.6, 1};
    struct ant_rng r;
    rng_seed(&r, 1);
    size_t nw = (size_t)D * H;
    float *W[3], *Wt[3];
    for (int i = 0; i < 3; i++) {
        W[i] = malloc(nw * sizeof(float)), Wt[i] = malloc(nw * sizeof(float));
        for (size_t j = 0; j < nw; j++) W[i][j] = (float)(rng_normal(&r) / sqrt(D));
    }
    /* W1, W3 [H, D]; W2 [D, H] */
    transpose(Wt[0], W[0], H, D), transpose(Wt[1], W[1], D, H), transpose(Wt[2], W[2], H, D);
    float *x = malloc((size_t)D * T * sizeof(float)), *dy = malloc((size_t)D * T * sizeof(float));
    for (size_t j = 0; j < (size_t)D * T; j++) x[j] = (float)rng_normal(&r), dy[j] = (float)rng_normal(&r);

    struct ant_err e;
    struct ane_weights wf, wb;
    weights_init(&wf), weights_init(&wb);
    struct ane_device *d = ane_open("emulator", &chip, &e);
    struct ane_kernel *kf = d ? ffn_fwd(d, &wf, W) : NULL, *kb = d ? ffn_bwd(d, &wb, Wt) : NULL;
    if (!kf || !kb) return 1;
    struct ane_surface *sx = ane_surface_for(kf, 0, 0, &e), *st = ane_surface_for(kf, 1, 0, &e);
    struct ane_surface *sp = ane_surface_for(kb, 0, 0, &e), *sd = ane_surface_for(kb, 1, 0, &e);
    struct ane_request *rf = ane_request_new(kf, &sx, 1, &st, 1, &e), *rb = ane_request_new(kb, &sp, 1, &sd, 1, &e);
    float *taps = malloc((size_t)(D + 2 * H) * T * sizeof(float)), *dx = malloc((size_t)D * T * sizeof(float));
    /* CPU: token rows [T, C] */
    float *h1 = malloc((size_t)T * H * 4), *h3 = malloc((size_t)T * H * 4), *g = malloc((size_t)T * H * 4);
    float *y = malloc((size_t)T * D * 4), *dg = malloc((size_t)T * H * 4), *da = malloc((size_t)T * H * 4),
          *dc = malloc((size_t)T * H * 4), *dxc = malloc((size_t)T * D * 4);

    double *emu_ms = malloc(ITERS * sizeof(double)), *io_ms = malloc(ITERS * sizeof(double)),
           *cpu_ms = malloc(ITERS * sizeof(double));
    for (int it = -WARMUP; it < ITERS; it++) {
        struct ane_kernel_stats f0, b0, f1, b1;
        ane_kernel_stats(kf, &f0), ane_kernel_stats(kb, &b0);
        double t0 = ant_now_ms();
        /* the host work an ANE backend does per layer: write, eval, read, repack */
        ane_surface_put(sx, MIL_FP16, 0, x, (size_t)D * T, &e);
        ane_eval(rf, &e);
        ane_surface_get(st, MIL_FP16, 0, taps, (size_t)(D + 2 * H) * T, &e);
        memcpy(taps, dy, (size_t)D * T * sizeof(float));   /* [dy | h1 | h3] */
        ane_surface_put(sp, MIL_FP16, 0, taps, (size_t)(D + 2 * H) * T, &e);
        ane_eval(rb, &e);
        ane_surface_get(sd, MIL_FP16, 0, dx, (size_t)D * T, &e);
        double t1 = ant_now_ms();
        /* x [T, D] token rows; the same products as the kernels above */
        matmul_forward(h1, x, W[0], T, D, H);
        matmul_forward(h3, x, W[2], T, D, H);
        swiglu_forward(g, h1, h3, (size_t)T * H);
        matmul_forward(y, g, W[1], T, H, D);
        matmul_backward_dx(dg, dy, W[1], T, H, D, 0);
        swiglu_backward(da, dc, dg, h1, h3, (size_t)T * H);
        matmul_backward_dx(dxc, da, W[0], T, D, H, 0);
        matmul_backward_dx(dxc, dc, W[2], T, D, H, 1);
        double t2 = ant_now_ms();
        ane_kernel_stats(kf, &f1), ane_kernel_stats(kb, &b1);
        if (it < 0) continue;
        emu_ms[it] = t1 - t0;
        io_ms[it] = (t1 - t0) - (f1.eval_ms - f0.eval_ms) - (b1.eval_ms - b0.eval_ms);
        cpu_ms[it] = t2 - t1;
    }
    uint16_t *dxh = malloc((size_t)D * T * sizeof *dxh);
    ane_surface_read(sd, 0, dxh, (size_t)D * T * sizeof *dxh, &e);
    struct ane_kernel_stats sf, sb;
    ane_kernel_stats(kf, &sf), ane_kernel_stats(kb, &sb);
    double gflop = (sf.flops_per_eval + sb.flops_per_eval) / 1e9, em = median(emu_ms, ITERS),
           cm = median(cpu_ms, ITERS);
    printf("bench_emu: FFN layer D=%d H=%d T=%d, forward+backward(dx), median of %d after %d warm-up\n",
           D, H, T, ITERS, WARMUP);
    printf("  OpenBLAS threads %d (both sides), fp16 conversion: %s\n", ant_blas_threads(),
           fp16_impl_active()->name);
    printf("  emulator  %8.2f ms  (%.2f GFLOP, %.1f GFLOP/s; host surface put/get and repacking %.2f ms of it)\n",
           em, gflop, gflop / em * 1e3, median(io_ms, ITERS));
    printf("  cpu ops   %8.2f ms  (%.1f GFLOP/s)\n", cm, gflop / cm * 1e3);
    printf("  ratio     %8.2fx  (target: within 3x)\n", em / cm);
    printf("  emulator dx checksum %016llx\n", (unsigned long long)ant_fnv1a(dxh, (size_t)D * T * sizeof *dxh, ANT_FNV_INIT));
    free(dxh), free(emu_ms), free(io_ms), free(cpu_ms);
    ane_request_free(rf), ane_request_free(rb);
    ane_surface_free(sx), ane_surface_free(st), ane_surface_free(sp), ane_surface_free(sd);
    ane_kernel_free(kf), ane_kernel_free(kb);
    ane_close(d);
    weights_free(&wf), weights_free(&wb);
    for (int i = 0; i < 3; i++) free(W[i]), free(Wt[i]);
    free(x), free(dy), free(taps), free(dx), free(h1), free(h3), free(g), free(y), free(dg), free(da), free(dc), free(dxc);
    return 0;
}
