// The compiled module nearortho._core: build facts, ISA control, and the parts'
// bindings. The Python package (python/nearortho) is the public API.
#include <pybind11/stl.h>

#include "bindings.hpp"
#include "nearortho/isa.hpp"
#include "nearortho/philox.hpp"
#include "nearortho/threads.hpp"

namespace nearortho::python {
namespace {

py::dict build_info() {
  py::dict info;
  info["version"] = NEARORTHO_VERSION;
  info["compiler"] = NEARORTHO_COMPILER;
  info["openmp"] = have_openmp();
  info["isa_built"] = NEARORTHO_ISA_BUILT;
  info["isa_detected"] = isa_name(detected_isa());
  info["isa"] = isa_name(active_isa());
  info["default_threads"] = resolve_threads(0);
  return info;
}

}  // namespace
}  // namespace nearortho::python

PYBIND11_MODULE(_core, m) {
  namespace py = pybind11;
  using namespace nearortho;
  m.doc() = "nearortho compiled core (use the nearortho package, not this module)";
  python::register_value_errors();
  m.def("build_info", &python::build_info);
  m.def("resolve_threads", &resolve_threads, py::arg("requested"));
  m.def("set_isa_cap", [](const std::string& name) {
    return std::string(isa_name(set_isa_cap(isa_from_name(name.c_str()))));
  });
  m.def("philox4x32_10", [](std::array<std::uint32_t, 4> ctr, std::array<std::uint32_t, 2> key) {
    const Philox4x32 x = philox4x32_10(ctr[0], ctr[1], ctr[2], ctr[3], key[0], key[1]);
    return std::array<std::uint32_t, 4>{x.v[0], x.v[1], x.v[2], x.v[3]};
  });
  python::bind_constants(m);
  python::bind_frame(m);
  python::bind_gradient(m);
  python::bind_interference(m);
  python::bind_simulate(m);
}
