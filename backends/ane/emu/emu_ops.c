/* The emulator's op kernels, in fp32 on fp16-valued inputs. The elementwise ones round
 * their results to fp16 themselves (the same-shape and scalar add, sub, mul in one
 * vector pass, fp16.h); emu_exec.c rounds the rest afterwards. For add, sub, mul,
 * real_div and sqrt a float result rounded to fp16 is the correctly rounded fp16 result
 * (24 >= 2*11+2 bits, so the double rounding is innocuous). */
#include "ane/emu/emu.h"

#include "ane/base/fp16.h"

#include "base/blas.h"
#include <math.h>
#include <string.h>

/* A shape padded on the left to rank 5, and its row-major strides. */
struct sh5 {
    int d[MIL_MAX_RANK];
    size_t st[MIL_MAX_RANK];
};

static struct sh5 pad5(const struct mil_type *t)
{
    struct sh5 s;
    int off = MIL_MAX_RANK - t->rank;
    for (int i = 0; i < MIL_MAX_RANK; i++) s.d[i] = i < off ? 1 : t->dim[i - off];
    size_t acc = 1;
    for (int i = MIL_MAX_RANK - 1; i >= 0; i--) {
        s.st[i] = acc;
        acc *= (size_t)s.d[i];
    }
    return s;
}

/* Strides of an operand read under broadcasting: 0 along axes where it has size 1. */
static void bstrides(const struct mil_type *t, size_t *st)
{
    struct sh5 s = pad5(t);
    for (int i = 0; i < MIL_MAX_RANK; i++) st[i] = s.d[i] == 1 ? 0 : s.st[i];
}

static float binop(enum emu_binop op, float a, float b)
{
    switch (op) {
    case EMU_ADD: return a + b;
    case EMU_SUB: return a - b;
    case EMU_MUL: return a * b;
    case EMU_DIV: return a / b;
    default: return powf(a, b);
    }
}

/* Ops without a fused kernel in fp16.h run in L1-sized chunks, each rounded to fp16
 * right after it is computed. */
enum { CHUNK = 2048 };

int emu_binary(enum emu_binop op, const float *a, const struct mil_type *ta,
               const float *b, const struct mil_type *tb, float *out, const struct mil_type *to)
{
    size_t n = (size_t)mil_elems(to);
    int64_t na = mil_elems(ta), nb = mil_elems(tb);
    /* fast paths: same shape, or one side a single value; both round as they go */
    if (na == (int64_t)n && nb == (int64_t)n) {
        switch (op) {
        case EMU_ADD: fp16_binary(FP16_ADD, out, a, b, n); return 1;
        case EMU_SUB: fp16_binary(FP16_SUB, out, a, b, n); return 1;
        case EMU_MUL: fp16_binary(FP16_MUL, out, a, b, n); return 1;
        default:
            for (size_t i0 = 0; i0 < n; i0 += CHUNK) {
                size_t m = n - i0 < CHUNK ? n - i0 : CHUNK;
                for (size_t i = i0; i < i0 + m; i++) out[i] = binop(op, a[i], b[i]);
                fp16_round_buf(out + i0, m);
            }
            return 1;
        }
    }
    if ((nb == 1 && na == (int64_t)n) || (na == 1 && nb == (int64_t)n)) {
        const float *v = nb == 1 ? a : b;
        float c = nb == 1 ? b[0] : a[0];
        switch (op) {
        case EMU_ADD: fp16_binary_scalar(FP16_ADD, out, v, c, n); return 1;
        case EMU_MUL: fp16_binary_scalar(FP16_MUL, out, v, c, n); return 1;
        case EMU_SUB:   /* a - c, or c - b = -1 * (b - c): negation is exact */
            fp16_binary_scalar(nb == 1 ? FP16_SUB : FP16_RSUB, out, v, c, n);
            return 1;
        default:
            for (size_t i0 = 0; i0 < n; i0 += CHUNK) {
                size_t m = n - i0 < CHUNK ? n - i0 : CHUNK;
                for (size_t i = i0; i < i0 + m; i++) out[i] = nb == 1 ? binop(op, a[i], c) : binop(op, c, b[i]);
                fp16_round_buf(out + i0, m);
            }
            return 1;
        }
    }
    struct sh5 so = pad5(to);
    size_t sa[MIL_MAX_RANK], sb[MIL_MAX_RANK];
    bstrides(ta, sa);
    bstrides(tb, sb);
    float *o = out;
    for (int i0 = 0; i0 < so.d[0]; i0++)
        for (int i1 = 0; i1 < so.d[1]; i1++)
            for (int i2 = 0; i2 < so.d[2]; i2++)
                for (int i3 = 0; i3 < so.d[3]; i3++) {
                    const float *pa = a + i0 * sa[0] + i1 * sa[1] + i2 * sa[2] + i3 * sa[3];
                    const float *pb = b + i0 * sb[0] + i1 * sb[1] + i2 * sb[2] + i3 * sb[3];
                    for (int i4 = 0; i4 < so.d[4]; i4++)
                        *o++ = binop(op, pa[i4 * sa[4]], pb[i4 * sb[4]]);
                }
    return 0;
}

static void unary_chunk(enum mil_op op, const float *x, float *out, size_t n)
{
    switch (op) {
    case MIL_SIGMOID: for (size_t i = 0; i < n; i++) out[i] = 1.0f / (1.0f + expf(-x[i])); break;
    case MIL_SQRT: for (size_t i = 0; i < n; i++) out[i] = sqrtf(x[i]); break;
    case MIL_EXP: for (size_t i = 0; i < n; i++) out[i] = expf(x[i]); break;
    case MIL_TANH: for (size_t i = 0; i < n; i++) out[i] = tanhf(x[i]); break;
    case MIL_RELU: for (size_t i = 0; i < n; i++) out[i] = x[i] > 0 ? x[i] : 0.0f; break;
    default: memmove(out, x, n * sizeof *x); break;
    }
}

void emu_unary(enum mil_op op, const float *x, float *out, size_t n)
{
    for (size_t i0 = 0; i0 < n; i0 += CHUNK) {
        size_t m = n - i0 < CHUNK ? n - i0 : CHUNK;
        unary_chunk(op, x + i0, out + i0, m);
        fp16_round_buf(out + i0, m);
    }
}

/* outer x axis x inner decomposition of a shape around one axis. */
static void split_axis(const struct mil_type *t, int axis, size_t *outer, size_t *len, size_t *inner)
{
    *outer = *inner = 1;
    for (int i = 0; i < axis; i++) *outer *= (size_t)t->dim[i];
    for (int i = axis + 1; i < t->rank; i++) *inner *= (size_t)t->dim[i];
    *len = (size_t)t->dim[axis];
}

void emu_softmax(const float *x, const struct mil_type *t, int axis, float *out)
{
    size_t outer, len, inner;
    split_axis(t, axis, &outer, &len, &inner);
    for (size_t o = 0; o < outer; o++)
        for (size_t i = 0; i < inner; i++) {
            const float *px = x + o * len * inner + i;
            float *po = out + o * len * inner + i;
            float mx = -INFINITY, sum = 0;
            for (size_t k = 0; k < len; k++) mx = px[k * inner] > mx ? px[k * inner] : mx;
            for (size_t k = 0; k < len; k++) sum += po[k * inner] = expf(px[k * inner] - mx);
            for (size_t k = 0; k < len; k++) po[k * inner] /= sum;
        }
}

void emu_reduce_sum(const float *x, const struct mil_type *t, int axis_mask, float *out)
{
    struct sh5 s = pad5(t);
    size_t so[MIL_MAX_RANK], acc = 1, n_out;
    int off = MIL_MAX_RANK - t->rank;
    for (int i = MIL_MAX_RANK - 1; i >= 0; i--) {
        int reduced = i >= off && (axis_mask >> (i - off) & 1);
        so[i] = reduced ? 0 : acc;
        if (!reduced) acc *= (size_t)s.d[i];
    }
    n_out = acc;
    memset(out, 0, n_out * sizeof *out);
    const float *px = x;
    for (int i0 = 0; i0 < s.d[0]; i0++)
        for (int i1 = 0; i1 < s.d[1]; i1++)
            for (int i2 = 0; i2 < s.d[2]; i2++)
                for (int i3 = 0; i3 < s.d[3]; i3++) {
                    float *po = out + i0 * so[0] + i1 * so[1] + i2 * so[2] + i3 * so[3];
                    for (int i4 = 0; i4 < s.d[4]; i4++) po[i4 * so[4]] += *px++;
                }
}

static int conv_is_pointwise(const struct mil_type *tw, const struct emu_conv *c)
{
    return tw->dim[2] == 1 && tw->dim[3] == 1 && c->stride[0] == 1 && c->stride[1] == 1 &&
           !c->pad[0] && !c->pad[1] && !c->pad[2] && !c->pad[3];
}

size_t emu_conv_scratch(const struct mil_type *tx, const struct mil_type *tw, const struct emu_conv *c,
                        const struct mil_type *to)
{
    if (conv_is_pointwise(tw, c)) return 0;
    return (size_t)tw->dim[1] * tw->dim[2] * tw->dim[3] * to->dim[2] * to->dim[3];
}

/* Columns of one group's input for a general conv: col [C/g*KH*KW, HO*WO]. */
static void im2col(const float *x, int C, int H, int W, const struct mil_type *tw,
                   const struct emu_conv *c, int HO, int WO, float *col)
{
    int KH = tw->dim[2], KW = tw->dim[3];
    for (int ci = 0; ci < C; ci++)
        for (int kh = 0; kh < KH; kh++)
            for (int kw = 0; kw < KW; kw++)
                for (int ho = 0; ho < HO; ho++)
                    for (int wo = 0; wo < WO; wo++) {
                        int h = ho * c->stride[0] - c->pad[0] + kh * c->dil[0];
                        int w = wo * c->stride[1] - c->pad[2] + kw * c->dil[1];
                        *col++ = h >= 0 && h < H && w >= 0 && w < W ? x[((size_t)ci * H + h) * W + w] : 0.0f;
                    }
}

void emu_conv(const float *x, const struct mil_type *tx, const float *w, const struct mil_type *tw,
              const struct emu_conv *c, float *out, const struct mil_type *to, float *scratch)
{
    int N = tx->dim[0], C = tx->dim[1], H = tx->dim[2], W = tx->dim[3], g = c->groups;
    int O = tw->dim[0], Cg = C / g, Og = O / g, HO = to->dim[2], WO = to->dim[3];
    int K = Cg * tw->dim[2] * tw->dim[3], P = HO * WO;
    for (int n = 0; n < N; n++)
        for (int gi = 0; gi < g; gi++) {
            /* out_g [Og, P] = W_g [Og, K] @ col [K, P], fp32 accumulation */
            const float *xg = x + ((size_t)n * C + (size_t)gi * Cg) * H * W;
            const float *col = xg;
            if (!conv_is_pointwise(tw, c)) {
                im2col(xg, Cg, H, W, tw, c, HO, WO, scratch);
                col = scratch;
            }
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Og, P, K, 1.0f,
                        w + (size_t)gi * Og * K, K, col, P, 0.0f,
                        out + ((size_t)n * O + (size_t)gi * Og) * P, P);
        }
}

void emu_matmul(const float *x, const struct mil_type *tx, int trans_x, const float *y,
                const struct mil_type *ty, int trans_y, float *out, const struct mil_type *to)
{
    int r = to->rank;
    int M = to->dim[r - 2], N = to->dim[r - 1];
    int K = tx->dim[tx->rank - (trans_x ? 2 : 1)];
    int ldx = tx->dim[tx->rank - 1], ldy = ty->dim[ty->rank - 1];
    /* batch dims as rank-3 types so broadcasting strides apply (matrix dims dropped) */
    struct mil_type bx = *tx, by = *ty, bo = *to;
    bx.rank -= 2, by.rank -= 2, bo.rank -= 2;
    size_t sx[MIL_MAX_RANK], sy[MIL_MAX_RANK];
    bstrides(&bx, sx);
    bstrides(&by, sy);
    struct sh5 so = pad5(&bo);
    size_t mx = (size_t)tx->dim[tx->rank - 2] * tx->dim[tx->rank - 1];
    size_t my = (size_t)ty->dim[ty->rank - 2] * ty->dim[ty->rank - 1];
    size_t nb = (size_t)mil_elems(&bo);
    for (size_t b = 0; b < nb; b++) {
        size_t ox = 0, oy = 0, rem = b;
        for (int i = MIL_MAX_RANK - 1; i >= 0; i--) {
            size_t idx = rem % (size_t)so.d[i];
            rem /= (size_t)so.d[i];
            ox += idx * sx[i];
            oy += idx * sy[i];
        }
        cblas_sgemm(CblasRowMajor, trans_x ? CblasTrans : CblasNoTrans,
                    trans_y ? CblasTrans : CblasNoTrans, M, N, K, 1.0f, x + ox * mx, ldx,
                    y + oy * my, ldy, 0.0f, out + b * (size_t)M * N, N);
    }
}

void emu_transpose(const float *x, const struct mil_type *t, const int *perm, float *out)
{
    struct sh5 s = pad5(t);
    int off = MIL_MAX_RANK - t->rank, d[MIL_MAX_RANK];
    size_t st[MIL_MAX_RANK];
    for (int i = 0; i < MIL_MAX_RANK; i++) {
        int src = i < off ? i : perm[i - off] + off;
        d[i] = s.d[src];
        st[i] = s.st[src];
    }
    float *o = out;
    for (int i0 = 0; i0 < d[0]; i0++)
        for (int i1 = 0; i1 < d[1]; i1++)
            for (int i2 = 0; i2 < d[2]; i2++)
                for (int i3 = 0; i3 < d[3]; i3++) {
                    const float *p = x + i0 * st[0] + i1 * st[1] + i2 * st[2] + i3 * st[3];
                    for (int i4 = 0; i4 < d[4]; i4++) *o++ = p[i4 * st[4]];
                }
}

void emu_slice(const float *x, const struct mil_type *t, const int *begin, float *out,
               const struct mil_type *to)
{
    struct sh5 s = pad5(t), so = pad5(to);
    int off = MIL_MAX_RANK - t->rank;
    size_t base = 0;
    for (int i = off; i < MIL_MAX_RANK; i++) base += (size_t)begin[i - off] * s.st[i];
    float *o = out;
    for (int i0 = 0; i0 < so.d[0]; i0++)
        for (int i1 = 0; i1 < so.d[1]; i1++)
            for (int i2 = 0; i2 < so.d[2]; i2++)
                for (int i3 = 0; i3 < so.d[3]; i3++) {
                    const float *p = x + base + i0 * s.st[0] + i1 * s.st[1] + i2 * s.st[2] + i3 * s.st[3];
                    memcpy(o, p, (size_t)so.d[4] * sizeof *o);
                    o += so.d[4];
                }
}

void emu_concat(const float *const *v, const struct mil_type *const *tv, int n, int axis,
                int interleave, float *out)
{
    size_t outer, len, inner;
    split_axis(tv[0], axis, &outer, &len, &inner);
    float *o = out;
    for (size_t b = 0; b < outer; b++) {
        if (interleave) {   /* out axis j takes value j % n, slice j / n */
            for (size_t j = 0; j < len; j++)
                for (int k = 0; k < n; k++) {
                    memcpy(o, v[k] + (b * len + j) * inner, inner * sizeof *o);
                    o += inner;
                }
            continue;
        }
        for (int k = 0; k < n; k++) {
            size_t blk = (size_t)tv[k]->dim[axis] * inner;
            memcpy(o, v[k] + b * blk, blk * sizeof *o);
            o += blk;
        }
    }
}

size_t emu_sdpa_scratch(const struct mil_type *tq, const struct mil_type *tk)
{
    return (size_t)tq->dim[tq->rank - 2] * tk->dim[tk->rank - 2];
}

void emu_sdpa(const float *q, const struct mil_type *tq, const float *k, const struct mil_type *tk,
              const float *v, const struct mil_type *tv, float *out, float *scratch)
{
    int r = tq->rank, L = tq->dim[r - 2], E = tq->dim[r - 1], S = tk->dim[r - 2], EV = tv->dim[r - 1];
    size_t nb = (size_t)mil_elems(tq) / ((size_t)L * E);
    struct mil_type ts = {MIL_FP16, 2, {L, S}};
    float scale = 1.0f / sqrtf((float)E);
    for (size_t b = 0; b < nb; b++) {
        /* scores [L, S] = q [L, E] @ k [S, E]ᵀ / sqrt(E) */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, L, S, E, scale, q + b * L * E, E,
                    k + b * S * E, E, 0.0f, scratch, S);
        fp16_round_buf(scratch, (size_t)L * S);
        emu_softmax(scratch, &ts, 1, scratch);
        fp16_round_buf(scratch, (size_t)L * S);
        /* out [L, EV] = probs [L, S] @ v [S, EV] */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, L, EV, S, 1.0f, scratch, S,
                    v + b * S * EV, EV, 0.0f, out + b * L * EV, EV);
    }
}

/* Length of axis and the elements after it, to find the axis index of element i. */
static void q_layout(const struct mil_type *t, const struct emu_qparams *q, size_t *len, size_t *inner)
{
    *len = 1, *inner = 1;
    if (q->axis < 0) return;
    *len = (size_t)t->dim[q->axis];
    for (int i = q->axis + 1; i < t->rank; i++) *inner *= (size_t)t->dim[i];
}

static float q_scale(const struct emu_qparams *q, size_t j) { return q->scale[q->n_scale > 1 ? j : 0]; }
static float q_zp(const struct emu_qparams *q, size_t j) { return q->zp ? q->zp[q->n_zp > 1 ? j : 0] : 0.0f; }

/* coremltools' quantize (iOS17 quantization_ops.py): clip(np.around(x / scale) + zp)
 * to the int8 range; np.around rounds half to even, as rintf does in the default
 * rounding mode. The division is done in fp32. */
void emu_quantize(const float *x, const struct mil_type *t, const struct emu_qparams *q, float *out)
{
    size_t n = (size_t)mil_elems(t), len, inner;
    q_layout(t, q, &len, &inner);
    for (size_t i = 0; i < n; i++) {
        size_t j = (i / inner) % len;
        float v = rintf(x[i] / q_scale(q, j)) + q_zp(q, j);
        /* NaN stays NaN: what the device makes of it is unknown, and carried on the
         * trainer's non-finite check still sees it */
        out[i] = v < -128.0f ? -128.0f : v > 127.0f ? 127.0f : v;
    }
}

/* scale * (x - zp): x - zp is an exact integer and the product has at most 19
 * significant bits, so fp32 holds it exactly and fp16_round is the only rounding. */
void emu_dequantize(const float *x, const struct mil_type *t, const struct emu_qparams *q, float *out)
{
    size_t n = (size_t)mil_elems(t), len, inner;
    q_layout(t, q, &len, &inner);
    for (size_t i = 0; i < n; i++) {
        size_t j = (i / inner) % len;
        out[i] = (x[i] - q_zp(q, j)) * q_scale(q, j);
    }
    fp16_round_buf(out, n);
}
