/* Tokenizers: byte-level (token = byte value) or a llama2.c tokenizer.bin (BPE by score,
 * the Llama 2 SentencePiece vocabulary and its kin).
 *
 * tokenizer.bin (docs/ane.md §9.3): int32 max_token_length, then for each token a
 * float32 score, an int32 length and that many bytes (no NUL). Token 1 is BOS; byte
 * fallback tokens are spelled <0xHH>. */
#ifndef ANT_TOKENIZER_H
#define ANT_TOKENIZER_H

#include <stdint.h>

#include "base/util.h"

struct ant_tokenizer;

#define ANT_TOKEN_BOS 1   /* llama2.c's BOS id */

/* path "": byte-level, 256 tokens; vocab_size must then be >= 256 (ids above 255
 * decode to ""). Otherwise read a tokenizer.bin holding exactly vocab_size entries
 * (vocab_size <= 0: as many as the file holds). Refusals name the file and, for a bad
 * entry, its index: truncated, a length outside 1..max_token_length, too few or too
 * many entries. */
int tokenizer_open(struct ant_tokenizer **t, const char *path, int vocab_size,
                   struct ant_err *e);

/* llama2.c's encode (core/bpe_encode.h has the rules; O(n log n)). Byte-level: optional
 * BOS is not added (there is no such token); one token per byte. Returns -1 if more than
 * max tokens would be written (out then holds nothing useful). */
int tokenizer_encode(const struct ant_tokenizer *t, const char *text, int bos, int32_t *out,
                     int max, int *n_out);

/* The text of token tok following token prev (llama2.c decode): after BOS a leading
 * space is dropped; <0xHH> gives that single byte. Byte-level: the byte. Out-of-range
 * ids give "". Never NULL; the string lives as long as the tokenizer. Note a 0x00 byte
 * decodes to "". */
const char *tokenizer_decode(const struct ant_tokenizer *t, int32_t prev, int32_t tok);
int tokenizer_vocab_size(const struct ant_tokenizer *t);

/* For the encoder (core/bpe_encode.c). ids must be in range. */
int tokenizer_is_bytes(const struct ant_tokenizer *t);
int tokenizer_max_token_length(const struct ant_tokenizer *t);
float tokenizer_score(const struct ant_tokenizer *t, int id);
const char *tokenizer_piece(const struct ant_tokenizer *t, int id, int *len);
/* The lowest id whose piece is exactly s[0..n), or -1. */
int tokenizer_lookup(const struct ant_tokenizer *t, const char *s, int n);
void tokenizer_close(struct ant_tokenizer *t);

#endif
