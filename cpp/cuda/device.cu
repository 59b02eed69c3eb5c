// Which devices the CUDA runtime sees. Tests: tests/test_cuda.py.
#include <cuda_runtime.h>

#include "backend.hpp"

namespace nearortho::cuda {

int device_count() {
  int count = 0;
  // No driver, no device, or a driver older than the runtime: none usable.
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    cudaGetLastError();  // clear the error so later calls do not see it
    return 0;
  }
  return count;
}

}  // namespace nearortho::cuda
