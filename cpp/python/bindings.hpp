// One bind_* function per part of the core; module.cpp calls them all.
#pragma once
#include <pybind11/native_enum.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "nearortho/frame.hpp"
#include "nearortho/gradient.hpp"
#include "nearortho/interference.hpp"
#include "nearortho/row_source.hpp"
#include "nearortho/simulate.hpp"

namespace nearortho::python {

namespace py = pybind11;

// The Python layer validates everything; these checks only guard the binding
// contract (C-contiguous, aligned, writeable where written) so a caller bypassing
// the Python layer gets an exception rather than memory corruption or undefined
// behaviour (the core reads T through T*: np.frombuffer or np.memmap at an odd
// offset gives arrays whose elements are not aligned to sizeof(T)).
inline bool contiguous_and_aligned(const py::array& a) {
  return (a.flags() & py::array::c_style) && (a.flags() & py::detail::npy_api::NPY_ARRAY_ALIGNED_);
}

template <class T>
T* writable_data(py::array_t<T>& a, const char* name) {
  if (!contiguous_and_aligned(a) || !a.writeable())
    throw std::invalid_argument(std::string(name) + " must be a writeable, aligned, C-contiguous array");
  return a.mutable_data();
}

template <class T>
const T* readonly_data(const py::array_t<T>& a, const char* name) {
  if (!contiguous_and_aligned(a))
    throw std::invalid_argument(std::string(name) + " must be an aligned, C-contiguous array");
  return a.data();
}

// A numpy copy of a core vector (results outlive the core's buffers).
template <class T>
py::array_t<T> numpy_copy(const std::vector<T>& values) {
  return py::array_t<T>(static_cast<py::ssize_t>(values.size()), values.data());
}

// Ctrl-C in a long core call: `callback` is what the core polls from the calling
// thread (it retakes the GIL to let Python check signals); after the call,
// raise_if_fired() raises the KeyboardInterrupt (or the signal handler's error).
class SignalCheck {
 public:
  const std::function<bool()> callback = [this] {
    py::gil_scoped_acquire gil;
    if (PyErr_CheckSignals() != 0) fired_ = true;
    return fired_;
  };
  void raise_if_fired() const {
    if (fired_) throw py::error_already_set();
  }

 private:
  bool fired_ = false;
};

// std::invalid_argument from the core becomes ValueError, a file source's
// FileReadError OSError (both compiled modules).
inline void register_value_errors() {
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const std::invalid_argument& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    } catch (const FileReadError& e) {
      PyErr_SetString(PyExc_OSError, e.what());
    }
  });
}

// f with its first argument fixed, as a callable pybind11 can bind (it reads the
// other arguments' types from the call operator).
template <class R, class First, class... Args>
auto bind_first(R (*f)(First, Args...), First first) {
  return [f, first](Args... args) { return f(first, std::forward<Args>(args)...); };
}

// The operations a backend implements with the CPU core's signatures
// (nearortho/frame.hpp, nearortho/interference.hpp, nearortho/gradient.hpp,
// nearortho/simulate.hpp), so the CPU module _core and
// the CUDA module _cuda (cpp/cuda/module.cpp) share one binding of each.
template <class T>
using GenerateFrameFn = bool (*)(const FrameSpec&, std::int64_t, std::int64_t, T*, int,
                                 const std::function<bool()>&);
template <class T>
using InterferenceFn = InterferenceTotals (*)(const RowSource<T>&, const RowSource<T>*, const InterferenceOptions&,
                                              const InterferenceRows&, const InterferenceRows&);

template <class T>
using SurrogateGradientFn = SurrogateTotals (*)(const T*, std::int64_t, std::int64_t, const SurrogateOptions&, T*);

void def_generate_frame(py::module_& m, GenerateFrameFn<float> f32, GenerateFrameFn<double> f64);
void def_surrogate_gradient(py::module_& m, SurrogateGradientFn<float> f32, SurrogateGradientFn<double> f64);
template <class T>
using SimulateReadoutFn = ReadoutTotals (*)(const FrameView<T>&, const ActivationSpec&, const ExplicitActivations*,
                                            std::int64_t, std::int64_t, const ReadoutSpec&, ReadoutPath, int,
                                            const std::function<bool()>&);
void def_simulate_readout(py::module_& m, SimulateReadoutFn<float> f32, SimulateReadoutFn<double> f64);
// device_memory: the backend reads W and B in GPU memory (the CUDA backend).
void def_interference(py::module_& m, InterferenceFn<float> f32, InterferenceFn<double> f64, bool device_memory);

void bind_constants(py::module_& m);
void bind_frame(py::module_& m);
void bind_gradient(py::module_& m);
void bind_interference(py::module_& m);
void bind_simulate(py::module_& m);

}  // namespace nearortho::python
