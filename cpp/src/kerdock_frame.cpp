// Real mutually unbiased bases in R^n, n = 2^r, from a Kerdock set of quadratic
// forms over GF(2). Tests: tests/test_structured_frames.py.
//
// Coordinates are v in GF(2)^r. Basis 0 is the standard basis; basis 1 + s has
// rows w_{s,c}(v) = (-1)^(Q_s(v) + c.v) / sqrt(n), c in GF(2)^r. Within a basis
// the rows are orthonormal (Walsh functions times one sign pattern); rows of
// bases s != t have inner product (1/n) sum_v (-1)^((Q_s + Q_t)(v) + (c + c').v),
// of modulus 1/sqrt(n) exactly when the bilinear form of Q_s + Q_t is
// nondegenerate (Q_s + Q_t is then bent). Q_0 = 0 gives the Hadamard basis.
//
// For even r, with h = r - 1 (odd), F = GF(2^h) and v = (x, a) in F x GF(2),
//     Q_s(x, a) = sum_{k=1}^{(h-1)/2} Tr((s x)^(2^k + 1)) + a Tr(s x),   s in F,
// 2^h forms whose pairwise differences are nondegenerate: a Kerdock set (Cameron
// and Seidel 1973; its link to real MUBs: Calderbank, Cameron, Kantor and Seidel,
// Proc. LMS 75, 1997). This family and the proof below are written out here,
// not copied from those papers. n/2 + 1 bases with the standard one: the most
// real MUBs R^n can hold, and at m = n(n/2 + 1) the Levenshtein bound.
// Why the differences are nondegenerate: the bilinear form of Q_s + Q_t is
// Tr(sx)Tr(sy) + Tr(tx)Tr(ty) + Tr(u^2 xy) + a Tr(uy) + b Tr(ux), u = s + t
// (from Tr(z)Tr(w) = Tr(zw) + sum_k Tr(z^(2^k) w + z w^(2^k)) for odd h). A
// radical vector (x, a) has Tr(ux) = 0, hence Tr(sx) = Tr(tx) = c and
// u^2 x = (c + a) u: x = 0 and a = 0, or x = 1/u with Tr(ux) = Tr(1) = 1, a
// contradiction. The test checks every |<w_i, w_j>| in {0, 1/sqrt(n)} anyway.
//
// For odd r, n is not a square, and three real MUBs need sqrt(n) to be an
// integer (the Hadamard matrices H, K of two bases unbiased to the standard one
// must have H^T K / n = +-1/sqrt(n), an integer matrix over n): standard and
// Hadamard are the largest set.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <utility>

#include "nearortho/structured_frames.hpp"

namespace nearortho {

namespace {

int parity(std::uint64_t x) { return __builtin_parityll(x); }
int degree(std::uint64_t poly) { return 63 - __builtin_clzll(poly); }  // poly != 0

// a * b mod f for polynomials over GF(2) as bit masks; a, b of degree < deg f.
std::uint64_t mulmod(std::uint64_t a, std::uint64_t b, std::uint64_t f) {
  const int d = degree(f);
  std::uint64_t r = 0;
  for (int i = d - 1; i >= 0; --i) {  // Horner over the bits of b
    r <<= 1;
    if ((r >> d) & 1) r ^= f;
    if ((b >> i) & 1) r ^= a;
  }
  return r;
}

std::uint64_t polymod(std::uint64_t a, std::uint64_t b) {
  const int db = degree(b);
  while (a != 0 && degree(a) >= db) a ^= b << (degree(a) - db);
  return a;
}

std::uint64_t polygcd(std::uint64_t a, std::uint64_t b) {
  while (b != 0) {
    a = polymod(a, b);
    std::swap(a, b);
  }
  return a;
}

// Ben-Or: f of degree h is irreducible iff gcd(x^(2^i) - x, f) = 1 for i <= h/2.
bool irreducible(std::uint64_t f) {
  const int h = degree(f);
  const std::uint64_t x = polymod(2, f);
  std::uint64_t power = x;
  for (int i = 1; i <= h / 2; ++i) {
    power = mulmod(power, power, f);
    if (polygcd(f, power ^ x) != 1) return false;
  }
  return true;
}

// GF(2^h) in the polynomial basis of the first irreducible x^h + ... (lowest
// coefficients as a number) found by search: the same field on every build.
class Gf2Field {
 public:
  explicit Gf2Field(int h) : h_(h) {
    poly_ = (std::uint64_t{1} << h) | 1;
    while (!irreducible(poly_)) poly_ += 2;
    for (int i = 0; i < h; ++i) {  // Tr is linear: Tr(z) = parity(z & mask)
      std::uint64_t z = std::uint64_t{1} << i, sum = 0;
      for (int j = 0; j < h; ++j, z = mul(z, z)) sum ^= z;
      trace_mask_ |= (sum & 1) << i;
    }
  }
  std::uint64_t mul(std::uint64_t a, std::uint64_t b) const { return mulmod(a, b, poly_); }
  int trace(std::uint64_t z) const { return parity(z & trace_mask_); }
  int degree() const { return h_; }

 private:
  int h_;
  std::uint64_t poly_ = 0, trace_mask_ = 0;
};

int log2_exact(std::int64_t n) {
  if (n < 1 || (n & (n - 1)) != 0) return -1;
  return __builtin_ctzll(static_cast<std::uint64_t>(n));
}

class KerdockRows : public StructuredRowsOf<KerdockRows> {
 public:
  explicit KerdockRows(std::int64_t n)
      : n_(n), r_(log2_exact(n)), low_bits_(r_ < 6 ? r_ : 6), field_(r_ >= 2 && r_ % 2 == 0 ? r_ - 1 : 1),
        value_(1.0 / std::sqrt(static_cast<double>(n))) {}

  template <class T>
  void fill(std::int64_t begin, std::int64_t end, T* out) const {
    const T plus = static_cast<T>(value_), minus = -plus;
    Form form;
    std::int64_t form_of = -1;  // the basis `form` belongs to
    for (std::int64_t row = begin; row < end; ++row) {
      T* o = out + (row - begin) * n_;
      const std::int64_t basis = row / n_;
      const std::uint64_t c = static_cast<std::uint64_t>(row % n_);
      if (basis == 0) {
        std::fill(o, o + n_, T(0));
        o[c] = T(1);
        continue;
      }
      if (basis != form_of) {
        quadratic_form(static_cast<std::uint64_t>(basis - 1), form);
        form_of = basis;
      }
      // v = x + y, x the high bits, y < 2^L the low ones: the sign is
      // Q(x) + c.x + Q(y) + (B(x, .) + c).y, so per x it is one 64-bit mask over y.
      const std::uint64_t low = (std::uint64_t{1} << low_bits_) - 1;
      for (std::uint64_t x = 0; x < static_cast<std::uint64_t>(n_); x += low + 1) {
        std::uint64_t linear = c & low;
        for (int j = 0; j < low_bits_; ++j) linear ^= static_cast<std::uint64_t>(parity(form.bilinear[j] & x)) << j;
        const std::uint64_t flip = (value(form, x) ^ parity(c & x)) ? ~std::uint64_t{0} : 0;
        const std::uint64_t bits = form.low_values ^ walsh_mask(linear) ^ flip;
        for (std::uint64_t y = 0; y <= low; ++y) o[x + y] = ((bits >> y) & 1) ? minus : plus;
      }
    }
  }

 private:
  // Q_s as a quadratic form: Q(e_i) (unit_mask), its bilinear form
  // B(e_i, e_j) (bilinear[i], and its bits j > i in upper[i]), and the values
  // Q(y) of the low coordinates y < 2^L as one mask.
  struct Form {
    std::uint64_t unit_mask = 0, low_values = 0;
    std::array<std::uint64_t, 64> bilinear{}, upper{};
  };

  // Q(v) = sum_{i in v} Q(e_i) + sum_{i < j in v} B(e_i, e_j).
  static int value(const Form& form, std::uint64_t v) {
    int q = parity(form.unit_mask & v);
    for (std::uint64_t rest = v; rest != 0; rest &= rest - 1) q ^= parity(form.upper[__builtin_ctzll(rest)] & v);
    return q;
  }

  // Bit y of the result is parity(w & y), y < 64.
  static std::uint64_t walsh_mask(std::uint64_t w) {
    constexpr std::uint64_t kPattern[6] = {0xAAAAAAAAAAAAAAAAull, 0xCCCCCCCCCCCCCCCCull, 0xF0F0F0F0F0F0F0F0ull,
                                           0xFF00FF00FF00FF00ull, 0xFFFF0000FFFF0000ull, 0xFFFFFFFF00000000ull};
    std::uint64_t mask = 0;
    for (int j = 0; j < 6; ++j)
      if ((w >> j) & 1) mask ^= kPattern[j];
    return mask;
  }

  // Q_s(x, a) with v = (x, a), x = v >> 1, a = v & 1.
  int quadratic(std::uint64_t s, std::uint64_t v) const {
    const std::uint64_t z = field_.mul(s, v >> 1);
    int q = (v & 1) ? field_.trace(z) : 0;
    std::uint64_t power = z;  // z^(2^k)
    for (int k = 1; k <= (field_.degree() - 1) / 2; ++k) {
      power = field_.mul(power, power);
      q ^= field_.trace(field_.mul(power, z));
    }
    return q;
  }

  void quadratic_form(std::uint64_t s, Form& form) const {
    form = Form{};
    if (s == 0) return;  // the Hadamard basis
    int unit[64];
    for (int i = 0; i < r_; ++i) {
      unit[i] = quadratic(s, std::uint64_t{1} << i);
      form.unit_mask |= static_cast<std::uint64_t>(unit[i]) << i;
    }
    for (int i = 0; i < r_; ++i)
      for (int j = 0; j < r_; ++j)
        if (i != j && (quadratic(s, (std::uint64_t{1} << i) | (std::uint64_t{1} << j)) ^ unit[i] ^ unit[j]))
          form.bilinear[i] |= std::uint64_t{1} << j;
    for (int i = 0; i < r_; ++i) form.upper[i] = form.bilinear[i] & ~((std::uint64_t{2} << i) - 1);
    for (std::uint64_t y = 0; y < (std::uint64_t{1} << low_bits_); ++y)
      form.low_values |= static_cast<std::uint64_t>(value(form, y)) << y;
  }

  std::int64_t n_;
  int r_, low_bits_;  // L = min(r, 6): 2^L coordinates share one 64-bit mask
  Gf2Field field_;
  double value_;
};

}  // namespace

std::int64_t kerdock_bases(std::int64_t n) {
  const int r = log2_exact(n);
  if (r < 0) return 0;
  if (r == 0) return 1;
  return r % 2 == 0 ? n / 2 + 1 : 2;
}

std::unique_ptr<StructuredRows> make_kerdock_rows(std::int64_t n) {
  return std::make_unique<KerdockRows>(n);
}

}  // namespace nearortho
