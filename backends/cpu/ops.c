/* Row-wise ops of the Llama2 pass: matmuls on OpenBLAS, RMSNorm, RoPE, SwiGLU, embedding,
 * softmax cross-entropy. Attention lives in attention.c. */
#include "cpu/ops.h"

#include "base/blas.h"
#include <math.h>
#include <string.h>

#include "cpu/vecmath.h"

void matmul_forward(float *y, const float *x, const float *w, int n, int in, int out)
{
    /* y [N, out] = x [N, in] · W^T [in, out] */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, out, in, 1.0f, x, in, w, in,
                0.0f, y, out);
}

void matmul_backward_dx(float *dx, const float *dy, const float *w, int n, int in, int out,
                        float beta)
{
    /* dx [N, in] = dy [N, out] · W [out, in] */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, in, out, 1.0f, dy, out, w, in,
                beta, dx, in);
}

void matmul_backward_dw(float *dw, const float *dy, const float *x, int n, int in, int out,
                        float alpha)
{
    /* dW [out, in] += dy^T [out, N] · x [N, in] */
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, out, in, n, alpha, dy, out, x, in,
                1.0f, dw, in);
}

/* One row of each: restrict and fixed-trip blocks let -O2 vectorize (vecmath.h). */
static inline void rmsnorm_row(float *restrict out, const float *restrict x,
                               const float *restrict w, float r, int d)
{
    int j = 0;
    for (; j + LANES <= d; j += LANES)
        for (int k = 0; k < LANES; k++) out[j + k] = x[j + k] * r * w[j + k];
    for (; j < d; j++) out[j] = x[j] * r * w[j];
}

VEC_CLONES
void rmsnorm_forward(float *out, float *rstd, const float *x, const float *w, int n, int d,
                     float eps)
{
    for (int i = 0; i < n; i++) {
        const float *xi = x + (size_t)i * d;
        float r = 1.0f / sqrtf(vec_dot(xi, xi, d) / (float)d + eps);
        rstd[i] = r;
        rmsnorm_row(out + (size_t)i * d, xi, w, r, d);
    }
}

/* dw += g x r;  dx += r g w - c x */
static inline void rmsnorm_backward_row(float *restrict dx, float *restrict dw,
                                        const float *restrict g, const float *restrict x,
                                        const float *restrict w, float r, float c, int d)
{
    int j = 0;
    for (; j + LANES <= d; j += LANES)
        for (int k = 0; k < LANES; k++) {
            dw[j + k] += g[j + k] * x[j + k] * r;
            dx[j + k] += r * g[j + k] * w[j + k] - c * x[j + k];
        }
    for (; j < d; j++) {
        dw[j] += g[j] * x[j] * r;
        dx[j] += r * g[j] * w[j] - c * x[j];
    }
}

VEC_CLONES
void rmsnorm_backward(float *dx, float *dw, const float *dout, const float *x, const float *w,
                      const float *rstd, int n, int d)
{
    /* y = x r w with r = (mean(x^2) + eps)^-1/2, so with g = dy w:
     * dx = r g - x r^3 mean(g x) */
    for (int i = 0; i < n; i++) {
        const float *xi = x + (size_t)i * d, *gi = dout + (size_t)i * d;
        float r = rstd[i], gwx = 0.0f;
        for (int j = 0; j < d; j++) gwx += gi[j] * w[j] * xi[j];
        float c = r * r * r * gwx / (float)d;
        rmsnorm_backward_row(dx + (size_t)i * d, dw, gi, xi, w, r, c, d);
    }
}

void rmsnorm_backward_dw(float *dw, const float *dout, const float *x, const float *rstd, int n,
                         int d)
{
    for (int i = 0; i < n; i++) {
        const float *xi = x + (size_t)i * d, *gi = dout + (size_t)i * d;
        for (int j = 0; j < d; j++) dw[j] += gi[j] * xi[j] * rstd[i];
    }
}

void rope_table(float *cos_t, float *sin_t, int seq_len, int head_dim, float theta)
{
    /* llama2.c run.c: pair (i, i+1), i even, turns by pos * theta^(-i/head_dim) */
    int half = head_dim / 2;
    for (int p = 0; p < seq_len; p++)
        for (int i = 0; i < half; i++) {
            double a = p * pow((double)theta, -(double)(2 * i) / head_dim);
            cos_t[(size_t)p * half + i] = (float)cos(a);
            sin_t[(size_t)p * half + i] = (float)sin(a);
        }
}

/* sign +1 rotates by +angle (forward), -1 by -angle (the backward's transpose) */
static void rope_rotate(float *x, const float *cos_t, const float *sin_t, int b, int t,
                        int n_heads, int head_dim, float sign)
{
    int half = head_dim / 2, width = n_heads * head_dim;
    for (int s = 0; s < b; s++)
        for (int p = 0; p < t; p++) {
            float *row = x + ((size_t)s * t + p) * width;
            const float *c = cos_t + (size_t)p * half, *sn = sin_t + (size_t)p * half;
            for (int h = 0; h < n_heads; h++) {
                float *v = row + h * head_dim;
                for (int i = 0; i < half; i++) {
                    float v0 = v[2 * i], v1 = v[2 * i + 1], si = sign * sn[i];
                    v[2 * i] = v0 * c[i] - v1 * si;
                    v[2 * i + 1] = v0 * si + v1 * c[i];
                }
            }
        }
}

void rope_forward(float *x, const float *cos_t, const float *sin_t, int b, int t, int n_heads,
                  int head_dim)
{
    rope_rotate(x, cos_t, sin_t, b, t, n_heads, head_dim, 1.0f);
}

void rope_backward(float *dx, const float *cos_t, const float *sin_t, int b, int t,
                   int n_heads, int head_dim)
{
    rope_rotate(dx, cos_t, sin_t, b, t, n_heads, head_dim, -1.0f);
}

/* silu(a) * c and its derivatives over one element; inlined into blocked loops below */
static inline float sigmoid(float a) { return 1.0f / (1.0f + exp_approx(-a)); }

/* restrict: the buffers never overlap, and knowing it lets -O2 vectorize */
VEC_CLONES
void swiglu_forward(float *restrict out, const float *restrict a, const float *restrict c,
                    size_t n)
{
    size_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int k = 0; k < LANES; k++) out[i + k] = a[i + k] * sigmoid(a[i + k]) * c[i + k];
    for (; i < n; i++) out[i] = a[i] * sigmoid(a[i]) * c[i];
}

static inline void swiglu_grad(float *da, float *dc, float dout, float a, float c)
{
    /* silu'(a) = s (1 + a (1 - s)), s = sigmoid(a) */
    float s = sigmoid(a);
    *da = dout * c * s * (1.0f + a * (1.0f - s));
    *dc = dout * a * s;
}

VEC_CLONES
void swiglu_backward(float *restrict da, float *restrict dc, const float *restrict dout,
                     const float *restrict a, const float *restrict c, size_t n)
{
    size_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int k = 0; k < LANES; k++)
            swiglu_grad(da + i + k, dc + i + k, dout[i + k], a[i + k], c[i + k]);
    for (; i < n; i++) swiglu_grad(da + i, dc + i, dout[i], a[i], c[i]);
}

void embedding_forward(float *x, const float *emb, const int32_t *tokens, int n, int d)
{
    for (int i = 0; i < n; i++)
        memcpy(x + (size_t)i * d, emb + (size_t)tokens[i] * d, (size_t)d * sizeof *x);
}

void embedding_backward(float *demb, const float *dx, const int32_t *tokens, int n, int d)
{
    for (int i = 0; i < n; i++) {
        float *row = demb + (size_t)tokens[i] * d;
        const float *g = dx + (size_t)i * d;
        for (int j = 0; j < d; j++) row[j] += g[j];
    }
}

VEC_CLONES
double crossentropy_forward(float *logits, const int32_t *targets, int n, int v)
{
    double loss = 0.0;
    for (int i = 0; i < n; i++) {
        float *l = logits + (size_t)i * v;
        float mx = vec_max(l, v), target_logit = l[targets[i]];
        double sum = vec_exp_sum(l, v, mx);
        loss += log(sum) - (double)(target_logit - mx);
        vec_scale(l, v, (float)(1.0 / sum));
    }
    return loss;
}

VEC_CLONES
void crossentropy_backward(float *probs, const int32_t *targets, int n, int v, float scale)
{
    for (int i = 0; i < n; i++) {
        float *p = probs + (size_t)i * v;
        vec_scale(p, v, scale);
        p[targets[i]] -= scale;
    }
}
