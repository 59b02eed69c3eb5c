// The real equiangular tight frame of 2n vectors in R^n from the Paley
// conference matrix of order 2n, q = 2n - 1 a prime power = 1 mod 4.
// Tests: tests/test_structured_frames.py.
//
// The symmetric conference matrix C = [[0, 1^T], [1, Q]], Q_xy = chi(x - y) with
// chi the quadratic character of GF(q) (symmetric because chi(-1) = 1), has
// C^2 = q I, so G = I + C / sqrt(q) = 2 P with P the projection onto C's
// +sqrt(q) eigenspace, of dimension n: G is the Gram matrix of 2n unit vectors
// in R^n with every |g_ij| = 1/sqrt(q) (Paley 1933; as frames, e.g. Strohmer
// and Heath 2003, and Fickus and Mixon's survey of ETFs). The rows here are
// sqrt(2) times an orthonormal basis of that eigenspace, in closed form: with
// psi(z) = exp(2 pi i Tr(z) / p) and G_q = sum_z chi(z) psi(z) = +-sqrt(q) (real),
// the character x -> psi(b x) is an eigenvector of Q with eigenvalue chi(b) G_q,
// and Q 1 = 0, so the eigenspace is spanned by (sqrt(q), 1, ..., 1) and the
// cosines and sines of psi(b x) for the b with chi(b) G_q > 0, one b of each
// pair {b, -b}. Row 0 (the point at infinity) is e_0; row 1 + x, x in GF(q), is
// (1, 2 cos(2 pi t_1 / p), 2 sin(2 pi t_1 / p), ...) / sqrt(q), t_j = Tr(b_j x).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "nearortho/structured_frames.hpp"

namespace nearortho {

namespace {

// GF(q), q = p^k: element codes sum_i d_i p^i with d_i the coefficients in the
// basis 1, x, ..., x^(k-1) modulo the first primitive polynomial found by search
// (so log and exp tables give products), and Tr(z) = sum_j z^(p^j) in GF(p).
class PrimePowerField {
 public:
  PrimePowerField(std::int64_t p, std::int64_t q) : p_(p), q_(q) {
    for (std::int64_t power = 1; power < q; power *= p) ++k_;
    exp_.resize(static_cast<std::size_t>(q - 1));
    std::vector<std::int64_t> coeff(static_cast<std::size_t>(k_));
    for (std::int64_t code = 1; code < q; ++code) {  // the monic candidate's lower coefficients
      if (code % p == 0) continue;                   // x would divide it
      decode(code, coeff);
      if (x_is_primitive(coeff)) break;
    }
    log_.assign(static_cast<std::size_t>(q), -1);
    for (std::int64_t i = 0; i < q - 1; ++i) log_[exp_[i]] = i;
    trace_table();
  }

  std::int64_t log(std::int64_t a) const { return log_[a]; }  // -1 for 0
  std::int64_t exp(std::int64_t e) const { return exp_[e]; }
  int chi(std::int64_t a) const { return a == 0 ? 0 : (log_[a] % 2 == 0 ? 1 : -1); }
  std::int64_t trace(std::int64_t a) const { return trace_[a]; }
  std::int64_t negate(std::int64_t a) const {
    std::int64_t out = 0;
    for (std::int64_t place = 1; place < q_; place *= p_) out += (p_ - a / place % p_) % p_ * place;
    return out;
  }

 private:
  void decode(std::int64_t code, std::vector<std::int64_t>& digits) const {
    for (auto& d : digits) {
      d = code % p_;
      code /= p_;
    }
  }
  std::int64_t encode(const std::vector<std::int64_t>& digits) const {
    std::int64_t code = 0;
    for (std::size_t i = digits.size(); i-- > 0;) code = code * p_ + digits[i];
    return code;
  }

  // Fills exp_ with x^0, x^1, ... modulo x^k + sum_j coeff_j x^j; true when x
  // has order q - 1 (the polynomial is primitive, so the quotient is GF(q)).
  bool x_is_primitive(const std::vector<std::int64_t>& coeff) {
    std::vector<std::int64_t> digits(static_cast<std::size_t>(k_), 0);
    digits[0] = 1;
    for (std::int64_t i = 0; i < q_ - 1; ++i) {
      const std::int64_t code = encode(digits);
      if (i > 0 && code == 1) return false;
      exp_[i] = code;
      const std::int64_t top = digits[k_ - 1];
      for (std::int64_t j = k_ - 1; j > 0; --j) digits[j] = digits[j - 1];
      digits[0] = 0;
      for (std::int64_t j = 0; j < k_; ++j) digits[j] = ((digits[j] - top * coeff[j]) % p_ + p_) % p_;
    }
    return encode(digits) == 1;
  }

  // Tr is GF(p)-linear: Tr(z) = sum_i d_i Tr(x^i), Tr(x^i) = sum_j x^(i p^j).
  void trace_table() {
    std::vector<std::int64_t> basis(static_cast<std::size_t>(k_)), digits(static_cast<std::size_t>(k_));
    for (std::int64_t i = 0; i < k_; ++i) {
      std::int64_t sum = 0, exponent = i;
      for (std::int64_t j = 0; j < k_; ++j, exponent = exponent * p_ % (q_ - 1)) {
        decode(exp_[exponent], digits);
        sum += digits[0];  // the other digits of the sum vanish: Tr(z) lies in GF(p)
      }
      basis[i] = sum % p_;
    }
    trace_.resize(static_cast<std::size_t>(q_));
    for (std::int64_t z = 0; z < q_; ++z) {
      decode(z, digits);
      std::int64_t t = 0;
      for (std::int64_t i = 0; i < k_; ++i) t += digits[i] * basis[i];
      trace_[z] = t % p_;
    }
  }

  std::int64_t p_, q_, k_ = 0;
  std::vector<std::int64_t> exp_, log_, trace_;
};

class PaleyRows : public StructuredRowsOf<PaleyRows> {
 public:
  explicit PaleyRows(std::int64_t n) : n_(n), q_(2 * n - 1), field_(paley_prime(q_), q_) {
    const std::int64_t p = paley_prime(q_);
    constexpr double kTwoPi = 6.283185307179586476925;
    const double scale = 2.0 / std::sqrt(static_cast<double>(q_));
    cos_.resize(static_cast<std::size_t>(p));
    sin_.resize(static_cast<std::size_t>(p));
    for (std::int64_t t = 0; t < p; ++t) {
      cos_[t] = scale * std::cos(kTwoPi * static_cast<double>(t) / static_cast<double>(p));
      sin_[t] = scale * std::sin(kTwoPi * static_cast<double>(t) / static_cast<double>(p));
    }
    double gauss = 0.0;  // G_q = +-sqrt(q); rounding is far below sqrt(q)
    for (std::int64_t z = 1; z < q_; ++z) gauss += field_.chi(z) * cos_[field_.trace(z)];
    const int sign = gauss > 0 ? 1 : -1;
    for (std::int64_t b = 1; b < q_; ++b)
      if (field_.chi(b) == sign && b < field_.negate(b)) rep_log_.push_back(field_.log(b));
    inv_root_q_ = 1.0 / std::sqrt(static_cast<double>(q_));
  }

  template <class T>
  void fill(std::int64_t begin, std::int64_t end, T* out) const {
    const std::int64_t order = q_ - 1;
    for (std::int64_t row = begin; row < end; ++row) {
      T* o = out + (row - begin) * n_;
      if (row == 0) {
        std::fill(o, o + n_, T(0));
        o[0] = T(1);
        continue;
      }
      const std::int64_t x = row - 1, log_x = field_.log(x);
      o[0] = static_cast<T>(inv_root_q_);
      for (std::size_t j = 0; j < rep_log_.size(); ++j) {
        std::int64_t t = 0;  // Tr(b_j x)
        if (x != 0) {
          const std::int64_t e = rep_log_[j] + log_x;
          t = field_.trace(field_.exp(e >= order ? e - order : e));
        }
        o[1 + 2 * j] = static_cast<T>(cos_[t]);
        o[2 + 2 * j] = static_cast<T>(sin_[t]);
      }
    }
  }

 private:
  std::int64_t n_, q_;
  PrimePowerField field_;
  std::vector<double> cos_, sin_;
  std::vector<std::int64_t> rep_log_;
  double inv_root_q_ = 0.0;
};

}  // namespace

std::int64_t paley_prime(std::int64_t q) {
  if (q < 2) return 0;
  std::int64_t p = q;
  for (std::int64_t d = 2; d * d <= q; ++d)
    if (q % d == 0) {
      p = d;
      break;
    }
  while (q % p == 0) q /= p;
  return q == 1 ? p : 0;
}

std::unique_ptr<StructuredRows> make_paley_rows(std::int64_t n) { return std::make_unique<PaleyRows>(n); }

}  // namespace nearortho
