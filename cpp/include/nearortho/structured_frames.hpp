// Structured frames: fixed constructions of low-coherence frames for the sizes
// where they exist (no randomness; the seed is not used). Row i is a pure
// function of (kind, n, i), computed in plain scalar code, so its bits do not
// depend on threads, row blocks or the ISA. Tests: tests/test_structured_frames.py.
//
//  kerdock     n = 2^r. Orthonormal bases, the standard basis first, then the
//              Sylvester-Hadamard basis, then (r even) the bases of a Kerdock
//              set: n/2 + 1 mutually unbiased bases in all (kerdock_frame.cpp).
//              For odd r, n is not a square and no three real MUBs exist, so
//              the two bases are the most there are.
//  simplex     any n, m <= n + 1: the regular simplex, |<w_i, w_j>| = 1/n.
//  conference  2n - 1 = q a prime power = 1 mod 4, m <= 2n: the equiangular
//              tight frame of the Paley conference matrix of order 2n,
//              |<w_i, w_j>| = 1/sqrt(q) (paley_frame.cpp).
//  lines28     n = 7, m <= 28: the 28 equiangular lines in R^7 (the Gerzon
//              limit n(n + 1)/2 reached), |<w_i, w_j>| = 1/3.
#pragma once
#include <cstdint>
#include <memory>

#include "nearortho/frame.hpp"

namespace nearortho {

bool is_structured(FrameKind kind);

// The most rows the construction has at dimension n; throws std::invalid_argument
// naming the supported dimensions when n has none.
std::int64_t structured_max_rows(FrameKind kind, std::int64_t n);

// Throws std::invalid_argument unless the construction has m rows at dimension n.
void validate_structured(FrameKind kind, std::int64_t n, std::int64_t m);

// A construction's tables, built once per call; rows() may then run on several
// threads at once for disjoint row ranges.
class StructuredRows {
 public:
  virtual ~StructuredRows() = default;
  virtual void rows(std::int64_t begin, std::int64_t end, float* out) const = 0;
  virtual void rows(std::int64_t begin, std::int64_t end, double* out) const = 0;
};

std::unique_ptr<StructuredRows> make_structured_rows(FrameKind kind, std::int64_t n);

// Implements both overrides of rows() with Derived::fill<T>(begin, end, out).
template <class Derived>
class StructuredRowsOf : public StructuredRows {
 public:
  void rows(std::int64_t begin, std::int64_t end, float* out) const override {
    static_cast<const Derived*>(this)->fill(begin, end, out);
  }
  void rows(std::int64_t begin, std::int64_t end, double* out) const override {
    static_cast<const Derived*>(this)->fill(begin, end, out);
  }
};

// The pieces each construction file provides (structured_frames.cpp dispatches).
std::int64_t kerdock_bases(std::int64_t n);     // 0 when n is not a power of two
std::int64_t paley_prime(std::int64_t q);      // p when q = p^k, else 0
std::unique_ptr<StructuredRows> make_kerdock_rows(std::int64_t n);
std::unique_ptr<StructuredRows> make_paley_rows(std::int64_t n);

}  // namespace nearortho
