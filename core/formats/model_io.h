/* Load a model for sample/eval/export from either of the files users have: our
 * checkpoint or a llama2.c model.bin (told apart by the checkpoint's magic). */
#ifndef ANT_MODEL_IO_H
#define ANT_MODEL_IO_H

#include "base/state.h"
#include "base/util.h"

/* Fills s (allocated here) with the weights; moments stay zero for a model.bin. */
int model_load(const char *path, struct ant_train_state *s, struct ant_err *e);

#endif
