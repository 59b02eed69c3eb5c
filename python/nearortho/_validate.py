"""Argument checks shared by every public function (one place owns the policy).

Wrong type -> TypeError, wrong value -> ValueError; messages name the argument.
"""
from __future__ import annotations

import numbers
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


def real(value, name: str, *, low: float | None = None, high: float | None = None,
         low_open: bool = False, high_open: bool = False) -> float:
    """Return ``value`` as a finite float inside the stated interval."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    if low is not None and (value < low or (low_open and value == low)):
        raise ValueError(f"{name} must be {'>' if low_open else '>='} {low}, got {value}")
    if high is not None and (value > high or (high_open and value == high)):
        raise ValueError(f"{name} must be {'<' if high_open else '<='} {high}, got {value}")
    return value


def seed(value) -> int:
    return integer(value, "seed", minimum=0, maximum=2**64 - 1)


def threads(value) -> int:
    """``None`` means what OpenMP would use (passed to the core as 0)."""
    if value is None:
        return 0
    return integer(value, "threads", minimum=1, maximum=4096)


def float_dtype(value, name: str = "dtype") -> np.dtype:
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


def frame_array(value, name: str = "W") -> np.ndarray:
    """A frame as a 2-D, non-empty, finite, C-contiguous float32/float64 array.

    Anything with ``__array__`` is accepted; other dtypes are a TypeError (never a
    silent cast); a non-contiguous or negative-stride view is copied.
    """
    if not isinstance(value, np.ndarray):
        if not hasattr(value, "__array__"):
            raise TypeError(f"{name} must be an array, got {type(value).__name__}")
        value = np.asarray(value)
    float_dtype(value.dtype, f"{name}.dtype")
    if value.ndim != 2:
        raise ValueError(f"{name} must be 2-D (m, n), got {value.ndim}-D")
    if value.size == 0:
        raise ValueError(f"{name} must be non-empty, got shape {value.shape}")
    if not np.isfinite(value).all():
        raise ValueError(f"{name} must be finite (found NaN or Inf)")
    return np.ascontiguousarray(value)


def probability(value, name: str) -> float:
    """A rate strictly inside (0, 1)."""
    return real(value, name, low=0.0, high=1.0, low_open=True, high_open=True)
