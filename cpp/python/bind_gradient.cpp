// Binding of the surrogate gradient pass: typed options in, typed totals out; writes
// the gradient into an array Python allocated, releases the GIL, and polls for
// Ctrl-C between rounds. Tests: tests/test_gradient.py.
#include "bindings.hpp"
#include "nearortho/gradient.hpp"

namespace nearortho::python {

namespace {

template <class T>
SurrogateTotals run_gradient(SurrogateGradientFn<T> gradient, const py::array_t<T>& w, SurrogateOptions options,
                             py::array_t<T>& grad) {
  if (w.ndim() != 2 || grad.ndim() != 2 || grad.shape(0) != w.shape(0) || grad.shape(1) != w.shape(1))
    throw std::invalid_argument("W and grad must be 2-dimensional with the same shape");
  options.poll = [](std::int64_t, std::int64_t) {
    py::gil_scoped_acquire gil;
    return PyErr_CheckSignals() != 0;
  };
  const T* data = readonly_data(w, "W");
  T* out = writable_data(grad, "grad");
  SurrogateTotals totals;
  {
    py::gil_scoped_release release;
    totals = gradient(data, w.shape(0), w.shape(1), options, out);
  }
  if (totals.cancelled) throw py::error_already_set();  // set by PyErr_CheckSignals
  return totals;
}

template <class T>
void def_surrogate_gradient(py::module_& m, SurrogateGradientFn<T> gradient) {
  m.def("surrogate_gradient", bind_first(&run_gradient<T>, gradient), py::arg("W").noconvert(), py::arg("options"),
        py::arg("grad").noconvert());
}

}  // namespace

void def_surrogate_gradient(py::module_& m, SurrogateGradientFn<float> f32, SurrogateGradientFn<double> f64) {
  def_surrogate_gradient<float>(m, f32);
  def_surrogate_gradient<double>(m, f64);
}

void bind_gradient(py::module_& m) {
  py::class_<SurrogateOptions>(m, "SurrogateOptions",
                               "F = sum over pairs of (max(|g| - t, 0) / s)^p; threads <= 0: OpenMP default")
      .def(py::init<>())
      .def_readwrite("p", &SurrogateOptions::p)
      .def_readwrite("t", &SurrogateOptions::t)
      .def_readwrite("s", &SurrogateOptions::s)
      .def_readwrite("threads", &SurrogateOptions::threads);
  py::class_<SurrogateTotals>(m, "SurrogateTotals", "F, and the largest |g| over pairs with its pair (i, j)")
      .def_readonly("value", &SurrogateTotals::value)
      .def_readonly("max_abs", &SurrogateTotals::max_abs)
      .def_readonly("max_i", &SurrogateTotals::max_i)
      .def_readonly("max_j", &SurrogateTotals::max_j);
  def_surrogate_gradient(m, &surrogate_gradient<float>, &surrogate_gradient<double>);
}

}  // namespace nearortho::python
