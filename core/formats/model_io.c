#include "formats/model_io.h"

#include <string.h>

#include "formats/ckpt.h"
#include "base/fileio.h"
#include "formats/llama2c.h"

int model_load(const char *path, struct ant_train_state *s, struct ant_err *e)
{
    uint64_t size;
    FILE *f = file_open_read(path, &size, e);   /* a missing file: one plain message */
    if (!f) return -1;
    fclose(f);
    struct ant_ckpt_info info;
    struct ant_err peek;
    if (ckpt_peek(path, &info, &peek) == 0) return ckpt_load(path, s, &info, e);

    struct ant_model_config mc;
    float *w = NULL;
    struct ant_err l2c;
    if (llama2c_read(path, &mc, &w, &l2c) < 0)
        return ant_errf(e, "%s: neither an anetrain checkpoint (%s) nor a llama2.c model "
                           "(%s)", path, peek.msg, l2c.msg);
    if (state_alloc(s, &mc) < 0) {
        ant_ffree(w);
        return ant_errf(e, "%s: out of memory", path);
    }
    memcpy(s->weights, w, s->layout.total * sizeof(float));
    ant_ffree(w);
    return 0;
}
