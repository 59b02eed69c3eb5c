// Exact fields from the re-checked candidates (recheck.hpp). Tests:
// tests/test_cuda.py.
#include "recheck.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "nearortho/ranking.hpp"

namespace nearortho::cuda {
namespace {

struct Entry {
  std::int64_t row, partner;
  double g;
};

// Whether a row kept a result before the re-check (it then had partners).
bool had_partners(const SideHost& side, std::int64_t row, std::int64_t k) {
  return (!side.best_index.empty() && side.best_index[row] >= 0) ||
         (!side.signed_index.empty() && side.signed_index[row] >= 0) || (k > 0 && side.topk_index[row * k] >= 0);
}

// The results of one row from its candidates [first, last), best first by |g|.
void set_row(const Entry* first, const Entry* last, std::int64_t k, SideHost& side) {
  const std::int64_t row = first->row;
  if (!side.best.empty()) {
    side.best[row] = std::abs(first->g);
    side.best_index[row] = first->partner;
  }
  if (!side.signed_best.empty()) {
    const Entry* top = first;
    for (const Entry* e = first; e != last; ++e)
      if (ranks_before(e->g, e->partner, top->g, top->partner)) top = e;
    side.signed_best[row] = top->g;
    side.signed_index[row] = top->partner;
  }
  if (k == 0) return;
  std::int64_t listed = 0;
  while (listed < k && side.topk_index[row * k + listed] >= 0) ++listed;
  if (last - first < listed)
    throw std::logic_error("the re-check found " + std::to_string(last - first) + " candidates for row " +
                           std::to_string(row) + ", fewer than its " + std::to_string(listed) + " partners kept");
  for (std::int64_t t = 0; t < listed; ++t) {
    side.topk_value[row * k + t] = first[t].g;
    side.topk_index[row * k + t] = first[t].partner;
  }
}

}  // namespace

void apply_recheck(const CheckedPairs& pairs, bool transposed, std::int64_t topk, SideHost& side) {
  const std::size_t rows =
      std::max({side.best.size(), side.signed_best.size(), topk > 0 ? side.topk_index.size() / topk : 0});
  if (rows == 0) return;  // the side keeps no exact field
  const std::vector<std::int64_t>& row_of = transposed ? pairs.j : pairs.i;
  const std::vector<std::int64_t>& partner_of = transposed ? pairs.i : pairs.j;
  // the candidates by row (a counting sort), then each row's best first
  std::vector<std::size_t> start(rows + 1, 0);
  for (std::int64_t row : row_of) ++start[static_cast<std::size_t>(row) + 1];
  for (std::size_t row = 0; row < rows; ++row) start[row + 1] += start[row];
  std::vector<Entry> entries(row_of.size());
  std::vector<std::size_t> next(start.begin(), start.end() - 1);
  for (std::size_t p = 0; p < row_of.size(); ++p)
    entries[next[static_cast<std::size_t>(row_of[p])]++] = Entry{row_of[p], partner_of[p], pairs.g[p]};
  for (std::size_t row = 0; row < rows; ++row) {
    Entry* first = entries.data() + start[row];
    Entry* last = entries.data() + start[row + 1];
    if (first == last) {
      if (had_partners(side, static_cast<std::int64_t>(row), topk))
        throw std::logic_error("the re-check found no candidate for row " + std::to_string(row));
      continue;
    }
    std::sort(first, last, [](const Entry& a, const Entry& b) {
      return ranks_before(std::abs(a.g), a.partner, std::abs(b.g), b.partner);
    });
    set_row(first, last, topk, side);
  }
}

}  // namespace nearortho::cuda
