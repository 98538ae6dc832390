/* The model shape of --init-model (see init_model.h). */
#include "formats/init_model.h"

#include <stdio.h>
#include <string.h>

#include "formats/model_io.h"

int init_model_adopt(struct ant_run_config *rc, struct ant_err *e)
{
    const char *path = rc->ckpt.init_model;
    struct ant_model_config f;
    float *w;
    if (model_import(path, &f, &w, e) < 0) return -1;
    ant_ffree(w);
    struct ant_model_config *m = &rc->model;
    struct { const char *key; int32_t *run, file; } ints[] = {
        {"model.dim", &m->dim, f.dim}, {"model.hidden_dim", &m->hidden_dim, f.hidden_dim},
        {"model.n_layers", &m->n_layers, f.n_layers}, {"model.n_heads", &m->n_heads, f.n_heads},
        {"model.n_kv_heads", &m->n_kv_heads, f.n_kv_heads},
        {"model.vocab_size", &m->vocab_size, f.vocab_size},
        {"model.shared_classifier", &m->shared_classifier, f.shared_classifier},
        {"model.seq_len", &m->seq_len, f.seq_len},
    };
    struct { const char *key; float *run, file; } reals[] = {
        {"model.rope_theta", &m->rope_theta, f.rope_theta},
        {"model.norm_eps", &m->norm_eps, f.norm_eps},
    };
    char at[ANT_PATH_MAX + 32];
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
        int set = config_key_from_file(rc, ints[i].key, at, sizeof at);
        int shorter = !strcmp(ints[i].key, "model.seq_len") && *ints[i].run <= ints[i].file;
        if (set && *ints[i].run != ints[i].file && !shorter)
            return ant_errf(e, "%s has %s %d, but %s%s is %d", path, ints[i].key + 6,
                            (int)ints[i].file, at, ints[i].key, (int)*ints[i].run);
        if (!set) *ints[i].run = ints[i].file;
    }
    for (size_t i = 0; i < sizeof reals / sizeof reals[0]; i++) {
        int set = config_key_from_file(rc, reals[i].key, at, sizeof at);
        if (set && *reals[i].run != reals[i].file)
            return ant_errf(e, "%s has %s %.9g, but %s%s is %.9g", path, reals[i].key + 6,
                            (double)reals[i].file, at, reals[i].key, (double)*reals[i].run);
        *reals[i].run = reals[i].file;
    }
    return config_validate(rc, e);
}
