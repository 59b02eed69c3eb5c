// Sums of squares of host rows for the CUDA pass (host_norms.hpp). Tests:
// tests/test_cuda.py.
#include "host_norms.hpp"

#include "../src/packed_rows.hpp"
#include "nearortho/interrupt_poll.hpp"
#include "nearortho/threads.hpp"

namespace nearortho::cuda {

template <class T>
std::optional<std::vector<double>> host_squared_norms(const RowSource<T>& source, bool normalize, int threads,
                                                      const std::function<bool()>& interrupted) {
  const int used = resolve_threads(threads);
  std::vector<RowBuffer<T>> buffers(static_cast<std::size_t>(used));
  InterruptPoll poll(interrupted);
  std::vector<double> sumsq = squared_norms(source, normalize, used, buffers, poll);
  if (poll.fired()) return std::nullopt;
  return sumsq;
}

template std::optional<std::vector<double>> host_squared_norms<float>(const RowSource<float>&, bool, int,
                                                                      const std::function<bool()>&);
template std::optional<std::vector<double>> host_squared_norms<double>(const RowSource<double>&, bool, int,
                                                                       const std::function<bool()>&);

}  // namespace nearortho::cuda
