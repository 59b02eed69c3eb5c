// Binding of the interference pass: typed InterferenceOptions in, a typed
// InterferenceResult out (the core's totals and each side's per-row arrays);
// allocates the per-row outputs, releases the GIL for the whole pass, and lets
// the core poll for Ctrl-C between tiles. W and B are arrays or file regions
// (python/nearortho/row_file.py). Tests: tests/test_interference*.py,
// tests/test_backend.py, tests/test_streaming.py.
#include <pybind11/stl.h>

#include <optional>

#include "bindings.hpp"
#include "nearortho/interference.hpp"
#include "nearortho/interference_kernels.hpp"

namespace nearortho::python {

// (RowArrays and InterferenceResult are outside the anonymous namespace: the
// module nearortho._cuda returns them too, and pybind11 shares a type between
// modules only when it has external linkage.)

StoredType stored_type(const std::string& name) {
  if (name == "float16") return StoredType::f16;
  if (name == "bfloat16") return StoredType::bf16;
  if (name == "float32") return StoredType::f32;
  if (name == "float64") return StoredType::f64;
  throw std::invalid_argument("unknown stored dtype " + name);
}

// GPU memory given as the tuple ("cuda", address, rows, cols, dtype name)
// (python/nearortho/device_matrix.py).
bool is_device_memory(const py::object& obj) {
  return py::isinstance<py::tuple>(obj) && py::len(obj) == 5 && py::str(obj[py::int_(0)]).cast<std::string>() == "cuda";
}

// A numpy array of T (read in place), a file region given as the tuple (path,
// offset, stored dtype name, rows, cols, transposed), named by its path, or, for
// a backend that reads it (`device_memory`), GPU memory.
template <class T>
RowSource<T> row_source(const py::object& obj, const char* name, bool device_memory) {
  if (is_device_memory(obj)) {
    if (!device_memory)
      throw std::invalid_argument(std::string(name) + " is in GPU memory: the CPU backend cannot read it");
    const auto spec = obj.cast<std::tuple<std::string, std::uintptr_t, std::int64_t, std::int64_t, std::string>>();
    const std::string working = sizeof(T) == 8 ? "float64" : "float32";
    if (std::get<4>(spec) != working)
      throw std::invalid_argument(std::string(name) + " is " + std::get<4>(spec) + " in GPU memory; the pass runs in " +
                                  working);
    return RowSource<T>(reinterpret_cast<const T*>(std::get<1>(spec)), std::get<2>(spec), std::get<3>(spec), name);
  }
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
};

struct InterferenceResult {
  InterferenceTotals totals;
  RowArrays rows, cols;  // cols: the rows of B (empty without B)
};

namespace {

template <class T>
InterferenceResult run_interference(InterferenceFn<T> run, const py::object& w, const py::object& b,
                                    InterferenceOptions options, const py::object& progress, bool device_memory) {
  const RowSource<T> a = row_source<T>(w, "W", device_memory);
  const std::optional<RowSource<T>> other =
      b.is_none() ? std::nullopt : std::optional(row_source<T>(b, "B", device_memory));
  const std::int64_t m = a.rows(), m2 = other ? other->rows() : 0;
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
    result.totals = run(a, other ? &*other : nullptr, options, rows, cols);
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
      .def_readwrite("block_rows", &InterferenceOptions::block_rows)
      .def_readwrite("device_bytes", &InterferenceOptions::device_bytes)
      .def_readwrite("precision", &InterferenceOptions::precision)
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
      .def_readonly("gram_error", &InterferenceTotals::gram_error)
      .def_readonly("rechecked", &InterferenceTotals::rechecked)
      .def_readonly("tensor_fallback", &InterferenceTotals::tensor_fallback)
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

}  // namespace

// W and B: arrays (float64 ones make the pass float64), file regions, read as
// float64 when wide, else float32, or GPU memory when device_memory.
void def_interference(py::module_& m, InterferenceFn<float> f32, InterferenceFn<double> f64, bool device_memory) {
  const auto dispatch = [f32, f64, device_memory](const py::object& w, const py::object& b,
                                                  const InterferenceOptions& options, const py::object& progress,
                                                  bool wide) {
    const auto is_f64 = [](const py::object& x) {
      return py::isinstance<py::array_t<double>>(x) ||
             (is_device_memory(x) && py::str(x[py::int_(4)]).cast<std::string>() == "float64");
    };
    return wide || is_f64(w) || is_f64(b) ? run_interference<double>(f64, w, b, options, progress, device_memory)
                                          : run_interference<float>(f32, w, b, options, progress, device_memory);
  };
  m.def("interference", dispatch, py::arg("W"), py::arg("B"), py::arg("options"), py::arg("progress") = py::none(),
        py::arg("wide") = false);
}


void bind_interference(py::module_& m) {
  bind_types(m);
  def_interference(m, &interference<float>, &interference<double>, false);
  m.def("row_buffer_bytes", [](const std::string& stored, std::int64_t n, std::int64_t working_size) {
    return row_buffer_bytes(stored_type(stored), n, working_size, working_size == 8 ? kPanelRows<double> : kPanelRows<float>);
  }, py::arg("stored"), py::arg("n"), py::arg("working_size"));
}

}  // namespace nearortho::python
