/* `anetrain vocab`: train a BPE vocabulary with SentencePiece (core/vocab_train.cc, built
 * when configure finds libsentencepiece-dev; core/vocab_none.c otherwise) and write it as
 * llama2.c's tokenizer.bin, as llama2.c's train_vocab.sh + tokenizer.py do. */
#ifndef ANT_VOCAB_TRAIN_H
#define ANT_VOCAB_TRAIN_H

#include "base/util.h"

#ifdef __cplusplus
extern "C" {
#endif

extern const int vocab_supported;

/* Train on the text file in (one sentence a line) a vocabulary of size entries: <unk>,
 * <s>, </s>, the 256 byte tokens <0x00>..<0xFF>, then merges; write out. */
int vocab_train(const char *in, int size, const char *out, struct ant_err *e);

#ifdef __cplusplus
}
#endif

#endif
