/* The dW worker thread (dwork.h): a ring of jobs, one mutex, two condition variables. */
#include "ane/train/dwork.h"

#include <pthread.h>
#include <stdlib.h>

#include "base/util.h"
#include "cpu/ops.h"

#define QUEUE 64

struct job {
    float *dw;
    const float *dy, *x;
    int n, in, out;
    float alpha;
};

struct at_dwork {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t work, done;
    struct job q[QUEUE];
    int head, count, busy, quit;
};

static void *worker(void *arg)
{
    struct at_dwork *w = arg;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (!w->count && !w->quit) pthread_cond_wait(&w->work, &w->mu);
        if (!w->count) break;
        struct job j = w->q[w->head];
        w->head = (w->head + 1) % QUEUE;
        w->count--;
        w->busy = 1;
        pthread_cond_broadcast(&w->done);   /* a slot is free */
        pthread_mutex_unlock(&w->mu);
        matmul_backward_dw(j.dw, j.dy, j.x, j.n, j.in, j.out, j.alpha);
        pthread_mutex_lock(&w->mu);
        w->busy = 0;
        pthread_cond_broadcast(&w->done);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

struct at_dwork *at_dwork_new(void)
{
    struct at_dwork *w = calloc(1, sizeof *w);
    if (!w) return NULL;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->work, NULL);
    pthread_cond_init(&w->done, NULL);
    if (pthread_create(&w->thread, NULL, worker, w)) {
        pthread_mutex_destroy(&w->mu);
        pthread_cond_destroy(&w->work);
        pthread_cond_destroy(&w->done);
        free(w);
        return NULL;
    }
    return w;
}

void at_dwork_push(struct at_dwork *w, float *dw, const float *dy, const float *x, int n,
                   int in, int out, float alpha)
{
    pthread_mutex_lock(&w->mu);
    while (w->count == QUEUE) pthread_cond_wait(&w->done, &w->mu);
    w->q[(w->head + w->count) % QUEUE] = (struct job){dw, dy, x, n, in, out, alpha};
    w->count++;
    pthread_cond_signal(&w->work);
    pthread_mutex_unlock(&w->mu);
}

double at_dwork_wait(struct at_dwork *w)
{
    double t0 = ant_now_ms();
    pthread_mutex_lock(&w->mu);
    while (w->count || w->busy) pthread_cond_wait(&w->done, &w->mu);
    pthread_mutex_unlock(&w->mu);
    return ant_now_ms() - t0;
}

void at_dwork_free(struct at_dwork *w)
{
    if (!w) return;
    pthread_mutex_lock(&w->mu);
    w->quit = 1;
    pthread_cond_signal(&w->work);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->work);
    pthread_cond_destroy(&w->done);
    free(w);
}
