/* --init-model FILE: the run's model shape comes from the file. A model key that a
 * config file or preset set to another value is an error naming both values; seq_len
 * may be set lower (a shorter training context: no weight depends on it). */
#ifndef ANT_INIT_MODEL_H
#define ANT_INIT_MODEL_H

#include "config/config.h"
#include "base/util.h"

int init_model_adopt(struct ant_run_config *rc, struct ant_err *e);

#endif
