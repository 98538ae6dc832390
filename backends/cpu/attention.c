/* Causal grouped-query attention, one sgemm per (sequence, head) for Q·K^T and P·V: the
 * heads are strided column blocks of q/k/v, which sgemm reads in place through its
 * leading dimension, so nothing is transposed or copied. */
#include "cpu/ops.h"

#include "base/blas.h"
#include <math.h>
#include <string.h>

#include "cpu/vecmath.h"

/* Row p of a causal score matrix: softmax over columns 0..p, zeros after. */
static inline void causal_softmax_row(float *s, int p, int t)
{
    float mx = vec_max(s, p + 1);
    double sum = vec_exp_sum(s, p + 1, mx);
    vec_scale(s, p + 1, (float)(1.0 / sum));
    memset(s + p + 1, 0, (size_t)(t - p - 1) * sizeof *s);
}

/* Row p of dS = P * (dP - sum(P * dP)), in place over dP; zeros after column p. */
static inline void causal_softmax_grad_row(float *restrict d, const float *restrict pr, int p,
                                           int t)
{
    float dot = vec_dot(pr, d, p + 1);
    int j = 0;
    for (; j + LANES <= p + 1; j += LANES)
        for (int k = 0; k < LANES; k++) d[j + k] = pr[j + k] * (d[j + k] - dot);
    for (; j <= p; j++) d[j] = pr[j] * (d[j] - dot);
    memset(d + p + 1, 0, (size_t)(t - p - 1) * sizeof *d);
}

VEC_CLONES
void attention_forward(float *out, float *att, const float *q, const float *k, const float *v,
                       int b, int t, int nh, int nkv, int hd)
{
    int ldq = nh * hd, ldk = nkv * hd, group = nh / nkv;
    float scale = 1.0f / sqrtf((float)hd);
    for (int s = 0; s < b; s++)
        for (int h = 0; h < nh; h++) {
            const float *qh = q + (size_t)s * t * ldq + h * hd;            /* [T, hd] ld ldq */
            const float *kh = k + (size_t)s * t * ldk + (h / group) * hd;  /* [T, hd] ld ldk */
            const float *vh = v + (size_t)s * t * ldk + (h / group) * hd;
            float *p = att + ((size_t)s * nh + h) * t * t;                 /* [T, T] */
            float *oh = out + (size_t)s * t * ldq + h * hd;
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, t, t, hd, scale, qh, ldq, kh,
                        ldk, 0.0f, p, t);
            for (int i = 0; i < t; i++) causal_softmax_row(p + (size_t)i * t, i, t);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, t, hd, t, 1.0f, p, t, vh,
                        ldk, 0.0f, oh, ldq);
        }
}

VEC_CLONES
void attention_backward(float *dq, float *dk, float *dv, float *scratch, const float *dout,
                        const float *att, const float *q, const float *k, const float *v,
                        int b, int t, int nh, int nkv, int hd)
{
    int ldq = nh * hd, ldk = nkv * hd, group = nh / nkv;
    float scale = 1.0f / sqrtf((float)hd);
    /* query heads of one group add into the same kv gradient */
    memset(dk, 0, (size_t)b * t * ldk * sizeof *dk);
    memset(dv, 0, (size_t)b * t * ldk * sizeof *dv);
    for (int s = 0; s < b; s++)
        for (int h = 0; h < nh; h++) {
            size_t qo = (size_t)s * t * ldq + h * hd;              /* [T, hd] ld ldq */
            size_t ko = (size_t)s * t * ldk + (h / group) * hd;    /* [T, hd] ld ldk */
            const float *p = att + ((size_t)s * nh + h) * t * t;  /* [T, T] */
            float *ds = scratch;                                  /* [T, T] dP, then dS */
            /* dP = dO · V^T; dV += P^T · dO */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, t, t, hd, 1.0f, dout + qo,
                        ldq, v + ko, ldk, 0.0f, ds, t);
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, t, hd, t, 1.0f, p, t,
                        dout + qo, ldq, 1.0f, dv + ko, ldk);
            for (int i = 0; i < t; i++)
                causal_softmax_grad_row(ds + (size_t)i * t, p + (size_t)i * t, i, t);
            /* S = scale Q K^T: dQ = scale dS K; dK += scale dS^T Q */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, t, hd, t, scale, ds, t,
                        k + ko, ldk, 0.0f, dq + qo, ldq);
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, t, hd, t, scale, ds, t,
                        q + qo, ldq, 1.0f, dk + ko, ldk);
        }
}
