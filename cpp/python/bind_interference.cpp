// Binding of the interference pass: allocates the per-row outputs, releases the
// GIL for the whole pass, and lets the core poll for Ctrl-C between tiles.
// Tests: tests/test_interference*.py.
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

  void put(py::dict& out, const std::string& prefix) const {
    out[(prefix + "max").c_str()] = max;
    out[(prefix + "argmax").c_str()] = argmax;
    out[(prefix + "signed_max").c_str()] = signed_max;
    out[(prefix + "signed_argmax").c_str()] = signed_argmax;
    out[(prefix + "sumsq").c_str()] = sumsq;
    out[(prefix + "topk_index").c_str()] = topk_index;
    out[(prefix + "topk_value").c_str()] = topk_value;
  }
};

template <class T>
py::dict run_interference(const py::array_t<T>& a, const std::optional<py::array_t<T>>& b,
                          bool normalize, std::int64_t bins, std::vector<double> thresholds,
                          std::int64_t topk, bool per_row, int threads, double hist_lo,
                          double hist_hi, bool refine, double collect_lo, double collect_hi,
                          std::int64_t collect_cap, double pair_threshold, bool pair_signed,
                          std::int64_t pair_cap, const py::object& progress) {
  if (a.ndim() != 2) throw std::invalid_argument("W must be 2-dimensional");
  if (b && (b->ndim() != 2 || b->shape(1) != a.shape(1)))
    throw std::invalid_argument("B must be 2-dimensional with as many columns as W");
  const std::int64_t m = a.shape(0), n = a.shape(1);
  const std::int64_t m2 = b ? b->shape(0) : 0;
  const T* pa = readonly_data(a, "W");
  const T* pb = b ? readonly_data(*b, "B") : nullptr;
  InterferenceOptions opt;
  opt.normalize = normalize;
  opt.bins = bins;
  opt.thresholds = std::move(thresholds);
  opt.topk = topk;
  opt.per_row = per_row;
  opt.threads = threads;
  opt.hist_lo = hist_lo;
  opt.hist_hi = hist_hi;
  opt.refine = refine;
  opt.collect_lo = collect_lo;
  opt.collect_hi = collect_hi;
  opt.collect_cap = collect_cap;
  opt.pair_threshold = pair_threshold;
  opt.pair_signed = pair_signed;
  opt.pair_cap = pair_cap;
  // Runs on the calling thread with the GIL retaken: progress first, then
  // pending signals; a Python error in either stops the pass and is re-raised.
  opt.poll = [&progress](std::int64_t done, std::int64_t total) {
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
  const std::int64_t k = topk > 0 ? topk : 0;
  RowArrays row_arrays(m, per_row, k), col_arrays(m2, per_row, k);  // columns: with B only
  const InterferenceRows rows = row_arrays.pointers(per_row, k), cols = col_arrays.pointers(per_row, k);
  InterferenceTotals totals;
  {
    py::gil_scoped_release release;
    totals = interference<T>(pa, m, n, pb, m2, opt, rows, cols);
  }
  if (totals.cancelled) throw py::error_already_set();  // set by the progress callback or a signal
  py::dict out;
  out["sum"] = totals.sum;
  out["sum_abs"] = totals.sum_abs;
  out["sum_sq"] = totals.sum_sq;
  out["max_abs"] = totals.max_abs;
  out["max_i"] = totals.max_i;
  out["max_j"] = totals.max_j;
  out["hist_lo"] = totals.hist_lo;
  out["hist_hi"] = totals.hist_hi;
  out["hist"] = py::array_t<std::int64_t>(static_cast<py::ssize_t>(totals.hist.size()), totals.hist.data());
  out["below"] = totals.below;
  out["above"] = totals.above;
  out["count_above"] = totals.count_above;
  out["collected"] = py::array_t<double>(static_cast<py::ssize_t>(totals.collected.size()), totals.collected.data());
  out["collect_overflow"] = totals.collect_overflow;
  row_arrays.put(out, "row_");
  col_arrays.put(out, "col_");
  const auto count = static_cast<py::ssize_t>(totals.pairs.size());
  py::array_t<std::int64_t> pair_i(count), pair_j(count);
  py::array_t<double> pair_g(count);
  std::int64_t* i = pair_i.mutable_data();
  std::int64_t* j = pair_j.mutable_data();
  double* g = pair_g.mutable_data();
  for (const PairHit& hit : totals.pairs) {
    *i++ = hit.i;
    *j++ = hit.j;
    *g++ = hit.g;
  }
  out["pair_count"] = totals.pair_count;
  out["pair_i"] = pair_i;
  out["pair_j"] = pair_j;
  out["pair_g"] = pair_g;
  return out;
}

template <class T>
void def_interference(py::module_& m) {
  m.def("interference", &run_interference<T>, py::arg("W").noconvert(), py::arg("B").noconvert(),
        py::arg("normalize"), py::arg("bins"), py::arg("thresholds"), py::arg("topk"),
        py::arg("per_row"), py::arg("threads"), py::arg("hist_lo") = 0.0,
        py::arg("hist_hi") = 0.0, py::arg("refine") = false, py::arg("collect_lo") = 0.0,
        py::arg("collect_hi") = -1.0, py::arg("collect_cap") = 0, py::arg("pair_threshold") = 1.0,
        py::arg("pair_signed") = false, py::arg("pair_cap") = -1, py::arg("progress") = py::none());
}

}  // namespace

void bind_interference(py::module_& m) {
  def_interference<float>(m);
  def_interference<double>(m);
}

}  // namespace nearortho::python
