/* fp32 <-> fp16 surface staging (stage.h). */
#include "ane/train/stage.h"

#include <stdlib.h>
#include <string.h>

#include "ane/base/fp16.h"

void at_scratch_free(struct at_scratch *s)
{
    free(s->tile);
    s->tile = NULL;
    s->cap = 0;
}

static float *tile(struct at_scratch *s, size_t n)
{
    if (n > s->cap) {
        float *t = realloc(s->tile, n * sizeof *t);
        if (!t) return NULL;
        s->tile = t;
        s->cap = n;
    }
    return s->tile;
}

static int in_surface(const struct ane_surface *s, int width, struct at_rect r, struct ant_err *e)
{
    size_t end = ((size_t)(r.r0 + r.rows - 1) * width + r.c0 + r.cols) * 2;
    if (r.rows < 1 || r.cols < 1 || r.c0 < 0 || r.r0 < 0 || r.c0 + r.cols > width ||
        end > ane_surface_size(s))
        return ant_errf(e, "rectangle %dx%d at (%d, %d) is outside a %zu-byte surface %d wide",
                        r.rows, r.cols, r.r0, r.c0, ane_surface_size(s), width);
    return 0;
}

int at_put(struct at_scratch *sc, struct ane_surface *s, int width, struct at_rect r,
           const float *src, int ld, int trans, struct ant_err *e)
{
    if (in_surface(s, width, r, e)) return -1;
    float *t = tile(sc, (size_t)AT_TILE * r.cols);
    if (!t) return ant_errf(e, "out of memory staging %d columns", r.cols);
    uint16_t *base = ane_surface_lock(s, 0);
    for (int i = 0; !trans && i < r.rows; i++)
        fp16_encode(base + (size_t)(r.r0 + i) * width + r.c0, src + (size_t)i * ld, r.cols);
    for (int i0 = 0; trans && i0 < r.rows; i0 += AT_TILE) {
        int n = r.rows - i0 < AT_TILE ? r.rows - i0 : AT_TILE;
        for (int j = 0; j < r.cols; j++)          /* src row j is column j of the tile */
            for (int i = 0; i < n; i++)
                t[(size_t)i * r.cols + j] = src[(size_t)j * ld + i0 + i];
        for (int i = 0; i < n; i++)
            fp16_encode(base + (size_t)(r.r0 + i0 + i) * width + r.c0, t + (size_t)i * r.cols, r.cols);
    }
    ane_surface_unlock(s, 0);
    return 0;
}

int at_get(struct at_scratch *sc, struct ane_surface *s, int width, struct at_rect r,
           float *dst, int ld, int trans, float alpha, int accumulate, struct ant_err *e)
{
    if (in_surface(s, width, r, e)) return -1;
    float *t = tile(sc, (size_t)AT_TILE * r.cols);
    if (!t) return ant_errf(e, "out of memory reading %d columns", r.cols);
    const uint16_t *base = ane_surface_lock(s, 1);
    for (int i0 = 0; i0 < r.rows; i0 += AT_TILE) {
        int n = r.rows - i0 < AT_TILE ? r.rows - i0 : AT_TILE;
        for (int i = 0; i < n; i++)
            fp16_decode(t + (size_t)i * r.cols, base + (size_t)(r.r0 + i0 + i) * width + r.c0, r.cols);
        for (int j = 0; j < r.cols; j++)
            for (int i = 0; i < n; i++) {
                float *d = trans ? &dst[(size_t)j * ld + i0 + i] : &dst[(size_t)(i0 + i) * ld + j];
                float v = alpha * t[(size_t)i * r.cols + j];
                *d = accumulate ? *d + v : v;
            }
    }
    ane_surface_unlock(s, 1);
    return 0;
}

int at_copy(struct ane_surface *dst, int dst_width, struct at_rect dr,
            struct ane_surface *src, int src_width, struct at_rect sr, struct ant_err *e)
{
    if (dr.rows != sr.rows || dr.cols != sr.cols)
        return ant_errf(e, "copy of a %dx%d rectangle into a %dx%d one", sr.rows, sr.cols, dr.rows, dr.cols);
    if (in_surface(dst, dst_width, dr, e) || in_surface(src, src_width, sr, e)) return -1;
    /* §2.3: destination locked read-write, source read-only */
    uint16_t *d = ane_surface_lock(dst, 0);
    const uint16_t *s = src == dst ? d : ane_surface_lock(src, 1);
    for (int i = 0; i < sr.rows; i++)
        memmove(d + (size_t)(dr.r0 + i) * dst_width + dr.c0,
                s + (size_t)(sr.r0 + i) * src_width + sr.c0, (size_t)sr.cols * 2);
    if (src != dst) ane_surface_unlock(src, 1);
    ane_surface_unlock(dst, 0);
    return 0;
}
