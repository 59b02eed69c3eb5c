// Binding of the interference pass: typed InterferenceOptions in, a typed
// InterferenceResult out (the core's totals and each side's per-row arrays);
// allocates the per-row outputs, releases the GIL for the whole pass, and lets
// the core poll for Ctrl-C between tiles. Tests: tests/test_interference*.py,
// tests/test_backend.py.
#include <pybind11/stl.h>

#include <optional>

#include "bindings.hpp"
#include "nearortho/interference.hpp"

namespace nearortho::python {

namespace {

// The per-row output arrays of one side (rows of W, or of B), empty when not wanted.
struct RowArrays {
  py::array_t<double> max, signed_max, sumsq, topk_value;
  py::array_t<std::int64_t> argmax, signed_argmax, topk_index;

  RowArrays(std::int64_t rows, bool per_row, std::int64_t k)
      : max(per_row ? rows : 0), signed_max(per_row ? rows : 0), sumsq(per_row ? rows : 0),
        topk_value(std::vector<std::int64_t>{k > 0 ? rows : 0, k}), argmax(per_row ? rows : 0),
        signed_argmax(per_row ? rows : 0), topk_index(std::vector<std::int64_t>{k > 0 ? rows : 0, k}) {}

  InterferenceRows pointers(bool per_row, std::int64_t k) {
    InterferenceRows rows;
    if (per_row) {
      rows.row_max = max.mutable_data();
      rows.row_argmax = argmax.mutable_data();
      rows.row_signed_max = signed_max.mutable_data();
      rows.row_signed_argmax = signed_argmax.mutable_data();
      rows.row_sumsq = sumsq.mutable_data();
    }
    if (k > 0) {
      rows.topk_index = topk_index.mutable_data();
      rows.topk_value = topk_value.mutable_data();
    }
    return rows;
  }
};

struct InterferenceResult {
  InterferenceTotals totals;
  RowArrays rows, cols;  // cols: the rows of B (empty without B)
};

template <class T>
InterferenceResult run_interference(const py::array_t<T>& a, const std::optional<py::array_t<T>>& b,
                                    InterferenceOptions options, const py::object& progress) {
  if (a.ndim() != 2) throw std::invalid_argument("W must be 2-dimensional");
  if (b && (b->ndim() != 2 || b->shape(1) != a.shape(1)))
    throw std::invalid_argument("B must be 2-dimensional with as many columns as W");
  const std::int64_t m = a.shape(0), n = a.shape(1);
  const std::int64_t m2 = b ? b->shape(0) : 0;
  const T* pa = readonly_data(a, "W");
  const T* pb = b ? readonly_data(*b, "B") : nullptr;
  // Runs on the calling thread with the GIL retaken: progress first, then
  // pending signals; a Python error in either stops the pass and is re-raised.
  options.poll = [&progress](std::int64_t done, std::int64_t total) {
    py::gil_scoped_acquire gil;
    if (!progress.is_none()) {
      try {
        progress(done, total);
      } catch (py::error_already_set& error) {
        error.restore();
        return true;
      }
    }
    return PyErr_CheckSignals() != 0;
  };
  const std::int64_t k = options.topk > 0 ? options.topk : 0;
  InterferenceResult result{{}, RowArrays(m, options.per_row, k), RowArrays(options.columns ? m2 : 0, options.per_row, k)};
  const InterferenceRows rows = result.rows.pointers(options.per_row, k);
  const InterferenceRows cols = result.cols.pointers(options.per_row, k);
  {
    py::gil_scoped_release release;
    result.totals = interference<T>(pa, m, n, pb, m2, options, rows, cols);
  }
  if (result.totals.cancelled) throw py::error_already_set();  // set by the progress callback or a signal
  return result;
}

// One field of every collected pair, as a numpy array.
template <class Field>
auto pair_field(const InterferenceTotals& totals, Field PairHit::*field) {
  py::array_t<Field> out(static_cast<py::ssize_t>(totals.pairs.size()));
  Field* data = out.mutable_data();
  for (const PairHit& hit : totals.pairs) *data++ = hit.*field;
  return out;
}

void bind_types(py::module_& m) {
  py::class_<InterferenceOptions>(m, "InterferenceOptions", "What one interference pass computes")
      .def(py::init<>())
      .def_readwrite("normalize", &InterferenceOptions::normalize)
      .def_readwrite("bins", &InterferenceOptions::bins)
      .def_readwrite("hist_lo", &InterferenceOptions::hist_lo)
      .def_readwrite("hist_hi", &InterferenceOptions::hist_hi)
      .def_readwrite("refine", &InterferenceOptions::refine)
      .def_readwrite("collect_lo", &InterferenceOptions::collect_lo)
      .def_readwrite("collect_hi", &InterferenceOptions::collect_hi)
      .def_readwrite("collect_cap", &InterferenceOptions::collect_cap)
      .def_readwrite("thresholds", &InterferenceOptions::thresholds)
      .def_readwrite("topk", &InterferenceOptions::topk)
      .def_readwrite("per_row", &InterferenceOptions::per_row)
      .def_readwrite("pair_threshold", &InterferenceOptions::pair_threshold)
      .def_readwrite("pair_signed", &InterferenceOptions::pair_signed)
      .def_readwrite("pair_cap", &InterferenceOptions::pair_cap)
      .def_readwrite("columns", &InterferenceOptions::columns)
      .def_readwrite("threads", &InterferenceOptions::threads);
  py::class_<InterferenceTotals>(m, "InterferenceTotals", "Sums, maxima, counts and collected values of a pass")
      .def_readonly("sum", &InterferenceTotals::sum)
      .def_readonly("sum_abs", &InterferenceTotals::sum_abs)
      .def_readonly("sum_sq", &InterferenceTotals::sum_sq)
      .def_readonly("max_abs", &InterferenceTotals::max_abs)
      .def_readonly("max_i", &InterferenceTotals::max_i)
      .def_readonly("max_j", &InterferenceTotals::max_j)
      .def_readonly("hist_lo", &InterferenceTotals::hist_lo)
      .def_readonly("hist_hi", &InterferenceTotals::hist_hi)
      .def_property_readonly("hist", [](const InterferenceTotals& t) { return numpy_copy(t.hist); })
      .def_readonly("below", &InterferenceTotals::below)
      .def_readonly("above", &InterferenceTotals::above)
      .def_property_readonly("count_above", [](const InterferenceTotals& t) { return numpy_copy(t.count_above); })
      .def_property_readonly("collected", [](const InterferenceTotals& t) { return numpy_copy(t.collected); })
      .def_readonly("collect_overflow", &InterferenceTotals::collect_overflow)
      .def_readonly("pair_count", &InterferenceTotals::pair_count)
      .def_property_readonly("pair_i", [](const InterferenceTotals& t) { return pair_field(t, &PairHit::i); })
      .def_property_readonly("pair_j", [](const InterferenceTotals& t) { return pair_field(t, &PairHit::j); })
      .def_property_readonly("pair_g", [](const InterferenceTotals& t) { return pair_field(t, &PairHit::g); });
  py::class_<RowArrays>(m, "RowStatistics", "Per-row outputs of one side (empty arrays when not asked for)")
      .def_readonly("max", &RowArrays::max)
      .def_readonly("argmax", &RowArrays::argmax)
      .def_readonly("signed_max", &RowArrays::signed_max)
      .def_readonly("signed_argmax", &RowArrays::signed_argmax)
      .def_readonly("sumsq", &RowArrays::sumsq)
      .def_readonly("topk_index", &RowArrays::topk_index)
      .def_readonly("topk_value", &RowArrays::topk_value);
  py::class_<InterferenceResult>(m, "InterferenceResult", "totals, and the per-row outputs of W (rows) and B (cols)")
      .def_readonly("totals", &InterferenceResult::totals)
      .def_readonly("rows", &InterferenceResult::rows)
      .def_readonly("cols", &InterferenceResult::cols);
}

template <class T>
void def_interference(py::module_& m) {
  m.def("interference", &run_interference<T>, py::arg("W").noconvert(), py::arg("B").noconvert(),
        py::arg("options"), py::arg("progress") = py::none());
}

}  // namespace

void bind_interference(py::module_& m) {
  bind_types(m);
  def_interference<float>(m);
  def_interference<double>(m);
}

}  // namespace nearortho::python
