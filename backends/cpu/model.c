/* Llama2 forward and backward over the whole model, llm.c style: one slab of activations
 * carved into named tensors, a forward that saves what the backward reads, and a
 * backward that adds straight into the caller's gradient buffer (sgemm with beta = 1),
 * with grad_scale folded into dlogits so no gradient is ever rescaled afterwards. */
#define _POSIX_C_SOURCE 200112L   /* posix_memalign */
#include "cpu/model.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/ops.h"

/* What the backward needs; layer l at [l * per-layer size]. N = max_batch * seq_len. */
struct cpu_acts {
    float *x;          /* [L+1][N, D] residual stream entering layer l; [L] leaves the last */
    float *xmid;       /* [L][N, D] after the attention residual */
    float *xn_att;     /* [L][N, D] rmsnorm before attention */
    float *rstd_att;   /* [L][N] */
    float *q;          /* [L][N, D] after RoPE */
    float *k, *v;      /* [L][N, KVD] (k after RoPE) */
    float *att;        /* [L][B, NH, T, T] softmax probabilities */
    float *ao;         /* [L][N, D] attention output, before Wo */
    float *xn_ffn;     /* [L][N, D] */
    float *rstd_ffn;   /* [L][N] */
    float *h1, *h3;    /* [L][N, H] gate and up projections */
    float *hg;         /* [L][N, H] silu(h1) * h3 */
    float *xn_final;   /* [N, D] */
    float *rstd_final; /* [N] */
    float *logits;     /* [N, V] logits, then probs, then dlogits */
};

/* Backward scratch, one layer's worth. */
struct cpu_grads {
    float *dx;                /* [N, D] gradient of the residual stream */
    float *dxn, *dao, *dq;    /* [N, D] */
    float *dk, *dv;           /* [N, KVD] */
    float *dh1, *dh3, *dhg;   /* [N, H] */
    float *datt;              /* [T, T] */
};

struct cpu_model {
    struct ant_model_config c;
    struct cpu_matmul_ops mm;     /* the products: OpenBLAS, or a device's */
    struct ant_layout lay;
    int max_batch;
    float *slab;
    struct cpu_acts a;
    struct cpu_grads g;
    float *rope_cos, *rope_sin;   /* [seq_len, head_dim/2] */
    int32_t *tokens, *targets;    /* [N] copies from the last forward */
    int b, t;                     /* shape of the last forward; b = 0 when none */
    char err[256];
};

#define MM_FWD(m, ...) (m)->mm.forward((m)->mm.ctx, __VA_ARGS__)
#define MM_DX(m, ...) (m)->mm.backward_dx((m)->mm.ctx, __VA_ARGS__)
#define MM_DW(m, ...) (m)->mm.backward_dw((m)->mm.ctx, __VA_ARGS__)

static void blas_forward(void *c, float *y, const float *x, const float *w, int n, int in, int out)
{
    matmul_forward(y, x, w, n, in, out);
}
static void blas_dx(void *c, float *dx, const float *dy, const float *w, int n, int in, int out,
                    float beta)
{
    matmul_backward_dx(dx, dy, w, n, in, out, beta);
}
static void blas_dw(void *c, float *dw, const float *dy, const float *x, int n, int in, int out,
                    float alpha)
{
    matmul_backward_dw(dw, dy, x, n, in, out, alpha);
}
static const struct cpu_matmul_ops blas_ops = {NULL, blas_forward, blas_dx, blas_dw};

void cpu_model_set_matmul(struct cpu_model *m, const struct cpu_matmul_ops *ops)
{
    m->mm = ops ? *ops : blas_ops;
}

static int fail(struct cpu_model *m, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m->err, sizeof m->err, fmt, ap);
    va_end(ap);
    return -1;
}

static int config_check(const struct ant_model_config *c, int max_batch, char *why, size_t n)
{
    char msg[160] = "";
    if (c->dim <= 0 || c->n_heads <= 0 || c->dim % c->n_heads)
        snprintf(msg, sizeof msg, "dim %d must be a positive multiple of n_heads %d",
                 (int)c->dim, (int)c->n_heads);
    else if ((c->dim / c->n_heads) % 2)
        snprintf(msg, sizeof msg, "head_dim = dim / n_heads = %d must be even for RoPE",
                 (int)(c->dim / c->n_heads));
    else if (c->n_kv_heads <= 0 || c->n_heads % c->n_kv_heads)
        snprintf(msg, sizeof msg, "n_kv_heads %d must divide n_heads %d", (int)c->n_kv_heads,
                 (int)c->n_heads);
    else if (c->hidden_dim <= 0 || c->n_layers <= 0 || c->vocab_size <= 0 || c->seq_len <= 0)
        snprintf(msg, sizeof msg,
                 "hidden_dim %d, n_layers %d, vocab_size %d, seq_len %d must be positive",
                 (int)c->hidden_dim, (int)c->n_layers, (int)c->vocab_size, (int)c->seq_len);
    else if (!(c->rope_theta > 0.0f))
        snprintf(msg, sizeof msg, "rope_theta %g must be positive", (double)c->rope_theta);
    else if (!(c->norm_eps >= 0.0f))
        snprintf(msg, sizeof msg, "norm_eps %g must be >= 0", (double)c->norm_eps);
    else if (max_batch <= 0)
        snprintf(msg, sizeof msg, "max_batch %d must be positive", max_batch);
    if (msg[0] && why && n) snprintf(why, n, "cpu model: %s", msg);
    return msg[0] ? -1 : 0;
}

/* Hand out n floats of the slab (64-byte aligned) or count them when base is NULL. */
static float *carve(float *base, size_t *used, size_t n)
{
    float *p = base ? base + *used : NULL;
    *used += (n + 15) & ~(size_t)15;
    return p;
}

static size_t carve_all(struct cpu_model *m, float *base)
{
    const struct ant_model_config *c = &m->c;
    size_t L = c->n_layers, D = c->dim, H = c->hidden_dim, V = c->vocab_size;
    size_t KV = ant_kv_dim(c), T = c->seq_len, N = (size_t)m->max_batch * T;
    size_t u = 0;
    struct cpu_acts *a = &m->a;
    struct cpu_grads *g = &m->g;
    a->x = carve(base, &u, (L + 1) * N * D);
    a->xmid = carve(base, &u, L * N * D);
    a->xn_att = carve(base, &u, L * N * D);
    a->rstd_att = carve(base, &u, L * N);
    a->q = carve(base, &u, L * N * D);
    a->k = carve(base, &u, L * N * KV);
    a->v = carve(base, &u, L * N * KV);
    a->att = carve(base, &u, L * m->max_batch * c->n_heads * T * T);
    a->ao = carve(base, &u, L * N * D);
    a->xn_ffn = carve(base, &u, L * N * D);
    a->rstd_ffn = carve(base, &u, L * N);
    a->h1 = carve(base, &u, L * N * H);
    a->h3 = carve(base, &u, L * N * H);
    a->hg = carve(base, &u, L * N * H);
    a->xn_final = carve(base, &u, N * D);
    a->rstd_final = carve(base, &u, N);
    a->logits = carve(base, &u, N * V);
    g->dx = carve(base, &u, N * D);
    g->dxn = carve(base, &u, N * D);
    g->dao = carve(base, &u, N * D);
    g->dq = carve(base, &u, N * D);
    g->dk = carve(base, &u, N * KV);
    g->dv = carve(base, &u, N * KV);
    g->dh1 = carve(base, &u, N * H);
    g->dh3 = carve(base, &u, N * H);
    g->dhg = carve(base, &u, N * H);
    g->datt = carve(base, &u, T * T);
    m->rope_cos = carve(base, &u, T * (D / c->n_heads / 2));
    m->rope_sin = carve(base, &u, T * (D / c->n_heads / 2));
    return u;
}

size_t cpu_model_bytes(const struct ant_model_config *c, int max_batch)
{
    struct cpu_model m = {.c = *c, .max_batch = max_batch};
    return carve_all(&m, NULL) * sizeof(float) + 2 * (size_t)max_batch * c->seq_len * sizeof(int32_t);
}

struct cpu_model *cpu_model_create(const struct ant_model_config *c, int max_batch,
                                   char *why, size_t why_len)
{
    if (config_check(c, max_batch, why, why_len)) return NULL;
    struct cpu_model *m = calloc(1, sizeof *m);
    size_t n_tok = (size_t)max_batch * c->seq_len;
    if (m) {
        m->c = *c;
        m->mm = blas_ops;
        m->max_batch = max_batch;
        ant_layout_init(&m->lay, c);
        size_t floats = carve_all(m, NULL);
        void *p = NULL;
        /* 64-byte alignment for the sgemm kernels; carve keeps every tensor aligned */
        if (posix_memalign(&p, 64, floats * sizeof(float)) == 0) m->slab = p;
        m->tokens = malloc(n_tok * sizeof *m->tokens);
        m->targets = malloc(n_tok * sizeof *m->targets);
    }
    if (!m || !m->slab || !m->tokens || !m->targets) {
        if (why && why_len)
            snprintf(why, why_len, "cpu model: out of memory for %d x %d tokens", max_batch,
                     c->seq_len);
        cpu_model_free(m);
        return NULL;
    }
    carve_all(m, m->slab);
    rope_table(m->rope_cos, m->rope_sin, c->seq_len, ant_head_dim(c), c->rope_theta);
    return m;
}

void cpu_model_free(struct cpu_model *m)
{
    if (!m) return;
    free(m->slab);
    free(m->tokens);
    free(m->targets);
    free(m);
}

const char *cpu_model_error(const struct cpu_model *m) { return m->err; }

static int check_ids(struct cpu_model *m, const int32_t *ids, int n, int t, const char *what)
{
    for (int i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= m->c.vocab_size)
            return fail(m, "%s[%d][%d] = %d is outside the vocabulary [0, %d)", what, i / t,
                        i % t, (int)ids[i], (int)m->c.vocab_size);
    return 0;
}

static int check_shape(struct cpu_model *m, int b, int t)
{
    if (b < 1 || b > m->max_batch)
        return fail(m, "batch size %d outside [1, %d] (max_batch)", b, m->max_batch);
    if (t < 1 || t > m->c.seq_len)
        return fail(m, "sequence length %d outside [1, %d] (seq_len)", t, (int)m->c.seq_len);
    return 0;
}

static const float *W(const struct cpu_model *m, const float *w, int tensor, int l)
{
    return ant_tensor((float *)w, &m->lay, tensor, l);
}

/* Transformer layers over b x t tokens already checked: leaves x[L]. */
static void forward_layers(struct cpu_model *m, const float *w, int b, int t)
{
    const struct ant_model_config *c = &m->c;
    struct cpu_acts *a = &m->a;
    int D = c->dim, H = c->hidden_dim, KV = ant_kv_dim(c), hd = ant_head_dim(c);
    int N = b * t;
    size_t sN = (size_t)m->max_batch * c->seq_len;   /* per-layer stride in rows */
    size_t sA = (size_t)m->max_batch * c->n_heads * c->seq_len * c->seq_len;
    for (int l = 0; l < c->n_layers; l++) {
        float *x = a->x + l * sN * D, *xmid = a->xmid + l * sN * D, *xnext = x + sN * D;
        float *xn = a->xn_att + l * sN * D, *q = a->q + l * sN * D;
        float *k = a->k + l * sN * KV, *v = a->v + l * sN * KV, *ao = a->ao + l * sN * D;
        float *hn = a->xn_ffn + l * sN * D, *h1 = a->h1 + l * sN * H, *h3 = a->h3 + l * sN * H;
        float *hg = a->hg + l * sN * H;
        /* attention block: xmid [N, D] = x + Wo · attn(rope(Wq xn), rope(Wk xn), Wv xn) */
        rmsnorm_forward(xn, a->rstd_att + l * sN, x, W(m, w, ANT_RMS_ATT, l), N, D,
                        c->norm_eps);
        MM_FWD(m, q, xn, W(m, w, ANT_WQ, l), N, D, D);
        MM_FWD(m, k, xn, W(m, w, ANT_WK, l), N, D, KV);
        MM_FWD(m, v, xn, W(m, w, ANT_WV, l), N, D, KV);
        rope_forward(q, m->rope_cos, m->rope_sin, b, t, c->n_heads, hd);
        rope_forward(k, m->rope_cos, m->rope_sin, b, t, c->n_kv_heads, hd);
        attention_forward(ao, a->att + l * sA, q, k, v, b, t, c->n_heads, c->n_kv_heads, hd);
        MM_FWD(m, xmid, ao, W(m, w, ANT_WO, l), N, D, D);
        for (size_t i = 0; i < (size_t)N * D; i++) xmid[i] += x[i];
        /* feed-forward block: xnext [N, D] = xmid + W2 · (silu(W1 hn) * W3 hn) */
        rmsnorm_forward(hn, a->rstd_ffn + l * sN, xmid, W(m, w, ANT_RMS_FFN, l), N, D,
                        c->norm_eps);
        MM_FWD(m, h1, hn, W(m, w, ANT_W1, l), N, D, H);
        MM_FWD(m, h3, hn, W(m, w, ANT_W3, l), N, D, H);
        swiglu_forward(hg, h1, h3, (size_t)N * H);
        MM_FWD(m, xnext, hg, W(m, w, ANT_W2, l), N, H, D);
        for (size_t i = 0; i < (size_t)N * D; i++) xnext[i] += xmid[i];
    }
}

static const float *classifier(const struct cpu_model *m, const float *w)
{
    return W(m, w, m->c.shared_classifier ? ANT_TOK_EMB : ANT_WCLS, 0);
}

int cpu_model_forward(struct cpu_model *m, const float *w, const int32_t *tokens,
                      const int32_t *targets, int b, int t, float *loss)
{
    m->b = 0;
    if (check_shape(m, b, t) || check_ids(m, tokens, b * t, t, "tokens") ||
        check_ids(m, targets, b * t, t, "targets"))
        return -1;
    const struct ant_model_config *c = &m->c;
    struct cpu_acts *a = &m->a;
    int N = b * t, D = c->dim, V = c->vocab_size;
    size_t sN = (size_t)m->max_batch * c->seq_len;
    memcpy(m->tokens, tokens, (size_t)N * sizeof *tokens);
    memcpy(m->targets, targets, (size_t)N * sizeof *targets);
    embedding_forward(a->x, W(m, w, ANT_TOK_EMB, 0), tokens, N, D);
    forward_layers(m, w, b, t);
    const float *xL = a->x + (size_t)c->n_layers * sN * D;
    rmsnorm_forward(a->xn_final, a->rstd_final, xL, W(m, w, ANT_RMS_FINAL, 0), N, D,
                    c->norm_eps);
    MM_FWD(m, a->logits, a->xn_final, classifier(m, w), N, D, V);   /* [N, V] */
    double sum = crossentropy_forward(a->logits, targets, N, V);
    *loss = (float)(sum / N);
    if (!isfinite(*loss)) return fail(m, "loss is not finite (%g)", (double)*loss);
    m->b = b;
    m->t = t;
    return 0;
}

/* One layer backward: g->dx [N, D] holds dL/dx[l+1] on entry and dL/dx[l] on exit. */
static void backward_layer(struct cpu_model *m, const float *w, float *grads, int l)
{
    const struct ant_model_config *c = &m->c;
    struct cpu_acts *a = &m->a;
    struct cpu_grads *g = &m->g;
    int b = m->b, t = m->t, N = b * t;
    int D = c->dim, H = c->hidden_dim, KV = ant_kv_dim(c), hd = ant_head_dim(c);
    size_t sN = (size_t)m->max_batch * c->seq_len;
    size_t sA = (size_t)m->max_batch * c->n_heads * c->seq_len * c->seq_len;
    float *x = a->x + l * sN * D, *xmid = a->xmid + l * sN * D;
    float *xn = a->xn_att + l * sN * D, *hn = a->xn_ffn + l * sN * D;
    float *G[ANT_N_TENSORS];
    for (int i = 0; i < ANT_N_TENSORS; i++) G[i] = ant_tensor(grads, &m->lay, i, l);

    /* feed-forward: the residual passes dx through unchanged; add the branch's part */
    MM_DX(m, g->dhg, g->dx, W(m, w, ANT_W2, l), N, H, D, 0.0f);
    MM_DW(m, G[ANT_W2], g->dx, a->hg + l * sN * H, N, H, D, 1.0f);
    swiglu_backward(g->dh1, g->dh3, g->dhg, a->h1 + l * sN * H, a->h3 + l * sN * H,
                    (size_t)N * H);
    MM_DX(m, g->dxn, g->dh1, W(m, w, ANT_W1, l), N, D, H, 0.0f);
    MM_DX(m, g->dxn, g->dh3, W(m, w, ANT_W3, l), N, D, H, 1.0f);
    MM_DW(m, G[ANT_W1], g->dh1, hn, N, D, H, 1.0f);
    MM_DW(m, G[ANT_W3], g->dh3, hn, N, D, H, 1.0f);
    rmsnorm_backward(g->dx, G[ANT_RMS_FFN], g->dxn, xmid, W(m, w, ANT_RMS_FFN, l),
                     a->rstd_ffn + l * sN, N, D);

    /* attention */
    MM_DX(m, g->dao, g->dx, W(m, w, ANT_WO, l), N, D, D, 0.0f);
    MM_DW(m, G[ANT_WO], g->dx, a->ao + l * sN * D, N, D, D, 1.0f);
    attention_backward(g->dq, g->dk, g->dv, g->datt, g->dao, a->att + l * sA,
                       a->q + l * sN * D, a->k + l * sN * KV, a->v + l * sN * KV, b, t,
                       c->n_heads, c->n_kv_heads, hd);
    rope_backward(g->dq, m->rope_cos, m->rope_sin, b, t, c->n_heads, hd);
    rope_backward(g->dk, m->rope_cos, m->rope_sin, b, t, c->n_kv_heads, hd);
    MM_DX(m, g->dxn, g->dq, W(m, w, ANT_WQ, l), N, D, D, 0.0f);
    MM_DX(m, g->dxn, g->dk, W(m, w, ANT_WK, l), N, D, KV, 1.0f);
    MM_DX(m, g->dxn, g->dv, W(m, w, ANT_WV, l), N, D, KV, 1.0f);
    MM_DW(m, G[ANT_WQ], g->dq, xn, N, D, D, 1.0f);
    MM_DW(m, G[ANT_WK], g->dk, xn, N, D, KV, 1.0f);
    MM_DW(m, G[ANT_WV], g->dv, xn, N, D, KV, 1.0f);
    rmsnorm_backward(g->dx, G[ANT_RMS_ATT], g->dxn, x, W(m, w, ANT_RMS_ATT, l),
                     a->rstd_att + l * sN, N, D);
}

int cpu_model_backward(struct cpu_model *m, const float *w, float *grads, float grad_scale)
{
    if (m->b == 0) return fail(m, "backward without a successful forward");
    const struct ant_model_config *c = &m->c;
    struct cpu_acts *a = &m->a;
    struct cpu_grads *g = &m->g;
    int N = m->b * m->t, D = c->dim, V = c->vocab_size;
    size_t sN = (size_t)m->max_batch * c->seq_len;
    float *dcls = ant_tensor(grads, &m->lay, c->shared_classifier ? ANT_TOK_EMB : ANT_WCLS, 0);

    /* loss = mean over N rows; grad_scale rides along in dlogits [N, V] */
    crossentropy_backward(a->logits, m->targets, N, V, grad_scale / (float)N);
    MM_DX(m, g->dxn, a->logits, classifier(m, w), N, D, V, 0.0f);
    MM_DW(m, dcls, a->logits, a->xn_final, N, D, V, 1.0f);
    memset(g->dx, 0, (size_t)N * D * sizeof *g->dx);
    rmsnorm_backward(g->dx, ant_tensor(grads, &m->lay, ANT_RMS_FINAL, 0), g->dxn,
                     a->x + (size_t)c->n_layers * sN * D, W(m, w, ANT_RMS_FINAL, 0),
                     a->rstd_final, N, D);
    for (int l = c->n_layers - 1; l >= 0; l--) backward_layer(m, w, grads, l);
    embedding_backward(ant_tensor(grads, &m->lay, ANT_TOK_EMB, 0), g->dx, m->tokens, N, D);
    m->b = 0;   /* dlogits overwrote the probs: a second backward would be wrong */
    return 0;
}

int cpu_model_logits(struct cpu_model *m, const float *w, const int32_t *tokens, int n,
                     float *logits)
{
    m->b = 0;
    if (check_shape(m, 1, n) || check_ids(m, tokens, n, n, "tokens")) return -1;
    const struct ant_model_config *c = &m->c;
    struct cpu_acts *a = &m->a;
    int D = c->dim;
    embedding_forward(a->x, W(m, w, ANT_TOK_EMB, 0), tokens, n, D);
    forward_layers(m, w, 1, n);
    /* only the last position is needed: one row through the final norm and classifier */
    size_t sN = (size_t)m->max_batch * c->seq_len;
    const float *last = a->x + (size_t)c->n_layers * sN * D + (size_t)(n - 1) * D;
    rmsnorm_forward(a->xn_final, a->rstd_final, last, W(m, w, ANT_RMS_FINAL, 0), 1, D,
                    c->norm_eps);
    MM_FWD(m, logits, a->xn_final, classifier(m, w), 1, D, c->vocab_size);
    return 0;
}
