// Frame generation: kinds, row ranges and threads. The per-ISA kernels (Gaussian
// float32 rows, block Gram-Schmidt pieces) live in isa/frame_kernels.cpp.
// Tests: tests/test_frame.py.
#include "nearortho/frame.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <type_traits>
#include <vector>

#include "nearortho/frame_kernels.hpp"
#include "nearortho/interrupt_poll.hpp"
#include "nearortho/parallel_errors.hpp"
#include "nearortho/philox.hpp"
#include "nearortho/structured_frames.hpp"
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
  if (name == "kerdock") return FrameKind::kerdock;
  if (name == "simplex") return FrameKind::simplex;
  if (name == "conference") return FrameKind::conference;
  if (name == "lines28") return FrameKind::lines28;
  throw std::invalid_argument(
      "kind must be one of gaussian, sign, sparse, orthogonal, srht, kerdock, simplex, conference, lines28; "
      "got '" + name + "'");
}

void validate(const FrameSpec& spec) {
  if (spec.n < 1) throw std::invalid_argument("n must be >= 1");
  if (spec.m < 1) throw std::invalid_argument("m must be >= 1");
  if (spec.kind == FrameKind::sparse && (spec.sparsity < 1 || spec.sparsity > spec.n))
    throw std::invalid_argument("s must be in [1, n]");
  if (spec.n > kMaxFrameDimension) throw std::invalid_argument("n must be < 2^31");
  if (is_structured(spec.kind)) validate_structured(spec.kind, spec.n, spec.m);
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

// Coordinates k < count of a run of 32: -value where bit k of word is set, else
// value, by flipping the sign bit: no branch (the bits are random, so a branch
// would be mispredicted half the time), and with the bit masks in a table the
// loop vectorises without variable shifts.
template <class T>
inline void signs_of_word(std::uint32_t word, T value, int count, T* o) {
  using Bits = std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>;
  static constexpr struct Masks {
    std::uint32_t bit[32];
    constexpr Masks() : bit() {
      for (int k = 0; k < 32; ++k) bit[k] = 1u << k;
    }
  } kMasks;
  constexpr Bits kSign = Bits{1} << (8 * sizeof(T) - 1);
  Bits magnitude;
  std::memcpy(&magnitude, &value, sizeof value);
  for (int k = 0; k < count; ++k) {
    const Bits bits = magnitude ^ (kSign & (Bits{0} - Bits{(word & kMasks.bit[k]) != 0}));
    std::memcpy(o + k, &bits, sizeof bits);
  }
}

// Coordinate j of a row takes bit (j % 32) of word (j % 128) / 32 of the row's
// Philox block j / 128.
template <class T>
void sign_rows(std::uint64_t seed, std::int64_t n, std::int64_t row_begin, std::int64_t row_end,
               T* out) {
  const T value = static_cast<T>(1.0 / std::sqrt(static_cast<double>(n)));
  for (std::int64_t row = row_begin; row < row_end; ++row) {
    const RowGenerator gen(seed, static_cast<std::uint64_t>(row), Stream::sign);
    T* o = out + (row - row_begin) * n;
    for (std::int64_t j0 = 0; j0 < n; j0 += 128) {
      const Philox4x32 x = gen.block(static_cast<std::uint32_t>(j0 / 128));
      for (int w = 0; w < 4 && j0 + 32 * w < n; ++w)
        signs_of_word(x.v[w], value, static_cast<int>(std::min<std::int64_t>(32, n - j0 - 32 * w)), o + j0 + 32 * w);
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
    Philox4x32 sx{};  // the signs of draws 128 b .. 128 b + 127
    for (std::int64_t j = n - s; j < n; ++j, ++draw) {
      const Philox4x32 x = positions.block(static_cast<std::uint32_t>(draw));
      const std::int64_t t = static_cast<std::int64_t>(bounded(x.v[0], x.v[1], j + 1));
      const std::int64_t chosen = (o[t] != T(0)) ? j : t;
      if (draw % 128 == 0) sx = signs.block(static_cast<std::uint32_t>(draw / 128));
      const std::uint32_t bit = (sx.v[(draw % 128) >> 5] >> (draw & 31)) & 1u;
      o[chosen] = bit ? -value : value;
    }
  }
}

// Orthonormal rows from Gaussian rows by block classical Gram-Schmidt applied
// twice (BCGS2); basis g holds rows [g n, (g + 1) n). Blocks sit at fixed
// positions [0, kBlock), [kBlock, 2 kBlock), ... of the basis and every value
// of row i is computed by the same operations whatever other rows exist, so
// row i depends only on rows 0..i and a prefix of rows is all we build. All
// sums run in a fixed order that no thread split changes.
constexpr std::int64_t kBlock = kOrthogonalBlock;

// Dot products use eight fixed lanes: vectorisable and thread-independent.
double dot_lanes(const double* a, const double* b, std::int64_t n) {
  double lane[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  const std::int64_t body = n - n % 8;
  for (std::int64_t j = 0; j < body; j += 8)
    for (int l = 0; l < 8; ++l) lane[l] += a[j + l] * b[j + l];
  for (std::int64_t j = body; j < n; ++j) lane[j - body] += a[j] * b[j];
  return ((lane[0] + lane[1]) + (lane[2] + lane[3])) + ((lane[4] + lane[5]) + (lane[6] + lane[7]));
}

// c[i * p + j] = q_j . v_i for j < p (p even), i < r; v[i] for i < round4(r) is
// a row pointer (spares point at a dummy row). Lane l of each dot sums the
// products of columns k = l (mod 4) in column order (the per-ISA kernel
// block_dots_f64), then c = (l0 + l1) + (l2 + l3): a fixed order per entry,
// whichever thread owns row j (so dynamic scheduling is safe: it balances
// cores shared with other work). Column chunks keep the v block in L2.
void block_coeffs(const double* q, std::int64_t p, const double* const* v, std::int64_t r,
                  std::int64_t n, double* c, std::vector<double>& acc, int threads) {
  const FrameKernels& kernels = frame_kernels(active_isa());
  const std::int64_t r4 = (r + 3) / 4 * 4;
  acc.assign(static_cast<std::size_t>(4 * r4 * p), 0.0);
  constexpr std::int64_t kCols = 512, kPanel = 32;  // kCols: a multiple of 4
#pragma omp parallel for num_threads(threads) schedule(dynamic) if (threads > 1 && p * n > 65536)
  for (std::int64_t j0 = 0; j0 < p; j0 += kPanel)
    for (std::int64_t c0 = 0; c0 < n; c0 += kCols)
      kernels.block_dots_f64(q, n, j0, std::min(p, j0 + kPanel), v, r4, c0,
                             std::min(n, c0 + kCols), p, acc.data());
  for (std::int64_t e = 0; e < r * p; ++e)
    c[e] = (acc[4 * e] + acc[4 * e + 1]) + (acc[4 * e + 2] + acc[4 * e + 3]);
}

// v_i[k] -= c[i * p + j] q_j[k] for j = 0, 1, ..., p - 1 in that order, per
// coordinate (as the row-at-a-time loop did). `packed` holds q in groups of eight
// columns, packed[(g * stride + j) * 8 + t] = q_j[8 g + t], so the per-ISA
// kernel streams contiguous memory while a 4x8 tile of v stays in registers.
// Column chunks split across threads, dynamically: each coordinate is one thread's.
void block_subtract(const double* packed, std::int64_t stride, std::int64_t p, const double* c,
                    double* const* v, std::int64_t r, std::int64_t n, int threads) {
  const FrameKernels& kernels = frame_kernels(active_isa());
  const std::int64_t r4 = (r + 3) / 4 * 4;
  constexpr std::int64_t kCols = 64;
  const std::int64_t chunks = (n + kCols - 1) / kCols;
  const std::vector<double> zero(static_cast<std::size_t>(p), 0.0);
#pragma omp parallel for num_threads(threads) schedule(dynamic) if (threads > 1 && p * n > 65536)
  for (std::int64_t chunk = 0; chunk < chunks; ++chunk) {
    const std::int64_t c1 = std::min(n, (chunk + 1) * kCols);
    for (std::int64_t k0 = chunk * kCols; k0 < c1; k0 += 8) {
      const std::int64_t width = std::min<std::int64_t>(8, c1 - k0);
      const double* pk = packed + k0 / 8 * stride * 8;
      for (std::int64_t i = 0; i < r4; i += 4) {
        double tile[32] = {};
        const double* ci[4];
        for (int t = 0; t < 4; ++t) {
          for (std::int64_t u = 0; u < width; ++u) tile[8 * t + u] = v[i + t][k0 + u];
          ci[t] = i + t < r ? c + (i + t) * p : zero.data();
        }
        kernels.block_update_f64(pk, p, ci, tile);
        for (int t = 0; t < 4 && i + t < r; ++t)
          for (std::int64_t u = 0; u < width; ++u) v[i + t][k0 + u] = tile[8 * t + u];
      }
    }
  }
}

// Row v against the `count` rows before it (classical Gram-Schmidt twice),
// then normalised; used inside a block, where count < kBlock.
void cgs2_row(const double* rows, std::int64_t count, double* v, std::int64_t n,
              double* coeff) {
  for (int pass = 0; pass < 2; ++pass) {
    for (std::int64_t j = 0; j < count; ++j) coeff[j] = dot_lanes(rows + j * n, v, n);
    for (std::int64_t j = 0; j < count; ++j) {
      const double* qj = rows + j * n;
      for (std::int64_t k = 0; k < n; ++k) v[k] -= coeff[j] * qj[k];
    }
  }
  const double norm = std::sqrt(dot_lanes(v, v, n));
  for (std::int64_t k = 0; k < n; ++k) v[k] /= norm;
}

// Builds whole blocks up to the one holding row rows - 1 (q gets at least
// `rows` rows). Each block: Gaussian rows, then twice (BCGS2): project off all
// earlier blocks, then Gram-Schmidt within the block row by row.
void orthogonal_basis_prefix(std::uint64_t seed, std::int64_t n, std::int64_t basis,
                             std::int64_t rows, std::vector<double>& q, int threads,
                             InterruptPoll& poll) {
  const std::int64_t built = std::min(n, (rows + kBlock - 1) / kBlock * kBlock);
  q.assign(static_cast<std::size_t>(built * n), 0.0);
  std::vector<double> c(static_cast<std::size_t>(kBlock * built)), acc, coeff(kBlock);
  std::vector<double> dummy(static_cast<std::size_t>(n), 0.0);  // pads a block to 4k rows
  std::vector<double*> v(kBlock + 3, dummy.data());
  // q again in groups of eight columns (see block_subtract), zero-padded.
  std::vector<double> packed(static_cast<std::size_t>((n + 7) / 8 * built * 8), 0.0);
  for (std::int64_t b0 = 0; b0 < built; b0 += kBlock) {
    if (poll.stopped()) return;
    const std::int64_t r = std::min(kBlock, built - b0);
    double* block = q.data() + b0 * n;
    for (std::int64_t i = 0; i < r; ++i) v[i] = block + i * n;
    parallel_rows(0, r, threads, [&](std::int64_t a, std::int64_t e) {
      gaussian_rows_f64(seed ^ 0x6a09e667f3bcc909ull, n, basis * n + b0 + a, basis * n + b0 + e,
                        block + a * n);
    });
    // Within-block Gram-Schmidt follows each projection, not just the last:
    // near the end of a basis the projected block is nearly singular, and
    // orthogonalising it amplifies what is left along earlier blocks; the
    // second projection removes that again (stable BCGS2).
    for (int pass = 0; pass < (b0 > 0 ? 2 : 1); ++pass) {
      if (b0 > 0) {
        if (poll.stopped()) return;
        block_coeffs(q.data(), b0, v.data(), r, n, c.data(), acc, threads);
        block_subtract(packed.data(), built, b0, c.data(), v.data(), r, n, threads);
      }
      for (std::int64_t i = 0; i < r; ++i) {
        if (poll.stopped()) return;
        cgs2_row(block, i, block + i * n, n, coeff.data());
      }
    }
    for (std::int64_t i = b0; i < b0 + r; ++i)
      for (std::int64_t k = 0; k < n; ++k) packed[(k / 8 * built + i) * 8 + k % 8] = q[i * n + k];
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
  ParallelErrors errors;  // each basis allocates its prefix
#pragma omp parallel for num_threads(outer) schedule(dynamic, 1) if (outer > 1)
  for (std::int64_t g = first; g <= last; ++g) {
    errors.run([&] {
      const std::int64_t lo = std::max(row_begin, g * n), hi = std::min(row_end, (g + 1) * n);
      std::vector<double> q;
      orthogonal_basis_prefix(seed, n, g, hi - g * n, q, inner, poll);
      if (poll.stopped()) return;
      for (std::int64_t row = lo; row < hi; ++row)
        for (std::int64_t c = 0; c < n; ++c)
          out[(row - row_begin) * n + c] = static_cast<T>(q[(row - g * n) * n + c]);
    });
  }
  errors.rethrow();
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
    case FrameKind::kerdock: return spec.n;  // one basis shares its sign table
    // srht rows of a group are independent (a call into a group recomputes only its
    // O(N) permutation), so calls split anywhere and stay short at any n
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
    case FrameKind::kerdock:
    case FrameKind::simplex:
    case FrameKind::conference:
    case FrameKind::lines28: {
      const std::unique_ptr<StructuredRows> construction = make_structured_rows(spec.kind, n);
      parallel_rows(row_begin, row_end, threads, [&](std::int64_t a, std::int64_t b) {
        construction->rows(a, b, out + (a - row_begin) * n);
      });
      break;
    }
  }
  return true;
}

template bool generate_frame<float>(const FrameSpec&, std::int64_t, std::int64_t, float*, int,
                                    const std::function<bool()>&);
template bool generate_frame<double>(const FrameSpec&, std::int64_t, std::int64_t, double*, int,
                                     const std::function<bool()>&);

}  // namespace nearortho
