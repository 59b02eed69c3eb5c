// Binding of frame generation: the kinds, the typed FrameSpec, and generation into
// an array Python allocated. Tests: tests/test_frame.py, tests/test_backend.py.
#include <functional>

#include "bindings.hpp"
#include "nearortho/frame.hpp"
#include "nearortho/structured_frames.hpp"

namespace nearortho::python {

namespace {

template <class T>
void generate_into(const FrameSpec& spec, std::int64_t row_begin, std::int64_t row_end, py::array_t<T>& out,
                   int threads) {
  if (out.ndim() != 2 || out.shape(0) != row_end - row_begin || out.shape(1) != spec.n)
    throw std::invalid_argument("out must have shape (rows, n)");
  T* data = writable_data(out, "out");
  SignalCheck signals;
  {
    py::gil_scoped_release release;
    generate_frame(spec, row_begin, row_end, data, threads, signals.callback);
  }
  signals.raise_if_fired();
}

// The kinds' names, random kinds and structured kinds apart, in the enum's order.
void export_kinds(py::module_& m, const py::object& kinds) {
  py::list random, structured;
  for (const auto& item : kinds.attr("__members__").cast<py::dict>()) {
    (is_structured(item.second.cast<FrameKind>()) ? structured : random).append(item.first);
  }
  m.attr("FRAME_KINDS") = py::tuple(random);
  m.attr("STRUCTURED_FRAME_KINDS") = py::tuple(structured);
}

}  // namespace

void bind_frame(py::module_& m) {
  py::native_enum<FrameKind>(m, "FrameKind", "enum.Enum")
      .value("gaussian", FrameKind::gaussian)
      .value("sign", FrameKind::sign)
      .value("sparse", FrameKind::sparse)
      .value("orthogonal", FrameKind::orthogonal)
      .value("srht", FrameKind::srht)
      .value("kerdock", FrameKind::kerdock)
      .value("simplex", FrameKind::simplex)
      .value("conference", FrameKind::conference)
      .value("lines28", FrameKind::lines28)
      .finalize();
  export_kinds(m, m.attr("FrameKind"));
  py::class_<FrameSpec>(m, "FrameSpec", "Which frame: kind, dimension n, rows m, seed, sparsity (sparse kind)")
      .def(py::init<>())
      .def_readwrite("n", &FrameSpec::n)
      .def_readwrite("m", &FrameSpec::m)
      .def_readwrite("kind", &FrameSpec::kind)
      .def_readwrite("seed", &FrameSpec::seed)
      .def_readwrite("sparsity", &FrameSpec::sparsity);
  m.def("generate_frame", &generate_into<float>, py::arg("spec"), py::arg("row_begin"), py::arg("row_end"),
        py::arg("out").noconvert(), py::arg("threads"));
  m.def("generate_frame", &generate_into<double>, py::arg("spec"), py::arg("row_begin"), py::arg("row_end"),
        py::arg("out").noconvert(), py::arg("threads"));
  m.def("validate_frame", py::overload_cast<const FrameSpec&>(&validate), py::arg("spec"));
  m.def("structured_max_rows", &structured_max_rows, py::arg("kind"), py::arg("n"));
  m.def("frame_group_rows", &frame_group_rows, py::arg("spec"));
}

}  // namespace nearortho::python
