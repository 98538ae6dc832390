/* Little-endian loads and stores, whatever the host: the byte order of every file
 * format we read and write. Compilers turn each into one load or store on
 * little-endian hosts. */
#ifndef ANT_LE_H
#define ANT_LE_H

#include <stdint.h>

static inline uint32_t le_rd32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t le_rd64(const unsigned char *p)
{
    return le_rd32(p) | (uint64_t)le_rd32(p + 4) << 32;
}

static inline void le_wr32(unsigned char *p, uint32_t x)
{
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(x >> (8 * i));
}

static inline void le_wr64(unsigned char *p, uint64_t x)
{
    le_wr32(p, (uint32_t)x);
    le_wr32(p + 4, (uint32_t)(x >> 32));
}

#endif
