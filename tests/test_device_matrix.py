"""Inputs in GPU memory (python/nearortho/device_matrix.py), checked without a
GPU through objects that expose __cuda_array_interface__ at an address nothing
reads: every refusal happens before the memory would be touched. On a GPU,
tests/test_cuda.py reads torch CUDA tensors."""
import numpy as np
import pytest

import nearortho
from nearortho import _backend, _core


class FakeDeviceArray:
    def __init__(self, shape=(5, 3), typestr="<f4", strides=None):
        self.__cuda_array_interface__ = dict(shape=shape, typestr=typestr, data=(4096, False), strides=strides,
                                             version=3)


def test_the_cpu_backend_refuses_gpu_memory_and_says_how_to_fix_it():
    with pytest.raises(ValueError, match=r"in GPU memory, which only the CUDA backend reads.*\.cpu\(\)"):
        nearortho.interference(FakeDeviceArray(), backend="cpu")
    with pytest.raises(ValueError, match="in GPU memory"):
        nearortho.interference(np.ones((4, 3), np.float32), FakeDeviceArray(), backend="cpu")


@pytest.mark.skipif(_backend.cuda_available(), reason="a CUDA device is present")
def test_auto_without_cuda_says_why_it_cannot_read_gpu_memory():
    with pytest.raises(ValueError, match="only the CUDA backend reads .*(no CUDA build|sees no GPU)"):
        nearortho.interference(FakeDeviceArray())


@pytest.mark.parametrize("array, error, words", [
    (FakeDeviceArray(typestr="<f2"), TypeError, "dtype float16; the CUDA backend reads float32 or float64"),
    (FakeDeviceArray(typestr="<i4"), TypeError, "dtype int32"),
    (FakeDeviceArray(shape=(2, 3, 4)), ValueError, "must be 2-dimensional"),
    (FakeDeviceArray(shape=(0, 3)), ValueError, "must not be empty"),
    (FakeDeviceArray(strides=(4, 20)), ValueError, r"strides \(4, 20\): it must be C-contiguous"),
])
def test_bad_gpu_arrays_are_named_errors(array, error, words):
    with pytest.raises(error, match=words) as raised:
        nearortho.interference(array, backend="cpu")
    assert str(raised.value).startswith("W ")


def test_a_gpu_array_and_a_host_array_of_another_dtype_are_a_type_error():
    with pytest.raises(TypeError, match="W is float32 in GPU memory and the other input is float64"):
        nearortho.interference(FakeDeviceArray(), np.ones((2, 3)), backend="cpu")


def test_the_cpu_core_refuses_a_gpu_address_before_reading_it():
    with pytest.raises(ValueError, match="W is in GPU memory: the CPU backend cannot read it"):
        _core.interference(("cuda", 4096, 5, 3, "float32"), None, _core.InterferenceOptions())


def test_neighbors_of_both_sides_passes_gpu_memory_on():
    with pytest.raises(ValueError, match="in GPU memory, which only the CUDA backend reads"):
        nearortho.neighbors(FakeDeviceArray(), 2, np.ones((3, 3), np.float32), both=True, backend="cpu")



@pytest.mark.parametrize("call", [
    lambda W: nearortho.surrogate_gradient(W), lambda W: nearortho.simulate(W, 2, trials=5),
    lambda W: nearortho.optimize(W, max_iter=1), lambda W: nearortho.match(W, np.eye(3, dtype=np.float32))])
def test_functions_that_read_host_memory_name_a_gpu_array(call):
    with pytest.raises(ValueError, match=r"FakeDeviceArray in GPU memory; copy it to the host first"):
        call(FakeDeviceArray())
