// Readout products of packed panels, Gram-column sums and the reduction of
// inactive readouts, compiled once per ISA (NEARORTHO_ISA names the namespace).
// Built with FMA contraction allowed (see CMakeLists.txt): readouts agree across
// ISAs to float tolerance, not bitwise, but each value is one fixed chain of
// operations in k order, so results never depend on threads or tiling.
// Tests: tests/test_simulate.py (ISA forced in turn, numpy oracle).
#include <algorithm>
#include <cstdint>
#include <cstring>

#include "nearortho/isa_kernel_file.hpp"
#include "nearortho/isa_vectors.hpp"
#include "nearortho/simulate_kernels.hpp"

namespace nearortho {
namespace NEARORTHO_ISA {
namespace {

// A micro-tile is kPanelX rows by kMicroVectors vectors of the ISA's width
// (isa_vectors.hpp). SSE2 and AVX2: 2 vectors, 12 accumulators, which fit their 16
// registers beside the loads (half a W panel on SSE2, one on AVX2). AVX-512: 3
// vectors (three W panels), 18 of its 32 registers, so each k step has 3 loads and
// 6 broadcasts for 18 FMAs (2 vectors would leave it bound by loads, as BLAS
// kernels avoid). Each output lane is the same chain of multiply-adds whatever the
// width, so the width changes no result. kKC: the inner-dimension block. Blocks
// that kept a micro-tile's W panels in L1 (128 k on AVX-512, 256 on AVX2) were
// slower than deep ones, as in the interference kernel: (16384, 512), l = 32,
// one Zen 4 core, 1024 k was 4.6% faster on AVX-512 and 2.4% on AVX2.
#if defined(__AVX512F__)
constexpr int kMicroVectors = 3;
#else
constexpr int kMicroVectors = 2;
#endif
constexpr std::int64_t kKC = 1024;

// C (kPanelX rows x NV vectors from column col0) over kc terms, continuing the
// chains already in C unless first. Column c of the packed W lives in panel
// c / kPanelW at offset c % kPanelW; panels are panel_stride apart. The first
// `counting` k steps also count one pending histogram entry each, from bin on:
// there the increments use load and store ports the FMA-bound loop leaves idle.
// Zen 3, AVX2, float32, l = 32: (512, 16384) 4% faster than counting after the
// product; at (64, 16384) equal, where up to 4 a step were 7% slower.
template <class T, int NV>
inline void micro(const T* xp, const T* wp, std::int64_t panel_stride, std::int64_t col0, std::int64_t kc, T* C,
                  std::int64_t ldc, bool first, const std::uint32_t* bin, std::int64_t counting, std::int64_t* hist) {
  using V = typename Simd<T>::V;
  constexpr int L = Simd<T>::lanes;
  constexpr std::int64_t NR = kPanelW<T>;
  const T* w[NV];
  for (int v = 0; v < NV; ++v) {
    const std::int64_t col = col0 + v * L;
    w[v] = wp + (col / NR) * panel_stride + col % NR;
  }
  V c[kPanelX][NV];
  for (int r = 0; r < kPanelX; ++r)
    for (int v = 0; v < NV; ++v) c[r][v] = first ? V{} : load<T>(C + r * ldc + col0 + v * L);
  auto step = [&](std::int64_t k) __attribute__((always_inline)) {
    V b[NV];
    for (int v = 0; v < NV; ++v) b[v] = load<T>(w[v] + k * NR);
    for (int r = 0; r < kPanelX; ++r) {
      const T a = xp[k * kPanelX + r];
      for (int v = 0; v < NV; ++v) c[r][v] += a * b[v];
    }
  };
  std::int64_t k = 0;
  for (; k < counting; ++k) {
    step(k);
    ++hist[bin[k]];
  }
  for (; k < kc; ++k) step(k);
  for (int r = 0; r < kPanelX; ++r)
    for (int v = 0; v < NV; ++v) store<T>(C + r * ldc + col0 + v * L, c[r][v]);
}

template <class T>
void multiply_packed(const T* xp, std::int64_t groups, const T* wp, std::int64_t panels, std::int64_t n, T* C,
                     std::int64_t ldc, PendingEntries* pending) {
  constexpr std::int64_t NR = kPanelW<T>;
  constexpr std::int64_t L = Simd<T>::lanes;
  static_assert(NR % L == 0, "a W panel is whole vectors");
  const std::int64_t cols = panels * NR;
  PendingEntries none;
  PendingEntries& p = pending ? *pending : none;
  std::int64_t counted = 0;  // pending entries counted so far
  for (std::int64_t kb = 0; kb < n; kb += kKC) {
    const std::int64_t kc = std::min(kKC, n - kb);
    for (std::int64_t c0 = 0; c0 < cols;) {
      const bool wide = c0 + kMicroVectors * L <= cols;  // not past the last panel
      for (std::int64_t g = 0; g < groups; ++g) {
        const T* x = xp + (g * n + kb) * kPanelX;
        T* c = C + g * kPanelX * ldc;
        const std::int64_t counting = std::min(kc, p.n - counted);
        const std::uint32_t* bin = counting > 0 ? p.entry + counted : nullptr;
        if (wide)
          micro<T, kMicroVectors>(x, wp + kb * NR, n * NR, c0, kc, c, ldc, kb == 0, bin, counting, p.hist);
        else
          micro<T, 1>(x, wp + kb * NR, n * NR, c0, kc, c, ldc, kb == 0, bin, counting, p.hist);
        counted += counting;
      }
      c0 += wide ? kMicroVectors * L : L;
    }
  }
  p.count_from(counted);
}

template <class T>
void gather_sum(const T* G, std::int64_t ldg, std::int64_t rows, const std::int64_t* index, const double* value,
                std::int64_t count, T* r) {
  std::fill(r, r + rows, T(0));
  for (std::int64_t k = 0; k < count; ++k) {
    const T* g = G + index[k] * ldg;
    const T v = static_cast<T>(value[k]);
    for (std::int64_t j = 0; j < rows; ++j) r[j] += v * g[j];
  }
}

// Inactive readouts a vector at a time, widened to float64 (kWide native double
// vectors per vector of T): sums and decoder counts stay in vector lanes until
// sums(); histogram entries are computed in vectors (the same float64 arithmetic
// as 1 + floor((r - lo) * scale)) and stored for the next product to count. A
// vector holding a left-out feature or the tile's end is masked (kMasked), the
// rare case.
template <class T>
class InactiveReducer {
  static constexpr int L = Simd<T>::lanes;
  static constexpr int DL = Simd<double>::lanes;
  static constexpr int kWide = L / DL;
  using DV = typename Simd<double>::V;
  using IV = typename Simd<double>::IV;  // DV's comparison masks
  typedef std::int32_t Entry __attribute__((vector_size(DL * 4)));  // histogram entries of one DV

 public:
  InactiveReducer(const ReadoutCuts& cuts, PendingEntries& pending)
      : signed_(cuts.signed_decoder), pending_(pending), threshold_(splat<DV>(cuts.threshold)),
        lo_(splat<DV>(cuts.lo)), scale_(splat<DV>(cuts.scale)), top_(splat<DV>(static_cast<double>(cuts.bins))) {
    for (int l = 0; l < DL; ++l) lane_bit_[l] = std::int64_t{1} << l;
  }

  // The L readouts at p; kMasked: only the lanes set in keep.
  template <bool kMasked>
  void add(const T* p, std::uint32_t keep) {
    typedef double Wide __attribute__((vector_size(L * sizeof(double))));
    const Wide wide = __builtin_convertvector(load<T>(p), Wide);
    DV v[kWide];
    std::memcpy(v, &wide, sizeof v);
    // An unmasked vector's entries go straight to the end of the pending list, a
    // masked one's to lanes first, then only the kept ones (unsigned: counting
    // never sign-extends).
    std::uint32_t lanes[L];
    std::uint32_t* const entry = kMasked ? lanes : pending_.entry + pending_.n;
    for (int w = 0; w < kWide; ++w) {
      IV on = (signed_ ? abs_v(v[w]) : v[w]) > threshold_;
      if constexpr (kMasked) {
        const IV kept = (splat<IV>(static_cast<std::int64_t>(keep >> (w * DL))) & lane_bit_) != 0;
        v[w] = kept ? v[w] : DV{};
        on &= kept;
      }
      sum_[w] += v[w];
      sumsq_[w] += v[w] * v[w];
      on_[w] -= on;  // a set mask lane is -1
      DV f = (v[w] - lo_) * scale_;
      f = f > -1.0 ? f : splat<DV>(-1.0);  // NaN goes to underflow, never out of range
      f = f < top_ ? f : top_;
      const Entry e = __builtin_convertvector(f + 1.0, Entry);  // truncates: f + 1 >= 0
      std::memcpy(entry + w * DL, &e, sizeof e);
    }
    if constexpr (kMasked) {
      for (; keep != 0; keep &= keep - 1) pending_.entry[pending_.n++] = lanes[__builtin_ctz(keep)];
    } else {
      pending_.n += L;
    }
  }

  // The lanes folded in a fixed tree: the vectors in order, then halves.
  InactiveSums sums() const {
    DV sum = sum_[0], sumsq = sumsq_[0];
    IV on = on_[0];
    for (int w = 1; w < kWide; ++w) {
      sum += sum_[w];
      sumsq += sumsq_[w];
      on += on_[w];
    }
    for (int half = DL / 2; half > 0; half /= 2)
      for (int l = 0; l < half; ++l) {
        sum[l] += sum[l + half];
        sumsq[l] += sumsq[l + half];
        on[l] += on[l + half];
      }
    return {sum[0], sumsq[0], on[0]};
  }

 private:
  bool signed_;
  PendingEntries& pending_;
  DV threshold_, lo_, scale_, top_;
  DV sum_[kWide] = {}, sumsq_[kWide] = {};
  IV on_[kWide] = {}, lane_bit_{};
};

// The lanes of the vector of features [j, j + lanes) that are not in the skip
// list, moving skip past the listed features before j + lanes.
inline std::uint32_t kept_lanes(const std::int64_t*& skip, const std::int64_t* end, std::int64_t j, int lanes) {
  std::uint32_t keep = (std::uint32_t{1} << lanes) - 1;
  for (; skip != end && *skip < j + lanes; ++skip) keep &= ~(std::uint32_t{1} << (*skip - j));
  return keep;
}

template <class T>
InactiveSums reduce_inactive(const T* r, std::int64_t rows, std::int64_t first, const std::int64_t* skip,
                             std::int64_t skips, const ReadoutCuts& cuts, PendingEntries& pending) {
  constexpr int L = Simd<T>::lanes;
  static_assert(L < 32, "lane masks are 32 bits");
  InactiveReducer<T> reducer(cuts, pending);
  const std::int64_t* const end = skip + skips;
  const std::int64_t whole = rows / L * L;
  for (std::int64_t j = 0; j < whole; j += L) {
    if (skip == end || *skip >= first + j + L)
      reducer.template add<false>(r + j, 0);
    else
      reducer.template add<true>(r + j, kept_lanes(skip, end, first + j, L));
  }
  if (whole < rows) {  // the tail, copied so that nothing past rows is read
    T tail[L] = {};
    std::copy(r + whole, r + rows, tail);
    const std::uint32_t in_tile = (std::uint32_t{1} << (rows - whole)) - 1;
    reducer.template add<true>(tail, kept_lanes(skip, end, first + whole, L) & in_tile);
  }
  return reducer.sums();
}

}  // namespace

extern const SimulateKernels kSimulateKernels;
const SimulateKernels kSimulateKernels = {&multiply_packed<float>,   &multiply_packed<double>,
                                          &gather_sum<float>,        &gather_sum<double>,
                                          &reduce_inactive<float>,   &reduce_inactive<double>};

}  // namespace NEARORTHO_ISA
}  // namespace nearortho
