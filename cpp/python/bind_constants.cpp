// Module constants of _core (upper case): sizes and names the Python layer plans
// and validates with, exported from the core so that no copy in Python can drift.
// Tests: tests/test_backend.py.
#include "bindings.hpp"
#include "nearortho/frame.hpp"
#include "nearortho/interference_kernels.hpp"
#include "nearortho/isa.hpp"
#include "nearortho/readout_layout.hpp"
#include "nearortho/simulate_kernels.hpp"

namespace nearortho::python {

void bind_constants(py::module_& m) {
  m.attr("ISA_NAMES") = py::make_tuple(isa_name(Isa::scalar), isa_name(Isa::avx2), isa_name(Isa::avx512));
  m.attr("MAX_FRAME_DIMENSION") = kMaxFrameDimension;
  m.attr("ORTHOGONAL_BLOCK") = kOrthogonalBlock;
  // interference pass: the edge of the Gram tile a thread owns
  m.attr("INTERFERENCE_TILE") = kTile;
  // ... and the most histogram bins it takes
  m.attr("INTERFERENCE_MAX_BINS") = kMaxBins;
  // ... and of its packed panels (python/nearortho/_blocks.py sizes row blocks by them)
  m.attr("PANEL_BYTES") = kPanelRows<float> * sizeof(float);
  // readout passes: trials per work item, features per product tile, the dense
  // path's shared packed rows of W, and the gram path's columns of W W^T
  m.attr("READOUT_TRIALS_PER_ITEM") = readout::kBlockGroups * kPanelX;
  m.attr("READOUT_TILE_ROWS") = readout::kTileRows;
  m.attr("READOUT_CHUNK_BYTES") = readout::kChunkBytes;
  m.attr("READOUT_GRAM_COLUMNS") = readout::kGramBlock;
}

}  // namespace nearortho::python
