/* Hugging Face Llama folders (see hf.h): config.json <-> ant_model_config, safetensors
 * tensors <-> our layout, single file or shards listed in model.safetensors.index.json. */
#include "formats/hf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/fileio.h"
#include "formats/json_util.h"
#include "formats/llama2c.h"
#include "formats/safetensors.h"

const int hf_supported = 1;

#define MAX_CONFIG_JSON (1u << 20)
#define MAX_INDEX_JSON (64u << 20)
#define MAX_SHARDS 256

/* Our tensor t of layer l under its Hugging Face name ("" for one HF does not store). */
static void hf_name(int t, int l, char *buf, size_t n)
{
    static const char *const layer_part[ANT_N_TENSORS] = {
        [ANT_RMS_ATT] = "input_layernorm", [ANT_WQ] = "self_attn.q_proj",
        [ANT_WK] = "self_attn.k_proj", [ANT_WV] = "self_attn.v_proj",
        [ANT_WO] = "self_attn.o_proj", [ANT_RMS_FFN] = "post_attention_layernorm",
        [ANT_W1] = "mlp.gate_proj", [ANT_W2] = "mlp.down_proj", [ANT_W3] = "mlp.up_proj",
    };
    if (t == ANT_TOK_EMB) snprintf(buf, n, "model.embed_tokens.weight");
    else if (t == ANT_RMS_FINAL) snprintf(buf, n, "model.norm.weight");
    else if (t == ANT_WCLS) snprintf(buf, n, "lm_head.weight");
    else snprintf(buf, n, "model.layers.%d.%s.weight", l, layer_part[t]);
}

/* [rows, cols] of tensor t (rank 1 when cols is 0). */
static void hf_shape(const struct ant_model_config *c, int t, int64_t *rows, int64_t *cols)
{
    int64_t D = c->dim, H = c->hidden_dim, V = c->vocab_size, KV = ant_kv_dim(c);
    switch (t) {
    case ANT_TOK_EMB: case ANT_WCLS: *rows = V, *cols = D; break;
    case ANT_WQ: case ANT_WO: *rows = D, *cols = D; break;
    case ANT_WK: case ANT_WV: *rows = KV, *cols = D; break;
    case ANT_W1: case ANT_W3: *rows = H, *cols = D; break;
    case ANT_W2: *rows = D, *cols = H; break;
    default: *rows = D, *cols = 0; break;
    }
}

/* ---- config.json ----------------------------------------------------------------- */

static int check_llama(const char *path, const json_t *root, struct ant_err *e)
{
    const json_t *mt = json_object_get(root, "model_type"), *arch = json_object_get(root, "architectures");
    if (mt && (!json_is_string(mt) || strcmp(json_string_value(mt), "llama")))
        return ant_errf(e, "%s: model_type is %s; anetrain reads Llama models (\"llama\")", path,
                        json_is_string(mt) ? json_string_value(mt) : "not a string");
    if (arch && json_is_array(arch) && json_array_size(arch) &&
        (!json_is_string(json_array_get(arch, 0)) ||
         strcmp(json_string_value(json_array_get(arch, 0)), "LlamaForCausalLM")))
        return ant_errf(e, "%s: architectures[0] is not LlamaForCausalLM", path);
    const json_t *act = json_object_get(root, "hidden_act");
    if (act && (!json_is_string(act) || strcmp(json_string_value(act), "silu")))
        return ant_errf(e, "%s: hidden_act is not \"silu\"; anetrain's FFN is SwiGLU", path);
    const json_t *rs = json_object_get(root, "rope_scaling");
    if (rs && !json_is_null(rs))
        return ant_errf(e, "%s: rope_scaling is set; anetrain supports plain RoPE only", path);
    int bias = 0;
    if (json_bool_field(path, root, "attention_bias", 0, &bias, e) || bias ||
        json_bool_field(path, root, "mlp_bias", 0, &bias, e) || bias)
        return bias ? ant_errf(e, "%s: biases are set; Llama 2 has none", path) : -1;
    return 0;
}

static int read_config(const char *dir, struct ant_model_config *c, struct ant_err *e)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/config.json", dir);
    json_t *root;
    if (json_read_file(path, MAX_CONFIG_JSON, &root, e) != 0) return -1;
    int64_t v[7], hd;
    double eps, theta;
    int tied, rc = -1;
    if (!json_is_object(root)) {
        ant_errf(e, "%s: not a JSON object", path);
        goto out;
    }
    static const char *const keys[7] = { "hidden_size", "intermediate_size",
        "num_hidden_layers", "num_attention_heads", "num_key_value_heads", "vocab_size",
        "max_position_embeddings" };
    if (check_llama(path, root, e) != 0) goto out;
    for (int i = 0; i < 7; i++)
        if (json_int_field(path, root, keys[i], i != 4, 0, 1, INT32_MAX, &v[i], e) != 0) goto out;
    if (!v[4]) v[4] = v[3];   /* no num_key_value_heads: multi-head attention */
    if (json_pos_real_field(path, root, "rms_norm_eps", 1e-6, &eps, e) ||
        json_pos_real_field(path, root, "rope_theta", 10000, &theta, e) ||
        json_bool_field(path, root, "tie_word_embeddings", 0, &tied, e) ||
        json_int_field(path, root, "head_dim", 0, v[0] / v[3], 1, INT32_MAX, &hd, e))
        goto out;
    if (hd * v[3] != v[0]) {
        ant_errf(e, "%s: head_dim %lld is not hidden_size / num_attention_heads", path,
                 (long long)hd);
        goto out;
    }
    *c = (struct ant_model_config){
        .dim = (int32_t)v[0], .hidden_dim = (int32_t)v[1], .n_layers = (int32_t)v[2],
        .n_heads = (int32_t)v[3], .n_kv_heads = (int32_t)v[4], .vocab_size = (int32_t)v[5],
        .seq_len = (int32_t)v[6], .shared_classifier = tied, .rope_theta = (float)theta,
        .norm_eps = (float)eps,
    };
    rc = 0;
    if (c->dim % c->n_heads || c->n_heads % c->n_kv_heads || ant_head_dim(c) % 2)
        rc = ant_errf(e, "%s: hidden_size %d, num_attention_heads %d, num_key_value_heads %d "
                      "do not make whole, even heads", path, c->dim, c->n_heads, c->n_kv_heads);
out:
    json_decref(root);
    return rc;
}

/* ---- the tensors ----------------------------------------------------------------- */

struct shards {
    int n;
    char *name[MAX_SHARDS];
    struct st_file f[MAX_SHARDS];
    json_t *weight_map;   /* NULL: one model.safetensors */
};

static int open_shard(struct shards *s, const char *dir, const char *name, struct ant_err *e)
{
    if (s->n == MAX_SHARDS) return ant_errf(e, "%s: more than %d shards", dir, MAX_SHARDS);
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (st_open(path, &s->f[s->n], e) != 0) return -1;
    if (!(s->name[s->n] = strdup(name))) return ant_errf(e, "out of memory");
    s->n++;
    return 0;
}

static int open_shards(struct shards *s, const char *dir, struct ant_err *e)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/model.safetensors.index.json", dir);
    struct stat sb;
    if (stat(path, &sb) != 0) return open_shard(s, dir, "model.safetensors", e);
    json_t *root;
    if (json_read_file(path, MAX_INDEX_JSON, &root, e) != 0) return -1;
    s->weight_map = json_incref(json_object_get(root, "weight_map"));
    json_decref(root);
    if (!json_is_object(s->weight_map)) return ant_errf(e, "%s: no weight_map object", path);
    const char *key;
    json_t *v;
    json_object_foreach(s->weight_map, key, v) {
        const char *file = json_string_value(v);
        if (!file || !*file || strchr(file, '/') || file[0] == '.')
            return ant_errf(e, "%s: weight_map.%s is not a file name in the folder", path, key);
        int seen = 0;
        for (int i = 0; i < s->n; i++) seen |= !strcmp(s->name[i], file);
        if (!seen && open_shard(s, dir, file, e) != 0) return -1;
    }
    return 0;
}

static void close_shards(struct shards *s)
{
    for (int i = 0; i < s->n; i++) {
        st_close(&s->f[i]);
        free(s->name[i]);
    }
    json_decref(s->weight_map);
}

/* The tensor called name, and its file. */
static const struct st_tensor *find(const struct shards *s, const char *name, int *shard)
{
    const char *file = s->weight_map ? json_string_value(json_object_get(s->weight_map, name)) : NULL;
    for (int i = 0; i < s->n; i++) {
        if (file && strcmp(file, s->name[i])) continue;
        const struct st_tensor *t = st_find(&s->f[i], name);
        if (t) {
            *shard = i;
            return t;
        }
    }
    return NULL;
}

static int read_tensor(const struct shards *s, const struct ant_model_config *c, int t, int l,
                       float *dst, float *tmp, int *used, struct ant_err *e)
{
    char name[128];
    int64_t rows, cols;
    int k;
    hf_name(t, l, name, sizeof name);
    hf_shape(c, t, &rows, &cols);
    const struct st_tensor *st = find(s, name, &k);
    if (!st) return ant_errf(e, "%s: no tensor %s", s->f[0].path, name);
    int rank = cols ? 2 : 1;
    if (st->rank != rank || st->shape[0] != rows || (cols && st->shape[1] != cols))
        return ant_errf(e, "%s: tensor %s has shape [%lld%s%lld], config.json implies [%lld%s%lld]",
                        s->f[k].path, name, (long long)st->shape[0], st->rank > 1 ? ", " : "",
                        st->rank > 1 ? (long long)st->shape[1] : 0LL, (long long)rows,
                        cols ? ", " : "", (long long)cols);
    uint64_t n = (uint64_t)rows * (uint64_t)(cols ? cols : 1);
    int permuted = t == ANT_WQ || t == ANT_WK;
    if (st_read_f32(&s->f[k], st, permuted ? tmp : dst, n, e) != 0) return -1;
    if (permuted)
        hf_permute_rows(tmp, dst, t == ANT_WQ ? c->n_heads : c->n_kv_heads, ant_head_dim(c),
                        (int)cols, 0);
    (*used)++;
    return 0;
}

/* Every tensor in the files is one we read (or RoPE's inv_freq buffer, or lm_head of a
 * tied model): anything else means a model that is not plain Llama. */
static int check_all_used(const struct shards *s, int used, int shared, struct ant_err *e)
{
    int total = 0;
    for (int i = 0; i < s->n; i++)
        for (int j = 0; j < s->f[i].n; j++) {
            const char *nm = s->f[i].t[j].name;
            size_t len = strlen(nm);
            if ((len > 20 && !strcmp(nm + len - 20, "rotary_emb.inv_freq")) ||
                (shared && !strcmp(nm, "lm_head.weight")))
                continue;
            total++;
        }
    if (total == used) return 0;
    for (int i = 0; i < s->n; i++)
        for (int j = 0; j < s->f[i].n; j++) {
            const char *nm = s->f[i].t[j].name;
            if (strncmp(nm, "model.", 6) && strcmp(nm, "lm_head.weight"))
                return ant_errf(e, "%s: tensor %s is not part of a Llama model", s->f[i].path, nm);
        }
    return ant_errf(e, "%s: %d tensors besides the %d of a Llama model (biases? more layers than "
                    "num_hidden_layers?)", s->f[0].path, total - used, used);
}

int hf_read(const char *dir, struct ant_model_config *cfg, float **weights, struct ant_err *e)
{
    *weights = NULL;
    if (read_config(dir, cfg, e) != 0) return -1;
    uint64_t total;
    if (llama2c_weight_floats(cfg, &total) != 0)
        return ant_errf(e, "%s/config.json: a model too large for this machine", dir);
    struct shards *s = calloc(1, sizeof *s);
    struct ant_layout lay;
    ant_layout_init(&lay, cfg);
    float *w = NULL, *tmp = NULL;
    int rc = s ? open_shards(s, dir, e) : ant_errf(e, "%s: out of memory", dir);
    /* Before allocating what config.json asks for: the files must hold that much (two
     * bytes a value at least), so a lying config cannot make us allocate gigabytes. */
    uint64_t held = 0;
    for (int i = 0; rc == 0 && i < s->n; i++) held += s->f[i].data_size;
    if (rc == 0 && (uint64_t)lay.total > held / 2)
        rc = ant_errf(e, "%s/config.json: implies %zu parameters, but the safetensors files hold "
                      "%llu bytes", dir, lay.total, (unsigned long long)held);
    if (rc == 0) {
        w = ant_falloc(lay.total);
        tmp = malloc(lay.per_layer[ANT_WQ] * sizeof *tmp);
        if (!w || !tmp) rc = ant_errf(e, "%s: out of memory", dir);
    }
    int used = 0;
    for (int t = 0; rc == 0 && t < ANT_N_TENSORS; t++) {
        if (t == ANT_WCLS && cfg->shared_classifier) continue;
        for (int l = 0; rc == 0 && l < (lay.layered[t] ? cfg->n_layers : 1); l++)
            rc = read_tensor(s, cfg, t, l, ant_tensor(w, &lay, t, l), tmp, &used, e);
    }
    if (rc == 0) rc = check_all_used(s, used, cfg->shared_classifier, e);
    if (rc == 0) rc = llama2c_check_finite(dir, w, &lay, cfg->n_layers, e);
    if (s) close_shards(s);
    free(s);
    free(tmp);
    if (rc == 0) *weights = w;
    else ant_ffree(w);
    return rc;
}

/* ---- writing --------------------------------------------------------------------- */

static int write_config(const char *dir, const struct ant_model_config *c, struct ant_err *e)
{
    json_t *j = json_pack("{s:[s],s:s,s:i,s:i,s:i,s:i,s:i,s:i,s:i,s:f,s:f,s:s,s:b,s:s,s:i,s:i}",
        "architectures", "LlamaForCausalLM", "model_type", "llama",
        "hidden_size", c->dim, "intermediate_size", c->hidden_dim,
        "num_hidden_layers", c->n_layers, "num_attention_heads", c->n_heads,
        "num_key_value_heads", c->n_kv_heads, "vocab_size", c->vocab_size,
        "max_position_embeddings", c->seq_len, "rms_norm_eps", (double)c->norm_eps,
        "rope_theta", (double)c->rope_theta, "hidden_act", "silu",
        "tie_word_embeddings", c->shared_classifier, "torch_dtype", "float32",
        "bos_token_id", 1, "eos_token_id", 2);
    char *text = j ? json_dumps(j, JSON_INDENT(2) | JSON_REAL_PRECISION(9)) : NULL;
    json_decref(j);
    if (!text) return ant_errf(e, "%s: out of memory", dir);
    char path[4200];
    snprintf(path, sizeof path, "%s/config.json", dir);
    struct ant_atomic_file a;
    int rc = atomic_open(&a, path, e);
    if (rc == 0) {
        if (atomic_write(&a, text, strlen(text), e) || atomic_write(&a, "\n", 1, e)) {
            atomic_abort(&a);
            rc = -1;
        } else {
            rc = atomic_commit(&a, 0, e);
        }
    }
    free(text);
    return rc;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const struct st_out *)a)->name, ((const struct st_out *)b)->name);
}

int hf_write(const char *dir, const struct ant_model_config *cfg, const float *weights,
             struct ant_err *e)
{
    if (mkdir(dir, 0777) != 0 && errno != EEXIST)
        return ant_errf(e, "%s: cannot make the folder: %s", dir, strerror(errno));
    struct ant_layout lay;
    ant_layout_init(&lay, cfg);
    int n_max = 3 + 9 * cfg->n_layers, n = 0, rc = 0;
    struct st_out *t = calloc((size_t)n_max, sizeof *t);
    char *names = calloc((size_t)n_max, 128);
    /* q_proj and k_proj of every layer, in Hugging Face's row order */
    size_t qk = lay.per_layer[ANT_WQ] + lay.per_layer[ANT_WK];
    float *perm = ant_falloc(qk * (size_t)cfg->n_layers);
    if (!t || !names || !perm) rc = ant_errf(e, "%s: out of memory", dir);
    for (int k = 0; rc == 0 && k < ANT_N_TENSORS; k++) {
        if (k == ANT_WCLS && cfg->shared_classifier) continue;
        for (int l = 0; l < (lay.layered[k] ? cfg->n_layers : 1); l++, n++) {
            char *name = names + 128 * n;
            hf_name(k, l, name, 128);
            int64_t rows, cols;
            hf_shape(cfg, k, &rows, &cols);
            const float *src = ant_tensor((float *)weights, &lay, k, l);
            if (k == ANT_WQ || k == ANT_WK) {
                float *dst = perm + (size_t)l * qk + (k == ANT_WK ? lay.per_layer[ANT_WQ] : 0);
                hf_permute_rows(src, dst, k == ANT_WQ ? cfg->n_heads : cfg->n_kv_heads,
                                ant_head_dim(cfg), (int)cols, 1);
                src = dst;
            }
            t[n] = (struct st_out){ name, src, cols ? 2 : 1, { rows, cols } };
        }
    }
    if (rc == 0) {
        qsort(t, (size_t)n, sizeof *t, by_name);   /* as safetensors orders them */
        char path[4200];
        snprintf(path, sizeof path, "%s/model.safetensors", dir);
        rc = st_write_f32(path, t, n, e);
    }
    if (rc == 0) rc = write_config(dir, cfg, e);
    free(t);
    free(names);
    ant_ffree(perm);
    return rc;
}
