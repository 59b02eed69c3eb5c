"""Inputs of the interference pass that may be larger than memory, and how many
rows it packs at a time to stay within a ``memory=`` budget (the pass itself:
cpp/src/interference.cpp). Tests: tests/test_streaming.py."""
from __future__ import annotations

import os

import numpy as np

from . import _core
from . import _validate as v
from .row_file import RowFile, open_rows

# The default budget: this fraction of the memory available when the call starts.
DEFAULT_FRACTION = 0.5


def matrix(value, name: str):
    """A RowFile (a path is opened with :func:`open_rows`), or an array as
    :func:`_validate.float_matrix` returns it."""
    if isinstance(value, (str, os.PathLike)):
        return open_rows(value)
    if isinstance(value, RowFile):
        return value
    return v.float_matrix(value, name)


def budget(memory) -> int | None:
    """Bytes the pass may use: ``memory`` (an int > 0), or by default
    DEFAULT_FRACTION of :func:`_validate.available_memory` (None: unknown)."""
    if memory is None:
        available = v.available_memory()
        return None if available is None else int(available * DEFAULT_FRACTION)
    return v.integer(memory, "memory", minimum=1)


def packed_row_bytes(n: int, itemsize: int) -> int:
    """One packed row: n rounded up to an odd length (the panel stride)."""
    return (n | 1) * itemsize


def plan(W, B, n: int, itemsize: int, fixed: int, memory, threads: int, what: str) -> int:
    """Rows per packed block (a multiple of the core's tile, 0 for whole sources)
    so that ``fixed`` bytes, the read buffers and two packed blocks fit the budget.

    ``memory`` given and too small for two blocks of one tile each: ValueError;
    by default: MemoryError (the machine has too little available)."""
    limit = budget(memory)
    files = [s for s in (W, B) if isinstance(s, RowFile)]
    buffers = threads * max((_core.row_buffer_bytes(s.stored, n, itemsize) for s in files), default=0)
    panel = _core.PANEL_BYTES // itemsize
    rows = [len(s) for s in (W, B) if s is not None]
    whole = fixed + buffers + sum((r + panel) * packed_row_bytes(n, itemsize) for r in rows)
    if limit is None or whole <= limit:
        return 0
    tile = _core.INTERFERENCE_TILE
    least = fixed + buffers + 2 * tile * packed_row_bytes(n, itemsize)
    block = (limit - fixed - buffers) // (2 * packed_row_bytes(n, itemsize)) // tile * tile
    if block < tile:
        if memory is not None:
            raise ValueError(f"memory must be at least {least} bytes for {what} (two blocks of {tile} rows, "
                             f"read buffers and per-row outputs), got {limit}")
        v.memory(least, what)  # more than half of what is available, but it fits
        block = tile
    return int(min(block, max(rows) + tile - 1) // tile * tile)


def dtype_of(W, B) -> np.dtype:
    """The working dtype: the wider of the two inputs' (RowFiles are read as it)."""
    return np.promote_types(W.dtype, W.dtype if B is None else B.dtype)
