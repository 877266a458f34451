// LAPACK and BLAS from Debian (liblapacke-dev, libopenblas-dev): the symmetric eigensolver
// (LAPACKE_dsyevd) and the Float64 matrix products (cblas_dgemm, cblas_dsyrk) of the FID metric.
#include <cblas.h>
#include <lapacke.h>
