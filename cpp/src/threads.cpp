// Thread-count policy; see threads.hpp.
#include "nearortho/threads.hpp"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace nearortho {

int resolve_threads(int requested) {
  if (requested > 0) return requested;
#ifdef _OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}

bool have_openmp() {
#ifdef _OPENMP
  return true;
#else
  return false;
#endif
}

}  // namespace nearortho
