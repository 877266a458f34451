// C shim for oneDNN (Debian libdnnl-dev, 2.x C API) and the GNU OpenMP runtime it runs on.
#ifndef CDNNL_SHIM_H
#define CDNNL_SHIM_H

#include <oneapi/dnnl/dnnl.h>

/// `DNNL_MEMORY_ALLOCATE` is a macro Swift does not import.
static inline void *cdnnl_memory_allocate(void) { return DNNL_MEMORY_ALLOCATE; }

/// `DNNL_MEMORY_NONE`, for the same reason.
static inline void *cdnnl_memory_none(void) { return DNNL_MEMORY_NONE; }

/// OpenMP controls oneDNN's thread count (omp.h is not on clang's include path).
extern void omp_set_num_threads(int count);
extern int omp_get_max_threads(void);
extern int omp_get_thread_num(void);
extern int omp_get_num_threads(void);

/// GNU OpenMP's entry point for `#pragma omp parallel` (libgomp ABI, GCC ≥ 4.9): runs
/// `fn(data)` on a team of `num_threads` threads, the caller being thread 0, and returns when all
/// have finished. The package's own parallel loops use it so that they run on the same threads as
/// oneDNN instead of a second pool competing with OpenMP's spinning workers.
extern void GOMP_parallel(void (*fn)(void *), void *data, unsigned num_threads, unsigned flags);

#endif
