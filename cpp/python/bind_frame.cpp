// Binding of frame generation: writes into an array Python allocated.
#include <functional>

#include "bindings.hpp"
#include "nearortho/frame.hpp"
#include "nearortho/structured_frames.hpp"

namespace nearortho::python {

namespace {

template <class T>
void generate_into(GenerateFrameFn<T> generate, const std::string& kind, std::int64_t n,
                   std::int64_t m, std::uint64_t seed, std::int64_t sparsity,
                   std::int64_t row_begin, std::int64_t row_end, py::array_t<T>& out, int threads) {
  FrameSpec spec{n, m, frame_kind_from_name(kind), seed, sparsity};
  if (out.ndim() != 2 || out.shape(0) != row_end - row_begin || out.shape(1) != n)
    throw std::invalid_argument("out must have shape (rows, n)");
  T* data = writable_data(out, "out");
  SignalCheck signals;
  {
    py::gil_scoped_release release;
    generate(spec, row_begin, row_end, data, threads, signals.callback);
  }
  signals.raise_if_fired();
}

template <class T>
void def_generate_frame(py::module_& m, GenerateFrameFn<T> generate) {
  m.def("generate_frame", bind_first(&generate_into<T>, generate), py::arg("kind"), py::arg("n"),
        py::arg("m"), py::arg("seed"), py::arg("sparsity"), py::arg("row_begin"),
        py::arg("row_end"), py::arg("out").noconvert(), py::arg("threads"));
}

}  // namespace

void def_generate_frame(py::module_& m, GenerateFrameFn<float> f32, GenerateFrameFn<double> f64) {
  def_generate_frame<float>(m, f32);
  def_generate_frame<double>(m, f64);
}

void bind_frame(py::module_& m) {
  def_generate_frame(m, &generate_frame<float>, &generate_frame<double>);
  m.def("validate_frame", [](const std::string& kind, std::int64_t n, std::int64_t m, std::int64_t sparsity) {
    validate(FrameSpec{n, m, frame_kind_from_name(kind), 0, sparsity});
  }, py::arg("kind"), py::arg("n"), py::arg("m"), py::arg("sparsity"));
  m.def("structured_max_rows", [](const std::string& kind, std::int64_t n) {
    return structured_max_rows(frame_kind_from_name(kind), n);
  }, py::arg("kind"), py::arg("n"));
  m.def("frame_group_rows", [](const std::string& kind, std::int64_t n) {
    FrameSpec spec{n, 1, frame_kind_from_name(kind), 0, 1};
    return frame_group_rows(spec);
  });
}

}  // namespace nearortho::python
