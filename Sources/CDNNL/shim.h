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

#endif
