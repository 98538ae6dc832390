/* Gradient check of the CPU math: every op's backward and the whole model's, in fp32,
 * against central finite differences of an independent double-precision reference
 * forward written here with naive loops (no code shared with backends/cpu). */
#include <anetrain/model.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/model.h"
#include "cpu/ops.h"
#include "base/rng.h"
#include "tap.h"

/* Max error relative to the largest gradient of a tensor. fp32 gets within ~3e-6; a wrong
 * formula is off by O(0.1..1). Checked by breaking the code on purpose, one fault at a
 * time: GQA dv overwritten instead of summed, RoPE backward turning the wrong way, the
 * rmsnorm mean term dropped, the shared classifier's embedding gradient dropped, the
 * 1/sqrt(hd) scale missing from dq, silu' without its second term, Wo used transposed,
 * dWq = x^T dy instead of dy^T x. Each fails here with errors of 0.15 to 2.8. */
#define GRAD_TOL 1e-3
#define FD_STEP 1e-4

static struct ant_rng rng;

static void fill(float *x, size_t n, double mean, double std)
{
    for (size_t i = 0; i < n; i++) x[i] = (float)(mean + std * rng_normal(&rng));
}

static double *to_double(const float *x, size_t n)
{
    double *d = malloc(n * sizeof *d);
    for (size_t i = 0; i < n; i++) d[i] = x[i];
    return d;
}

/* ---- the double-precision reference (llama2.c run.c semantics) ---- */

static void ref_matmul(double *y, const double *x, const double *w, int n, int in, int out)
{
    for (int i = 0; i < n; i++)
        for (int o = 0; o < out; o++) {
            double s = 0;
            for (int j = 0; j < in; j++) s += x[i * in + j] * w[o * in + j];
            y[i * out + o] = s;
        }
}

static void ref_rmsnorm(double *y, const double *x, const double *w, int n, int d, double eps)
{
    for (int i = 0; i < n; i++) {
        double ss = 0;
        for (int j = 0; j < d; j++) ss += x[i * d + j] * x[i * d + j];
        double r = 1.0 / sqrt(ss / d + eps);
        for (int j = 0; j < d; j++) y[i * d + j] = x[i * d + j] * r * w[j];
    }
}

/* In place on x [B*T, width]: pairs (i, i+1) turn by pos * theta^(-(i % hd) / hd). */
static void ref_rope(double *x, int b, int t, int width, int hd, double theta)
{
    for (int s = 0; s < b; s++)
        for (int p = 0; p < t; p++)
            for (int i = 0; i < width; i += 2) {
                double a = p * pow(theta, -(double)(i % hd) / hd);
                double *v = x + (s * t + p) * width + i, v0 = v[0], v1 = v[1];
                v[0] = v0 * cos(a) - v1 * sin(a);
                v[1] = v0 * sin(a) + v1 * cos(a);
            }
}

static void ref_attention(double *out, const double *q, const double *k, const double *v,
                          int b, int t, int nh, int nkv, int hd)
{
    int D = nh * hd, KV = nkv * hd;
    double *sc = malloc(t * sizeof *sc);
    for (int s = 0; s < b; s++)
        for (int p = 0; p < t; p++)
            for (int h = 0; h < nh; h++) {
                int kh = h / (nh / nkv);
                const double *qv = q + (s * t + p) * D + h * hd;
                double mx = -INFINITY, sum = 0;
                for (int j = 0; j <= p; j++) {
                    double dot = 0;
                    const double *kv = k + (s * t + j) * KV + kh * hd;
                    for (int i = 0; i < hd; i++) dot += qv[i] * kv[i];
                    sc[j] = dot / sqrt((double)hd);
                    mx = fmax(mx, sc[j]);
                }
                for (int j = 0; j <= p; j++) sum += (sc[j] = exp(sc[j] - mx));
                double *o = out + (s * t + p) * D + h * hd;
                for (int i = 0; i < hd; i++) {
                    o[i] = 0;
                    for (int j = 0; j <= p; j++)
                        o[i] += sc[j] / sum * v[(s * t + j) * KV + kh * hd + i];
                }
            }
    free(sc);
}

static void ref_swiglu(double *y, const double *a, const double *c, int n)
{
    for (int i = 0; i < n; i++) y[i] = a[i] / (1 + exp(-a[i])) * c[i];
}

static double ref_crossentropy(const double *logits, const int32_t *targets, int n, int v)
{
    double loss = 0;
    for (int i = 0; i < n; i++) {
        const double *l = logits + i * v;
        double mx = l[0], sum = 0;
        for (int j = 1; j < v; j++) mx = fmax(mx, l[j]);
        for (int j = 0; j < v; j++) sum += exp(l[j] - mx);
        loss += mx + log(sum) - l[targets[i]];
    }
    return loss / n;
}

/* Mean loss of the whole model; if last_logits, also the logits [V] at row N-1. */
static double ref_model(const struct ant_model_config *c, const double *w, const int32_t *tok,
                        const int32_t *tgt, int b, int t, double *last_logits)
{
    struct ant_layout lay;
    ant_layout_init(&lay, c);
    int N = b * t, D = c->dim, H = c->hidden_dim, KV = ant_kv_dim(c), V = c->vocab_size;
    int hd = ant_head_dim(c);
    double *x = malloc(sizeof(double) * N * D), *xn = malloc(sizeof(double) * N * D);
    double *q = malloc(sizeof(double) * N * D), *o = malloc(sizeof(double) * N * D);
    double *k = malloc(sizeof(double) * N * KV), *v = malloc(sizeof(double) * N * KV);
    double *h1 = malloc(sizeof(double) * N * H), *h3 = malloc(sizeof(double) * N * H);
    double *y = malloc(sizeof(double) * N * (D > V ? D : V));
#define RW(id, l) (w + lay.offset[id] + (size_t)(l) * lay.per_layer[id])
    for (int i = 0; i < N; i++)
        memcpy(x + i * D, RW(ANT_TOK_EMB, 0) + tok[i] * D, sizeof(double) * D);
    for (int l = 0; l < c->n_layers; l++) {
        ref_rmsnorm(xn, x, RW(ANT_RMS_ATT, l), N, D, c->norm_eps);
        ref_matmul(q, xn, RW(ANT_WQ, l), N, D, D);
        ref_matmul(k, xn, RW(ANT_WK, l), N, D, KV);
        ref_matmul(v, xn, RW(ANT_WV, l), N, D, KV);
        ref_rope(q, b, t, D, hd, c->rope_theta);
        ref_rope(k, b, t, KV, hd, c->rope_theta);
        ref_attention(o, q, k, v, b, t, c->n_heads, c->n_kv_heads, hd);
        ref_matmul(y, o, RW(ANT_WO, l), N, D, D);
        for (int i = 0; i < N * D; i++) x[i] += y[i];
        ref_rmsnorm(xn, x, RW(ANT_RMS_FFN, l), N, D, c->norm_eps);
        ref_matmul(h1, xn, RW(ANT_W1, l), N, D, H);
        ref_matmul(h3, xn, RW(ANT_W3, l), N, D, H);
        ref_swiglu(h1, h1, h3, N * H);
        ref_matmul(y, h1, RW(ANT_W2, l), N, H, D);
        for (int i = 0; i < N * D; i++) x[i] += y[i];
    }
    ref_rmsnorm(xn, x, RW(ANT_RMS_FINAL, 0), N, D, c->norm_eps);
    ref_matmul(y, xn, c->shared_classifier ? RW(ANT_TOK_EMB, 0) : RW(ANT_WCLS, 0), N, D, V);
#undef RW
    double loss = tgt ? ref_crossentropy(y, tgt, N, V) : 0;
    if (last_logits) memcpy(last_logits, y + (N - 1) * V, sizeof(double) * V);
    free(x), free(xn), free(q), free(o), free(k), free(v), free(h1), free(h3), free(y);
    return loss;
}

/* ---- finite differences ---- */

typedef double (*objective_fn)(void *ctx);

static double fd_at(double *x, size_t i, objective_fn f, void *ctx)
{
    double keep = x[i];
    x[i] = keep + FD_STEP;
    double up = f(ctx);
    x[i] = keep - FD_STEP;
    double down = f(ctx);
    x[i] = keep;
    return (up - down) / (2 * FD_STEP);
}

/* Compare got[idx[i]] with want[i] for n sampled entries (idx NULL: 0..n-1):
 * max |got - want| relative to the largest |want|. */
static int check_grad(const char *what, const float *got, const double *want,
                      const size_t *idx, size_t n)
{
    double err = 0, scale = 1e-3;
    for (size_t i = 0; i < n; i++) scale = fmax(scale, fabs(want[i]));
    for (size_t i = 0; i < n; i++) err = fmax(err, fabs(got[idx ? idx[i] : i] - want[i]));
    err /= scale;
    if (!ok(err < GRAD_TOL, "%s (%zu entries, relative error %.1e)", what, n, err))
        diag("max error %.3g of largest gradient %.3g", err, scale);
    return err < GRAD_TOL;
}

/* Gradient of f with respect to all n entries of x, compared with got. */
static void check_all(const char *what, const float *got, double *x, size_t n, objective_fn f,
                      void *ctx)
{
    double *fd = malloc(n * sizeof *fd);
    for (size_t i = 0; i < n; i++) fd[i] = fd_at(x, i, f, ctx);
    check_grad(what, got, fd, NULL, n);
    free(fd);
}

/* sum(out * r): the objective whose gradient is the backward of dout = r */
static double dot(const double *a, const float *r, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++) s += a[i] * r[i];
    return s;
}

/* ---- per-op checks ---- */

enum { B = 2, T = 5, NH = 4, HD = 4, D = NH * HD, HID = 12, V = 9 };

struct op_ctx {
    double *in[3];
    const float *r;
    int nkv;
    double out[B * T * (D > HID ? D : HID) * 2];
};

static double obj_matmul(void *p)
{
    struct op_ctx *c = p;
    ref_matmul(c->out, c->in[0], c->in[1], B * T, D, HID);
    return dot(c->out, c->r, B * T * HID);
}

static void test_matmul(void)
{
    float x[B * T * D], w[HID * D], r[B * T * HID], y[B * T * HID];
    float dx[B * T * D], dw[HID * D], pre_x[B * T * D], pre_w[HID * D];
    fill(x, B * T * D, 0, 1), fill(w, HID * D, 0, 0.5), fill(r, B * T * HID, 0, 1);
    fill(pre_x, B * T * D, 0, 1), fill(pre_w, HID * D, 0, 1);
    memcpy(dx, pre_x, sizeof dx), memcpy(dw, pre_w, sizeof dw);
    matmul_forward(y, x, w, B * T, D, HID);
    /* accumulate forms: dx = dy W + dx; dW += 0.5 dy^T x, so subtract what was there */
    matmul_backward_dx(dx, r, w, B * T, D, HID, 1.0f);
    matmul_backward_dw(dw, r, x, B * T, D, HID, 0.5f);
    for (int i = 0; i < B * T * D; i++) dx[i] -= pre_x[i];
    for (int i = 0; i < HID * D; i++) dw[i] = (dw[i] - pre_w[i]) * 2;
    struct op_ctx c = {{to_double(x, sizeof x / 4), to_double(w, sizeof w / 4)}, r, 0, {0}};
    ref_matmul(c.out, c.in[0], c.in[1], B * T, D, HID);
    check_grad("matmul forward", y, c.out, NULL, B * T * HID);
    check_all("matmul dx (beta = 1)", dx, c.in[0], B * T * D, obj_matmul, &c);
    check_all("matmul dW (alpha = 0.5)", dw, c.in[1], HID * D, obj_matmul, &c);
    free(c.in[0]), free(c.in[1]);
}

static double obj_rmsnorm(void *p)
{
    struct op_ctx *c = p;
    ref_rmsnorm(c->out, c->in[0], c->in[1], B * T, D, 1e-5);
    return dot(c->out, c->r, B * T * D);
}

static void test_rmsnorm(void)
{
    float x[B * T * D], w[D], r[B * T * D], y[B * T * D], rstd[B * T];
    float dx[B * T * D], dw[D], pre[B * T * D];
    fill(x, B * T * D, 0.3, 1), fill(w, D, 1, 0.3), fill(r, B * T * D, 0, 1);
    fill(pre, B * T * D, 0, 1);
    memcpy(dx, pre, sizeof dx);
    memset(dw, 0, sizeof dw);
    rmsnorm_forward(y, rstd, x, w, B * T, D, 1e-5f);
    rmsnorm_backward(dx, dw, r, x, w, rstd, B * T, D);
    for (int i = 0; i < B * T * D; i++) dx[i] -= pre[i];
    struct op_ctx c = {{to_double(x, B * T * D), to_double(w, D)}, r, 0, {0}};
    obj_rmsnorm(&c);
    check_grad("rmsnorm forward", y, c.out, NULL, B * T * D);
    check_all("rmsnorm dx (accumulated)", dx, c.in[0], B * T * D, obj_rmsnorm, &c);
    check_all("rmsnorm dw", dw, c.in[1], D, obj_rmsnorm, &c);
    float dw_alone[D];
    memset(dw_alone, 0, sizeof dw_alone);
    rmsnorm_backward_dw(dw_alone, r, x, rstd, B * T, D);
    check_all("rmsnorm dw alone (rmsnorm_backward_dw)", dw_alone, c.in[1], D, obj_rmsnorm, &c);
    free(c.in[0]), free(c.in[1]);
}

static double obj_rope(void *p)
{
    struct op_ctx *c = p;
    memcpy(c->out, c->in[0], sizeof(double) * B * T * D);
    ref_rope(c->out, B, T, D, HD, 10000.0);
    return dot(c->out, c->r, B * T * D);
}

static void test_rope(void)
{
    /* the table is built for a longer context than the op runs on */
    enum { TL = 40 };
    float cs[TL * HD / 2], sn[TL * HD / 2];
    rope_table(cs, sn, TL, HD, 10000.0f);
    /* the table itself against llama2.c's formula at the last position */
    double a = (TL - 1) * pow(10000.0, -2.0 / HD);
    is_close(cs[(TL - 1) * HD / 2 + 1], cos(a), 1e-6, 0, "rope table cos at pos 39, pair 1");
    is_close(sn[(TL - 1) * HD / 2 + 1], sin(a), 1e-6, 0, "rope table sin at pos 39, pair 1");
    float x[B * T * D], r[B * T * D], dx[B * T * D];
    fill(x, B * T * D, 0, 1), fill(r, B * T * D, 0, 1);
    memcpy(dx, r, sizeof dx);
    struct op_ctx c = {{to_double(x, B * T * D)}, r, 0, {0}};
    obj_rope(&c);
    rope_forward(x, cs, sn, B, T, NH, HD);
    check_grad("rope forward", x, c.out, NULL, B * T * D);
    rope_backward(dx, cs, sn, B, T, NH, HD);
    check_all("rope backward", dx, c.in[0], B * T * D, obj_rope, &c);
    free(c.in[0]);
}

static double obj_attention(void *p)
{
    struct op_ctx *c = p;
    ref_attention(c->out, c->in[0], c->in[1], c->in[2], B, T, NH, c->nkv, HD);
    return dot(c->out, c->r, B * T * D);
}

static void test_attention(int nkv)
{
    int KV = nkv * HD;
    float q[B * T * D], k[B * T * D], v[B * T * D], r[B * T * D], out[B * T * D];
    float att[B * NH * T * T], scratch[T * T], dq[B * T * D], dk[B * T * D], dv[B * T * D];
    fill(q, B * T * D, 0, 1), fill(k, B * T * KV, 0, 1), fill(v, B * T * KV, 0, 1);
    fill(r, B * T * D, 0, 1);
    attention_forward(out, att, q, k, v, B, T, NH, nkv, HD);
    attention_backward(dq, dk, dv, scratch, r, att, q, k, v, B, T, NH, nkv, HD);
    struct op_ctx c = {
        {to_double(q, B * T * D), to_double(k, B * T * KV), to_double(v, B * T * KV)},
        r, nkv, {0}};
    char what[64];
    obj_attention(&c);
    snprintf(what, sizeof what, "attention forward, %d kv heads", nkv);
    check_grad(what, out, c.out, NULL, B * T * D);
    snprintf(what, sizeof what, "attention dq, %d kv heads", nkv);
    check_all(what, dq, c.in[0], B * T * D, obj_attention, &c);
    snprintf(what, sizeof what, "attention dk, %d kv heads", nkv);
    check_all(what, dk, c.in[1], B * T * KV, obj_attention, &c);
    snprintf(what, sizeof what, "attention dv, %d kv heads", nkv);
    check_all(what, dv, c.in[2], B * T * KV, obj_attention, &c);
    free(c.in[0]), free(c.in[1]), free(c.in[2]);
}

static double obj_swiglu(void *p)
{
    struct op_ctx *c = p;
    ref_swiglu(c->out, c->in[0], c->in[1], B * T * HID);
    return dot(c->out, c->r, B * T * HID);
}

static void test_swiglu(void)
{
    enum { n = B * T * HID };
    float a[n], g[n], r[n], y[n], da[n], dg[n];
    fill(a, n, 0, 2), fill(g, n, 0, 1), fill(r, n, 0, 1);
    swiglu_forward(y, a, g, n);
    swiglu_backward(da, dg, r, a, g, n);
    struct op_ctx c = {{to_double(a, n), to_double(g, n)}, r, 0, {0}};
    obj_swiglu(&c);
    check_grad("swiglu forward", y, c.out, NULL, n);
    check_all("swiglu d(gate)", da, c.in[0], n, obj_swiglu, &c);
    check_all("swiglu d(up)", dg, c.in[1], n, obj_swiglu, &c);
    free(c.in[0]), free(c.in[1]);
}

/* repeats on purpose: their embedding gradients must add */
static const int32_t op_tokens[B * T] = {3, 1, 3, 8, 0, 5, 3, 1, 1, 7};

static double obj_embedding(void *p)
{
    struct op_ctx *c = p;
    for (int i = 0; i < B * T; i++)
        memcpy(c->out + i * D, c->in[0] + op_tokens[i] * D, sizeof(double) * D);
    return dot(c->out, c->r, B * T * D);
}

static void test_embedding(void)
{
    float emb[V * D], r[B * T * D], x[B * T * D], demb[V * D];
    fill(emb, V * D, 0, 1), fill(r, B * T * D, 0, 1);
    memset(demb, 0, sizeof demb);
    embedding_forward(x, emb, op_tokens, B * T, D);
    embedding_backward(demb, r, op_tokens, B * T, D);
    struct op_ctx c = {{to_double(emb, V * D)}, r, 0, {0}};
    obj_embedding(&c);
    check_grad("embedding forward", x, c.out, NULL, B * T * D);
    check_all("embedding backward (repeated tokens add)", demb, c.in[0], V * D, obj_embedding,
              &c);
    free(c.in[0]);
}

static double obj_crossentropy(void *p)
{
    return ref_crossentropy(((struct op_ctx *)p)->in[0], op_tokens, B * T, V);
}

static void test_crossentropy(void)
{
    float l[B * T * V];
    fill(l, B * T * V, 0, 2);
    struct op_ctx c = {{to_double(l, B * T * V)}, NULL, 0, {0}};
    double sum = crossentropy_forward(l, op_tokens, B * T, V);
    is_close(sum / (B * T), obj_crossentropy(&c), 1e-6, 1e-6, "cross-entropy forward (mean)");
    crossentropy_backward(l, op_tokens, B * T, V, 1.0f / (B * T));
    check_all("cross-entropy backward", l, c.in[0], B * T * V, obj_crossentropy, &c);
    free(c.in[0]);
}

/* ---- the whole model ---- */

struct model_ctx {
    const struct ant_model_config *c;
    double *w;
    const int32_t *tok, *tgt;
    int b, t;
};

static double obj_model(void *p)
{
    struct model_ctx *m = p;
    return ref_model(m->c, m->w, m->tok, m->tgt, m->b, m->t, NULL);
}

static const char *tensor_names[ANT_N_TENSORS] = {
    "tok_emb", "rms_att", "wq", "wk", "wv", "wo",
    "rms_ffn", "w1", "w2", "w3", "rms_final", "wcls",
};

static void test_model(const char *name, const struct ant_model_config *c, int max_batch,
                       int b, int t)
{
    struct ant_layout lay;
    ant_layout_init(&lay, c);
    float *w = malloc(lay.total * sizeof *w), *g = calloc(lay.total, sizeof *g);
    for (int id = 0; id < ANT_N_TENSORS; id++) {
        size_t n = lay.per_layer[id] * (lay.layered[id] ? c->n_layers : 1);
        if (ant_tensor_is_norm(id)) fill(w + lay.offset[id], n, 1, 0.2);
        else fill(w + lay.offset[id], n, 0, 0.4);
    }
    int32_t *tok = malloc(sizeof(int32_t) * b * t), *tgt = malloc(sizeof(int32_t) * b * t);
    for (int i = 0; i < b * t; i++) {
        tok[i] = (int32_t)rng_below(&rng, c->vocab_size);
        tgt[i] = (int32_t)rng_below(&rng, c->vocab_size);
    }
    char why[256] = "", what[160];
    struct cpu_model *m = cpu_model_create(c, max_batch, why, sizeof why);
    if (!ok(m != NULL, "%s: model created", name)) {
        diag("%s", why);
        return;
    }
    float loss = 0;
    int rc = cpu_model_forward(m, w, tok, tgt, b, t, &loss);
    rc = rc || cpu_model_backward(m, w, g, 1.0f);
    ok(rc == 0, "%s: forward and backward succeed", name);
    struct model_ctx mc = {c, to_double(w, lay.total), tok, tgt, b, t};
    double want = obj_model(&mc);
    snprintf(what, sizeof what, "%s: fp32 loss %.6f matches the double reference", name, loss);
    is_close(loss, want, 1e-6, 1e-5, what);

    /* logits after a prefix of the second sequence: last position of the reference */
    int n = t - 1;
    double *ref_logits = malloc(sizeof(double) * c->vocab_size);
    float *logits = malloc(sizeof(float) * c->vocab_size);
    ref_model(c, mc.w, tok + t, NULL, 1, n, ref_logits);
    rc = cpu_model_logits(m, w, tok + t, n, logits);
    snprintf(what, sizeof what, "%s: logits after %d tokens", name, n);
    if (ok(rc == 0, "%s: logits call succeeds", name))
        check_grad(what, logits, ref_logits, NULL, c->vocab_size);

    /* every tensor of every layer: all entries of small ones, 40 sampled of big ones */
    enum { SAMPLES = 40 };
    for (int id = 0; id < ANT_N_TENSORS; id++)
        for (int l = 0; l < (lay.layered[id] ? c->n_layers : 1) && lay.per_layer[id]; l++) {
            size_t base = lay.offset[id] + l * lay.per_layer[id], cnt = lay.per_layer[id];
            size_t k = cnt < SAMPLES ? cnt : SAMPLES, idx[SAMPLES];
            double fd[SAMPLES];
            for (size_t i = 0; i < k; i++) {
                idx[i] = base + (cnt <= SAMPLES ? i : rng_below(&rng, cnt));
                fd[i] = fd_at(mc.w, idx[i], obj_model, &mc);
            }
            snprintf(what, sizeof what, "%s: d loss / d %s[%d]", name, tensor_names[id], l);
            check_grad(what, g, fd, idx, k);
        }
    /* the embedding of a token that never appears gets only the classifier's gradient
     * (shared) or nothing: check one such row exhaustively */
    for (int tokid = 0; tokid < c->vocab_size; tokid++) {
        int used = 0;
        for (int i = 0; i < b * t; i++) used |= tok[i] == tokid;
        if (used) continue;
        size_t idx[64];
        double fd[64];
        for (int j = 0; j < c->dim && j < 64; j++) {
            idx[j] = lay.offset[ANT_TOK_EMB] + (size_t)tokid * c->dim + j;
            fd[j] = fd_at(mc.w, idx[j], obj_model, &mc);
        }
        snprintf(what, sizeof what, "%s: d loss / d tok_emb of unused token %d", name, tokid);
        check_grad(what, g, fd, idx, c->dim < 64 ? c->dim : 64);
        break;
    }
    cpu_model_free(m);
    free(mc.w), free(w), free(g), free(tok), free(tgt), free(ref_logits), free(logits);
}

int main(void)
{
    rng_seed(&rng, 20240611);
    test_matmul();
    test_rmsnorm();
    test_rope();
    test_attention(NH);
    test_attention(2);
    test_attention(1);
    test_swiglu();
    test_embedding();
    test_crossentropy();

    /* tiny models: MHA shared classifier with T < seq_len and B < max_batch (strides),
     * GQA separate classifier at full length, MQA shared */
    struct ant_model_config mha = {16, 24, 2, 4, 4, 13, 7, 1, 10000.0f, 1e-5f};
    struct ant_model_config gqa = {16, 24, 2, 4, 2, 11, 6, 0, 10000.0f, 1e-5f};
    struct ant_model_config mqa = {24, 20, 1, 4, 1, 17, 5, 1, 500.0f, 1e-5f};
    test_model("MHA shared", &mha, 3, 2, 5);
    test_model("GQA separate", &gqa, 2, 2, 6);
    test_model("MQA shared", &mqa, 3, 3, 5);
    return tap_done();
}
