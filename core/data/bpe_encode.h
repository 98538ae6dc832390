/* llama2.c's BPE encode (run.c `encode`), in O(n log n) instead of its O(n^2):
 *   1. BOS (id 1) if asked; then, for non-empty text, the token of " " (the dummy
 *      prefix SentencePiece adds);
 *   2. each UTF-8 code point (a byte and up to 3 following continuation bytes) looked up
 *      whole, else one token per byte with id byte + 3 (the <0x00>.. <0xFF> entries of
 *      Llama's vocabulary follow <unk>, <s>, </s>; 0 if that is past the vocabulary);
 *   3. while some adjacent pair concatenates to a vocabulary entry whose score is above
 *      -1e10: merge the pair with the highest score, the leftmost among equals.
 * Step 3 keeps the symbols in a linked list and the candidate pairs in a max-heap ordered
 * by (score, leftmost); a popped pair whose symbols changed since it was pushed is
 * skipped, so each merge costs O(log n) and the merges made are exactly run.c's. */
#ifndef ANT_BPE_ENCODE_H
#define ANT_BPE_ENCODE_H

#include <stddef.h>
#include <stdint.h>

#include "data/tokenizer.h"

struct bpe_work;   /* buffers reused across calls */

struct bpe_work *bpe_work_new(void);
void bpe_work_free(struct bpe_work *w);

/* text[0..len) into out (room for len + 2 ids) and *n; -1 if out of memory. Where
 * run.c would go out of bounds (a byte + 3 past the vocabulary, no " " token) the id is
 * <unk> (0), or the byte fallback of ' '. t must not be the byte-level tokenizer. */
int bpe_encode(const struct ant_tokenizer *t, struct bpe_work *w, const char *text, size_t len,
               int bos, int32_t *out, size_t *n);

#endif
