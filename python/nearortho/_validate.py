"""Argument checks shared by every public function (one place owns the policy).

Wrong type -> TypeError, wrong value -> ValueError; messages name the argument.
"""
from __future__ import annotations

import numbers
import os
import operator

import numpy as np

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def integer(value, name: str, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """Return ``value`` as an int, rejecting bools, floats and out-of-range values."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    value = operator.index(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {value}")
    return value


def boolean(value, name: str) -> bool:
    """``value`` as a bool: True or False (numpy's too), never a truthy string or None."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a bool, got {type(value).__name__}")
    return bool(value)


def integer_array(value, name: str, minimum: int) -> np.ndarray:
    """Whole numbers >= ``minimum`` (any integer or float array) as float64, for formulas that broadcast."""
    array = np.asarray(value)
    if array.dtype == bool or not (np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)):
        raise TypeError(f"{name} must be integer(s), got {array.dtype}")
    if array.size == 0:
        raise ValueError(f"{name} must be non-empty")
    if np.issubdtype(array.dtype, np.floating) and not (np.isfinite(array).all() and (array == np.round(array)).all()):
        raise ValueError(f"{name} must hold whole numbers")
    if (array < minimum).any():
        raise ValueError(f"{name} must be >= {minimum}, got min {array.min()}")
    if (array > 2**53).any():  # beyond this, float64 no longer holds every integer
        raise ValueError(f"{name} must be <= 2^53, got max {array.max()}")
    return array.astype(np.float64)


def real_array(value, name: str) -> np.ndarray:
    """Finite real number(s) (bools count as 0 and 1) as float64, for formulas that broadcast."""
    array = np.asarray(value)
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be real number(s), got {array.dtype}")
    array = array.astype(np.float64)
    if not np.isfinite(array).all():
        raise ValueError(f"{name} must be finite, got {value!r}")
    return array


def real(value, name: str, *, low: float | None = None, high: float | None = None,
         low_open: bool = False, high_open: bool = False) -> float:
    """Return ``value`` as a finite float inside the stated interval."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    try:
        value = float(value)
    except OverflowError:  # a Python int beyond float64
        raise ValueError(f"{name} must be finite, got an integer of {value.bit_length()} bits") from None
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    if low is not None and (value < low or (low_open and value == low)):
        raise ValueError(f"{name} must be {'>' if low_open else '>='} {low}, got {value}")
    if high is not None and (value > high or (high_open and value == high)):
        raise ValueError(f"{name} must be {'<' if high_open else '<='} {high}, got {value}")
    return value


def seed(value) -> int:
    return integer(value, "seed", minimum=0, maximum=2**64 - 1)


# More threads than this only cost memory (stacks, per-thread histograms) and
# risk the thread limit; the core also turns a thread that cannot start into a
# RuntimeError.
MAX_THREADS = max(256, 4 * (os.cpu_count() or 1))


def threads(value) -> int:
    """``None`` means what OpenMP would use (passed to the core as 0)."""
    if value is None:
        return 0
    return integer(value, "threads", minimum=1, maximum=MAX_THREADS)


def float_dtype(value, name: str = "dtype") -> np.dtype:
    if value is None:  # np.dtype(None) is float64, which a caller's float32 default would silently become
        raise TypeError(f"{name} must be float32 or float64, got None")
    try:
        dtype = np.dtype(value)
    except TypeError as error:
        raise TypeError(f"{name} must be float32 or float64, got {value!r}") from error
    if dtype not in FLOAT_DTYPES:
        raise TypeError(f"{name} must be float32 or float64, got {dtype}")
    return dtype


def row_slice(rows, m: int) -> tuple[int, int]:
    """A contiguous block [start, stop) of [0, m) from a slice with no step."""
    if rows is None:
        return 0, m
    if not isinstance(rows, slice):
        raise TypeError(f"rows must be a slice, got {type(rows).__name__}")
    if rows.step not in (None, 1):
        raise ValueError(f"rows must have no step, got step {rows.step}")
    start = 0 if rows.start is None else integer(rows.start, "rows.start")
    stop = m if rows.stop is None else integer(rows.stop, "rows.stop")
    if not 0 <= start <= stop <= m:
        raise ValueError(f"rows must satisfy 0 <= start <= stop <= m = {m}, got {start}:{stop}")
    return start, stop


def float_matrix(value, name: str) -> np.ndarray:
    """A 2-D, non-empty, C-contiguous, native-byte-order float32 or float64 array.

    Accepts numpy arrays (memory-mapped ones too, without a copy), CPU torch
    tensors (shared without a copy when float32/float64; ``requires_grad`` is
    ignored), anything with ``__array__``, DLPack producers, and nested
    sequences. float16 and bfloat16 are upcast to float32; non-contiguous,
    byte-swapped or misaligned (np.frombuffer or np.memmap at an offset that is not
    a multiple of the itemsize) arrays are copied once; other dtypes are a TypeError.
    """
    if isinstance(value, np.ma.MaskedArray) and np.ma.is_masked(value):  # the kernels would read what is masked
        raise ValueError(f"{name} is a masked array with masked entries; fill them or drop their rows first")
    if isinstance(value, np.ndarray):
        arr = value
    elif type(value).__module__.split(".")[0] == "torch":
        arr = _torch_array(value, name)
    elif hasattr(value, "__cuda_array_interface__"):  # CuPy and the like: this function reads host memory
        raise ValueError(f"{name} is a {type(value).__name__} in GPU memory; copy it to the host first "
                         f"(only interference, neighbors and pairs read GPU memory)")
    elif hasattr(value, "__array__") or isinstance(value, (list, tuple)):
        try:
            arr = np.asarray(value)
        except ValueError as error:  # rows of unequal length: numpy's message names no argument
            raise ValueError(f"{name} is not a rectangular array of numbers ({error})") from None
    elif hasattr(value, "__dlpack__"):
        arr = np.from_dlpack(value)
    else:
        raise TypeError(f"{name} must be an array (numpy, __array__ or DLPack), got {type(value).__name__}")
    if arr.dtype == np.float16 or arr.dtype.name == "bfloat16":
        _copy_fits(arr, np.float32, name)
        arr = arr.astype(np.float32)
    elif arr.dtype.kind != "f" or arr.dtype.itemsize not in (4, 8):
        raise TypeError(f"{name} must have a float16, float32 or float64 dtype, got {arr.dtype}")
    if arr.ndim != 2:
        raise ValueError(f"{name} must be 2-dimensional (rows, n), got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty, got shape {arr.shape}")
    if not arr.dtype.isnative or not arr.flags.c_contiguous or not arr.flags.aligned:
        _copy_fits(arr, arr.dtype, name)
        arr = np.array(arr, dtype=arr.dtype.newbyteorder("="), order="C")
    return arr


def _copy_fits(arr: np.ndarray, dtype, name: str) -> None:
    """The copy :func:`float_matrix` makes (of a memory-mapped file too) is refused
    with a MemoryError naming the argument before numpy allocates it: an allocation
    the system grants and cannot back kills the process as the copy fills it."""
    dtype = np.dtype(dtype)
    memory(arr.size * dtype.itemsize, f"the C-contiguous {dtype.name} copy of {name} (shape {arr.shape}; a "
           f"C-contiguous, aligned, native-endian float32 or float64 array is read in place)")


def _torch_array(tensor, name: str) -> np.ndarray:
    """A CPU torch tensor as numpy, sharing its memory unless it must be widened."""
    device = getattr(tensor, "device", None)
    if getattr(device, "type", "cpu") != "cpu":
        raise ValueError(f"{name} is a torch tensor on {device}; move it to the CPU first ({name}.cpu())")
    tensor = tensor.detach()
    if str(tensor.dtype) in ("torch.float16", "torch.bfloat16"):
        tensor = tensor.float()  # numpy has no bfloat16: the one copy, exact
    try:
        return np.from_dlpack(tensor)
    except (BufferError, RuntimeError, TypeError) as error:
        raise TypeError(f"{name} must have a float16, bfloat16, float32 or float64 dtype, got {tensor.dtype}") from error


def thresholds(value, name: str = "thresholds") -> tuple[float, ...]:
    """A sequence of finite reals >= 0 (a scalar is one threshold)."""
    if isinstance(value, (numbers.Real, np.floating, np.integer)):
        value = (value,)
    try:
        items = list(np.asarray(value, dtype=object).ravel()) if isinstance(value, np.ndarray) else list(value)
    except TypeError as error:
        raise TypeError(f"{name} must be a sequence of real numbers, got {type(value).__name__}") from error
    return tuple(real(t, f"{name}[{i}]", low=0.0) for i, t in enumerate(items))


def frame_array(value, name: str = "W", *, nonzero_rows: bool = False) -> np.ndarray:
    """A frame as :func:`float_matrix` returns it, also required to be finite, and
    with ``nonzero_rows`` to have no zero row (each row must have a direction to take
    cosines of). One pass in row blocks: a memory-mapped W is never read whole."""
    arr = float_matrix(value, name)
    step = max(1, (1 << 22) // arr.shape[1])
    for start in range(0, arr.shape[0], step):
        block = arr[start:start + step]
        if not np.isfinite(block).all():
            raise ValueError(f"{name} must be finite (found NaN or Inf)")
        if nonzero_rows:
            zero = np.flatnonzero(~np.any(block, axis=1))
            if zero.size:
                raise ValueError(f"{name} has a zero row (row {start + int(zero[0])}); every row needs a direction")
    return arr


def products_fit(W: np.ndarray, name: str, factor: float = 1.0, what: str = "their inner products") -> None:
    """Refuse rows so long that ``factor`` times an inner product of two of them (the
    bound |<w_i, w_j>| <= |w_i| |w_j|, squared norms in float64, block by block)
    could overflow W's dtype, as the interference pass refuses them (normalize=False)."""
    from .features import row_norms  # imported here: features imports interference, which imports this module

    largest = float(row_norms(W).max()) ** 2
    if not largest * factor < 0.25 * float(np.finfo(W.dtype).max):
        raise ValueError(f"{name} has rows so long that {what} overflow {W.dtype}; rescale {name}"
                         + (" or use float64" if W.dtype == np.float32 else ""))


def directions(value, name: str) -> np.ndarray:
    """A frame as :func:`frame_array` returns it, with no zero row."""
    return frame_array(value, name, nonzero_rows=True)


def probability(value, name: str) -> float:
    """A rate strictly inside (0, 1)."""
    return real(value, name, low=0.0, high=1.0, low_open=True, high_open=True)


def physical_memory() -> int:
    """Bytes of physical memory on this machine (0 if the OS does not say)."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 0


def _read_number(path: str, field: str | None = None) -> int | None:
    """An integer from a /proc or /sys file (the value after ``field:``, in kB, when
    given); None when the file, the field or a number is missing."""
    try:
        with open(path) as handle:
            text = handle.read()
    except OSError:
        return None
    if field is None:
        return int(text) if text.strip().isdigit() else None
    for line in text.splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    return None


def _address_space_room() -> int | None:
    try:
        import resource
        limit = resource.getrlimit(resource.RLIMIT_AS)[0]
        if limit == resource.RLIM_INFINITY:
            return None
        with open("/proc/self/statm") as handle:
            return limit - int(handle.read().split()[0]) * resource.getpagesize()
    except (ImportError, OSError, ValueError):
        return None


def available_memory() -> int | None:
    """Bytes this process can still allocate, as far as the system says: the least
    of the kernel's MemAvailable (else physical memory), the room under a cgroup
    memory limit (containers) and the room under an address-space limit
    (``ulimit -v``). None when nothing is known (then nothing is refused)."""
    rooms = [_read_number("/proc/meminfo", "MemAvailable") or physical_memory() or None,
             _address_space_room()]
    for limit, usage in (("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
                         ("/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory/memory.usage_in_bytes")):
        cap, used = _read_number(limit), _read_number(usage)
        if cap is not None and used is not None and cap < 2**60:
            rooms.append(cap - used)
    known = [room for room in rooms if room is not None]
    return max(0, min(known)) if known else None


def memory(nbytes: int, what: str, *, limit: int | None = None, available: str = "available") -> None:
    """Refuse, with a MemoryError naming ``what``, an allocation larger than
    ``limit`` bytes (default: :func:`available_memory`). One call per public call,
    with everything that grows with the arguments counted in ``nbytes``."""
    limit = available_memory() if limit is None else limit
    if limit is not None and nbytes > limit:
        raise MemoryError(f"{what} needs {_size(nbytes)}, more than the {_size(limit)} {available}")


def _size(nbytes: int) -> str:
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if nbytes >= scale:
            return f"{nbytes / scale:.4g} {unit}"
    return f"{nbytes} bytes"


def resolved_threads(value: int) -> int:
    """The threads a core call with ``threads=value`` (0: the default) will use."""
    from . import _core
    return _core.resolve_threads(value)
