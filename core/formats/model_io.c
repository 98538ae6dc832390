#include "formats/model_io.h"

#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/fileio.h"
#include "formats/ckpt.h"
#include "formats/hf.h"
#include "formats/llama2c.h"
#include "formats/model_sniff.h"

/* A lone model.safetensors: read the Hugging Face folder around it, if it is one. */
static int import_safetensors(const char *path, struct ant_model_config *cfg, float **w,
                              struct ant_err *e)
{
    char dir[4096], cfg_path[4200];
    snprintf(dir, sizeof dir, "%s", path);
    snprintf(cfg_path, sizeof cfg_path, "%s/config.json", dirname(dir));
    if (access(cfg_path, R_OK) != 0)
        return ant_errf(e, "%s: %s without a config.json beside it; %s", path,
                        model_kind_name(ANT_FILE_SAFETENSORS),
                        model_kind_advice(ANT_FILE_SAFETENSORS));
    return hf_read(dir, cfg, w, e);
}

int model_import(const char *path, struct ant_model_config *cfg, float **weights,
                 struct ant_err *e)
{
    enum ant_file_kind kind;
    int version;
    *weights = NULL;
    if (model_sniff(path, &kind, e) < 0) return -1;
    switch (kind) {
    case ANT_FILE_CKPT: {
        struct ant_train_state s;
        if (model_load(path, &s, e) < 0) return -1;
        *cfg = s.model;
        *weights = ant_falloc(s.layout.total);
        if (*weights) memcpy(*weights, s.weights, s.layout.total * sizeof(float));
        state_free(&s);
        return *weights ? 0 : ant_errf(e, "%s: out of memory", path);
    }
    case ANT_FILE_LLAMA2C_V0: return llama2c_read(path, cfg, weights, e);
    case ANT_FILE_LLAMA2C_V1:
    case ANT_FILE_LLAMA2C_V2:
    case ANT_FILE_LLAMA2C_AKXX: return llama2c_read_ak42(path, cfg, weights, &version, e);
    case ANT_FILE_HF_FOLDER: return hf_read(path, cfg, weights, e);
    case ANT_FILE_SAFETENSORS: return import_safetensors(path, cfg, weights, e);
    default:
        return ant_errf(e, "%s: %s; %s", path, model_kind_name(kind), model_kind_advice(kind));
    }
}

int model_load(const char *path, struct ant_train_state *s, struct ant_err *e)
{
    struct ant_ckpt_info info;
    enum ant_file_kind kind;
    if (model_sniff(path, &kind, e) < 0) return -1;   /* a missing file: one plain message */
    if (kind == ANT_FILE_CKPT) {
        if (ckpt_peek(path, &info, e) < 0) return -1;
        return ckpt_load(path, s, &info, e);
    }
    struct ant_model_config mc;
    float *w = NULL;
    if (model_import(path, &mc, &w, e) < 0) return -1;
    if (state_alloc(s, &mc) < 0) {
        ant_ffree(w);
        return ant_errf(e, "%s: out of memory", path);
    }
    memcpy(s->weights, w, s->layout.total * sizeof(float));
    ant_ffree(w);
    return 0;
}
