// Thread-count policy shared by every kernel.
#pragma once

namespace nearortho {

// requested <= 0 means "what OpenMP would use" (OMP_NUM_THREADS, else the CPUs).
int resolve_threads(int requested);
bool have_openmp();

}  // namespace nearortho
