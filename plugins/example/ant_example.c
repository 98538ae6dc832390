/* anetrain example backend: the whole Llama2 model (llama2.c's architecture) in plain
 * C loops, forward and backward, with nothing but <anetrain/backend.h> and libm.
 *
 * It is slow on purpose: every line is the textbook formula, so it reads as a
 * specification of what a backend must compute. Copy it to start your own backend,
 * rename "example" everywhere (the file must be ant_<name>.so, the table's name <name>),
 * and replace the math with your device's.
 *
 * Build outside the tree:
 *   cc -O2 -fPIC -shared $(pkg-config --cflags anetrain-plugin) \
 *      -DANT_MODULE_NAME=ant_example -o ant_example.so ant_example.c -lm
 * then put ant_example.so in a folder on plugin_path / ANETRAIN_PLUGIN_PATH and run
 *   anetrain train --backend example */
#define _POSIX_C_SOURCE 200112L   /* clock_gettime under -std=c11 */
#include <anetrain/backend.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct ex {
    struct ant_model_config c;
    struct ant_layout lay;
    const struct ant_host *host;
    int max_batch, B, T;              /* B, T of the last forward (0: none pending) */
    long log_every, steps;
    /* Activations, per layer l at offset l * (rows * width); rows = max_batch * seq_len. */
    float *x;        /* [L+1][N, D] residual stream into each layer (x[L] = final) */
    float *xn, *q;   /* [L][N, D] normed input, rotated queries */
    float *k, *v;    /* [L][N, KV] rotated keys, values */
    float *att;      /* [L][B, nh, T, T] softmax probabilities */
    float *ao, *xmid, *hn;         /* [L][N, D] */
    float *h1, *h3, *hg;           /* [L][N, H] */
    float *r_att, *r_ffn;          /* [L][N] rmsnorm 1/rms */
    float *xf, *r_f, *logits;      /* [N, D], [N], [N, V] */
    float *cosv, *sinv;            /* [T, hd/2] RoPE table */
    int32_t *tokens, *targets;     /* [N] of the pending forward */
    /* Backward scratch */
    float *dx, *dxmid, *dhn, *dao, *dq, *dk, *dv, *dh1, *dh3, *dhg, *dlogits, *dxf;
    struct ant_backend_stats st;
    char err[256];
};

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static const float *Wt(const struct ex *m, const float *w, int t, int l)
{
    return ant_tensor((float *)w, &m->lay, t, l);
}

static float *Gt(const struct ex *m, float *g, int t, int l) { return ant_tensor(g, &m->lay, t, l); }

/* y [n, out] = x [n, in] · W^T, W [out, in] */
static void matmul(float *y, const float *x, const float *W, int n, int in, int out)
{
    for (int r = 0; r < n; r++)
        for (int o = 0; o < out; o++) {
            float s = 0;
            for (int i = 0; i < in; i++) s += x[(size_t)r * in + i] * W[(size_t)o * in + i];
            y[(size_t)r * out + o] = s;
        }
}

/* dx [n, in] (+)= dy [n, out] · W;  dW [out, in] += scale * dy^T · x */
static void matmul_back(float *dx, float *dW, const float *dy, const float *x, const float *W,
                        int n, int in, int out, float scale, int accumulate)
{
    for (int r = 0; r < n; r++)
        for (int i = 0; i < in; i++) {
            float s = accumulate ? dx[(size_t)r * in + i] : 0;
            for (int o = 0; o < out; o++) s += dy[(size_t)r * out + o] * W[(size_t)o * in + i];
            dx[(size_t)r * in + i] = s;
        }
    for (int o = 0; o < out; o++)
        for (int i = 0; i < in; i++) {
            float s = 0;
            for (int r = 0; r < n; r++) s += dy[(size_t)r * out + o] * x[(size_t)r * in + i];
            dW[(size_t)o * in + i] += scale * s;
        }
}

/* y = x * r * w, r = 1 / sqrt(mean(x^2) + eps), per row of d */
static void rmsnorm(float *y, float *r, const float *x, const float *w, int n, int d, float eps)
{
    for (int i = 0; i < n; i++) {
        double ss = 0;
        for (int j = 0; j < d; j++) ss += (double)x[i * d + j] * x[i * d + j];
        r[i] = 1.0f / sqrtf((float)(ss / d) + eps);
        for (int j = 0; j < d; j++) y[i * d + j] = x[i * d + j] * r[i] * w[j];
    }
}

/* dx += r (w dy) - x r^3 mean(w dy x);  dw += scale * sum_rows dy x r */
static void rmsnorm_back(float *dx, float *dw, const float *dy, const float *x, const float *r,
                         const float *w, int n, int d, float scale)
{
    for (int i = 0; i < n; i++) {
        double dot = 0;
        for (int j = 0; j < d; j++) dot += (double)w[j] * dy[i * d + j] * x[i * d + j];
        float m = (float)(dot / d), r3 = r[i] * r[i] * r[i];
        for (int j = 0; j < d; j++) {
            dx[i * d + j] += r[i] * w[j] * dy[i * d + j] - x[i * d + j] * r3 * m;
            dw[j] += scale * dy[i * d + j] * x[i * d + j] * r[i];
        }
    }
}

/* Rotate pairs (2i, 2i+1) of every head at position t by sign * t * theta^(-2i/hd). */
static void rope(const struct ex *m, float *x, int n, int heads, float sign)
{
    int hd = ant_head_dim(&m->c);
    for (int r = 0; r < n; r++) {
        int t = r % m->T;
        for (int h = 0; h < heads; h++)
            for (int i = 0; i < hd / 2; i++) {
                float *p = x + (size_t)r * heads * hd + h * hd + 2 * i;
                float c = m->cosv[t * (hd / 2) + i], s = sign * m->sinv[t * (hd / 2) + i];
                float a = p[0], b = p[1];
                p[0] = a * c - b * s;
                p[1] = a * s + b * c;
            }
    }
}

static float silu(float x) { return x / (1.0f + expf(-x)); }

static void attention(const struct ex *m, float *ao, float *att, const float *q, const float *k,
                      const float *v)
{
    const struct ant_model_config *c = &m->c;
    int hd = ant_head_dim(c), KV = ant_kv_dim(c), T = m->T, group = c->n_heads / c->n_kv_heads;
    float scale = 1.0f / sqrtf((float)hd);
    for (int b = 0; b < m->B; b++)
        for (int h = 0; h < c->n_heads; h++)
            for (int t = 0; t < T; t++) {
                const float *qt = q + ((size_t)(b * T + t)) * c->dim + h * hd;
                float *p = att + (((size_t)b * c->n_heads + h) * T + t) * T;
                float mx = -INFINITY, sum = 0;
                for (int s = 0; s <= t; s++) {
                    const float *ks = k + ((size_t)(b * T + s)) * KV + (h / group) * hd;
                    float d = 0;
                    for (int i = 0; i < hd; i++) d += qt[i] * ks[i];
                    p[s] = d * scale;
                    if (p[s] > mx) mx = p[s];
                }
                for (int s = 0; s <= t; s++) sum += p[s] = expf(p[s] - mx);
                for (int s = 0; s < T; s++) p[s] = s <= t ? p[s] / sum : 0;
                float *o = ao + ((size_t)(b * T + t)) * c->dim + h * hd;
                for (int i = 0; i < hd; i++) o[i] = 0;
                for (int s = 0; s <= t; s++) {
                    const float *vs = v + ((size_t)(b * T + s)) * KV + (h / group) * hd;
                    for (int i = 0; i < hd; i++) o[i] += p[s] * vs[i];
                }
            }
}

/* dq, dk, dv (zeroed here) from dao, through softmax(q k^T / sqrt(hd)) v */
static void attention_back(const struct ex *m, float *dq, float *dk, float *dv, const float *dao,
                           const float *att, const float *q, const float *k, const float *v)
{
    const struct ant_model_config *c = &m->c;
    int hd = ant_head_dim(c), KV = ant_kv_dim(c), T = m->T, N = m->B * T;
    int group = c->n_heads / c->n_kv_heads;
    float scale = 1.0f / sqrtf((float)hd);
    memset(dq, 0, sizeof *dq * (size_t)N * c->dim);
    memset(dk, 0, sizeof *dk * (size_t)N * KV);
    memset(dv, 0, sizeof *dv * (size_t)N * KV);
    for (int b = 0; b < m->B; b++)
        for (int h = 0; h < c->n_heads; h++)
            for (int t = 0; t < T; t++) {
                size_t rt = (size_t)(b * T + t);
                const float *p = att + (((size_t)b * c->n_heads + h) * T + t) * T;
                const float *go = dao + rt * c->dim + h * hd;
                float dp[T > 0 ? T : 1], dot = 0;
                for (int s = 0; s <= t; s++) {
                    size_t rs = (size_t)(b * T + s) * KV + (h / group) * hd;
                    dp[s] = 0;
                    for (int i = 0; i < hd; i++) {
                        dp[s] += go[i] * v[rs + i];
                        dv[rs + i] += p[s] * go[i];
                    }
                    dot += p[s] * dp[s];
                }
                for (int s = 0; s <= t; s++) {
                    float ds = p[s] * (dp[s] - dot) * scale;
                    size_t rs = (size_t)(b * T + s) * KV + (h / group) * hd;
                    for (int i = 0; i < hd; i++) {
                        dq[rt * c->dim + h * hd + i] += ds * k[rs + i];
                        dk[rs + i] += ds * q[rt * c->dim + h * hd + i];
                    }
                }
            }
}

static int fail(struct ex *m, const char *msg)
{
    snprintf(m->err, sizeof m->err, "%s", msg);
    return -1;
}

static int forward(struct ex *m, const float *w, const struct ant_batch *bt, float *loss)
{
    const struct ant_model_config *c = &m->c;
    int D = c->dim, H = c->hidden_dim, KV = ant_kv_dim(c), V = c->vocab_size;
    if (bt->batch_size < 1 || bt->batch_size > m->max_batch || bt->seq_len < 1 ||
        bt->seq_len > c->seq_len)
        return fail(m, "batch shape out of range");
    int N = bt->batch_size * bt->seq_len;
    size_t rows = (size_t)m->max_batch * c->seq_len;
    m->B = bt->batch_size;
    m->T = bt->seq_len;
    for (int n = 0; n < N; n++) {
        int32_t tok = bt->tokens[n], tgt = bt->targets ? bt->targets[n] : 0;
        if (tok < 0 || tok >= V || tgt < 0 || tgt >= V) return fail(m, "token id out of range");
        memcpy(m->x + (size_t)n * D, Wt(m, w, ANT_TOK_EMB, 0) + (size_t)tok * D, sizeof(float) * D);
        m->tokens[n] = tok;
        m->targets[n] = tgt;
    }
    for (int l = 0; l < c->n_layers; l++) {
        float *x = m->x + l * rows * D, *xn = m->xn + l * rows * D, *q = m->q + l * rows * D;
        float *k = m->k + l * rows * KV, *v = m->v + l * rows * KV, *ao = m->ao + l * rows * D;
        float *xmid = m->xmid + l * rows * D, *hn = m->hn + l * rows * D;
        float *h1 = m->h1 + l * rows * H, *h3 = m->h3 + l * rows * H, *hg = m->hg + l * rows * H;
        float *xnext = m->x + (l + 1) * rows * D;
        rmsnorm(xn, m->r_att + l * rows, x, Wt(m, w, ANT_RMS_ATT, l), N, D, c->norm_eps);
        matmul(q, xn, Wt(m, w, ANT_WQ, l), N, D, D);
        matmul(k, xn, Wt(m, w, ANT_WK, l), N, D, KV);
        matmul(v, xn, Wt(m, w, ANT_WV, l), N, D, KV);
        rope(m, q, N, c->n_heads, 1.0f);
        rope(m, k, N, c->n_kv_heads, 1.0f);
        attention(m, ao, m->att + (size_t)l * m->max_batch * c->n_heads * c->seq_len * c->seq_len,
                  q, k, v);
        matmul(xmid, ao, Wt(m, w, ANT_WO, l), N, D, D);
        for (size_t i = 0; i < (size_t)N * D; i++) xmid[i] += x[i];
        rmsnorm(hn, m->r_ffn + l * rows, xmid, Wt(m, w, ANT_RMS_FFN, l), N, D, c->norm_eps);
        matmul(h1, hn, Wt(m, w, ANT_W1, l), N, D, H);
        matmul(h3, hn, Wt(m, w, ANT_W3, l), N, D, H);
        for (size_t i = 0; i < (size_t)N * H; i++) hg[i] = silu(h1[i]) * h3[i];
        matmul(xnext, hg, Wt(m, w, ANT_W2, l), N, H, D);
        for (size_t i = 0; i < (size_t)N * D; i++) xnext[i] += xmid[i];
    }
    const float *cls = Wt(m, w, c->shared_classifier ? ANT_TOK_EMB : ANT_WCLS, 0);
    rmsnorm(m->xf, m->r_f, m->x + c->n_layers * rows * D, Wt(m, w, ANT_RMS_FINAL, 0), N, D,
            c->norm_eps);
    matmul(m->logits, m->xf, cls, N, D, V);
    double sum = 0;
    for (int n = 0; n < N; n++) {   /* cross-entropy = logsumexp - logit of the target */
        const float *z = m->logits + (size_t)n * V;
        float mx = z[0];
        for (int i = 1; i < V; i++) mx = z[i] > mx ? z[i] : mx;
        double se = 0;
        for (int i = 0; i < V; i++) se += exp((double)z[i] - mx);
        sum += log(se) + mx - z[m->targets[n]];
    }
    *loss = (float)(sum / N);
    m->st.evals++;
    return 0;
}

static void backward(struct ex *m, const float *w, float *g, float scale)
{
    const struct ant_model_config *c = &m->c;
    int D = c->dim, H = c->hidden_dim, KV = ant_kv_dim(c), V = c->vocab_size;
    int N = m->B * m->T;
    size_t rows = (size_t)m->max_batch * c->seq_len;
    /* d loss / d logits = (softmax - onehot) / N; scale is applied to the weight grads */
    for (int n = 0; n < N; n++) {
        const float *z = m->logits + (size_t)n * V;
        float *dz = m->dlogits + (size_t)n * V, mx = z[0];
        for (int i = 1; i < V; i++) mx = z[i] > mx ? z[i] : mx;
        double se = 0;
        for (int i = 0; i < V; i++) se += exp((double)z[i] - mx);
        for (int i = 0; i < V; i++)
            dz[i] = (float)(exp((double)z[i] - mx) / se) / N - (i == m->targets[n] ? 1.0f / N : 0);
    }
    int cls = c->shared_classifier ? ANT_TOK_EMB : ANT_WCLS;
    matmul_back(m->dxf, Gt(m, g, cls, 0), m->dlogits, m->xf, Wt(m, w, cls, 0), N, D, V, scale, 0);
    memset(m->dx, 0, sizeof(float) * (size_t)N * D);
    rmsnorm_back(m->dx, Gt(m, g, ANT_RMS_FINAL, 0), m->dxf, m->x + c->n_layers * rows * D, m->r_f,
                 Wt(m, w, ANT_RMS_FINAL, 0), N, D, scale);
    for (int l = c->n_layers - 1; l >= 0; l--) {   /* m->dx holds d loss / d x[l+1] */
        float *x = m->x + l * rows * D, *xn = m->xn + l * rows * D, *q = m->q + l * rows * D;
        float *k = m->k + l * rows * KV, *v = m->v + l * rows * KV, *ao = m->ao + l * rows * D;
        float *xmid = m->xmid + l * rows * D, *hn = m->hn + l * rows * D;
        float *h1 = m->h1 + l * rows * H, *h3 = m->h3 + l * rows * H, *hg = m->hg + l * rows * H;
        /* feed-forward block */
        memcpy(m->dxmid, m->dx, sizeof(float) * (size_t)N * D);
        matmul_back(m->dhg, Gt(m, g, ANT_W2, l), m->dx, hg, Wt(m, w, ANT_W2, l), N, H, D, scale, 0);
        for (size_t i = 0; i < (size_t)N * H; i++) {
            float sg = 1.0f / (1.0f + expf(-h1[i]));
            m->dh3[i] = m->dhg[i] * h1[i] * sg;
            m->dh1[i] = m->dhg[i] * h3[i] * sg * (1.0f + h1[i] * (1.0f - sg));
        }
        matmul_back(m->dhn, Gt(m, g, ANT_W1, l), m->dh1, hn, Wt(m, w, ANT_W1, l), N, D, H, scale, 0);
        matmul_back(m->dhn, Gt(m, g, ANT_W3, l), m->dh3, hn, Wt(m, w, ANT_W3, l), N, D, H, scale, 1);
        rmsnorm_back(m->dxmid, Gt(m, g, ANT_RMS_FFN, l), m->dhn, xmid, m->r_ffn + l * rows,
                     Wt(m, w, ANT_RMS_FFN, l), N, D, scale);
        /* attention block */
        memcpy(m->dx, m->dxmid, sizeof(float) * (size_t)N * D);
        matmul_back(m->dao, Gt(m, g, ANT_WO, l), m->dxmid, ao, Wt(m, w, ANT_WO, l), N, D, D, scale, 0);
        attention_back(m, m->dq, m->dk, m->dv, m->dao,
                       m->att + (size_t)l * m->max_batch * c->n_heads * c->seq_len * c->seq_len,
                       q, k, v);
        rope(m, m->dq, N, c->n_heads, -1.0f);
        rope(m, m->dk, N, c->n_kv_heads, -1.0f);
        matmul_back(m->dhn, Gt(m, g, ANT_WQ, l), m->dq, xn, Wt(m, w, ANT_WQ, l), N, D, D, scale, 0);
        matmul_back(m->dhn, Gt(m, g, ANT_WK, l), m->dk, xn, Wt(m, w, ANT_WK, l), N, D, KV, scale, 1);
        matmul_back(m->dhn, Gt(m, g, ANT_WV, l), m->dv, xn, Wt(m, w, ANT_WV, l), N, D, KV, scale, 1);
        rmsnorm_back(m->dx, Gt(m, g, ANT_RMS_ATT, l), m->dhn, x, m->r_att + l * rows,
                     Wt(m, w, ANT_RMS_ATT, l), N, D, scale);
    }
    float *demb = Gt(m, g, ANT_TOK_EMB, 0);
    for (int n = 0; n < N; n++)
        for (int j = 0; j < D; j++) demb[(size_t)m->tokens[n] * D + j] += scale * m->dx[(size_t)n * D + j];
}

/* --- the ABI ---------------------------------------------------------------------- */

static const struct ant_setting settings[] = {
    {"log_every", ANT_SET_INT, "0", "log the loss through the host every N steps (0: never)"},
    {NULL, 0, NULL, NULL},
};

static int ex_probe(const struct ant_host *h, const struct ant_chip *chip, int *prio,
                    const char **why)
{
    (void)h, (void)chip, (void)why;   /* runs anywhere */
    *prio = 1;                         /* below cpu: never chosen over it unless asked for */
    return 0;
}

static void ex_close(void *ctx);

static int ex_open(const struct ant_host *h, const struct ant_open_args *a, void **out,
                   char *why, size_t why_len)
{
    const struct ant_model_config *c = a->model;
    if (c->dim <= 0 || c->n_heads <= 0 || c->dim % c->n_heads || ant_head_dim(c) % 2 ||
        c->n_kv_heads <= 0 || c->n_heads % c->n_kv_heads || c->n_layers <= 0 ||
        c->vocab_size <= 0 || c->seq_len <= 0 || c->hidden_dim <= 0 || a->max_batch <= 0) {
        snprintf(why, why_len, "model shape not supported");
        return -1;
    }
    struct ex *m = calloc(1, sizeof *m);
    if (!m) return -1;
    m->c = *c;
    m->host = h;
    m->max_batch = a->max_batch;
    ant_layout_init(&m->lay, c);
    const struct ant_setting_value *v = ant_setting_find(a->settings, "log_every");
    m->log_every = v ? v->i : 0;
    size_t L = (size_t)c->n_layers, rows = (size_t)a->max_batch * c->seq_len;
    size_t D = (size_t)c->dim, H = (size_t)c->hidden_dim, KV = (size_t)ant_kv_dim(c);
    size_t V = (size_t)c->vocab_size, hd = (size_t)ant_head_dim(c);
    size_t A = (size_t)a->max_batch * c->n_heads * c->seq_len * c->seq_len;
    struct { float **p; size_t n; } bufs[] = {
        {&m->x, (L + 1) * rows * D}, {&m->xn, L * rows * D}, {&m->q, L * rows * D},
        {&m->k, L * rows * KV}, {&m->v, L * rows * KV}, {&m->att, L * A},
        {&m->ao, L * rows * D}, {&m->xmid, L * rows * D}, {&m->hn, L * rows * D},
        {&m->h1, L * rows * H}, {&m->h3, L * rows * H}, {&m->hg, L * rows * H},
        {&m->r_att, L * rows}, {&m->r_ffn, L * rows}, {&m->xf, rows * D}, {&m->r_f, rows},
        {&m->logits, rows * V}, {&m->cosv, c->seq_len * hd / 2}, {&m->sinv, c->seq_len * hd / 2},
        {&m->dx, rows * D}, {&m->dxmid, rows * D}, {&m->dhn, rows * D}, {&m->dao, rows * D},
        {&m->dq, rows * D}, {&m->dk, rows * KV}, {&m->dv, rows * KV}, {&m->dh1, rows * H},
        {&m->dh3, rows * H}, {&m->dhg, rows * H}, {&m->dlogits, rows * V}, {&m->dxf, rows * D},
    };
    int good = (m->tokens = calloc(rows, sizeof *m->tokens)) &&
               (m->targets = calloc(rows, sizeof *m->targets));
    for (size_t i = 0; good && i < sizeof bufs / sizeof bufs[0]; i++)
        good = (*bufs[i].p = calloc(bufs[i].n ? bufs[i].n : 1, sizeof(float))) != NULL;
    if (!good) {
        ex_close(m);
        snprintf(why, why_len, "out of memory");
        return -1;
    }
    for (int t = 0; t < c->seq_len; t++)   /* llama2.c: theta^(-2i/hd) per pair i */
        for (size_t i = 0; i < hd / 2; i++) {
            double ang = t * pow((double)c->rope_theta, -(double)(2 * i) / (double)hd);
            m->cosv[t * hd / 2 + i] = (float)cos(ang);
            m->sinv[t * hd / 2 + i] = (float)sin(ang);
        }
    m->st.size = sizeof m->st;
    *out = m;
    return 0;
}

static int ex_train_step(void *ctx, const float *w, const struct ant_batch *b, float *grads,
                         float scale, float *loss)
{
    struct ex *m = ctx;
    double t0 = now_ms();
    if (!b->targets) return fail(m, "train_step needs targets");
    if (forward(m, w, b, loss) < 0) return -1;
    double t1 = now_ms();
    backward(m, w, grads, scale);
    m->st.forward_ms += t1 - t0;
    m->st.backward_ms += now_ms() - t1;
    if (m->log_every > 0 && ++m->steps % m->log_every == 0 && m->host && m->host->log)
        m->host->log(ANT_LOG_INFO, "example", "micro-step %ld: loss %.4f", m->steps, *loss);
    return 0;
}

static int ex_eval_loss(void *ctx, const float *w, const struct ant_batch *b, float *loss)
{
    struct ex *m = ctx;
    if (!b->targets) return fail(m, "eval_loss needs targets");
    double t0 = now_ms();
    int rc = forward(m, w, b, loss);
    m->st.forward_ms += now_ms() - t0;
    return rc;
}

static int ex_logits(void *ctx, const float *w, const int32_t *tokens, int n, float *logits)
{
    struct ex *m = ctx;
    struct ant_batch b = {1, n, tokens, NULL};
    float loss;
    if (forward(m, w, &b, &loss) < 0) return -1;
    memcpy(logits, m->logits + (size_t)(n - 1) * m->c.vocab_size, sizeof(float) * m->c.vocab_size);
    return 0;
}

static int ex_stats(void *ctx, struct ant_backend_stats *out)
{
    struct ex *m = ctx;
    *out = m->st;
    return 0;
}

static const char *ex_last_error(void *ctx) { return ((struct ex *)ctx)->err; }

static void ex_close(void *ctx)
{
    struct ex *m = ctx;
    float *bufs[] = {m->x, m->xn, m->q, m->k, m->v, m->att, m->ao, m->xmid, m->hn, m->h1, m->h3,
                     m->hg, m->r_att, m->r_ffn, m->xf, m->r_f, m->logits, m->cosv, m->sinv,
                     m->dx, m->dxmid, m->dhn, m->dao, m->dq, m->dk, m->dv, m->dh1, m->dh3,
                     m->dhg, m->dlogits, m->dxf};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) free(bufs[i]);
    free(m->tokens);
    free(m->targets);
    free(m);
}

static const struct ant_backend example = {
    .abi_major = ANT_ABI_MAJOR,
    .abi_minor = ANT_ABI_MINOR,
    .size = sizeof(struct ant_backend),
    .name = "example",
    .description = "plain-C Llama2 in textbook loops (the plugin kit's example)",
    .settings = settings,
    .probe = ex_probe,
    .open = ex_open,
    .train_step = ex_train_step,
    .eval_loss = ex_eval_loss,
    .logits = ex_logits,
    .weights_changed = NULL,   /* reads the core's weights on every call: nothing to do */
    .stats = ex_stats,
    .last_error = ex_last_error,
    .close = ex_close,
};

int ant_backend_entry(const struct ant_host *host, const struct ant_backend **out)
{
    (void)host;   /* kept by open() instead, for logging */
    *out = &example;
    return 0;
}
