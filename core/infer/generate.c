/* run.c's sampler and generation loop (generate.h). */
#include "infer/generate.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int sampler_init(struct ant_sampler *s, int vocab_size, float temperature, float topp,
                 unsigned long long seed, struct ant_err *e)
{
    s->vocab_size = vocab_size;
    s->temperature = temperature;
    s->topp = topp;
    s->rng_state = seed;
    s->probindex = malloc((size_t)vocab_size * sizeof *s->probindex);
    return s->probindex ? 0 : ant_errf(e, "out of memory for the sampler");
}

void sampler_free(struct ant_sampler *s)
{
    free(s->probindex);
    s->probindex = NULL;
}

unsigned int sampler_random_u32(unsigned long long *state)
{
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    return (unsigned int)((*state * 0x2545F4914F6CDD1Dull) >> 32);
}

static float random_f32(unsigned long long *state)
{
    return (float)(sampler_random_u32(state) >> 8) / 16777216.0f;
}

static void softmax(float *x, int n)
{
    float max = x[0], sum = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > max) max = x[i];
    for (int i = 0; i < n; i++) sum += x[i] = expf(x[i] - max);
    for (int i = 0; i < n; i++) x[i] /= sum;
}

static int argmax(const float *p, int n)
{
    int best = 0;
    for (int i = 1; i < n; i++)
        if (p[i] > p[best]) best = i;
    return best;
}

static int sample_mult(const float *p, int n, float coin)
{
    float cdf = 0;
    for (int i = 0; i < n; i++) {
        cdf += p[i];
        if (coin < cdf) return i;
    }
    return n - 1;   /* rounding */
}

static int by_prob_desc(const void *a, const void *b)
{
    const struct ant_prob_index *x = a, *y = b;
    return x->prob > y->prob ? -1 : x->prob < y->prob ? 1 : 0;
}

static int sample_topp(const float *p, int n, float topp, struct ant_prob_index *pi, float coin)
{
    int n0 = 0;
    /* tokens below this cannot be in the nucleus: sort only the rest */
    const float cutoff = (1.0f - topp) / (float)(n - 1);
    for (int i = 0; i < n; i++)
        if (p[i] >= cutoff) pi[n0].index = i, pi[n0].prob = p[i], n0++;
    qsort(pi, (size_t)n0, sizeof *pi, by_prob_desc);
    float cum = 0;
    int last = n0 - 1;
    for (int i = 0; i < n0; i++) {
        cum += pi[i].prob;
        if (cum > topp) {
            last = i;
            break;
        }
    }
    float r = coin * cum, cdf = 0;
    for (int i = 0; i <= last; i++) {
        cdf += pi[i].prob;
        if (r < cdf) return pi[i].index;
    }
    return pi[last].index;
}

int sampler_sample(struct ant_sampler *s, float *logits)
{
    int V = s->vocab_size;
    if (s->temperature == 0.0f) return argmax(logits, V);
    for (int i = 0; i < V; i++) logits[i] /= s->temperature;
    softmax(logits, V);
    float coin = random_f32(&s->rng_state);
    if (s->topp <= 0 || s->topp >= 1) return sample_mult(logits, V, coin);
    return sample_topp(logits, V, s->topp, s->probindex, coin);
}

int gen_prompt(const struct ant_tokenizer *tok, const char *prompt, int has_bos, int32_t *ids,
               int cap, int *n, struct ant_err *e)
{
    if (tokenizer_encode(tok, prompt, has_bos, ids, cap, n) < 0)
        return ant_errf(e, "--prompt: too long for the model's context (%d tokens)", cap);
    if (*n == 0) ids[(*n)++] = '\n';   /* byte-level with no prompt: start a new line */
    return 0;
}

/* run.c's safe_printf: nothing for "", nor for a single byte that is neither printable
 * nor white space (a raw byte token that is part of a character). */
static int printable(const char *piece)
{
    if (!piece[0]) return 0;
    unsigned char b = (unsigned char)piece[0];
    return piece[1] || isprint(b) || isspace(b);
}

long gen_run(struct ant_kvmodel *kv, int seq_len, struct ant_sampler *s,
             const struct ant_tokenizer *tok, const int32_t *ids, int n, long n_new,
             int has_bos, void (*emit)(const char *piece, void *ctx), void *ctx)
{
    long steps = (long)n - 1 + n_new, sampled = 0;
    if (steps > seq_len) steps = seq_len;
    int token = ids[0];
    if (!has_bos && !(n == 1 && token == '\n'))   /* not the start gen_prompt made up */
        emit(tokenizer_decode(tok, '\n', token), ctx);
    for (long pos = 0; pos < steps; pos++) {
        float *logits = (float *)kv_forward(kv, token, (int)pos);
        int next;
        if (pos < n - 1) {
            next = ids[pos + 1];
        } else {
            next = sampler_sample(s, logits);
            sampled++;
        }
        if (has_bos && next == ANT_TOKEN_BOS) break;
        const char *piece = tokenizer_decode(tok, token, next);
        if (!has_bos || printable(piece)) emit(piece, ctx);
        token = next;
    }
    return sampled;
}
