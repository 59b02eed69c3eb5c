// Thread-count policy shared by every kernel.
#pragma once

namespace nearortho {

// requested <= 0 means "what OpenMP would use" (OMP_NUM_THREADS, else the CPUs).
// Returns 1 in a child made by fork() (OpenMP's threads do not survive fork), and
// throws std::runtime_error when the threads cannot be started (instead of
// OpenMP ending the process). Call it outside parallel regions.
int resolve_threads(int requested);
bool have_openmp();

}  // namespace nearortho
