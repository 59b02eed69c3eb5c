// The tile order and block loads of a CUDA pass (stream_plan.hpp). Tests:
// tests/test_cuda.py.
#include "stream_plan.hpp"

#include <algorithm>
#include <stdexcept>

namespace nearortho::cuda {

StreamPlan plan_tiles(std::int64_t ba, std::int64_t bb, bool symmetric, std::int64_t resident, bool b_resident) {
  if (resident < 1) throw std::invalid_argument("a stream plan keeps at least one block of A resident");
  StreamPlan plan;
  plan.resident = std::min(resident, ba);
  plan.b_resident = b_resident && !symmetric;
  const std::int64_t slots = plan.resident + (plan.b_resident ? bb : 2);
  std::vector<std::int64_t> occupant(static_cast<std::size_t>(slots), -1);  // the last load into each slot
  std::vector<std::int64_t> last_use;                                        // per load: its last tile
  const auto load = [&](bool b_side, std::int64_t block, std::int64_t slot) {
    const std::int64_t before = occupant[static_cast<std::size_t>(slot)];
    // every tile reading the slot's rows so far is already planned
    const std::int64_t ready = before < 0 ? 0 : last_use[static_cast<std::size_t>(before)] + 1;
    occupant[static_cast<std::size_t>(slot)] = static_cast<std::int64_t>(plan.loads.size());
    plan.loads.push_back(BlockLoad{b_side, block, slot, ready});
    last_use.push_back(-1);
    return static_cast<std::int64_t>(plan.loads.size()) - 1;
  };
  std::vector<std::int64_t> b_loads(plan.b_resident ? static_cast<std::size_t>(bb) : 0, -1);
  std::int64_t ring_turn = 0;
  for (std::int64_t P = 0; P < ba; P += plan.resident) {
    const std::int64_t end = std::min(ba, P + plan.resident);
    std::vector<std::int64_t> a_loads(static_cast<std::size_t>(end - P), -1);  // loaded at first use
    const auto a_load = [&](std::int64_t I) {
      std::int64_t& l = a_loads[static_cast<std::size_t>(I - P)];
      if (l < 0) l = load(false, I, I - P);
      return l;
    };
    const std::int64_t columns = symmetric ? ba : bb;
    for (std::int64_t J = symmetric ? P : 0; J < columns; ++J) {
      std::int64_t column = -1;
      if (!symmetric && J == 0) a_load(P);  // A's rows before B's: bad rows of A are reported first, as on the CPU
      if (symmetric && J < end) {
        column = a_load(J);
      } else if (plan.b_resident) {
        std::int64_t& l = b_loads[static_cast<std::size_t>(J)];
        if (l < 0) l = load(true, J, plan.resident + J);
        column = l;
      } else {
        column = load(!symmetric, J, plan.resident + ring_turn++ % 2);
        plan.ring = true;
      }
      for (std::int64_t I = P; I < (symmetric ? std::min(J + 1, end) : end); ++I) {
        const std::int64_t a = a_load(I);
        last_use[static_cast<std::size_t>(a)] = last_use[static_cast<std::size_t>(column)] =
            static_cast<std::int64_t>(plan.tiles.size());
        plan.tiles.push_back(PlannedTile{I, J, a, column});
      }
    }
  }
  return plan;
}

}  // namespace nearortho::cuda
