// The compiled module nearortho._cuda (built with NEARORTHO_CUDA=ON): the CUDA
// backend's functions under the names and arguments of _core's, through the
// same bindings (cpp/python/bind_*.cpp), plus device_count().
// Tests: tests/test_cuda.py.
#include "../python/bindings.hpp"
#include "backend.hpp"

PYBIND11_MODULE(_cuda, m) {
  namespace py = pybind11;
  using namespace nearortho;
  m.doc() = "nearortho CUDA backend (use the nearortho package, not this module)";
  // _core defines the typed arguments (FrameSpec, ...) both modules take
  py::module_::import("nearortho._core");
  python::register_value_errors();
  m.def("device_count", &cuda::device_count,
        "CUDA devices the runtime sees; 0 without a device or driver");
  python::def_generate_frame(m, &cuda::generate_frame<float>, &cuda::generate_frame<double>);
  python::def_interference(m, &cuda::interference<float>, &cuda::interference<double>, true);
  python::def_surrogate_gradient(m, &cuda::surrogate_gradient<float>, &cuda::surrogate_gradient<double>);
  python::def_simulate_readout(m, &cuda::simulate_readout<float>, &cuda::simulate_readout<double>);
}
