// One bind_* function per part of the core; module.cpp calls them all.
#pragma once
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <stdexcept>
#include <string>

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

void bind_frame(py::module_& m);
void bind_gradient(py::module_& m);
void bind_interference(py::module_& m);
void bind_simulate(py::module_& m);

}  // namespace nearortho::python
