// Thread-count policy shared by every kernel.
#pragma once

#ifdef _OPENMP
#include <omp.h>
#endif

namespace nearortho {

// requested <= 0 means "what OpenMP would use" (OMP_NUM_THREADS, else the CPUs).
// Returns 1 in a child made by fork() (OpenMP's threads do not survive fork), and
// throws std::runtime_error when the threads cannot be started (instead of
// OpenMP ending the process). Call it outside parallel regions.
int resolve_threads(int requested);
bool have_openmp();

// This thread's index in the enclosing parallel region (0 outside one, and in a
// build without OpenMP): the slot of its per-thread scratch.
inline int thread_slot() {
#ifdef _OPENMP
  return omp_get_thread_num();
#else
  return 0;
#endif
}

}  // namespace nearortho
