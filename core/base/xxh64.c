/* XXH64 (xxHash by Yann Collet), the reference algorithm. */
#include "base/xxh64.h"

#include <string.h>

#include "base/le.h"

static const uint64_t P1 = 0x9E3779B185EBCA87ULL, P2 = 0xC2B2AE3D27D4EB4FULL,
                      P3 = 0x165667B19E3779F9ULL, P4 = 0x85EBCA77C2B2AE63ULL,
                      P5 = 0x27D4EB2F165667C5ULL;

static uint64_t rotl64(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

static uint64_t xxh_round(uint64_t acc, uint64_t in) { return rotl64(acc + in * P2, 31) * P1; }
static uint64_t xxh_merge(uint64_t acc, uint64_t v) { return (acc ^ xxh_round(0, v)) * P1 + P4; }

void ant_xxh64_init(struct ant_xxh64 *h, uint64_t seed)
{
    memset(h, 0, sizeof *h);
    h->seed = seed;
    h->v[0] = seed + P1 + P2;
    h->v[1] = seed + P2;
    h->v[2] = seed;
    h->v[3] = seed - P1;
}

/* n_stripes * 32 bytes, each lane taking 8 bytes per stripe. */
static void xxh_stripes(uint64_t v[4], const unsigned char *p, size_t n_stripes)
{
    uint64_t a = v[0], b = v[1], c = v[2], d = v[3];
    for (size_t i = 0; i < n_stripes; i++, p += 32) {
        a = xxh_round(a, le_rd64(p));
        b = xxh_round(b, le_rd64(p + 8));
        c = xxh_round(c, le_rd64(p + 16));
        d = xxh_round(d, le_rd64(p + 24));
    }
    v[0] = a, v[1] = b, v[2] = c, v[3] = d;
}

void ant_xxh64_update(struct ant_xxh64 *h, const void *data, size_t n)
{
    const unsigned char *p = data;
    h->total += n;
    if (h->buf_len) {
        size_t take = 32 - h->buf_len < n ? 32 - h->buf_len : n;
        memcpy(h->buf + h->buf_len, p, take);
        h->buf_len += (unsigned)take;
        p += take, n -= take;
        if (h->buf_len < 32) return;
        xxh_stripes(h->v, h->buf, 1);
        h->buf_len = 0;
    }
    xxh_stripes(h->v, p, n / 32);
    p += n / 32 * 32, n %= 32;
    memcpy(h->buf, p, n);
    h->buf_len = (unsigned)n;
}

uint64_t ant_xxh64_digest(const struct ant_xxh64 *h)
{
    const uint64_t *v = h->v;
    uint64_t acc = h->seed + P5;
    if (h->total >= 32) {
        acc = rotl64(v[0], 1) + rotl64(v[1], 7) + rotl64(v[2], 12) + rotl64(v[3], 18);
        for (int i = 0; i < 4; i++) acc = xxh_merge(acc, v[i]);
    }
    acc += h->total;
    const unsigned char *p = h->buf;
    size_t n = h->buf_len;
    for (; n >= 8; p += 8, n -= 8) acc = rotl64(acc ^ xxh_round(0, le_rd64(p)), 27) * P1 + P4;
    if (n >= 4) acc = rotl64(acc ^ (uint64_t)le_rd32(p) * P1, 23) * P2 + P3, p += 4, n -= 4;
    for (; n; p++, n--) acc = rotl64(acc ^ *p * P5, 11) * P1;
    acc ^= acc >> 33;
    acc *= P2;
    acc ^= acc >> 29;
    acc *= P3;
    return acc ^ (acc >> 32);
}

uint64_t ant_xxh64(const void *data, size_t n, uint64_t seed)
{
    struct ant_xxh64 h;
    ant_xxh64_init(&h, seed);
    ant_xxh64_update(&h, data, n);
    return ant_xxh64_digest(&h);
}
