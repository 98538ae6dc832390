/* tokenizer.bin writers (see tokenizer_write.h). */
#include "data/tokenizer_write.h"

#include <stdlib.h>

#include "base/fileio.h"
#include "base/le.h"

int tokenizer_write(const char *path, int n, const char *const *piece, const int *len,
                    const float *score, struct ant_err *e)
{
    int maxlen = 0;
    for (int i = 0; i < n; i++) {
        if (len[i] < 1) return ant_errf(e, "%s: token %d is empty", path, i);
        if (len[i] > maxlen) maxlen = len[i];
    }
    if (n < 1) return ant_errf(e, "%s: no tokens to write", path);
    struct ant_atomic_file a;
    if (atomic_open(&a, path, e) != 0) return -1;
    unsigned char h[8];
    le_wr32(h, (uint32_t)maxlen);
    int rc = atomic_write(&a, h, 4, e);
    for (int i = 0; rc == 0 && i < n; i++) {
        union { float f; uint32_t u; } s = { score[i] };
        le_wr32(h, s.u);
        le_wr32(h + 4, (uint32_t)len[i]);
        rc = atomic_write(&a, h, 8, e);
        if (rc == 0) rc = atomic_write(&a, piece[i], (size_t)len[i], e);
    }
    if (rc) {
        atomic_abort(&a);
        return -1;
    }
    return atomic_commit(&a, 0, e);
}

int tokenizer_write_bytes(const char *path, struct ant_err *e)
{
    static char bytes[256];
    const char *piece[256];
    int len[256];
    float score[256];
    for (int i = 0; i < 256; i++) {
        bytes[i] = (char)i;
        piece[i] = &bytes[i];
        len[i] = 1;
        score[i] = 0;
    }
    return tokenizer_write(path, 256, piece, len, score, e);
}
