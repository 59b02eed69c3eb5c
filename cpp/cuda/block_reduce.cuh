// Sums and best candidates over a block of kThreads threads in a fixed order
// (each warp's butterfly, then the warps in turn), so a kernel's per-block
// results do not change from run to run. Used by cpp/cuda/gradient.cu and
// cpp/cuda/simulate.cu.
#pragma once
#include "interference_kernels.cuh"

namespace nearortho::cuda {

// The block's sum of x, in thread 0 (0 elsewhere). Every thread must call it;
// launch with kThreads threads.
template <class V>
__device__ V block_sum(V x) {
  __shared__ V partial[kWarps];
  for (int offset = 16; offset > 0; offset /= 2) x += __shfl_xor_sync(kFullMask, x, offset);
  if (threadIdx.x % 32 == 0) partial[threadIdx.x / 32] = x;
  __syncthreads();
  V total = 0;
  if (threadIdx.x == 0)
    for (int w = 0; w < kWarps; ++w) total += partial[w];
  __syncthreads();  // partial is reused by the next call
  return total;
}

// The block's best candidate by better(), in thread 0, in the same order.
// Every thread must call it; launch with kThreads threads.
template <class T>
__device__ Best<T> block_best(Best<T> best) {
  __shared__ T keys[kWarps];
  __shared__ std::int64_t indices[kWarps];
  best.reduce_warp();
  if (threadIdx.x % 32 == 0) {
    keys[threadIdx.x / 32] = best.key;
    indices[threadIdx.x / 32] = best.index;
  }
  __syncthreads();
  if (threadIdx.x == 0)
    for (int w = 1; w < kWarps; ++w)  // thread 0 holds warp 0's best
      if (better(keys[w], indices[w], best.key, best.index)) {
        best.key = keys[w];
        best.index = indices[w];
      }
  __syncthreads();  // keys and indices are reused by the next call
  return best;
}

}  // namespace nearortho::cuda
