// The rows' sums of squares computed on the host by the CPU core's
// squared_norms() (cpp/src/packed_rows.hpp), for a CUDA pass that streams host
// rows: a pass over raw products needs every row's norm for its histogram range
// before the first tile, and this gives the CPU's range and the CPU's errors for
// bad rows. Plain C++ (OpenMP threads). Tests: tests/test_cuda.py.
#pragma once
#include <functional>
#include <optional>
#include <vector>

#include "nearortho/row_source.hpp"

namespace nearortho::cuda {

// Nothing when `interrupted` returned true (polled from the calling thread).
template <class T>
std::optional<std::vector<double>> host_squared_norms(const RowSource<T>& source, bool normalize, int threads,
                                                      const std::function<bool()>& interrupted);

}  // namespace nearortho::cuda
