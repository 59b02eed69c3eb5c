// The host side of the re-check (recheck_kernels.cuh): one side's per-row
// results as read back from the device, and the exact fields taken from the
// candidates' float64 g. Plain C++. Tests: tests/test_cuda.py.
#pragma once
#include <cstdint>
#include <vector>

namespace nearortho::cuda {

// One side's per-row results on the host (values widened to double; empty
// vectors for results the pass does not keep): see SideResults.
struct SideHost {
  std::vector<double> best, signed_best, topk_value, sumsq;
  std::vector<std::int64_t> best_index, signed_index, topk_index;
};

// The candidates of a pass, with their float64 g: (i[p], j[p]) is a pair of a row
// of A and a row of B, or of A with i < j.
struct CheckedPairs {
  std::vector<std::int64_t> i, j;
  std::vector<double> g;
};

// Replaces the exact fields of `side` (best and signed best with their partners,
// the top-k lists) by the best of its candidates: row i[p] with partner j[p], or
// with `transposed` row j[p] with partner i[p]. Every row that has partners must
// have candidates (std::logic_error otherwise: the re-check's guarantee failed).
void apply_recheck(const CheckedPairs& pairs, bool transposed, std::int64_t topk, SideHost& side);

}  // namespace nearortho::cuda
