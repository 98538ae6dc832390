/* Load a model for sample/eval/export/--init-model from any file users have: our
 * checkpoint, a llama2.c model.bin (versions 0, 1, 2) or a Hugging Face Llama folder,
 * each told apart by its magic (core/model_sniff.h). */
#ifndef ANT_MODEL_IO_H
#define ANT_MODEL_IO_H

#include "base/state.h"
#include "base/util.h"

/* Shape and a new buffer *weights of layout.total floats (ant_ffree). A file of another
 * kind (GGUF, a tokenizer, ...) is refused naming what it is and what to use instead. */
int model_import(const char *path, struct ant_model_config *cfg, float **weights,
                 struct ant_err *e);

/* Fills s (allocated here) with the weights; moments stay zero but for a checkpoint. */
int model_load(const char *path, struct ant_train_state *s, struct ant_err *e);

#endif
