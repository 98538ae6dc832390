/* Sampling speed, ms per token over a whole context, on a stories15M-shaped model with
 * random weights (the speed does not depend on the values):
 *   kv     core/infer's KV-cache forward (BLAS sgemv), what `anetrain sample` runs;
 *   run.c  llama2.c run.c's forward() as written there (its naive matmul loop, the same
 *          KV cache), compiled with this build's CFLAGS (run.c's `make run` uses -O3);
 *   window the path sample used before: the CPU backend's full forward over the window
 *          for every token (cpu_model_logits).
 * It also checks that the three agree on the logits (max relative difference). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/rng.h"
#include "base/util.h"
#include "cpu/model.h"
#include "infer/kvmodel.h"

/* ---- run.c's forward, kept as in llama2.c (names and loops) ---- */
struct runc {
    struct ant_model_config c;
    struct ant_layout lay;
    float *w, *x, *xb, *xb2, *hb, *hb2, *q, *att, *logits, *key_cache, *value_cache;
};

static void rmsnorm(float *o, float *x, float *weight, int size)
{
    float ss = 0.0f;
    for (int j = 0; j < size; j++) ss += x[j] * x[j];
    ss /= size;
    ss += 1e-5f;
    ss = 1.0f / sqrtf(ss);
    for (int j = 0; j < size; j++) o[j] = weight[j] * (ss * x[j]);
}

static void softmax(float *x, int size)
{
    float max_val = x[0];
    for (int i = 1; i < size; i++)
        if (x[i] > max_val) max_val = x[i];
    float sum = 0.0f;
    for (int i = 0; i < size; i++) {
        x[i] = expf(x[i] - max_val);
        sum += x[i];
    }
    for (int i = 0; i < size; i++) x[i] /= sum;
}

static void matmul(float *xout, float *x, float *w, int n, int d)
{
    for (int i = 0; i < d; i++) {
        float val = 0.0f;
        for (int j = 0; j < n; j++) val += w[i * n + j] * x[j];
        xout[i] = val;
    }
}

static float *T_(struct runc *r, int t, int l) { return ant_tensor(r->w, &r->lay, t, l); }

static float *runc_forward(struct runc *r, int token, int pos)
{
    struct ant_model_config *p = &r->c;
    int dim = p->dim, kv_dim = ant_kv_dim(p), kv_mul = p->n_heads / p->n_kv_heads;
    int hidden_dim = p->hidden_dim, head_size = dim / p->n_heads;
    memcpy(r->x, T_(r, ANT_TOK_EMB, 0) + token * dim, dim * sizeof(float));
    for (int l = 0; l < p->n_layers; l++) {
        rmsnorm(r->xb, r->x, T_(r, ANT_RMS_ATT, l), dim);
        int loff = l * p->seq_len * kv_dim;
        float *k = r->key_cache + loff + pos * kv_dim, *v = r->value_cache + loff + pos * kv_dim;
        matmul(r->q, r->xb, T_(r, ANT_WQ, l), dim, dim);
        matmul(k, r->xb, T_(r, ANT_WK, l), dim, kv_dim);
        matmul(v, r->xb, T_(r, ANT_WV, l), dim, kv_dim);
        for (int i = 0; i < dim; i += 2) {
            int head_dim = i % head_size;
            float freq = 1.0f / powf(10000.0f, head_dim / (float)head_size);
            float val = pos * freq, fcr = cosf(val), fci = sinf(val);
            int rotn = i < kv_dim ? 2 : 1;
            for (int vi = 0; vi < rotn; vi++) {
                float *vec = vi == 0 ? r->q : k;
                float v0 = vec[i], v1 = vec[i + 1];
                vec[i] = v0 * fcr - v1 * fci;
                vec[i + 1] = v0 * fci + v1 * fcr;
            }
        }
        for (int h = 0; h < p->n_heads; h++) {
            float *q = r->q + h * head_size, *att = r->att + h * p->seq_len;
            for (int t = 0; t <= pos; t++) {
                float *kk = r->key_cache + loff + t * kv_dim + (h / kv_mul) * head_size;
                float score = 0.0f;
                for (int i = 0; i < head_size; i++) score += q[i] * kk[i];
                att[t] = score / sqrtf(head_size);
            }
            softmax(att, pos + 1);
            float *xb = r->xb + h * head_size;
            memset(xb, 0, head_size * sizeof(float));
            for (int t = 0; t <= pos; t++) {
                float *vv = r->value_cache + loff + t * kv_dim + (h / kv_mul) * head_size;
                for (int i = 0; i < head_size; i++) xb[i] += att[t] * vv[i];
            }
        }
        matmul(r->xb2, r->xb, T_(r, ANT_WO, l), dim, dim);
        for (int i = 0; i < dim; i++) r->x[i] += r->xb2[i];
        rmsnorm(r->xb, r->x, T_(r, ANT_RMS_FFN, l), dim);
        matmul(r->hb, r->xb, T_(r, ANT_W1, l), dim, hidden_dim);
        matmul(r->hb2, r->xb, T_(r, ANT_W3, l), dim, hidden_dim);
        for (int i = 0; i < hidden_dim; i++) {
            float val = r->hb[i];
            val *= (1.0f / (1.0f + expf(-val)));
            r->hb[i] = val * r->hb2[i];
        }
        matmul(r->xb, r->hb, T_(r, ANT_W2, l), hidden_dim, dim);
        for (int i = 0; i < dim; i++) r->x[i] += r->xb[i];
    }
    rmsnorm(r->x, r->x, T_(r, ANT_RMS_FINAL, 0), dim);
    matmul(r->logits, r->x, T_(r, ANT_TOK_EMB, 0), p->dim, p->vocab_size);
    return r->logits;
}

static double rel_diff(const float *a, const float *b, int n)
{
    double scale = 0, err = 0;
    for (int i = 0; i < n; i++) scale = fmax(scale, fabs(b[i])), err = fmax(err, fabs(a[i] - b[i]));
    return err / scale;
}

int main(int argc, char **argv)
{
    struct ant_model_config c = {288, 768, 6, 6, 6, 32000, 256, 1, 10000.0f, 1e-5f};
    int n = argc > 1 ? atoi(argv[1]) : 256, window_n = n < 64 ? n : 64;
    if (n < 1 || n > c.seq_len) n = c.seq_len;
    struct runc r = {.c = c};
    ant_layout_init(&r.lay, &c);
    r.w = ant_falloc(r.lay.total);
    struct ant_rng g;
    rng_seed(&g, 1);
    for (size_t i = 0; i < r.lay.total; i++) r.w[i] = (float)(rng_uniform(&g) - 0.5) * 0.1f;
    size_t kvn = (size_t)c.n_layers * c.seq_len * ant_kv_dim(&c);
    r.x = calloc(c.dim, 4), r.xb = calloc(c.dim, 4), r.xb2 = calloc(c.dim, 4);
    r.hb = calloc(c.hidden_dim, 4), r.hb2 = calloc(c.hidden_dim, 4), r.q = calloc(c.dim, 4);
    r.att = calloc((size_t)c.n_heads * c.seq_len, 4), r.logits = calloc(c.vocab_size, 4);
    r.key_cache = calloc(kvn, 4), r.value_cache = calloc(kvn, 4);
    int32_t *toks = malloc(sizeof *toks * (size_t)c.seq_len);
    for (int i = 0; i < c.seq_len; i++) toks[i] = (int32_t)rng_below(&g, (uint64_t)c.vocab_size);

    struct ant_kvmodel *kv;
    struct ant_err e;
    char why[256];
    struct cpu_model *cm = cpu_model_create(&c, 1, why, sizeof why);
    if (kv_open(&kv, &c, r.w, &e) < 0 || !cm) {
        fprintf(stderr, "bench_sample: %s\n", cm ? e.msg : why);
        return 1;
    }
    float *ref = malloc(sizeof(float) * c.vocab_size), *kvl = malloc(sizeof(float) * c.vocab_size);
    double t0 = ant_now_ms(), diff = 0;
    for (int pos = 0; pos < n; pos++) memcpy(kvl, kv_forward(kv, toks[pos], pos), sizeof(float) * c.vocab_size);
    double kv_ms = (ant_now_ms() - t0) / n;
    t0 = ant_now_ms();
    for (int pos = 0; pos < n; pos++) runc_forward(&r, toks[pos], pos);
    double runc_ms = (ant_now_ms() - t0) / n;
    diff = fmax(diff, rel_diff(kvl, r.logits, c.vocab_size));
    t0 = ant_now_ms();
    for (int pos = 0; pos < window_n; pos++) cpu_model_logits(cm, r.w, toks, pos + 1, ref);
    double win_ms = (ant_now_ms() - t0) / window_n;
    cpu_model_logits(cm, r.w, toks, n, ref);
    diff = fmax(diff, rel_diff(kvl, ref, c.vocab_size));
    printf("stories15M shape (dim 288, 6 layers, vocab 32000), ms/token over %d positions:\n", n);
    printf("  kv (anetrain sample)   %8.3f ms  (%.0f tokens/s)\n", kv_ms, 1e3 / kv_ms);
    printf("  run.c forward()        %8.3f ms  (%.0f tokens/s)\n", runc_ms, 1e3 / runc_ms);
    printf("  full window (before)   %8.3f ms  (first %d positions only)\n", win_ms, window_n);
    printf("kv vs run.c: %.2fx faster; logits agree to %.1e (relative)\n", runc_ms / kv_ms, diff);
    return 0;
}
