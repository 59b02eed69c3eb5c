// Sizes of the readout passes (cpp/src/readout_passes.hpp) that the Python layer
// plans with: batch alignment and memory estimates (exported as _core.constants).
#pragma once
#include <cstdint>

#include "nearortho/simulate_kernels.hpp"

namespace nearortho::readout {

constexpr std::int64_t kBlockGroups = 10;     // X panels (of kPanelX trials) per work item
constexpr std::int64_t kTileRows = 96;        // features per product tile: whole W panels of either type
constexpr std::int64_t kChunkBytes = 1 << 22; // dense path: packed rows of W shared by the threads at once
constexpr std::int64_t kGramBlock = 192;      // gram path: features whose W W^T columns are held
// Histogram entries a thread holds for its next product to count: the dense path
// reduces a work item's trials over one product tile between two products.
constexpr std::int64_t kPendingEntries = kBlockGroups * kPanelX * kTileRows;
static_assert(kTileRows % kPanelW<float> == 0 && kTileRows % kPanelW<double> == 0, "tiles hold whole panels");
static_assert(kGramBlock % kPanelW<float> == 0 && kGramBlock % kPanelW<double> == 0, "blocks hold whole panels");

}  // namespace nearortho::readout
