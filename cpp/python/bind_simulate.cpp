// Binding of the readout Monte Carlo: converts arrays, releases the GIL, returns
// the totals as a dict (Python merges batches and derives the statistics).
#include <pybind11/stl.h>

#include <optional>
#include <vector>

#include "bindings.hpp"
#include "nearortho/simulate.hpp"

namespace nearortho::python {

namespace {

AmplitudeKind amplitude_kind(const std::string& name) {
  if (name == "boolean") return AmplitudeKind::boolean;
  if (name == "uniform") return AmplitudeKind::uniform;
  if (name == "levels") return AmplitudeKind::levels;
  throw std::invalid_argument("amplitude kind must be boolean, uniform or levels; got '" + name + "'");
}

ReadoutPath readout_path(const std::string& name) {
  if (name == "dense") return ReadoutPath::dense;
  if (name == "gram") return ReadoutPath::gram;
  throw std::invalid_argument("path must be dense or gram; got '" + name + "'");
}

py::dict totals_dict(const ReadoutTotals& t) {
  using Count = std::int64_t ReadoutTotals::*;
  using Sum = double ReadoutTotals::*;
  static const std::pair<const char*, Count> counts[] = {
      {"trials", &ReadoutTotals::trials},
      {"inactive", &ReadoutTotals::inactive},
      {"active", &ReadoutTotals::active},
      {"false_positives", &ReadoutTotals::false_positives},
      {"false_negatives", &ReadoutTotals::false_negatives},
      {"level_errors", &ReadoutTotals::level_errors}};
  static const std::pair<const char*, Sum> sums[] = {
      {"inactive_sum", &ReadoutTotals::inactive_sum},
      {"inactive_sumsq", &ReadoutTotals::inactive_sumsq},
      {"active_error_sum", &ReadoutTotals::active_error_sum},
      {"active_error_sumsq", &ReadoutTotals::active_error_sumsq},
      {"amplitude_sumsq", &ReadoutTotals::amplitude_sumsq},
      {"trial_errors_sumsq", &ReadoutTotals::trial_errors_sumsq}};
  py::dict d;
  for (const auto& [name, member] : counts) d[name] = t.*member;
  for (const auto& [name, member] : sums) d[name] = t.*member;
  d["histogram"] = py::array_t<std::int64_t>(static_cast<py::ssize_t>(t.histogram.size()), t.histogram.data());
  return d;
}

struct ExplicitArrays {
  py::array_t<std::int64_t> offset, index;
  py::array_t<double> value;
  ExplicitActivations view() const {
    return {readonly_data(offset, "offset"), readonly_data(index, "index"), readonly_data(value, "value")};
  }
  void check(std::int64_t trials) const {
    if (offset.ndim() != 1 || offset.shape(0) != trials + 1) throw std::invalid_argument("offset must have trials + 1 entries");
    const std::int64_t nnz = offset.at(trials);
    if (index.ndim() != 1 || value.ndim() != 1 || index.shape(0) < nnz || value.shape(0) < nnz)
      throw std::invalid_argument("index and value must hold offset[-1] entries");
  }
};

template <class T>
py::dict simulate_into(const py::array_t<T>& W, std::int64_t l, double p, const std::string& kind,
                       double amplitude, std::int64_t levels, bool signed_amplitudes, std::uint64_t seed,
                       std::int64_t trial_begin, std::int64_t trial_end, double threshold, double hist_lo,
                       double hist_hi, std::int64_t bins, std::optional<py::array_t<std::int64_t>> offset,
                       std::optional<py::array_t<std::int64_t>> index, std::optional<py::array_t<double>> value,
                       const std::string& path, int threads) {
  if (W.ndim() != 2) throw std::invalid_argument("W must be 2-D");
  const FrameView<T> view{readonly_data(W, "W"), W.shape(0), W.shape(1)};
  ActivationSpec spec{view.m, l, p, amplitude_kind(kind), amplitude, levels, signed_amplitudes, seed};
  ReadoutSpec ro{threshold, signed_amplitudes, hist_lo, hist_hi, bins};
  std::optional<ExplicitArrays> given;
  ExplicitActivations given_view;
  if (offset) {
    given = ExplicitArrays{*offset, *index, *value};
    given->check(trial_end - trial_begin);
    given_view = given->view();
  }
  ReadoutTotals totals;
  SignalCheck signals;
  {
    py::gil_scoped_release release;
    totals = simulate_readout(view, spec, given ? &given_view : nullptr, trial_begin, trial_end, ro,
                              readout_path(path), threads, signals.callback);
  }
  signals.raise_if_fired();
  return totals_dict(totals);
}

template <class T>
py::array_t<double> readouts(const py::array_t<T>& W, const py::array_t<std::int64_t>& offset,
                             const py::array_t<std::int64_t>& index, const py::array_t<double>& value,
                             const std::string& path, int threads) {
  if (W.ndim() != 2) throw std::invalid_argument("W must be 2-D");
  const FrameView<T> view{readonly_data(W, "W"), W.shape(0), W.shape(1)};
  const std::int64_t trials = offset.ndim() == 1 ? offset.shape(0) - 1 : -1;
  if (trials < 0) throw std::invalid_argument("offset must be 1-D with trials + 1 entries");
  const ExplicitArrays given{offset, index, value};
  given.check(trials);
  const ExplicitActivations given_view = given.view();
  py::array_t<double> out({trials, view.m});
  double* data = out.mutable_data();
  py::gil_scoped_release release;
  readout_values(view, given_view, trials, data, readout_path(path), threads);
  return out;
}

// Activations of trials [trial_begin, trial_end) in CSR form (offset, index, value),
// sampled without the GIL (the Python caller asks for a bounded block at a time).
py::tuple sample(std::int64_t m, std::int64_t l, double p, const std::string& kind, double amplitude,
                 std::int64_t levels, bool signed_amplitudes, std::uint64_t seed, std::int64_t trial_begin,
                 std::int64_t trial_end) {
  const ActivationSpec spec{m, l, p, amplitude_kind(kind), amplitude, levels, signed_amplitudes, seed};
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
  return py::make_tuple(py::array_t<std::int64_t>(offset.size(), offset.data()),
                        py::array_t<std::int64_t>(index.size(), index.data()),
                        py::array_t<double>(value.size(), value.data()));
}

template <class T>
double pair_sumsq_of(const py::array_t<T>& W, int threads) {
  if (W.ndim() != 2) throw std::invalid_argument("W must be 2-D");
  const FrameView<T> view{readonly_data(W, "W"), W.shape(0), W.shape(1)};
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
  m.def("simulate_readout", &simulate_into<T>, py::arg("W").noconvert(), py::arg("l"), py::arg("p"),
        py::arg("kind"), py::arg("amplitude"), py::arg("levels"), py::arg("signed_amplitudes"), py::arg("seed"),
        py::arg("trial_begin"), py::arg("trial_end"), py::arg("threshold"), py::arg("hist_lo"),
        py::arg("hist_hi"), py::arg("bins"), py::arg("offset").noconvert(), py::arg("index").noconvert(),
        py::arg("value").noconvert(), py::arg("path"), py::arg("threads"));
  m.def("readout_values", &readouts<T>, py::arg("W").noconvert(), py::arg("offset").noconvert(),
        py::arg("index").noconvert(), py::arg("value").noconvert(), py::arg("path"), py::arg("threads"));
}

}  // namespace

void bind_simulate(py::module_& m) {
  def_simulate<float>(m);
  def_simulate<double>(m);
  m.def("sample_activations", &sample, py::arg("m"), py::arg("l"), py::arg("p"), py::arg("kind"),
        py::arg("amplitude"), py::arg("levels"), py::arg("signed_amplitudes"), py::arg("seed"), py::arg("trial_begin"), py::arg("trial_end"));
}

}  // namespace nearortho::python
