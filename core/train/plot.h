/* `anetrain plot` and the picture a run refreshes at each checkpoint: training and
 * validation loss against steps, with tokens/s, drawn from the metrics log with PLplot
 * (README.md "Plots": why PLplot). Built only where configure found PLplot and jansson;
 * elsewhere plot_available() is 0 and plot_log fails saying how to get it. */
#ifndef ANT_PLOT_H
#define ANT_PLOT_H

#include "base/util.h"

int plot_available(void);
/* Draw the log at log_path into out (.png or .svg, by its name), width x height pixels
 * (0: 1000 x 700). -1 naming the file at fault. */
int plot_log(const char *log_path, const char *out, int width, int height, struct ant_err *e);

#endif
