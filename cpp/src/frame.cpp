// Frame generation: kinds, row ranges and threads. The per-ISA Gaussian float32
// kernel lives in isa/frame_kernels.cpp. Tests: tests/test_frame.py.
#include "nearortho/frame.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <stdexcept>
#include <type_traits>
#include <vector>

#include "nearortho/frame_kernels.hpp"
#include "nearortho/philox.hpp"
#include "nearortho/threads.hpp"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace nearortho {

NEARORTHO_KERNEL_TABLE(FrameKernels, kFrameKernels, frame_kernels)

FrameKind frame_kind_from_name(const std::string& name) {
  if (name == "gaussian") return FrameKind::gaussian;
  if (name == "sign") return FrameKind::sign;
  if (name == "sparse") return FrameKind::sparse;
  if (name == "orthogonal") return FrameKind::orthogonal;
  if (name == "srht") return FrameKind::srht;
  throw std::invalid_argument("kind must be one of gaussian, sign, sparse, orthogonal, srht; got '" +
                              name + "'");
}

void validate(const FrameSpec& spec) {
  if (spec.n < 1) throw std::invalid_argument("n must be >= 1");
  if (spec.m < 1) throw std::invalid_argument("m must be >= 1");
  if (spec.kind == FrameKind::sparse && (spec.sparsity < 1 || spec.sparsity > spec.n))
    throw std::invalid_argument("s must be in [1, n]");
  if (spec.n >= (std::int64_t{1} << 31)) throw std::invalid_argument("n must be < 2^31");
}

namespace {

std::int64_t next_power_of_two(std::int64_t n) {
  std::int64_t p = 1;
  while (p < n) p *= 2;
  return p;
}

// Runs body(begin, end) over [begin, end) split into equal contiguous chunks.
template <class Body>
void parallel_rows(std::int64_t begin, std::int64_t end, int threads, Body body) {
  const std::int64_t count = end - begin;
  const int t = static_cast<int>(std::max<std::int64_t>(1, std::min<std::int64_t>(threads, count)));
#pragma omp parallel for num_threads(t) schedule(static, 1)
  for (int chunk = 0; chunk < t; ++chunk) {
    const std::int64_t lo = begin + count * chunk / t;
    const std::int64_t hi = begin + count * (chunk + 1) / t;
    body(lo, hi);
  }
}

// Double-precision Gaussian rows from libm; same word layout as the float32 kernel
// but one Philox block per Box-Muller pair (53-bit uniforms).
void gaussian_rows_f64(std::uint64_t seed, std::int64_t n, std::int64_t row_begin,
                       std::int64_t row_end, double* out) {
  const std::int64_t pairs = (n + 1) / 2;
  constexpr double kTwoPi = 6.283185307179586476925;
  for (std::int64_t row = row_begin; row < row_end; ++row) {
    const RowGenerator gen(seed, static_cast<std::uint64_t>(row), Stream::gaussian);
    double* o = out + (row - row_begin) * n;
    double sum = 0.0;
    for (std::int64_t p = 0; p < pairs; ++p) {
      const Philox4x32 x = gen.block(static_cast<std::uint32_t>(p));
      const std::uint64_t a = (static_cast<std::uint64_t>(x.v[0]) << 21) ^ (x.v[1] >> 11);
      const std::uint64_t b = (static_cast<std::uint64_t>(x.v[2]) << 21) ^ (x.v[3] >> 11);
      const double u1 = (static_cast<double>(a & ((std::uint64_t{1} << 53) - 1)) + 0.5) * 0x1p-53;
      const double u2 = static_cast<double>(b & ((std::uint64_t{1} << 53) - 1)) * 0x1p-53;
      const double r = std::sqrt(-2.0 * std::log(u1));
      o[p] = r * std::cos(kTwoPi * u2);
      sum += o[p] * o[p];
      if (pairs + p < n) {
        o[pairs + p] = r * std::sin(kTwoPi * u2);
        sum += o[pairs + p] * o[pairs + p];
      }
    }
    if (sum == 0.0) {
      o[0] = 1.0;
      continue;
    }
    const double scale = 1.0 / std::sqrt(sum);
    for (std::int64_t j = 0; j < n; ++j) o[j] *= scale;
  }
}

template <class T>
void sign_rows(std::uint64_t seed, std::int64_t n, std::int64_t row_begin, std::int64_t row_end,
               T* out) {
  const T value = static_cast<T>(1.0 / std::sqrt(static_cast<double>(n)));
  for (std::int64_t row = row_begin; row < row_end; ++row) {
    const RowGenerator gen(seed, static_cast<std::uint64_t>(row), Stream::sign);
    T* o = out + (row - row_begin) * n;
    for (std::int64_t j0 = 0; j0 < n; j0 += 128) {
      const Philox4x32 x = gen.block(static_cast<std::uint32_t>(j0 / 128));
      const std::int64_t stop = std::min<std::int64_t>(n, j0 + 128);
      for (std::int64_t j = j0; j < stop; ++j) {
        const std::uint32_t bit = (x.v[(j - j0) >> 5] >> ((j - j0) & 31)) & 1u;
        o[j] = bit ? -value : value;
      }
    }
  }
}

// Exactly s nonzeros of +-1/sqrt(s) at positions drawn without replacement
// (Floyd's algorithm: one draw per nonzero, uniform over s-subsets).
template <class T>
void sparse_rows(std::uint64_t seed, std::int64_t n, std::int64_t s, std::int64_t row_begin,
                 std::int64_t row_end, T* out) {
  const T value = static_cast<T>(1.0 / std::sqrt(static_cast<double>(s)));
  for (std::int64_t row = row_begin; row < row_end; ++row) {
    const RowGenerator positions(seed, static_cast<std::uint64_t>(row), Stream::sparse_positions);
    const RowGenerator signs(seed, static_cast<std::uint64_t>(row), Stream::sparse_signs);
    T* o = out + (row - row_begin) * n;
    std::fill(o, o + n, T(0));
    std::int64_t draw = 0;
    for (std::int64_t j = n - s; j < n; ++j, ++draw) {
      const Philox4x32 x = positions.block(static_cast<std::uint32_t>(draw));
      const std::int64_t t = static_cast<std::int64_t>(bounded(x.v[0], x.v[1], j + 1));
      const std::int64_t chosen = (o[t] != T(0)) ? j : t;
      const Philox4x32 sx = signs.block(static_cast<std::uint32_t>(draw / 128));
      const std::uint32_t bit = (sx.v[(draw % 128) >> 5] >> (draw & 31)) & 1u;
      o[chosen] = bit ? -value : value;
    }
  }
}

// Orthonormal rows by classical Gram-Schmidt applied twice (as stable as modified
// Gram-Schmidt) to Gaussian rows; basis g holds rows [g n, (g + 1) n). Rows of a
// basis depend only on earlier rows of it, so a prefix of rows is all we build.
// Dot products use eight fixed lanes: vectorisable and thread-independent.
double dot_lanes(const double* a, const double* b, std::int64_t n) {
  double lane[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  const std::int64_t body = n - n % 8;
  for (std::int64_t j = 0; j < body; j += 8)
    for (int l = 0; l < 8; ++l) lane[l] += a[j + l] * b[j + l];
  for (std::int64_t j = body; j < n; ++j) lane[j - body] += a[j] * b[j];
  return ((lane[0] + lane[1]) + (lane[2] + lane[3])) + ((lane[4] + lane[5]) + (lane[6] + lane[7]));
}

// Polls an interrupt callback from the calling thread (OpenMP thread 0) at most
// every 50 ms; once it fires, every thread sees stopped().
class InterruptPoll {
 public:
  explicit InterruptPoll(const std::function<bool()>& interrupted) : interrupted_(interrupted) {}
  bool stopped() {
    if (stop_.load(std::memory_order_relaxed)) return true;
#ifdef _OPENMP
    if (omp_get_thread_num() != 0) return false;
#endif
    if (!interrupted_ || std::chrono::steady_clock::now() < next_) return false;
    next_ = std::chrono::steady_clock::now() + std::chrono::milliseconds(50);
    if (interrupted_()) stop_.store(true);
    return stop_.load();
  }

 private:
  const std::function<bool()>& interrupted_;
  std::atomic<bool> stop_{false};
  std::chrono::steady_clock::time_point next_ = std::chrono::steady_clock::now();
};

void orthogonal_basis_prefix(std::uint64_t seed, std::int64_t n, std::int64_t basis,
                             std::int64_t rows, std::vector<double>& q, int threads,
                             InterruptPoll& poll) {
  q.assign(static_cast<std::size_t>(rows * n), 0.0);
  std::vector<double> coeff(static_cast<std::size_t>(rows));
  for (std::int64_t i = 0; i < rows; ++i) {
    if (poll.stopped()) return;
    double* v = q.data() + i * n;
    gaussian_rows_f64(seed ^ 0x6a09e667f3bcc909ull, n, basis * n + i, basis * n + i + 1, v);
    for (int pass = 0; pass < 2; ++pass) {
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1 && i * n > 65536)
      for (std::int64_t j = 0; j < i; ++j) coeff[j] = dot_lanes(q.data() + j * n, v, n);
      // Column chunks in parallel; each coordinate subtracts j = 0, 1, ... in order.
      const std::int64_t chunks = (n + 255) / 256;
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1 && i * n > 65536)
      for (std::int64_t chunk = 0; chunk < chunks; ++chunk) {
        const std::int64_t c0 = chunk * 256, c1 = std::min(n, c0 + 256);
        for (std::int64_t j = 0; j < i; ++j) {
          const double* qj = q.data() + j * n;
          for (std::int64_t c = c0; c < c1; ++c) v[c] -= coeff[j] * qj[c];
        }
      }
    }
    const double norm = std::sqrt(dot_lanes(v, v, n));
    for (std::int64_t c = 0; c < n; ++c) v[c] /= norm;
  }
}

template <class T>
bool orthogonal_rows(std::uint64_t seed, std::int64_t n, std::int64_t row_begin,
                     std::int64_t row_end, T* out, int threads,
                     const std::function<bool()>& interrupted) {
  InterruptPoll poll(interrupted);
  const std::int64_t first = row_begin / n, last = (row_end - 1) / n;
  const std::int64_t bases = last - first + 1;
  const int outer = static_cast<int>(std::min<std::int64_t>(threads, bases));
  const int inner = outer > 1 ? 1 : threads;
#pragma omp parallel for num_threads(outer) schedule(dynamic, 1) if (outer > 1)
  for (std::int64_t g = first; g <= last; ++g) {
    const std::int64_t lo = std::max(row_begin, g * n), hi = std::min(row_end, (g + 1) * n);
    std::vector<double> q;
    orthogonal_basis_prefix(seed, n, g, hi - g * n, q, inner, poll);
    if (poll.stopped()) continue;
    for (std::int64_t row = lo; row < hi; ++row)
      for (std::int64_t c = 0; c < n; ++c)
        out[(row - row_begin) * n + c] = static_cast<T>(q[(row - g * n) * n + c]);
  }
  return !poll.stopped();
}

// Subsampled randomised Hadamard frame. With N the smallest power of two >= n,
// group g holds rows [g N, (g + 1) N): row r of the group is row r of the
// Hadamard matrix H_N times random signs D_g, restricted to a random subset S_g
// of n of the N coordinates, scaled by 1/sqrt(n) (the rows of sqrt(N/n) P H D,
// read as vectors of R^n). H_N[r][k] = (-1)^popcount(r & k), so a row costs O(n).
// With n = N each group is an orthonormal basis.
template <class T>
void srht_rows(std::uint64_t seed, std::int64_t n, std::int64_t row_begin, std::int64_t row_end,
               T* out, int threads) {
  const std::int64_t big_n = next_power_of_two(n);
  const T value = static_cast<T>(1.0 / std::sqrt(static_cast<double>(n)));
  for (std::int64_t g = row_begin / big_n; g * big_n < row_end; ++g) {
    // Subset: a partial Fisher-Yates shuffle of 0..N-1, then sorted.
    const RowGenerator subset_gen(seed, static_cast<std::uint64_t>(g), Stream::srht_subset);
    std::vector<std::int64_t> perm(static_cast<std::size_t>(big_n));
    for (std::int64_t k = 0; k < big_n; ++k) perm[k] = k;
    for (std::int64_t k = 0; k < n; ++k) {
      const Philox4x32 x = subset_gen.block(static_cast<std::uint32_t>(k));
      std::swap(perm[k], perm[k + static_cast<std::int64_t>(bounded(x.v[0], x.v[1], big_n - k))]);
    }
    std::sort(perm.begin(), perm.begin() + n);
    const RowGenerator sign_gen(seed, static_cast<std::uint64_t>(g), Stream::srht_signs);
    std::vector<T> signed_value(static_cast<std::size_t>(n));
    for (std::int64_t t = 0; t < n; ++t) {
      const std::int64_t k = perm[t];
      const Philox4x32 x = sign_gen.block(static_cast<std::uint32_t>(k / 128));
      signed_value[t] = ((x.v[(k % 128) >> 5] >> (k & 31)) & 1u) ? -value : value;
    }
    const std::int64_t lo = std::max(row_begin, g * big_n), hi = std::min(row_end, (g + 1) * big_n);
    parallel_rows(lo, hi, threads, [&](std::int64_t a, std::int64_t b) {
      for (std::int64_t row = a; row < b; ++row) {
        const std::uint64_t r = static_cast<std::uint64_t>(row - g * big_n);
        T* o = out + (row - row_begin) * n;
        for (std::int64_t t = 0; t < n; ++t) {
          const bool odd = __builtin_popcountll(r & static_cast<std::uint64_t>(perm[t])) & 1;
          o[t] = odd ? -signed_value[t] : signed_value[t];
        }
      }
    });
  }
}

}  // namespace

std::int64_t frame_group_rows(const FrameSpec& spec) {
  switch (spec.kind) {
    case FrameKind::orthogonal: return spec.n;
    case FrameKind::srht: return next_power_of_two(spec.n);
    default: return 1;
  }
}

template <class T>
bool generate_frame(const FrameSpec& spec, std::int64_t row_begin, std::int64_t row_end, T* out,
                    int threads, const std::function<bool()>& interrupted) {
  validate(spec);
  if (row_begin < 0 || row_end > spec.m || row_begin > row_end)
    throw std::invalid_argument("rows must lie in [0, m)");
  if (row_begin == row_end) return true;
  threads = resolve_threads(threads);
  const std::int64_t n = spec.n;
  switch (spec.kind) {
    case FrameKind::gaussian:
      parallel_rows(row_begin, row_end, threads, [&](std::int64_t a, std::int64_t b) {
        T* o = out + (a - row_begin) * n;
        if constexpr (std::is_same_v<T, float>)
          frame_kernels(active_isa()).gaussian_rows_f32(spec.seed, n, a, b, o);
        else
          gaussian_rows_f64(spec.seed, n, a, b, o);
      });
      break;
    case FrameKind::sign:
      parallel_rows(row_begin, row_end, threads, [&](std::int64_t a, std::int64_t b) {
        sign_rows(spec.seed, n, a, b, out + (a - row_begin) * n);
      });
      break;
    case FrameKind::sparse:
      parallel_rows(row_begin, row_end, threads, [&](std::int64_t a, std::int64_t b) {
        sparse_rows(spec.seed, n, spec.sparsity, a, b, out + (a - row_begin) * n);
      });
      break;
    case FrameKind::orthogonal:
      return orthogonal_rows(spec.seed, n, row_begin, row_end, out, threads, interrupted);
    case FrameKind::srht:
      srht_rows(spec.seed, n, row_begin, row_end, out, threads);
      break;
  }
  return true;
}

template bool generate_frame<float>(const FrameSpec&, std::int64_t, std::int64_t, float*, int,
                                    const std::function<bool()>&);
template bool generate_frame<double>(const FrameSpec&, std::int64_t, std::int64_t, double*, int,
                                     const std::function<bool()>&);

}  // namespace nearortho
