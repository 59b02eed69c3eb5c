// The compiled module nearortho._cuda (built with NEARORTHO_CUDA=ON): the CUDA
// backend's functions under the names and arguments of _core's, through the
// same bindings (cpp/python/bind_*.cpp), plus device_count() and, for the
// tests, the streamed pass's tile plan. Tests: tests/test_cuda.py.
#include <pybind11/stl.h>

#include "../python/bindings.hpp"
#include "backend.hpp"
#include "stream_plan.hpp"

PYBIND11_MODULE(_cuda, m) {
  namespace py = pybind11;
  using namespace nearortho;
  m.doc() = "nearortho CUDA backend (use the nearortho package, not this module)";
  // _core defines the typed arguments (FrameSpec, ...) both modules take
  py::module_::import("nearortho._core");
  python::register_value_errors();
  m.def("device_count", &cuda::device_count,
        "CUDA devices the runtime sees; 0 without a device or driver");
  m.def(
      "_tile_plan",
      [](std::int64_t ba, std::int64_t bb, bool symmetric, std::int64_t resident, bool b_resident) {
        const cuda::StreamPlan plan = cuda::plan_tiles(ba, bb, symmetric, resident, b_resident);
        std::vector<std::tuple<std::int64_t, std::int64_t, std::int64_t, std::int64_t>> tiles;
        for (const auto& t : plan.tiles) tiles.emplace_back(t.I, t.J, t.a_load, t.b_load);
        std::vector<std::tuple<bool, std::int64_t, std::int64_t, std::int64_t>> loads;
        for (const auto& l : plan.loads) loads.emplace_back(l.b_side, l.block, l.slot, l.ready);
        return py::make_tuple(plan.resident, plan.b_resident, tiles, loads);
      },
      "For tests: the streamed pass's plan (stream_plan.hpp) as (resident, b_resident, "
      "tiles (I, J, a_load, b_load), loads (b_side, block, slot, ready))");
  python::def_generate_frame(m, &cuda::generate_frame<float>, &cuda::generate_frame<double>);
  python::def_interference(m, &cuda::interference<float>, &cuda::interference<double>, true);
  python::def_surrogate_gradient(m, &cuda::surrogate_gradient<float>, &cuda::surrogate_gradient<double>);
  python::def_simulate_readout(m, &cuda::simulate_readout<float>, &cuda::simulate_readout<double>);
}
