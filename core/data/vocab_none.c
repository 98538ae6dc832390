/* `anetrain vocab` in a build without SentencePiece. */
#include "data/vocab_train.h"

const int vocab_supported = 0;

int vocab_train(const char *in, int size, const char *out, struct ant_err *e)
{
    return ant_errf(e, "this anetrain was built without SentencePiece: install "
                       "libsentencepiece-dev and reconfigure to train a vocabulary");
}
