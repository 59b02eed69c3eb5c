// The one tie-break of every "largest" result (by |g|, or by g for the signed
// maxima): the coherence and its pair, the per-row maxima and top-k lists, in the
// tile kernels, in the merge of the threads' partial results
// (cpp/src/interference.cpp) and in Python's InterferenceStats.merge (_best_first
// in python/nearortho/interference.py states the same rule).
// Tests: tests/test_interference.py (ties of sign frames, merges of row blocks).
#pragma once
#include <cstdint>
#include <utility>

namespace nearortho {

// A pair of rows, ordered lexicographically: (i, j) before (i, j') when j < j'.
using PairIndex = std::pair<std::int64_t, std::int64_t>;

// Whether candidate (magnitude a, index i) ranks before (a2, i2): the larger
// magnitude, then the smaller index (a row number, or a PairIndex).
template <class A, class Index>
constexpr bool ranks_before(A a, const Index& i, A a2, const Index& i2) {
  return a > a2 || (a == a2 && i < i2);
}

}  // namespace nearortho
