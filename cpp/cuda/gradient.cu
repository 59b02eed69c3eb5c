// The surrogate gradient of gradient.hpp on the device. W is uploaded once; for
// each tile (I, J), I <= J, of the upper triangle cuBLAS computes G = W_I W_J^T,
// tile_weights replaces it by the weights dF/dg (surrogate_terms.hpp: the CPU
// kernel's arithmetic) and reduces the tile's F and best pair per block,
// fold_blocks folds those, and cuBLAS adds grad_I += C W_J and grad_J += C^T W_I.
// Tiles, blocks and folds have a fixed shape and order, so F and the best pair
// are the same from run to run; the gradient is summed in cuBLAS's order (the
// same from run to run on one GPU, not the CPU's). Tests: tests/test_cuda.py.
#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdint>
#include <stdexcept>
#include <type_traits>
#include <vector>

#include "backend.hpp"
#include "block_reduce.cuh"
#include "cublas_handle.hpp"
#include "cuda_check.hpp"
#include "device_buffers.cuh"
#include "interference_kernels.cuh"
#include "nearortho/ranking.hpp"
#include "nearortho/surrogate_terms.hpp"

namespace nearortho::cuda {
namespace {

constexpr std::int64_t kGradientTile = 4096;  // a 64 MiB float tile, as the interference pass's
constexpr int kWeightBlocks = 2048;            // blocks of tile_weights: a couple of rows each

// Products and differences rounded as written (no contraction into a
// fused multiply-add), as the CPU kernel computes them.
template <class T>
__device__ T mul_rn(T a, T b) {
  if constexpr (std::is_same_v<T, float>) return __fmul_rn(a, b);
  else return __dmul_rn(a, b);
}
template <class T>
__device__ T sub_rn(T a, T b) {
  if constexpr (std::is_same_v<T, float>) return __fsub_rn(a, b);
  else return __dsub_rn(a, b);
}

// Per-block (or per-tile) results: F's part and the best pair, its index i m + j.
template <class T>
struct Partials {
  DeviceBuffer<double> value;
  DeviceBuffer<T> key;
  DeviceBuffer<std::int64_t> index;
  explicit Partials(std::size_t count) : value(count), key(count), index(count) {}
};

// The tile g (rows x cols, row-major; rows from i0, columns from j0 of W's m)
// replaced by the weights of its pairs i < j (0 elsewhere); each block's part
// of F and best pair by |g| (ties to the smaller (i, j)) into its slot.
template <class T>
__global__ void tile_weights(T* g, std::int64_t rows, std::int64_t cols, std::int64_t i0, std::int64_t j0,
                             std::int64_t m, SurrogateTerms<T> terms, double* block_value, T* block_key,
                             std::int64_t* block_index) {
  double value = 0;
  Best<T> best(T(-1));  // pairs come in increasing (i, j): see Best::offer
  for (std::int64_t r = blockIdx.x; r < rows; r += gridDim.x)
    for (std::int64_t c = threadIdx.x; c < cols; c += blockDim.x) {
      T& x = g[r * cols + c];
      T weight = 0;
      if (i0 != j0 || c > r) {
        const T magnitude = fabs(x);
        best.offer(magnitude, (i0 + r) * m + j0 + c);
        const T d = mul_rn(sub_rn(magnitude, terms.t), terms.inv_s);
        if (d >= terms.cutoff) {
          const T dp = power(d, terms.p - 1);
          value += static_cast<double>(mul_rn(dp, d));
          weight = copysign(mul_rn(dp, terms.scale), x);
        }
      }
      x = weight;
    }
  value = block_sum(value);
  best = block_best(best);
  if (threadIdx.x != 0) return;
  block_value[blockIdx.x] = value;
  block_key[blockIdx.x] = best.key;
  block_index[blockIdx.x] = best.index;
}

// The first `blocks` per-block results folded into one slot.
template <class T>
__global__ void fold_blocks(const double* block_value, const T* block_key, const std::int64_t* block_index,
                            int blocks, double* value, T* key, std::int64_t* index) {
  double sum = 0;
  Best<T> best(T(-1));
  for (int b = threadIdx.x; b < blocks; b += blockDim.x) {
    sum += block_value[b];
    if (better(block_key[b], block_index[b], best.key, best.index)) {
      best.key = block_key[b];
      best.index = block_index[b];
    }
  }
  sum = block_sum(sum);
  best = block_best(best);
  if (threadIdx.x != 0) return;
  *value = sum;
  *key = best.key;
  *index = best.index;
}

}  // namespace

template <class T>
SurrogateTotals surrogate_gradient(const T* w, std::int64_t m, std::int64_t n, const SurrogateOptions& opt,
                                   T* grad) {
  const SurrogateTerms<T> terms = surrogate_terms<T>(m, n, opt);
  if (n > INT_MAX) throw std::invalid_argument("W has more columns than cuBLAS takes (2^31 - 1)");
  if (m > (std::int64_t{1} << 31)) throw std::invalid_argument("W has more than 2^31 rows");  // i m + j fits
  CudaStream stream;
  const cudaStream_t s = stream.get();
  const auto bytes = static_cast<std::size_t>(m * n) * sizeof(T);
  DeviceBuffer<T> rows(static_cast<std::size_t>(m * n)), gradient(static_cast<std::size_t>(m * n));
  DeviceBuffer<T> tile(static_cast<std::size_t>(std::min(kGradientTile, m) * std::min(kGradientTile, m)));
  copy_to_device(rows.get(), w, static_cast<std::size_t>(m * n), s, "cudaMemcpyAsync (W)");
  check(cudaMemsetAsync(gradient.get(), 0, bytes, s), "cudaMemsetAsync (gradient)");
  const std::int64_t blocks = (m + kGradientTile - 1) / kGradientTile;
  const std::int64_t tiles = blocks * (blocks + 1) / 2;
  Partials<T> per_block(kWeightBlocks), per_tile(static_cast<std::size_t>(tiles));
  const Cublas cublas(s);
  const int k = static_cast<int>(n);
  using clock = std::chrono::steady_clock;
  auto next_poll = clock::now() + std::chrono::milliseconds(50);
  SurrogateTotals out;
  std::int64_t t = 0;
  for (std::int64_t I = 0; I < blocks; ++I)
    for (std::int64_t J = I; J < blocks; ++J, ++t) {
      const std::int64_t i0 = I * kGradientTile, j0 = J * kGradientTile;
      const std::int64_t r = std::min(kGradientTile, m - i0), c = std::min(kGradientTile, m - j0);
      const T* x = rows.get() + i0 * n;
      const T* y = rows.get() + j0 * n;
      gram_tile(cublas.get(), x, r, y, c, n, tile.get());
      const int weight_blocks = static_cast<int>(std::min<std::int64_t>(r, kWeightBlocks));
      tile_weights<T><<<weight_blocks, kThreads, 0, s>>>(tile.get(), r, c, i0, j0, m, terms, per_block.value.get(),
                                                         per_block.key.get(), per_block.index.get());
      check_launch("tile_weights");
      fold_blocks<T><<<1, kThreads, 0, s>>>(per_block.value.get(), per_block.key.get(), per_block.index.get(),
                                           weight_blocks, per_tile.value.get() + t, per_tile.key.get() + t,
                                           per_tile.index.get() + t);
      check_launch("fold_blocks");
      // Row-major C (r x c) is column-major C^T (ld c): grad_I^T += W_J^T C^T and
      // grad_J^T += W_I^T C, column-major, ld n.
      gemm<T>(cublas.get(), CUBLAS_OP_N, CUBLAS_OP_N, k, static_cast<int>(r), static_cast<int>(c), T(1), y, k,
              tile.get(), static_cast<int>(c), T(1), gradient.get() + i0 * n, k);
      gemm<T>(cublas.get(), CUBLAS_OP_N, CUBLAS_OP_T, k, static_cast<int>(c), static_cast<int>(r), T(1), x, k,
              tile.get(), static_cast<int>(c), T(1), gradient.get() + j0 * n, k);
      if (opt.poll && clock::now() >= next_poll) {
        stream.sync();  // the poll's count is of finished tiles
        if (opt.poll(t + 1, tiles)) {
          out.cancelled = true;
          return out;
        }
        next_poll = clock::now() + std::chrono::milliseconds(50);
      }
    }
  const std::vector<double> values = to_host(per_tile.value, s);
  const std::vector<T> keys = to_host(per_tile.key, s);
  const std::vector<std::int64_t> indices = to_host(per_tile.index, s);
  std::size_t best = 0;  // m >= 2: every tile holds a pair
  for (std::size_t u = 0; u < values.size(); ++u) {
    out.value += values[u];
    if (ranks_before(keys[u], indices[u], keys[best], indices[best])) best = u;
  }
  out.max_abs = static_cast<double>(keys[best]);
  out.max_i = indices[best] / m;
  out.max_j = indices[best] % m;
  check(cudaMemcpyAsync(grad, gradient.get(), bytes, cudaMemcpyDefault, s), "cudaMemcpyAsync (gradient)");
  stream.sync();
  return out;
}

template SurrogateTotals surrogate_gradient<float>(const float*, std::int64_t, std::int64_t, const SurrogateOptions&,
                                                   float*);
template SurrogateTotals surrogate_gradient<double>(const double*, std::int64_t, std::int64_t,
                                                    const SurrogateOptions&, double*);

}  // namespace nearortho::cuda
