/* Sampling (core/infer): the KV-cache forward against the CPU backend's full forward;
 * run.c's sampler against a reference written here from run.c and hand-computed
 * values; the prompt rules (BOS, dummy-prefix space, merges, byte fallback) against a
 * reference port of run.c's encode(); the generation loop against run.c's generate()
 * and its stop at BOS. */
#include <ctype.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "test_util.h"
#include "base/rng.h"
#include "cpu/model.h"
#include "data/tokenizer.h"
#include "infer/generate.h"
#include "infer/kvmodel.h"

static float *random_weights(const struct ant_model_config *c, uint64_t seed)
{
    struct ant_layout lay;
    ant_layout_init(&lay, c);
    float *w = ant_falloc(lay.total);
    struct ant_rng r;
    rng_seed(&r, seed);
    for (size_t i = 0; i < lay.total; i++) w[i] = (float)(rng_uniform(&r) - 0.5) * 0.2f;
    for (int t = ANT_RMS_ATT; t <= ANT_RMS_FINAL; t++) {
        if (t != ANT_RMS_ATT && t != ANT_RMS_FFN && t != ANT_RMS_FINAL) continue;
        for (int l = 0; l < (lay.layered[t] ? c->n_layers : 1); l++) {
            float *g = ant_tensor(w, &lay, t, l);
            for (int i = 0; i < c->dim; i++) g[i] = 1.0f + (float)(rng_uniform(&r) - 0.5) * 0.2f;
        }
    }
    return w;
}

/* ---- the KV-cache forward equals the CPU backend's logits at every position --------- */

static void test_kv_vs_cpu(const struct ant_model_config *c, const char *what)
{
    float *w = random_weights(c, 7);
    char why[256];
    struct cpu_model *ref = cpu_model_create(c, 1, why, sizeof why);
    struct ant_kvmodel *kv;
    struct ant_err e;
    if (!ref || kv_open(&kv, c, w, &e) < 0) {
        ok(0, "%s: models open (%s)", what, ref ? e.msg : why);
        return;
    }
    int32_t toks[24];
    struct ant_rng r;
    rng_seed(&r, 3);
    for (int i = 0; i < 24; i++) toks[i] = (int32_t)rng_below(&r, (uint64_t)c->vocab_size);
    float *want = malloc(sizeof(float) * (size_t)c->vocab_size);
    double worst = 0;
    for (int pos = 0; pos < 24; pos++) {
        const float *got = kv_forward(kv, toks[pos], pos);
        cpu_model_logits(ref, w, toks, pos + 1, want);
        double scale = 0, err = 0;
        for (int v = 0; v < c->vocab_size; v++) scale = fmax(scale, fabs(want[v]));
        for (int v = 0; v < c->vocab_size; v++) err = fmax(err, fabs(got[v] - want[v]));
        worst = fmax(worst, err / scale);
    }
    ok(worst < 1e-4, "%s: logits at all 24 positions equal the CPU backend's full forward "
       "(max rel err %.2e)", what, worst);
    free(want);
    kv_close(kv);
    cpu_model_free(ref);
    ant_ffree(w);
}

/* ---- run.c's sampler, written here again from run.c ------------------------------- */

static unsigned int ref_u32(unsigned long long *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return (unsigned int)((*s * 0x2545F4914F6CDD1Dull) >> 32);
}

/* run.c: sample() with topp in (0, 1), probabilities already softmaxed */
static int ref_topp(const float *p, int n, float topp, float coin)
{
    int idx[64], n0 = 0;
    float cutoff = (1.0f - topp) / (float)(n - 1);
    for (int i = 0; i < n; i++)
        if (p[i] >= cutoff) idx[n0++] = i;
    for (int i = 1; i < n0; i++)   /* insertion sort, descending; stable */
        for (int j = i; j > 0 && p[idx[j]] > p[idx[j - 1]]; j--) {
            int t = idx[j]; idx[j] = idx[j - 1]; idx[j - 1] = t;
        }
    float cum = 0;
    int last = n0 - 1;
    for (int i = 0; i < n0; i++) {
        cum += p[idx[i]];
        if (cum > topp) { last = i; break; }
    }
    float r = coin * cum, cdf = 0;
    for (int i = 0; i <= last; i++) {
        cdf += p[idx[i]];
        if (r < cdf) return idx[i];
    }
    return idx[last];
}

static void test_sampler(void)
{
    unsigned long long st = 1;
    unsigned int a = sampler_random_u32(&st), b = sampler_random_u32(&st), c = sampler_random_u32(&st);
    ok(a == 1206177355u && b == 2882512552u && c == 3117485455u,
       "run.c's xorshift* from seed 1: 1206177355, 2882512552, 3117485455 (hand-computed)");

    struct ant_sampler s;
    struct ant_err e;
    float logits[4] = {0.1f, 2.0f, -1.0f, 1.9f};
    sampler_init(&s, 4, 0.0f, 0.9f, 5, &e);
    ok(sampler_sample(&s, logits) == 1, "temperature 0: the argmax");
    sampler_free(&s);

    /* probabilities 0.5, 0.3, 0.15, 0.05 and top-p 0.7: the nucleus is {0, 1} (0.5 + 0.3
     * first exceeds 0.7), so 2 and 3 are never drawn and 0 comes 5/8 of the time */
    const float p[4] = {0.5f, 0.3f, 0.15f, 0.05f};
    sampler_init(&s, 4, 1.0f, 0.7f, 42, &e);
    unsigned long long ref_state = 42;
    int same = 1, outside = 0, zeros = 0, N = 4000;
    for (int k = 0; k < N; k++) {
        float lg[4];
        for (int i = 0; i < 4; i++) lg[i] = logf(p[i]);
        int got = sampler_sample(&s, lg);
        float coin = (float)(ref_u32(&ref_state) >> 8) / 16777216.0f;
        same &= got == ref_topp(p, 4, 0.7f, coin);
        outside += got >= 2;
        zeros += got == 0;
    }
    ok(same, "top-p draws equal run.c's sample_topp, coin for coin (%d draws)", N);
    ok(outside == 0, "top-p 0.7 never draws outside the nucleus {0, 1}");
    ok(fabs((double)zeros / N - 0.625) < 0.03, "token 0 comes %.3f of the time (5/8 = 0.625)",
       (double)zeros / N);
    sampler_free(&s);

    /* top-p off (1.0): the whole distribution, sample_mult */
    sampler_init(&s, 4, 1.0f, 1.0f, 9, &e);
    int seen3 = 0;
    for (int k = 0; k < 2000; k++) {
        float lg[4];
        for (int i = 0; i < 4; i++) lg[i] = logf(p[i]);
        seen3 += sampler_sample(&s, lg) == 3;
    }
    ok(seen3 > 40 && seen3 < 170, "top-p 1: every token can come (token 3: %d of 2000, ~100)", seen3);
    sampler_free(&s);
}

/* ---- a tokenizer.bin and run.c's encode() ------------------------------------------ */

/* Specials 0..2, bytes <0x00>..<0xFF> at 3..258, then pieces with scores. */
static const char *const extra[] = {" ", "O", "n", "c", "e", "u", "p", "o", "On", "nc", "Onc",
                                    "Once", " O", " Once", "up", "on", "upon", " upon", "\xc3\xa9"};
static const float extra_score[] = {0, 0, 0, 0, 0, 0, 0, 0, -1, -2, -3, -4, -9, -5, -6, -7, -8,
                                    -2.5f, 0};
#define N_EXTRA (int)(sizeof extra / sizeof extra[0])
#define VOCAB (259 + N_EXTRA)

static char *vocab[VOCAB];
static float vscore[VOCAB];

static void build_vocab(const char *path)
{
    FILE *f = fopen(path, "wb");
    int32_t max_len = 8;
    fwrite(&max_len, 4, 1, f);
    for (int i = 0; i < VOCAB; i++) {
        char buf[16];
        if (i < 3) snprintf(buf, sizeof buf, "%s", i == 0 ? "<unk>" : i == 1 ? "\n<s>\n" : "\n</s>\n");
        else if (i < 259) snprintf(buf, sizeof buf, "<0x%02X>", i - 3);
        else snprintf(buf, sizeof buf, "%s", extra[i - 259]);
        vocab[i] = strdup(buf);
        vscore[i] = i >= 259 ? extra_score[i - 259] : 0;
        int32_t len = (int32_t)strlen(buf);
        fwrite(&vscore[i], 4, 1, f);
        fwrite(&len, 4, 1, f);
        fwrite(buf, 1, (size_t)len, f);
    }
    fclose(f);
}

static int lookup(const char *s)
{
    for (int i = 0; i < VOCAB; i++)
        if (!strcmp(vocab[i], s)) return i;
    return -1;
}

/* run.c's encode(text, bos = 1, eos = 0), ported with a linear lookup */
static int ref_encode(const char *text, int *out)
{
    int n = 0;
    char buf[64];
    size_t len = 0;
    out[n++] = 1;
    if (text[0]) out[n++] = lookup(" ");
    for (const char *c = text; *c; c++) {
        if ((*c & 0xC0) != 0x80) len = 0;
        buf[len++] = *c;
        buf[len] = 0;
        if ((c[1] & 0xC0) == 0x80 && len < 4) continue;
        int id = lookup(buf);
        if (id != -1) out[n++] = id;
        else for (size_t i = 0; i < len; i++) out[n++] = (unsigned char)buf[i] + 3;
        len = 0;
    }
    for (;;) {
        float best = -1e10f;
        int best_id = -1, best_idx = -1;
        for (int i = 0; i < n - 1; i++) {
            char pair[64];
            snprintf(pair, sizeof pair, "%s%s", vocab[out[i]], vocab[out[i + 1]]);
            int id = lookup(pair);
            if (id != -1 && vscore[id] > best) best = vscore[id], best_id = id, best_idx = i;
        }
        if (best_idx == -1) break;
        out[best_idx] = best_id;
        for (int i = best_idx + 1; i < n - 1; i++) out[i] = out[i + 1];
        n--;
    }
    return n;
}

static void test_prompts(const char *tokpath)
{
    struct ant_tokenizer *tok;
    struct ant_err e;
    if (!ok(tokenizer_open(&tok, tokpath, VOCAB, &e) == 0, "the test tokenizer.bin opens (%s)", e.msg))
        return;
    const char *prompts[] = {"Once upon", "Once", "", "On cue", "\xc3\xa9t\xc3\xa9", "x\xf0\x9f\x92\xa9y", "upon upon"};
    for (size_t k = 0; k < sizeof prompts / sizeof prompts[0]; k++) {
        int32_t got[64];
        int want[64], n = 0, m = ref_encode(prompts[k], want), same;
        same = gen_prompt(tok, prompts[k], 1, got, 64, &n, &e) == 0 && n == m;
        for (int i = 0; same && i < n; i++) same = got[i] == want[i];
        ok(same, "prompt \"%s\": run.c's tokens (BOS, leading space, merges; %d tokens)",
           prompts[k], m);
    }
    int32_t ids[8];
    int n;
    ok(gen_prompt(tok, "Once upon", 1, ids, 8, &n, &e) == 0 && n == 3 && ids[0] == 1 &&
       ids[1] == lookup(" Once") && ids[2] == lookup(" upon"),
       "\"Once upon\" is BOS, \" Once\", \" upon\" (hand-derived from the scores)");
    tokenizer_close(tok);
}

/* ---- the generation loop: run.c's generate() ---------------------------------------- */

struct text { char s[4096]; };
static void collect(const char *piece, void *ctx)
{
    struct text *t = ctx;
    strncat(t->s, piece, sizeof t->s - strlen(t->s) - 1);
}

static void test_loop(const char *tokpath)
{
    struct ant_model_config c = {32, 64, 2, 4, 2, VOCAB, 48, 1, 10000.0f, 1e-5f};
    float *w = random_weights(&c, 11);
    struct ant_tokenizer *tok;
    struct ant_kvmodel *kv, *kv2;
    struct ant_sampler s;
    struct ant_err e;
    tokenizer_open(&tok, tokpath, VOCAB, &e);
    kv_open(&kv, &c, w, &e);
    kv_open(&kv2, &c, w, &e);
    int32_t ids[48];
    int n;
    gen_prompt(tok, "Once upon", 1, ids, 48, &n, &e);
    sampler_init(&s, VOCAB, 1.0f, 0.9f, 77, &e);
    struct text got = {{0}}, want = {{0}};
    long made = gen_run(kv, c.seq_len, &s, tok, ids, n, 30, 1, collect, &got);
    sampler_free(&s);

    /* run.c's generate(), with its sampler from this file */
    struct ant_sampler rs;
    sampler_init(&rs, VOCAB, 1.0f, 0.9f, 77, &e);
    int token = ids[0], steps = n - 1 + 30, pos = 0, sampled = 0;
    while (pos < steps) {
        float *logits = (float *)kv_forward(kv2, token, pos);
        int next = pos < n - 1 ? ids[pos + 1] : (sampled++, sampler_sample(&rs, logits));
        pos++;
        if (next == 1) break;
        const char *piece = tokenizer_decode(tok, token, next);
        /* run.c's safe_printf */
        if (piece[0] && (piece[1] || isprint((unsigned char)piece[0]) ||
                         isspace((unsigned char)piece[0])))
            collect(piece, &want);
        token = next;
    }
    sampler_free(&rs);
    ok(made == sampled && !strcmp(got.s, want.s) && !strncmp(got.s, "Once upon", 9),
       "generation equals run.c's loop: the prompt echoed without its leading space, then "
       "%ld sampled tokens", made);

    /* Make BOS the argmax everywhere: layers add nothing (wo = w2 = 0), every embedding
     * has +1 in dimension 0, the final norm keeps only dimension 0, and only BOS's
     * classifier row looks at it. Greedy generation then stops at the first sample. */
    struct ant_layout lay;
    ant_layout_init(&lay, &c);
    c.shared_classifier = 0;
    ant_layout_init(&lay, &c);
    float *w2 = random_weights(&c, 12);
    for (int l = 0; l < c.n_layers; l++) {
        memset(ant_tensor(w2, &lay, ANT_WO, l), 0, lay.per_layer[ANT_WO] * sizeof(float));
        memset(ant_tensor(w2, &lay, ANT_W2, l), 0, lay.per_layer[ANT_W2] * sizeof(float));
    }
    for (int v = 0; v < VOCAB; v++) ant_tensor(w2, &lay, ANT_TOK_EMB, 0)[v * c.dim] = 1.0f;
    float *g = ant_tensor(w2, &lay, ANT_RMS_FINAL, 0), *cls = ant_tensor(w2, &lay, ANT_WCLS, 0);
    memset(g, 0, sizeof(float) * (size_t)c.dim);
    g[0] = 1;
    memset(cls, 0, lay.per_layer[ANT_WCLS] * sizeof(float));
    cls[1 * c.dim] = 10;
    struct ant_kvmodel *kv3;
    kv_open(&kv3, &c, w2, &e);
    sampler_init(&s, VOCAB, 0.0f, 0.9f, 1, &e);
    struct text stop = {{0}};
    made = gen_run(kv3, c.seq_len, &s, tok, ids, n, 30, 1, collect, &stop);
    ok(made == 1 && !strcmp(stop.s, "Once upon"), "a sampled BOS ends the text, as in run.c "
       "(\"%s\", %ld sampled)", stop.s, made);
    sampler_free(&s);
    kv_close(kv3);
    ant_ffree(w2);
    kv_close(kv);
    kv_close(kv2);
    tokenizer_close(tok);
    ant_ffree(w);
}

int main(void)
{
    tmp_dir_make("test_generate");
    struct ant_model_config mha = {64, 96, 2, 4, 4, 300, 32, 1, 10000.0f, 1e-5f};
    struct ant_model_config gqa = {48, 80, 3, 6, 2, 259, 32, 0, 500000.0f, 1e-6f};
    test_kv_vs_cpu(&mha, "4 heads, shared classifier");
    test_kv_vs_cpu(&gqa, "6 query heads on 2 kv heads, separate classifier, theta 5e5");
    test_sampler();
    const char *tokpath = tmp_path("tok.bin");
    build_vocab(tokpath);
    test_prompts(tokpath);
    test_loop(tokpath);
    for (int i = 0; i < VOCAB; i++) free(vocab[i]);
    tmp_dir_remove();
    return tap_done();
}
