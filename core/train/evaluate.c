#include "train/evaluate.h"

long eval_batches_available(const struct ant_data *data, int B, int T)
{
    long n = (long)((data_n_tokens(data) - 1) / ((size_t)B * T));
    return n < 1 ? 1 : n;
}

int eval_mean_loss(struct ant_dispatch *d, const float *weights, struct ant_data *data,
                   int B, int T, long batches, int32_t *buf, double *mean, long *used,
                   struct ant_err *e)
{
    long avail = eval_batches_available(data, B, T);
    if (batches > avail) batches = avail;
    struct ant_cursor cur = {0};
    struct ant_batch b = {B, T, buf, buf + (size_t)B * T};
    double sum = 0;
    for (long i = 0; i < batches; i++) {
        float loss;
        data_next_batch(data, &cur, 1, B, T, buf, buf + (size_t)B * T);
        if (dispatch_eval_loss(d, weights, &b, &loss, e) < 0) return -1;
        sum += loss;
    }
    *mean = sum / batches;
    if (used) *used = batches;
    return 0;
}
