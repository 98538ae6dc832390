/* Layers built with the MIL builder and run on the emulator agree with the CPU
 * backend's math (backends/cpu/ops.h): a linear layer as a 1x1 conv (§3.7) and a
 * causal attention block (RMSNorm, Wq/Wk/Wv convs, heads split, QK^T scaled + mask,
 * softmax, ·V, merge, Wo; §5.2 fwdAttn). A kernel without the mask must disagree. */
#include <math.h>
#include <stdio.h>

#include "cpu/ops.h"
#include "tap.h"
#include "test_ane_util.h"

enum { D = 64, H = 4, HD = D / H, T = 32 };

/* channel-first [C, T] <-> token rows [T, C] */
static void to_rows(float *rows, const float *cf, int C)
{
    for (int c = 0; c < C; c++)
        for (int t = 0; t < T; t++) rows[t * C + c] = cf[c * T + t];
}

/* relative L2 error and max abs error over max |ref| */
static void agree(const char *what, const float *got, const float *ref, int n, double tol)
{
    double num = 0, den = 0, mx = 0, mref = 0;
    for (int i = 0; i < n; i++) {
        double d = got[i] - ref[i];
        num += d * d, den += (double)ref[i] * ref[i];
        mx = fabs(d) > mx ? fabs(d) : mx;
        mref = fabs(ref[i]) > mref ? fabs(ref[i]) : mref;
    }
    double rel = sqrt(num / den);
    if (!ok(rel < tol && mx < 4 * tol * mref, "%s agrees with the CPU: rel L2 %.2e, max %.2e of %.2e", what, rel, mx, mref))
        diag("tolerance %g", tol);
}

static mil_v rmsnorm(struct mil_builder *b, struct ane_weights *w, mil_v x, const float *g)
{
    int ax[1] = {1};
    mil_v sq = milb_mul(b, "rms_sq", x, x);
    mil_v ss = milb_reduce_sum(b, "rms_ss", sq, 1, ax, 1);                  /* [1,1,1,T] */
    mil_v ms = milb_mul(b, "rms_ms", ss, milb_scalar(b, "inv_dim", 1.0f / D));
    mil_v r = milb_pow(b, "rms_r", milb_add(b, "rms_eps", ms, milb_scalar(b, "eps_val", 1e-5f)),
                       milb_scalar(b, "neg_half", -0.5f));
    mil_v xn = milb_mul(b, "rms_xr", x, r);
    return milb_mul(b, "rms_out", xn, milb_weight(b, "rms_w", w, "rms1.bin", MIL_SHAPE(1, D, 1, 1), g));
}

/* [1,D,1,T] -> [1,H,T,HD] */
static mil_v heads(struct mil_builder *b, const char *name, mil_v x)
{
    char n[32];
    snprintf(n, sizeof n, "%s_h", name);
    mil_v r = milb_reshape(b, n, x, MIL_SHAPE(1, H, HD, T));
    snprintf(n, sizeof n, "%s_ht", name);
    return milb_transpose(b, n, r, MIL_SHAPE(0, 1, 3, 2));
}

static char *attention_kernel(const struct ant_chip *chip, struct ane_weights *w, const float *g,
                              const float *const *W, int masked, struct ant_err *e)
{
    struct mil_builder *b = milb_new(chip);
    mil_v x = milb_input(b, "x_in", MIL_FP16, MIL_SHAPE(1, D, 1, T));
    mil_v xn = rmsnorm(b, w, x, g);
    mil_v q = milb_conv(b, "q", xn, milb_weight(b, "wq", w, "wq.bin", MIL_SHAPE(D, D, 1, 1), W[0]));
    mil_v k = milb_conv(b, "k", xn, milb_weight(b, "wk", w, "wk.bin", MIL_SHAPE(D, D, 1, 1), W[1]));
    mil_v v = milb_conv(b, "v", xn, milb_weight(b, "wv", w, "wv.bin", MIL_SHAPE(D, D, 1, 1), W[2]));
    mil_v sc = milb_matmul(b, "scores", heads(b, "q", q), heads(b, "k", k), 0, 1);   /* [1,H,T,T] */
    sc = milb_mul(b, "scaled", sc, milb_scalar(b, "inv_sqrt_hd", 1.0f / sqrtf(HD)));
    if (masked) {
        static float mask[T * T];
        for (int t = 0; t < T; t++)
            for (int u = 0; u < T; u++) mask[t * T + u] = u <= t ? 0 : -65504;
        sc = milb_add(b, "masked", sc, milb_weight(b, "mask", w, "mask.bin", MIL_SHAPE(1, 1, T, T), mask));
    }
    mil_v p = milb_softmax(b, "probs", sc, -1);
    mil_v o = milb_matmul(b, "attn", p, heads(b, "v", v), 0, 0);                     /* [1,H,T,HD] */
    o = milb_reshape(b, "merged", milb_transpose(b, "attn_t", o, MIL_SHAPE(0, 1, 3, 2)), MIL_SHAPE(1, D, 1, T));
    milb_output(b, milb_conv(b, "o_out", o, milb_weight(b, "wo", w, "wo.bin", MIL_SHAPE(D, D, 1, 1), W[3])));
    char *text = milb_text(b, e);
    milb_free(b);
    return text;
}

int main(void)
{
    struct ant_chip m4 = test_chip_m4(), m1 = test_chip_m1();
    struct ant_err e;
    struct ant_rng r;
    rng_seed(&r, 5);
    static float x[D * T], xr[T * D], Wm[4][D * D], g[D], y[D * T], yr[T * D], ref[T * D];

    /* linear layer: y = W x as a 1x1 conv, on fp16-rounded x and W */
    fill_normal(&r, x, D * T, 1.0);
    to_fp16(x, D * T);
    for (int i = 0; i < 4; i++) fill_normal(&r, Wm[i], D * D, 1.0 / sqrt(D)), to_fp16(Wm[i], D * D);
    struct ane_weights w;
    weights_init(&w);
    struct mil_builder *b = milb_new(&m4);
    mil_v in = milb_input(b, "act", MIL_FP16, MIL_SHAPE(1, D, 1, T));
    milb_output(b, milb_conv(b, "lin", in, milb_weight(b, "w_lin", &w, "w.bin", MIL_SHAPE(D, D, 1, 1), Wm[0])));
    if (!ok(emu_run_builder(b, &m4, &w, (const float *[]){x}, (float *[]){y}, &e) == 0, "linear kernel runs")) diag("%s", e.msg);
    to_rows(xr, x, D);
    to_rows(yr, y, D);
    matmul_forward(ref, xr, Wm[0], T, D, D);
    agree("1x1-conv linear layer", yr, ref, T * D, 1e-3);
    weights_free(&w);

    /* causal attention block */
    for (int i = 0; i < D; i++) g[i] = fp16_round(1.0f + 0.1f * (float)rng_normal(&r));
    static float xn[T * D], rstd[T], q[T * D], k[T * D], v[T * D], att[H * T * T], ao[T * D];
    rmsnorm_forward(xn, rstd, xr, g, T, D, 1e-5f);
    matmul_forward(q, xn, Wm[0], T, D, D);
    matmul_forward(k, xn, Wm[1], T, D, D);
    matmul_forward(v, xn, Wm[2], T, D, D);
    attention_forward(ao, att, q, k, v, 1, T, H, H, HD);
    matmul_forward(ref, ao, Wm[3], T, D, D);
    const float *Ws[] = {Wm[0], Wm[1], Wm[2], Wm[3]};
    for (int c = 0; c < 2; c++) {
        const struct ant_chip *chip = c ? &m1 : &m4;
        weights_init(&w);
        char *text = attention_kernel(chip, &w, g, Ws, 1, &e);
        if (!ok(text && emu_run_text(chip, text, &w, (const float *[]){x}, (float *[]){y}, &e) == 0,
                "attention kernel (%s dialect) runs", c ? "verbose" : "modern"))
            diag("%s", e.msg);
        to_rows(yr, y, D);
        agree(c ? "causal attention block on M1" : "causal attention block on M4", yr, ref, T * D, 1e-2);
        free(text);
        weights_free(&w);
    }

    /* the emulator is not a mock: without the mask the numbers are wrong */
    weights_init(&w);
    char *text = attention_kernel(&m4, &w, g, Ws, 0, &e);
    emu_run_text(&m4, text, &w, (const float *[]){x}, (float *[]){y}, &e);
    to_rows(yr, y, D);
    double num = 0, den = 0;
    for (int i = 0; i < T * D; i++) num += (yr[i] - ref[i]) * (yr[i] - ref[i]), den += ref[i] * ref[i];
    ok(sqrt(num / den) > 0.05, "an unmasked kernel disagrees with causal attention (rel L2 %.2f)", sqrt(num / den));
    free(text);
    weights_free(&w);
    return tap_done();
}
