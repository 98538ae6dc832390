/* Token-at-a-time forward with a KV cache (kvmodel.h). */
#include "infer/kvmodel.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/blas.h"

struct ant_kvmodel {
    struct ant_model_config c;
    struct ant_layout lay;
    const float *w;
    float *x, *xb, *xb2, *hb, *hb2, *q, *att, *logits;   /* activations of one token */
    float *key_cache, *value_cache;                      /* [L, T, KVD] */
    float *rope_cos, *rope_sin;                          /* [T, head_dim / 2] */
    float *mem;
};

static const float *W(const struct ant_kvmodel *m, int t, int l)
{
    return ant_tensor((float *)m->w, &m->lay, t, l);
}

int kv_open(struct ant_kvmodel **out, const struct ant_model_config *c, const float *w,
            struct ant_err *e)
{
    *out = NULL;
    struct ant_kvmodel *m = calloc(1, sizeof *m);
    if (!m) return ant_errf(e, "out of memory for the sampler");
    m->c = *c;
    m->w = w;
    ant_layout_init(&m->lay, c);
    size_t D = (size_t)c->dim, H = (size_t)c->hidden_dim, V = (size_t)c->vocab_size;
    size_t T = (size_t)c->seq_len, L = (size_t)c->n_layers, KV = (size_t)ant_kv_dim(c);
    size_t half = (size_t)ant_head_dim(c) / 2;
    size_t n = 3 * D + 2 * H + D + (size_t)c->n_heads * T + V + 2 * L * T * KV + 2 * T * half;
    if (!(m->mem = ant_falloc(n))) {
        free(m);
        return ant_errf(e, "out of memory for the sampler's KV cache (%zu floats)", n);
    }
    float *p = m->mem;
#define CARVE(dst, k) (dst = p, p += (k))
    CARVE(m->x, D), CARVE(m->xb, D), CARVE(m->xb2, D), CARVE(m->hb, H), CARVE(m->hb2, H);
    CARVE(m->q, D), CARVE(m->att, (size_t)c->n_heads * T), CARVE(m->logits, V);
    CARVE(m->key_cache, L * T * KV), CARVE(m->value_cache, L * T * KV);
    CARVE(m->rope_cos, T * half), CARVE(m->rope_sin, T * half);
#undef CARVE
    /* the CPU backend's table: angle pos * theta^(-2i / head_dim), in double */
    for (size_t pos = 0; pos < T; pos++)
        for (size_t i = 0; i < half; i++) {
            double a = (double)pos * pow((double)c->rope_theta, -(double)(2 * i) / (double)(2 * half));
            m->rope_cos[pos * half + i] = (float)cos(a);
            m->rope_sin[pos * half + i] = (float)sin(a);
        }
    *out = m;
    return 0;
}

void kv_close(struct ant_kvmodel *m)
{
    if (!m) return;
    ant_ffree(m->mem);
    free(m);
}

static void rmsnorm(float *o, const float *x, const float *g, int n, float eps)
{
    double ss = 0;
    for (int i = 0; i < n; i++) ss += (double)x[i] * x[i];
    float r = (float)(1.0 / sqrt(ss / n + eps));
    for (int i = 0; i < n; i++) o[i] = x[i] * r * g[i];
}

/* out [rows] = W [rows, cols] · x [cols] */
static void matvec(float *out, const float *wm, const float *x, int rows, int cols)
{
    cblas_sgemv(CblasRowMajor, CblasNoTrans, rows, cols, 1.0f, wm, cols, x, 1, 0.0f, out, 1);
}

static void rope(float *v, int n_heads, int hd, const float *cs, const float *sn)
{
    for (int h = 0; h < n_heads; h++)
        for (int i = 0; i < hd / 2; i++) {
            float *p = v + h * hd + 2 * i, v0 = p[0], v1 = p[1];
            p[0] = v0 * cs[i] - v1 * sn[i];
            p[1] = v0 * sn[i] + v1 * cs[i];
        }
}

/* att over positions 0..pos of one head: softmax(q·k / sqrt(hd)) then the weighted sum
 * of values, into out [hd]. */
static void attend(float *out, float *att, const float *q, const float *kc, const float *vc,
                   int pos, int kvd, int hd)
{
    float scale = 1.0f / sqrtf((float)hd), max = -INFINITY;
    for (int t = 0; t <= pos; t++) {
        const float *k = kc + (size_t)t * kvd;
        float s = 0;
        for (int i = 0; i < hd; i++) s += q[i] * k[i];
        att[t] = s * scale;
        if (att[t] > max) max = att[t];
    }
    float sum = 0;
    for (int t = 0; t <= pos; t++) sum += att[t] = expf(att[t] - max);
    memset(out, 0, (size_t)hd * sizeof *out);
    for (int t = 0; t <= pos; t++) {
        const float *v = vc + (size_t)t * kvd;
        float a = att[t] / sum;
        for (int i = 0; i < hd; i++) out[i] += a * v[i];
    }
}

const float *kv_forward(struct ant_kvmodel *m, int token, int pos)
{
    const struct ant_model_config *c = &m->c;
    int D = c->dim, H = c->hidden_dim, KVD = ant_kv_dim(c), hd = ant_head_dim(c);
    int T = c->seq_len, rep = c->n_heads / c->n_kv_heads;
    const float *cs = m->rope_cos + (size_t)pos * (hd / 2), *sn = m->rope_sin + (size_t)pos * (hd / 2);
    memcpy(m->x, W(m, ANT_TOK_EMB, 0) + (size_t)token * D, (size_t)D * sizeof *m->x);
    for (int l = 0; l < c->n_layers; l++) {
        float *kc = m->key_cache + (size_t)l * T * KVD, *vc = m->value_cache + (size_t)l * T * KVD;
        float *k = kc + (size_t)pos * KVD, *v = vc + (size_t)pos * KVD;
        rmsnorm(m->xb, m->x, W(m, ANT_RMS_ATT, l), D, c->norm_eps);
        matvec(m->q, W(m, ANT_WQ, l), m->xb, D, D);
        matvec(k, W(m, ANT_WK, l), m->xb, KVD, D);
        matvec(v, W(m, ANT_WV, l), m->xb, KVD, D);
        rope(m->q, c->n_heads, hd, cs, sn);
        rope(k, c->n_kv_heads, hd, cs, sn);
        for (int h = 0; h < c->n_heads; h++)
            attend(m->xb + h * hd, m->att + (size_t)h * T, m->q + h * hd, kc + (h / rep) * hd,
                   vc + (h / rep) * hd, pos, KVD, hd);
        matvec(m->xb2, W(m, ANT_WO, l), m->xb, D, D);
        for (int i = 0; i < D; i++) m->x[i] += m->xb2[i];
        rmsnorm(m->xb, m->x, W(m, ANT_RMS_FFN, l), D, c->norm_eps);
        matvec(m->hb, W(m, ANT_W1, l), m->xb, H, D);
        matvec(m->hb2, W(m, ANT_W3, l), m->xb, H, D);
        for (int i = 0; i < H; i++) m->hb[i] = m->hb[i] / (1.0f + expf(-m->hb[i])) * m->hb2[i];
        matvec(m->xb2, W(m, ANT_W2, l), m->hb, D, H);
        for (int i = 0; i < D; i++) m->x[i] += m->xb2[i];
    }
    rmsnorm(m->x, m->x, W(m, ANT_RMS_FINAL, 0), D, c->norm_eps);
    matvec(m->logits, W(m, c->shared_classifier ? ANT_TOK_EMB : ANT_WCLS, 0), m->x,
           c->vocab_size, D);
    return m->logits;
}
