// Binding of the interference pass: allocates the per-row outputs, releases the
// GIL for the whole pass, and lets the core poll for Ctrl-C between tiles.
// Tests: tests/test_interference*.py.
#include <pybind11/stl.h>

#include <optional>

#include "bindings.hpp"
#include "nearortho/interference.hpp"
#include "nearortho/interference_kernels.hpp"

namespace nearortho::python {

namespace {

StoredType stored_type(const std::string& name) {
  if (name == "float16") return StoredType::f16;
  if (name == "bfloat16") return StoredType::bf16;
  if (name == "float32") return StoredType::f32;
  if (name == "float64") return StoredType::f64;
  throw std::invalid_argument("unknown stored dtype " + name);
}

// A numpy array of T (read in place), or a file region given as the tuple
// (path, offset, stored dtype name, rows, cols, transposed), named by its path.
template <class T>
RowSource<T> row_source(const py::object& obj, const char* name) {
  if (py::isinstance<py::tuple>(obj)) {
    const auto spec = obj.cast<std::tuple<std::string, std::int64_t, std::string, std::int64_t, std::int64_t, bool>>();
    const FileRegion file{std::get<0>(spec), std::get<1>(spec), stored_type(std::get<2>(spec)),
                          std::get<3>(spec), std::get<4>(spec), std::get<5>(spec)};
    return RowSource<T>(file, file.path);
  }
  if (!py::isinstance<py::array_t<T>>(obj))  // no conversion: the Python layer passes T arrays
    throw std::invalid_argument(std::string(name) + " must be an array of the working dtype");
  const auto a = py::reinterpret_borrow<py::array_t<T>>(obj);
  if (a.ndim() != 2) throw std::invalid_argument(std::string(name) + " must be 2-dimensional");
  return RowSource<T>(readonly_data(a, name), a.shape(0), a.shape(1), name);
}

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
py::dict run_interference(const py::object& w, const py::object& b, bool normalize, std::int64_t bins,
                          std::vector<double> thresholds, std::int64_t topk, bool per_row, int threads,
                          double hist_lo, double hist_hi, bool refine, double collect_lo, double collect_hi,
                          std::int64_t collect_cap, double pair_threshold, bool pair_signed, std::int64_t pair_cap,
                          bool columns, std::int64_t block_rows, const py::object& progress) {
  const RowSource<T> a = row_source<T>(w, "W");
  const std::optional<RowSource<T>> other = b.is_none() ? std::nullopt : std::optional(row_source<T>(b, "B"));
  const std::int64_t m = a.rows(), m2 = other ? other->rows() : 0;
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
  opt.columns = columns;
  opt.block_rows = block_rows;
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
  RowArrays row_arrays(m, per_row, k), col_arrays(columns ? m2 : 0, per_row, k);  // columns: with B only
  const InterferenceRows rows = row_arrays.pointers(per_row, k), cols = col_arrays.pointers(per_row, k);
  InterferenceTotals totals;
  {
    py::gil_scoped_release release;
    totals = interference<T>(a, other ? &*other : nullptr, opt, rows, cols);
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

// W and B: arrays (float64 ones make the pass float64) or file regions, read as
// float64 when wide, else float32. The CPU signature of the backend seam
// (python/nearortho/_backend.py) plus block_rows and wide for streamed sources.
py::dict dispatch(const py::object& w, const py::object& b, bool normalize, std::int64_t bins,
                  std::vector<double> thresholds, std::int64_t topk, bool per_row, int threads, double hist_lo,
                  double hist_hi, bool refine, double collect_lo, double collect_hi, std::int64_t collect_cap,
                  double pair_threshold, bool pair_signed, std::int64_t pair_cap, bool columns,
                  std::int64_t block_rows, bool wide, const py::object& progress) {
  const auto f64 = [](const py::object& x) { return py::isinstance<py::array_t<double>>(x); };
  auto run = wide || f64(w) || f64(b) ? &run_interference<double> : &run_interference<float>;
  return run(w, b, normalize, bins, std::move(thresholds), topk, per_row, threads, hist_lo, hist_hi, refine,
             collect_lo, collect_hi, collect_cap, pair_threshold, pair_signed, pair_cap, columns, block_rows,
             progress);
}

}  // namespace

void bind_interference(py::module_& m) {
  m.def("interference", &dispatch, py::arg("W"), py::arg("B"), py::arg("normalize"), py::arg("bins"),
        py::arg("thresholds"), py::arg("topk"), py::arg("per_row"), py::arg("threads"), py::arg("hist_lo") = 0.0,
        py::arg("hist_hi") = 0.0, py::arg("refine") = false, py::arg("collect_lo") = 0.0,
        py::arg("collect_hi") = -1.0, py::arg("collect_cap") = 0, py::arg("pair_threshold") = 1.0,
        py::arg("pair_signed") = false, py::arg("pair_cap") = -1, py::arg("columns") = true,
        py::arg("block_rows") = 0, py::arg("wide") = false, py::arg("progress") = py::none());
  m.def("row_buffer_bytes", [](const std::string& stored, std::int64_t n, std::int64_t working_size) {
    return row_buffer_bytes(stored_type(stored), n, working_size, working_size == 8 ? kPanelRows<double> : kPanelRows<float>);
  }, py::arg("stored"), py::arg("n"), py::arg("working_size"));
}

}  // namespace nearortho::python
