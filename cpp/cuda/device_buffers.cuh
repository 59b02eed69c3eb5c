// Small device-memory helpers of the CUDA backend: launch sizes, fills, and
// copies to and from the device, each checked (cuda_check.hpp).
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "cuda_check.hpp"
#include "interference_kernels.cuh"

namespace nearortho::cuda {

inline unsigned blocks_for(std::int64_t work) {
  const std::int64_t blocks = (work + kThreads - 1) / kThreads;
  return static_cast<unsigned>(std::max<std::int64_t>(1, std::min<std::int64_t>(blocks, 65535)));
}

template <class T>
void fill_device(T* x, std::size_t count, T value, cudaStream_t stream) {
  if (count == 0) return;
  fill<T><<<blocks_for(static_cast<std::int64_t>(count)), kThreads, 0, stream>>>(
      x, static_cast<std::int64_t>(count), value);
  check_launch("fill");
}

template <class T>
void copy_to_device(T* dst, const T* src, std::size_t count, cudaStream_t stream, const char* what) {
  // the direction from the pointers (unified addressing): host or device memory
  if (count > 0) check(cudaMemcpyAsync(dst, src, count * sizeof(T), cudaMemcpyDefault, stream), what);
}

// A device buffer's contents (the copy into pageable memory returns when done).
template <class T>
std::vector<T> to_host(const DeviceBuffer<T>& src, std::size_t count, cudaStream_t stream) {
  std::vector<T> out(count);
  if (count > 0)
    check(cudaMemcpyAsync(out.data(), src.get(), count * sizeof(T), cudaMemcpyDeviceToHost, stream),
          "cudaMemcpyAsync (results)");
  check(cudaStreamSynchronize(stream), "cudaStreamSynchronize");
  return out;
}

template <class T>
std::vector<T> to_host(const DeviceBuffer<T>& src, cudaStream_t stream) {
  return to_host(src, src.size(), stream);
}

}  // namespace nearortho::cuda
