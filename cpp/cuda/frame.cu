// Frame generation on the device for the kinds whose rows are integer
// arithmetic on Philox words (sign, sparse): the same counters and operations as
// cpp/src/frame.cpp's sign_rows and sparse_rows, so the rows match bit for bit.
// The other kinds come from the CPU core.
// Tests: tests/test_cuda.py (compared with the CPU core).
#include <cmath>
#include <cstdint>
#include <stdexcept>

#include "backend.hpp"
#include "cuda_check.hpp"
#include "device_buffers.cuh"
#include "nearortho/philox.hpp"

namespace nearortho::cuda {
namespace {

// One thread per (row, 128-column chunk): one Philox block gives its 128 sign bits.
template <class T>
__global__ void sign_rows(std::uint64_t seed, std::int64_t n, std::int64_t row_begin,
                          std::int64_t rows, T value, T* out) {
  const std::int64_t chunks = (n + 127) / 128;
  for (std::int64_t item = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x; item < rows * chunks;
       item += std::int64_t{gridDim.x} * blockDim.x) {
    const std::int64_t r = item / chunks, j0 = item % chunks * 128;
    const RowGenerator gen(seed, static_cast<std::uint64_t>(row_begin + r), Stream::sign);
    const Philox4x32 x = gen.block(static_cast<std::uint32_t>(j0 / 128));
    const std::int64_t stop = n < j0 + 128 ? n : j0 + 128;
    T* o = out + r * n;
    for (std::int64_t j = j0; j < stop; ++j) {
      const std::uint32_t bit = (x.v[(j - j0) >> 5] >> ((j - j0) & 31)) & 1u;
      o[j] = bit ? -value : value;
    }
  }
}

// One thread per row: Floyd's algorithm, s draws in order, as on the CPU.
template <class T>
__global__ void sparse_rows(std::uint64_t seed, std::int64_t n, std::int64_t s,
                            std::int64_t row_begin, std::int64_t rows, T value, T* out) {
  for (std::int64_t r = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x; r < rows;
       r += std::int64_t{gridDim.x} * blockDim.x) {
    const std::uint64_t row = static_cast<std::uint64_t>(row_begin + r);
    const RowGenerator positions(seed, row, Stream::sparse_positions);
    const RowGenerator signs(seed, row, Stream::sparse_signs);
    T* o = out + r * n;
    for (std::int64_t j = 0; j < n; ++j) o[j] = T(0);
    std::int64_t draw = 0;
    for (std::int64_t j = n - s; j < n; ++j, ++draw) {
      const Philox4x32 x = positions.block(static_cast<std::uint32_t>(draw));
      const std::int64_t t = static_cast<std::int64_t>(bounded(x.v[0], x.v[1], static_cast<std::uint64_t>(j + 1)));
      const std::int64_t chosen = (o[t] != T(0)) ? j : t;
      const Philox4x32 sx = signs.block(static_cast<std::uint32_t>(draw / 128));
      const std::uint32_t bit = (sx.v[(draw % 128) >> 5] >> (draw & 31)) & 1u;
      o[chosen] = bit ? -value : value;
    }
  }
}

}  // namespace

template <class T>
bool generate_frame(const FrameSpec& spec, std::int64_t row_begin, std::int64_t row_end, T* out,
                    int threads, const std::function<bool()>& interrupted) {
  if (spec.kind != FrameKind::sign && spec.kind != FrameKind::sparse)
    return nearortho::generate_frame(spec, row_begin, row_end, out, threads, interrupted);
  validate(spec);
  if (row_begin < 0 || row_end > spec.m || row_begin > row_end)
    throw std::invalid_argument("rows must lie in [0, m)");
  const std::int64_t rows = row_end - row_begin, n = spec.n;
  if (rows == 0) return true;
  // The CPU's value expressions, evaluated on the host as there.
  const std::int64_t nonzeros = spec.kind == FrameKind::sign ? n : spec.sparsity;
  const T value = static_cast<T>(1.0 / std::sqrt(static_cast<double>(nonzeros)));
  DeviceBuffer<T> rows_d(static_cast<std::size_t>(rows * n));
  CudaStream stream;
  if (spec.kind == FrameKind::sign) {
    sign_rows<T><<<blocks_for(rows * ((n + 127) / 128)), kThreads, 0, stream.get()>>>(
        spec.seed, n, row_begin, rows, value, rows_d.get());
    check_launch("sign_rows");
  } else {
    sparse_rows<T><<<blocks_for(rows), kThreads, 0, stream.get()>>>(spec.seed, n, spec.sparsity, row_begin,
                                                                    rows, value, rows_d.get());
    check_launch("sparse_rows");
  }
  check(cudaMemcpyAsync(out, rows_d.get(), rows_d.size() * sizeof(T), cudaMemcpyDeviceToHost, stream.get()),
        "cudaMemcpyAsync (frame rows)");
  stream.sync();
  return true;
}

template bool generate_frame<float>(const FrameSpec&, std::int64_t, std::int64_t, float*, int,
                                    const std::function<bool()>&);
template bool generate_frame<double>(const FrameSpec&, std::int64_t, std::int64_t, double*, int,
                                     const std::function<bool()>&);

}  // namespace nearortho::cuda
