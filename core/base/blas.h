/* The one place that knows which BLAS the CPU math links (configure --with-blas):
 * Accelerate's CBLAS on macOS by default (its new LAPACK headers, hence
 * ACCELERATE_NEW_LAPACK), OpenBLAS elsewhere. Include this, never <cblas.h>. */
#ifndef ANT_BLAS_H
#define ANT_BLAS_H

#include <config.h>

#ifdef ANT_BLAS_ACCELERATE
#define ACCELERATE_NEW_LAPACK
#include <Accelerate/Accelerate.h>
#define ANT_BLAS_NAME "Accelerate"
static inline void ant_blas_set_threads(int n) { (void)n; }   /* Accelerate schedules itself */
static inline int ant_blas_threads(void) { return 0; }
static inline const char *ant_blas_core(void) { return "Accelerate"; }
#else
#include <cblas.h>
#define ANT_BLAS_NAME "OpenBLAS"
static inline void ant_blas_set_threads(int n) { openblas_set_num_threads(n); }
static inline int ant_blas_threads(void) { return openblas_get_num_threads(); }
static inline const char *ant_blas_core(void) { return openblas_get_corename(); }
#endif

#endif
