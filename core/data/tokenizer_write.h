/* Writing llama2.c's tokenizer.bin (format in tokenizer.h): the byte tokenizer of our
 * vocab-256 models, and vocabularies trained with `anetrain vocab`. */
#ifndef ANT_TOKENIZER_WRITE_H
#define ANT_TOKENIZER_WRITE_H

#include "base/util.h"

/* n entries: piece[i] of len[i] >= 1 bytes, score[i]. max_token_length is the longest. */
int tokenizer_write(const char *path, int n, const char *const *piece, const int *len,
                    const float *score, struct ant_err *e);

/* The byte tokenizer for models trained on raw bytes (id = byte value): entry i is the
 * single byte i, score 0, max_token_length 1. llama2.c's run.c then decodes id i as byte
 * i (no entry is spelled <0xHH>; a lone byte that is neither printable ASCII nor space
 * is dropped by run.c's safe_printf, so it prints only the ASCII part of a text), encodes
 * a prompt's characters to their byte ids (multi-byte UTF-8 sequences fall back to
 * byte + 3, which is wrong for this vocabulary: keep prompts ASCII), never merges (no
 * entry is two bytes long), and starts from id 1 with a dummy-prefix space, as `anetrain
 * sample --tokenizer tokenizer.bin` does. */
int tokenizer_write_bytes(const char *path, struct ant_err *e);

#endif
