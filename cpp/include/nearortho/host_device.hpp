// Marks functions the CUDA backend (cpp/cuda/) also runs on the device, so both
// backends share one definition of their arithmetic.
#pragma once

#if defined(__CUDACC__)
#define NEARORTHO_HOST_DEVICE __host__ __device__
#else
#define NEARORTHO_HOST_DEVICE
#endif
