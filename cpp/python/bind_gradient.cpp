// Binding of the surrogate gradient pass: writes the gradient into an array
// Python allocated, releases the GIL, and polls for Ctrl-C between rounds.
// Tests: tests/test_gradient.py.
#include "bindings.hpp"
#include "nearortho/gradient.hpp"

namespace nearortho::python {

namespace {

template <class T>
py::tuple run_gradient(const py::array_t<T>& w, int p, double t, double s, int threads,
                       py::array_t<T>& grad) {
  if (w.ndim() != 2 || grad.ndim() != 2 || grad.shape(0) != w.shape(0) || grad.shape(1) != w.shape(1))
    throw std::invalid_argument("W and grad must be 2-dimensional with the same shape");
  SurrogateOptions opt;
  opt.p = p;
  opt.t = t;
  opt.s = s;
  opt.threads = threads;
  opt.poll = [](std::int64_t, std::int64_t) {
    py::gil_scoped_acquire gil;
    return PyErr_CheckSignals() != 0;
  };
  const T* data = readonly_data(w, "W");
  T* out = writable_data(grad, "grad");
  SurrogateTotals totals;
  {
    py::gil_scoped_release release;
    totals = surrogate_gradient<T>(data, w.shape(0), w.shape(1), opt, out);
  }
  if (totals.cancelled) throw py::error_already_set();  // set by PyErr_CheckSignals
  return py::make_tuple(totals.value, totals.max_abs, totals.max_i, totals.max_j);
}

}  // namespace

void bind_gradient(py::module_& m) {
  m.def("surrogate_gradient", &run_gradient<float>, py::arg("W").noconvert(), py::arg("p"), py::arg("t"),
        py::arg("s"), py::arg("threads"), py::arg("grad").noconvert());
  m.def("surrogate_gradient", &run_gradient<double>, py::arg("W").noconvert(), py::arg("p"), py::arg("t"),
        py::arg("s"), py::arg("threads"), py::arg("grad").noconvert());
}

}  // namespace nearortho::python
