// Binding of the readout Monte Carlo and the activation sampler: typed specs in,
// typed totals out (Python merges batches with += and derives the statistics);
// converts arrays and releases the GIL. Tests: tests/test_simulate.py.
#include <pybind11/stl.h>

#include <optional>
#include <vector>

#include "bindings.hpp"
#include "nearortho/simulate.hpp"

namespace nearortho::python {

// Activations in CSR form crossing the binding both ways: trial t has
// index[offset[t] .. offset[t + 1]) with amplitudes value[...]. Not in the
// anonymous namespace: _cuda's simulate_readout takes the type _core registers,
// and a type's identity across modules is its name.
struct CsrActivations {
  py::array_t<std::int64_t> offset, index;
  py::array_t<double> value;

  std::int64_t trials() const {
    if (offset.ndim() != 1 || offset.shape(0) < 1) throw std::invalid_argument("offset must be 1-D with trials + 1 entries");
    return offset.shape(0) - 1;
  }
  ExplicitActivations view() const {
    const std::int64_t nnz = offset.at(trials());
    if (index.ndim() != 1 || value.ndim() != 1 || index.shape(0) < nnz || value.shape(0) < nnz)
      throw std::invalid_argument("index and value must hold offset[-1] entries");
    return {readonly_data(offset, "offset"), readonly_data(index, "index"), readonly_data(value, "value")};
  }
};

namespace {

template <class T>
FrameView<T> frame_view(const py::array_t<T>& W) {
  if (W.ndim() != 2) throw std::invalid_argument("W must be 2-D");
  return {readonly_data(W, "W"), W.shape(0), W.shape(1)};
}

template <class T>
ReadoutTotals simulate_into(SimulateReadoutFn<T> simulate, const py::array_t<T>& W, const ActivationSpec& activations,
                            const ReadoutSpec& readout,
                            std::int64_t trial_begin, std::int64_t trial_end, ReadoutPath path, int threads,
                            const std::optional<CsrActivations>& given) {
  const FrameView<T> view = frame_view(W);
  ExplicitActivations given_view;
  if (given) {
    if (given->trials() != trial_end - trial_begin) throw std::invalid_argument("offset must have trials + 1 entries");
    given_view = given->view();
  }
  ReadoutTotals totals;
  SignalCheck signals;
  {
    py::gil_scoped_release release;
    totals = simulate(view, activations, given ? &given_view : nullptr, trial_begin, trial_end, readout,
                              path, threads, signals.callback);
  }
  signals.raise_if_fired();
  return totals;
}

template <class T>
py::array_t<double> readouts(const py::array_t<T>& W, const CsrActivations& given, ReadoutPath path, int threads) {
  const FrameView<T> view = frame_view(W);
  const std::int64_t trials = given.trials();
  const ExplicitActivations given_view = given.view();
  py::array_t<double> out({trials, view.m});
  double* data = out.mutable_data();
  SignalCheck signals;
  {
    py::gil_scoped_release release;
    readout_values(view, given_view, trials, data, path, threads, signals.callback);
  }
  signals.raise_if_fired();
  return out;
}

// Activations of trials [trial_begin, trial_end), sampled without the GIL (the
// Python caller asks for a bounded block at a time).
CsrActivations sample(const ActivationSpec& spec, std::int64_t trial_begin, std::int64_t trial_end) {
  validate(spec);
  if (trial_begin < 0 || trial_end < trial_begin) throw std::invalid_argument("trial range must be >= 0");
  const std::int64_t cap = max_active(spec);
  std::vector<std::int64_t> offset{0}, index;
  std::vector<double> value;
  std::vector<std::int64_t> idx(cap);
  std::vector<double> val(cap);
  SamplerScratch scratch;
  {
    py::gil_scoped_release release;
    for (std::int64_t t = trial_begin; t < trial_end; ++t) {
      const std::int64_t count = sample_trial(spec, static_cast<std::uint64_t>(t), scratch, idx.data(), val.data(), nullptr);
      index.insert(index.end(), idx.begin(), idx.begin() + count);
      value.insert(value.end(), val.begin(), val.begin() + count);
      offset.push_back(static_cast<std::int64_t>(index.size()));
    }
  }
  return {numpy_copy(offset), numpy_copy(index), numpy_copy(value)};
}

template <class T>
double pair_sumsq_of(const py::array_t<T>& W, int threads) {
  const FrameView<T> view = frame_view(W);
  SignalCheck signals;
  double total;
  {
    py::gil_scoped_release release;
    total = pair_sumsq(view, threads, signals.callback);
  }
  signals.raise_if_fired();
  return total;
}

template <class T>
void def_simulate(py::module_& m) {
  m.def("pair_sumsq", &pair_sumsq_of<T>, py::arg("W").noconvert(), py::arg("threads"));
  m.def("readout_values", &readouts<T>, py::arg("W").noconvert(), py::arg("given"), py::arg("path"),
        py::arg("threads"));
}

template <class T>
void def_simulate_readout(py::module_& m, SimulateReadoutFn<T> simulate) {
  m.def("simulate_readout", bind_first(&simulate_into<T>, simulate), py::arg("W").noconvert(), py::arg("activations"),
        py::arg("readout"), py::arg("trial_begin"), py::arg("trial_end"), py::arg("path"), py::arg("threads"),
        py::arg("given") = py::none());
}

void bind_types(py::module_& m) {
  py::native_enum<AmplitudeKind>(m, "AmplitudeKind", "enum.Enum")
      .value("boolean", AmplitudeKind::boolean)
      .value("uniform", AmplitudeKind::uniform)
      .value("levels", AmplitudeKind::levels)
      .finalize();
  py::native_enum<ReadoutPath>(m, "ReadoutPath", "enum.Enum")
      .value("dense", ReadoutPath::dense)
      .value("gram", ReadoutPath::gram)
      .finalize();
  py::class_<ActivationSpec>(m, "ActivationSpec", "How a trial's active features and amplitudes are drawn")
      .def(py::init<>())
      .def_readwrite("m", &ActivationSpec::m)
      .def_readwrite("l", &ActivationSpec::l)
      .def_readwrite("p", &ActivationSpec::p)
      .def_readwrite("kind", &ActivationSpec::kind)
      .def_readwrite("amplitude", &ActivationSpec::amplitude)
      .def_readwrite("levels", &ActivationSpec::levels)
      .def_readwrite("signed_amplitudes", &ActivationSpec::signed_amplitudes)
      .def_readwrite("seed", &ActivationSpec::seed);
  py::class_<ReadoutSpec>(m, "ReadoutSpec", "The threshold decoder and the histogram of inactive readouts")
      .def(py::init<>())
      .def_readwrite("threshold", &ReadoutSpec::threshold)
      .def_readwrite("signed_decoder", &ReadoutSpec::signed_decoder)
      .def_readwrite("hist_lo", &ReadoutSpec::hist_lo)
      .def_readwrite("hist_hi", &ReadoutSpec::hist_hi)
      .def_readwrite("bins", &ReadoutSpec::bins);
  py::class_<CsrActivations>(m, "Activations", "Activations in CSR form: trial t is index[offset[t]:offset[t + 1]]")
      .def(py::init<py::array_t<std::int64_t>, py::array_t<std::int64_t>, py::array_t<double>>(), py::arg("offset").noconvert(),
           py::arg("index").noconvert(), py::arg("value").noconvert())
      .def_readonly("offset", &CsrActivations::offset)
      .def_readonly("index", &CsrActivations::index)
      .def_readonly("value", &CsrActivations::value);
  py::class_<ReadoutTotals>(m, "ReadoutTotals", "Exact counts and float64 sums over a range of trials")
      .def_readonly("trials", &ReadoutTotals::trials)
      .def_readonly("inactive", &ReadoutTotals::inactive)
      .def_readonly("active", &ReadoutTotals::active)
      .def_readonly("false_positives", &ReadoutTotals::false_positives)
      .def_readonly("false_negatives", &ReadoutTotals::false_negatives)
      .def_readonly("level_errors", &ReadoutTotals::level_errors)
      .def_readonly("inactive_sum", &ReadoutTotals::inactive_sum)
      .def_readonly("inactive_sumsq", &ReadoutTotals::inactive_sumsq)
      .def_readonly("active_error_sum", &ReadoutTotals::active_error_sum)
      .def_readonly("active_error_sumsq", &ReadoutTotals::active_error_sumsq)
      .def_readonly("amplitude_sumsq", &ReadoutTotals::amplitude_sumsq)
      .def_readonly("trial_errors_sumsq", &ReadoutTotals::trial_errors_sumsq)
      .def_property_readonly("histogram", [](const ReadoutTotals& t) { return numpy_copy(t.histogram); },
                             "bins + 2 counts: underflow, the bins, overflow")
      .def("__iadd__", [](ReadoutTotals& t, const ReadoutTotals& later) -> ReadoutTotals& { return t += later; },
           py::arg("later"));
}

}  // namespace

void def_simulate_readout(py::module_& m, SimulateReadoutFn<float> f32, SimulateReadoutFn<double> f64) {
  def_simulate_readout<float>(m, f32);
  def_simulate_readout<double>(m, f64);
}

void bind_simulate(py::module_& m) {
  bind_types(m);
  def_simulate<float>(m);
  def_simulate<double>(m);
  def_simulate_readout(m, &simulate_readout<float>, &simulate_readout<double>);
  m.def("sample_activations", &sample, py::arg("spec"), py::arg("trial_begin"), py::arg("trial_end"));
}

}  // namespace nearortho::python
