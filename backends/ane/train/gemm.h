/* Matrix products on an ANE device in the one form reported to run on M1/M2 under
 * macOS 26 (docs/ane.md §7.3): a runtime-input 3-D matmul out [1,M,P] = a [1,M,K] ·
 * b [1,K,P], a bound to the first input and b to the second, no other op. Its rules are
 * kept by construction: K padded with zeros to a multiple of 32, M cut into chunks of at
 * most P rows so the inputs' sizes ascend, fp16 surfaces (no cast).
 *
 * A kernel per shape is compiled on first use and tested at once on random data against
 * the CPU: one that gives zeros or garbage (§7.3's silent failures) is replaced by
 * OpenBLAS for the rest of the run, and the log says so. The first compile tries the
 * chip's MIL dialect, and the other one if that fails; the choice that worked is
 * remembered per chip and OS (in the cache folder) for the next run. */
#ifndef ANE_TRAIN_GEMM_H
#define ANE_TRAIN_GEMM_H

#include <anetrain/backend.h>
#include <stddef.h>

struct at_gemm;

struct at_gemm_opts {
    const char *device;      /* "apple" or "emulator" */
    const char *dialect;     /* "auto" (the remembered one, else the chip's), "modern", "verbose" */
    const char *memory_dir;  /* where the dialect choice is remembered; NULL: the cache folder */
    /* Test knobs that break a §7.3 rule on purpose, so the self-test can be seen to
     * catch it: no K padding, inputs bound largest first, no M chunking. */
    int no_pad, swap_inputs, no_chunks;
    int cache;               /* the on-disk compile cache (docs/ane.md §18) on/off */
    const struct ant_host *host;
    const char *who;
};

struct at_gemm_stats {
    long kernels, compiles, evals, replaced;   /* replaced: failed their self-test */
    double device_flops, cpu_flops, staged_bytes, compile_ms, eval_ms;
    int verbose_dialect;     /* the dialect in use: 1 program 1.0, 0 program 1.3 */
    long retries;            /* compiles retried in the other dialect */
};

struct at_gemm *at_gemm_open(const struct ant_chip *chip, const struct at_gemm_opts *o, char *why,
                             size_t why_len);
void at_gemm_close(struct at_gemm *g);
/* C [M, P] = alpha * op(A) [M, K] · op(B) [K, P] + beta * C; op(X) = X^T when trans
 * (A stored [K, M], B stored [P, K]); lda, ldb their row lengths. 0, or -1 (at_gemm_error). */
int at_gemm(struct at_gemm *g, float *C, const float *A, int lda, int transA, const float *B,
            int ldb, int transB, int M, int K, int P, float alpha, float beta);
void at_gemm_stats(const struct at_gemm *g, struct at_gemm_stats *s);
const char *at_gemm_error(const struct at_gemm *g);

#endif
