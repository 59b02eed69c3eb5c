"""Rows already in GPU memory: a torch CUDA tensor, a CuPy array, or anything
with ``__cuda_array_interface__``, read in place by the CUDA backend (one
device-to-device copy, which it normalises) instead of uploaded from the host.
Tests: tests/test_device_matrix.py, tests/test_cuda.py."""
from __future__ import annotations

import numpy as np

DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def on_device(value) -> bool:
    """Whether ``value`` is an array in GPU memory (it exposes __cuda_array_interface__)."""
    try:
        return hasattr(value, "__cuda_array_interface__")
    except RuntimeError:  # torch: a CUDA tensor that requires grad refuses the attribute
        return True


class DeviceMatrix:
    """A 2-D, C-contiguous float32 or float64 matrix in GPU memory; keeps its owner alive.

    Like an array for the interference pass: ``shape``, ``dtype``, ``ndim``."""

    ndim = 2

    def __init__(self, value, name: str):
        if type(value).__module__.split(".")[0] == "torch":
            value = value.detach()
        interface = value.__cuda_array_interface__
        shape, dtype = tuple(interface["shape"]), np.dtype(interface["typestr"])
        if dtype not in DTYPES:
            raise TypeError(f"{name} is in GPU memory with dtype {dtype}; the CUDA backend reads float32 or "
                            f"float64 there (convert it on the GPU, e.g. {name}.float())")
        if len(shape) != 2:
            raise ValueError(f"{name} must be 2-dimensional (rows, n), got shape {shape}")
        if 0 in shape:
            raise ValueError(f"{name} must not be empty, got shape {shape}")
        strides = interface.get("strides")
        if strides is not None and tuple(strides) != (shape[1] * dtype.itemsize, dtype.itemsize):
            raise ValueError(f"{name} is in GPU memory with strides {tuple(strides)}: it must be C-contiguous "
                             f"(e.g. {name}.contiguous())")
        self.owner, self.name, self.shape, self.dtype = value, name, shape, dtype
        self.address = int(interface["data"][0])

    def astype(self, dtype, copy=False):
        """Itself when already of ``dtype`` (no conversion happens in GPU memory)."""
        if np.dtype(dtype) != self.dtype:
            raise TypeError(f"{self.name} is {self.dtype} in GPU memory and the other input is {np.dtype(dtype)}: "
                            f"give both the same dtype")
        return self

    def _spec(self) -> tuple:
        """What the CUDA backend's binding reads (cpp/python/bind_interference.cpp)."""
        return ("cuda", self.address, self.shape[0], self.shape[1], self.dtype.name)
