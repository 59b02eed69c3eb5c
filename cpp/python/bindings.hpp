// One bind_* function per part of the core; module.cpp calls them all.
#pragma once
#include <pybind11/native_enum.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

namespace nearortho::python {

namespace py = pybind11;

// The Python layer validates everything; these checks only guard the binding
// contract (C-contiguous, writeable where written) so a caller bypassing the
// Python layer gets an exception rather than memory corruption.
template <class T>
T* writable_data(py::array_t<T>& a, const char* name) {
  if (!(a.flags() & py::array::c_style) || !a.writeable())
    throw std::invalid_argument(std::string(name) + " must be a writeable C-contiguous array");
  return a.mutable_data();
}

template <class T>
const T* readonly_data(const py::array_t<T>& a, const char* name) {
  if (!(a.flags() & py::array::c_style))
    throw std::invalid_argument(std::string(name) + " must be a C-contiguous array");
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

void bind_constants(py::module_& m);
void bind_frame(py::module_& m);
void bind_gradient(py::module_& m);
void bind_interference(py::module_& m);
void bind_simulate(py::module_& m);

}  // namespace nearortho::python
