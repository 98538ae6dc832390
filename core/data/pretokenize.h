/* `anetrain tokenize`: a text file into the flat uint16 token file the trainer reads,
 * as llama2.c's tinystories.py pretokenizes: each document stripped of surrounding
 * whitespace, encoded with BOS and no EOS (core/bpe_encode.h), empty ones skipped, all
 * concatenated. A document is a line, or with a delimiter the text between two of them
 * (TinyStoriesV2's "<|endoftext|>"). The input is streamed, so any size works. */
#ifndef ANT_PRETOKENIZE_H
#define ANT_PRETOKENIZE_H

#include <stdint.h>

#include "data/tokenizer.h"
#include "base/util.h"

struct pretok_stats {
    uint64_t documents, bytes, tokens;
};

/* delimiter NULL or "": one document per line. out is written atomically. */
int pretokenize_file(const struct ant_tokenizer *t, const char *in, const char *delimiter,
                     const char *out, struct pretok_stats *st, struct ant_err *e);

#endif
