// The order of a CUDA pass's tiles and the row blocks each one needs on the
// device (cpp/cuda/pass_rows.cuh loads them). Rows come in blocks (kTile rows);
// tile (I, J) pairs block I of A with block J of B, or of A with I <= J. As on
// the CPU (cpp/src/interference.cpp), A is taken a superblock at a time: its
// `resident` blocks stay on the device while every tile of its rows is computed,
// column by column (J outer), so each column needs at most one new block. That
// block has a slot of its own (the superblock's own blocks; all of B when B is
// resident) or goes through a ring of two slots, so while one column is computed
// the next one's block can be uploaded. Every tile is computed exactly once.
// Plain C++. Tests: tests/test_cuda.py.
#pragma once
#include <cstdint>
#include <vector>

namespace nearortho::cuda {

// One block of rows copied into a device slot: slots [0, resident) hold A's
// superblock (block I in slot I - its first block); then all of B (block J in
// slot resident + J) when B is resident, else the ring (slots resident and
// resident + 1).
struct BlockLoad {
  bool b_side;         // a block of B (else of A)
  std::int64_t block;  // rows [block * kTile, ...) of its side
  std::int64_t slot;
  std::int64_t ready;  // the tiles before this one no longer read the slot: it may be written
};

// A tile and the loads that hold its rows (indices into StreamPlan::loads).
struct PlannedTile {
  std::int64_t I, J, a_load, b_load;
};

struct StreamPlan {
  std::int64_t resident = 0;  // A's blocks per superblock
  bool b_resident = false;
  bool ring = false;               // whether any block goes through the ring
  std::vector<BlockLoad> loads;    // in the order of first use
  std::vector<PlannedTile> tiles;  // in the order computed
};

// The plan for ba blocks of A and bb of B (symmetric: pairs within A, bb unused),
// `resident` >= 1 blocks of A at a time (at least ba: all of A).
StreamPlan plan_tiles(std::int64_t ba, std::int64_t bb, bool symmetric, std::int64_t resident, bool b_resident);

}  // namespace nearortho::cuda
