/* Text generation as llama2.c's run.c does it (its sample() and generate()), over the
 * KV-cache forward (kvmodel.h):
 *   - the prompt: encoded with BOS (id 1) when the model has a tokenizer.bin, which also
 *     puts the dummy-prefix space first (tokenizer.h); byte-level models have no BOS;
 *   - each position feeds one token; while prompt tokens remain the next is the prompt's,
 *     then it is sampled; generation stops at BOS when there is one ("BOS delimits
 *     sequences", run.c), at seq_len, or after the requested count;
 *   - sampling: temperature 0 = argmax; else logits / temperature, softmax, and a coin
 *     from run.c's xorshift* generator drawn once per token: top-p (nucleus) when
 *     0 < topp < 1 (probabilities below (1 - topp) / (V - 1) dropped, the rest sorted,
 *     cut where the cumulative probability first exceeds topp), else the whole
 *     distribution. Same seed, same logits, same tokens as run.c.
 *   - printing: each piece is decode(prev, next); with a tokenizer.bin a piece that is a
 *     single unprintable byte is skipped (run.c's safe_printf). */
#ifndef ANT_GENERATE_H
#define ANT_GENERATE_H

#include <stdint.h>

#include "base/util.h"
#include "data/tokenizer.h"
#include "infer/kvmodel.h"

struct ant_prob_index { float prob; int index; };

struct ant_sampler {
    int vocab_size;
    float temperature, topp;
    unsigned long long rng_state;
    struct ant_prob_index *probindex;   /* [vocab_size], top-p's buffer */
};

int sampler_init(struct ant_sampler *s, int vocab_size, float temperature, float topp,
                 unsigned long long seed, struct ant_err *e);
void sampler_free(struct ant_sampler *s);
/* A token from logits [vocab_size] (changed in place, as run.c does). */
int sampler_sample(struct ant_sampler *s, float *logits);
unsigned int sampler_random_u32(unsigned long long *state);

/* run.c's prompt tokens: tokenizer_encode with BOS when has_bos; a byte-level model's
 * empty prompt starts from "\n". ids: [cap]. */
int gen_prompt(const struct ant_tokenizer *tok, const char *prompt, int has_bos, int32_t *ids,
               int cap, int *n, struct ant_err *e);

/* Generate after the prompt ids[0..n) (n >= 1): at most n_new sampled tokens, within
 * seq_len positions. emit() gets every piece to print, the prompt's too (a byte-level
 * prompt's first token included: it is not a BOS). Returns the count sampled. */
long gen_run(struct ant_kvmodel *kv, int seq_len, struct ant_sampler *s,
             const struct ant_tokenizer *tok, const int32_t *ids, int n, long n_new,
             int has_bos, void (*emit)(const char *piece, void *ctx), void *ctx);

#endif
