// Structured frame kinds: which sizes exist, the error that names them, the
// regular simplex, and the dispatch to kerdock_frame.cpp and paley_frame.cpp.
// Tests: tests/test_structured_frames.py.
#include "nearortho/structured_frames.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace nearortho {

namespace {

constexpr std::int64_t kMaxPaleyN = std::int64_t{1} << 20;  // keeps GF(q)'s tables under 100 MB

bool paley_size(std::int64_t n) {
  const std::int64_t q = 2 * n - 1;
  return n >= 3 && n <= kMaxPaleyN && q % 4 == 1 && paley_prime(q) != 0;
}

// The supported n nearest below and above n, as text ("13, 15").
std::string nearest_paley_sizes(std::int64_t n) {
  std::string text;
  for (std::int64_t below = std::min(n - 1, kMaxPaleyN); below >= 3; --below)
    if (paley_size(below)) {
      text = std::to_string(below);
      break;
    }
  for (std::int64_t above = std::max<std::int64_t>(n + 1, 3); above <= kMaxPaleyN; ++above)
    if (paley_size(above)) return text.empty() ? std::to_string(above) : text + ", " + std::to_string(above);
  return text;
}

// The regular simplex: for i < n, w_i = a e_i + b 1 with a = sqrt((n + 1)/n)
// and b = -(1/sqrt(n) + a)/n, and w_n = 1/sqrt(n); every |<w_i, w_j>| = 1/n.
class SimplexRows : public StructuredRowsOf<SimplexRows> {
 public:
  explicit SimplexRows(std::int64_t n) : n_(n) {
    const double nd = static_cast<double>(n), inv_root = 1.0 / std::sqrt(nd);
    const double a = std::sqrt((nd + 1.0) / nd);
    off_ = -(inv_root + a) / nd;
    diagonal_ = (a * (nd - 1.0) - inv_root) / nd;  // a + off_, without the cancellation (n = 1: -1)
    last_ = inv_root;
  }
  template <class T>
  void fill(std::int64_t begin, std::int64_t end, T* out) const {
    for (std::int64_t row = begin; row < end; ++row) {
      T* o = out + (row - begin) * n_;
      if (row == n_) {
        std::fill(o, o + n_, static_cast<T>(last_));
        continue;
      }
      std::fill(o, o + n_, static_cast<T>(off_));
      o[row] = static_cast<T>(diagonal_);
    }
  }

 private:
  std::int64_t n_;
  double off_, diagonal_, last_;
};

// The 28 equiangular lines in R^7 (Lemmens and Seidel 1973): in R^8 the vectors
// with 3 at two coordinates a < b and -1 at the other six (pairs in
// lexicographic order) have |<u, u'>| = 8 of norm^2 24, and lie in the
// hyperplane sum = 0. The Householder reflection sending 1/sqrt(8) to e_7 maps
// that hyperplane onto R^7: coordinate j < 7 becomes u_j + u_7 / (sqrt(8) - 1).
class Lines28Rows : public StructuredRowsOf<Lines28Rows> {
 public:
  Lines28Rows() {
    const double shift = 1.0 / (std::sqrt(8.0) - 1.0), scale = 1.0 / std::sqrt(24.0);
    int row = 0;
    for (int a = 0; a < 8; ++a)
      for (int b = a + 1; b < 8; ++b, ++row) {
        const double last = (b == 7) ? 3.0 : -1.0;
        for (int j = 0; j < 7; ++j) rows_[row][j] = ((j == a || j == b ? 3.0 : -1.0) + last * shift) * scale;
      }
  }
  template <class T>
  void fill(std::int64_t begin, std::int64_t end, T* out) const {
    for (std::int64_t row = begin; row < end; ++row)
      for (int j = 0; j < 7; ++j) out[(row - begin) * 7 + j] = static_cast<T>(rows_[row][j]);
  }

 private:
  double rows_[28][7];
};

}  // namespace

bool is_structured(FrameKind kind) {
  return kind == FrameKind::kerdock || kind == FrameKind::simplex || kind == FrameKind::conference ||
         kind == FrameKind::lines28;
}

std::int64_t structured_max_rows(FrameKind kind, std::int64_t n) {
  switch (kind) {
    case FrameKind::kerdock: {
      const std::int64_t bases = kerdock_bases(n);
      if (bases == 0)
        throw std::invalid_argument(
            "kind 'kerdock' needs n a power of two: n = 4^k (1, 4, 16, 64, 256, ...) has n/2 + 1 mutually "
            "unbiased bases (m <= n (n/2 + 1)), the odd powers (2, 8, 32, 128, ...) two (m <= 2 n); got n = " +
            std::to_string(n));
      return bases * n;
    }
    case FrameKind::simplex:
      return n + 1;
    case FrameKind::conference:
      if (!paley_size(n))
        throw std::invalid_argument(
            "kind 'conference' needs 2n - 1 a prime power = 1 mod 4, n <= " + std::to_string(kMaxPaleyN) +
            " (n = 3, 5, 7, 9, 13, 15, 19, 21, 25, 27, ...; nearest to " + std::to_string(n) + ": " +
            nearest_paley_sizes(n) + "), m <= 2 n; got n = " + std::to_string(n));
      return 2 * n;
    case FrameKind::lines28:
      if (n != 7)
        throw std::invalid_argument("kind 'lines28' exists only at n = 7 (m <= 28); got n = " + std::to_string(n));
      return 28;
    default:
      throw std::invalid_argument("structured_max_rows: not a structured kind");
  }
}

void validate_structured(FrameKind kind, std::int64_t n, std::int64_t m) {
  const std::int64_t most = structured_max_rows(kind, n);
  if (m > most) {
    const char* name = kind == FrameKind::kerdock   ? "kerdock"
                       : kind == FrameKind::simplex ? "simplex"
                       : kind == FrameKind::lines28 ? "lines28"
                                                    : "conference";
    throw std::invalid_argument("m must be <= " + std::to_string(most) + " for kind '" + name + "' at n = " +
                                std::to_string(n) + " (the whole construction); got m = " + std::to_string(m));
  }
}

std::unique_ptr<StructuredRows> make_structured_rows(FrameKind kind, std::int64_t n) {
  structured_max_rows(kind, n);  // throws for unsupported n
  switch (kind) {
    case FrameKind::kerdock: return make_kerdock_rows(n);
    case FrameKind::simplex: return std::make_unique<SimplexRows>(n);
    case FrameKind::lines28: return std::make_unique<Lines28Rows>();
    default: return make_paley_rows(n);
  }
}

}  // namespace nearortho
