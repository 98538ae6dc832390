/* Weight gradients on the CPU, on a worker thread, while the main thread keeps the
 * device busy (upstream overlaps them the same way with a serial dispatch queue, §5.3).
 * Jobs run in order, one at a time: dW [out, in] += alpha * dy^T [out, N] · x [N, in]
 * (matmul_backward_dw). The buffers a job reads and writes must stay untouched until
 * at_dwork_wait returns. */
#ifndef ANE_TRAIN_DWORK_H
#define ANE_TRAIN_DWORK_H

struct at_dwork;

struct at_dwork *at_dwork_new(void);        /* NULL when no thread could start */
void at_dwork_push(struct at_dwork *w, float *dw, const float *dy, const float *x, int n,
                   int in, int out, float alpha);
/* Block until every job is done; returns the milliseconds this call waited. */
double at_dwork_wait(struct at_dwork *w);
void at_dwork_free(struct at_dwork *w);

#endif
