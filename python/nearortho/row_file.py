"""Matrices larger than memory: a file region that the interference pass reads
row block by row block (``open_rows``), never memory-mapped and never whole.

A ``RowFile`` names where the values of a ``.npy`` array or a ``.safetensors``
tensor sit in the file (offset, stored dtype, shape, and whether the matrix's
rows are the file's columns). :func:`nearortho.interference`,
:func:`~nearortho.neighbors`, :func:`~nearortho.pairs` and
:func:`~nearortho.match` accept one (or a path) and pack only the blocks in use,
within their ``memory=`` budget; the core reads each block with ``pread``, so a
file truncated or rewritten while it is read raises an error naming it instead
of crashing the process (SIGBUS) as a memory map would. Tests:
tests/test_streaming.py.
"""
from __future__ import annotations

import dataclasses
import os

import numpy as np

from . import io

__all__ = ["NotStreamable", "RowFile", "open_rows"]

STREAMABLE = (".npy", ".safetensors")
_ITEMSIZE = {"float16": 2, "bfloat16": 2, "float32": 4, "float64": 8}


class NotStreamable(ValueError):
    """The file is sound but cannot be read row block by row block (its format or
    byte order); :func:`nearortho.load` reads it."""


@dataclasses.dataclass(frozen=True)
class RowFile:
    """Rows of a matrix stored in a file (see :func:`open_rows`).

    ``shape`` is (rows, n) with rows the features; ``stored`` the dtype in the
    file (little-endian float16, bfloat16, float32 or float64); ``dtype`` the
    working dtype it is read as (float64 for float64, else float32, exactly as
    :func:`nearortho.load` widens). ``transposed``: the file holds the n x rows
    matrix row-major (the matrix's rows are its columns, read in n strided
    pieces, slower). Indexing with a slice or an integer array reads those rows.
    """

    path: str
    offset: int
    stored: str
    shape: tuple
    transposed: bool = False

    ndim = 2

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(np.float64 if self.stored == "float64" else np.float32)

    @property
    def nbytes(self) -> int:
        """Bytes of the working-dtype matrix (what loading it whole would take)."""
        return self.shape[0] * self.shape[1] * self.dtype.itemsize

    def __len__(self) -> int:
        return self.shape[0]

    def _spec(self) -> tuple:
        """What the core's row source reads (cpp/include/nearortho/row_source.hpp)."""
        return (self.path, self.offset, self.stored, self.shape[0], self.shape[1], self.transposed)

    def __getitem__(self, rows) -> np.ndarray:
        """Rows ``rows`` (a slice without step, or integer indices) as a working-dtype array."""
        m, n = self.shape
        if isinstance(rows, slice):
            start, stop, step = rows.indices(m)
            if step != 1:
                raise ValueError("a RowFile reads row slices without a step")
            rows = np.arange(start, max(start, stop))
        rows = np.asarray(rows, dtype=np.int64).ravel()
        if rows.size and (rows.min() < -m or rows.max() >= m):
            raise IndexError(f"row index out of range for {m} rows")
        rows = np.where(rows < 0, rows + m, rows)
        size = _ITEMSIZE[self.stored]
        with open(self.path, "rb") as handle:
            if self.transposed:  # one strided piece per coordinate, over the span of the rows asked
                lo, hi = (int(rows.min()), int(rows.max()) + 1) if rows.size else (0, 0)
                raw = b"".join(_pread(handle, self.path, (hi - lo) * size, self.offset + (k * m + lo) * size)
                               for k in range(n))
                values = _decode(raw, self.stored).reshape(n, hi - lo).T[rows - lo]
            else:
                raw = _read_rows(handle, self.path, rows, n * size, self.offset)
                values = _decode(raw, self.stored).reshape(len(rows), n)
        return np.ascontiguousarray(values, dtype=self.dtype)


def _read_rows(handle, path: str, rows: np.ndarray, row_bytes: int, offset: int) -> bytearray:
    """The rows (indices) of a row-major region, in order: each run of consecutive
    rows read straight into the result, in pieces of at most _PIECE bytes."""
    out = bytearray(len(rows) * row_bytes)
    view = memoryview(out)
    position = 0
    for run in np.split(rows, np.flatnonzero(np.diff(rows) != 1) + 1) if rows.size else ():
        start, length = offset + int(run[0]) * row_bytes, len(run) * row_bytes
        for piece in range(0, length, _PIECE):
            size = min(_PIECE, length - piece)
            _pread_into(handle, path, view[position + piece:position + piece + size], start + piece)
        position += length
    return out


def _pread_into(handle, path: str, buffer: memoryview, offset: int) -> None:
    """Fills buffer from the file at offset (a short read continues; end of file is an OSError)."""
    done = 0
    while done < len(buffer):
        got = os.preadv(handle.fileno(), [buffer[done:]], offset + done)
        if got == 0:
            raise OSError(f"{path} ended at byte {offset + done}, before the {offset + len(buffer)} needed: it was "
                          "truncated or rewritten while being read")
        done += got


def _pread(handle, path: str, size: int, offset: int) -> bytearray:
    data = bytearray(size)
    _pread_into(handle, path, memoryview(data), offset)
    return data


_PIECE = 1 << 28  # bytes per read of a run of rows (reads past 2 GiB come back short on Linux)


def _decode(raw, stored: str) -> np.ndarray:
    if stored == "bfloat16":
        return (np.frombuffer(raw, "<u2").astype(np.uint32) << 16).view(np.float32)
    return np.frombuffer(raw, "<" + {"float16": "f2", "float32": "f4", "float64": "f8"}[stored])


def open_rows(path, key: str | None = None, layout: str = "auto") -> RowFile:
    """Where the matrix :func:`nearortho.load` would return sits in its file, to be
    read row block by row block instead of loaded.

    ``path``, ``key`` and ``layout`` are those of :func:`nearortho.load`; the file must be a ``.npy``
    (C or Fortran order) or ``.safetensors`` file, or an SAELens/sparsify
    directory of one (a dictionary_learning directory holds ``ae.pt``), holding little-endian float16, bfloat16, float32 or float64
    values. ``layout="columns"`` (or a Fortran-order ``.npy``) reads the matrix's
    rows as the file's columns: n strided reads per block, correct but slower.
    Other formats and big-endian values raise ``NotStreamable`` (a ValueError;
    :func:`nearortho.load` reads them).
    """
    path, width = io._file_of(path, key, layout)
    suffix = os.path.splitext(path)[1].lower()
    if suffix not in STREAMABLE:
        raise NotStreamable(f"only {' and '.join(STREAMABLE)} files can be read row block by row block, got "
                            f"{path!r}; load it with nearortho.load")
    io._check_regular_file(path)
    if suffix == ".npy":
        if key is not None:
            raise ValueError("key is not used with .npy files (they hold one array)")
        name, shape, stored, offset, fortran = None, *_npy_region(path)
    else:
        name, shape, stored, offset = _safetensors_region(path, key)
        fortran = False
    if len(shape) != 2:
        what = "the array" if name is None else f"the array {name!r}"
        raise ValueError(f"{what} in {path} must be 2-D (features x dimension), got shape {tuple(shape)}")
    if layout == "auto":
        layout = io._auto_layout(name, tuple(shape), width, path)
    columns = layout == "columns"
    rows, n = (shape[1], shape[0]) if columns else (shape[0], shape[1])
    if rows * n == 0:
        raise ValueError(f"the array in {path} must not be empty, got shape {tuple(shape)}")
    end = offset + rows * n * _ITEMSIZE[stored]
    if os.path.getsize(path) < end:
        raise ValueError(f"{path} holds {os.path.getsize(path)} bytes, fewer than the {end} its header describes "
                         "(truncated?)")
    io._warn_if_wide((rows, n), layout, path)
    # the file's row-major matrix is (shape[0], shape[1]), or its transpose when Fortran-ordered
    return RowFile(path, offset, stored, (int(rows), int(n)), transposed=columns != fortran)


def _npy_region(path: str) -> tuple:
    """Shape, stored dtype, data offset and Fortran order of a .npy file's array."""
    with open(path, "rb") as handle:
        try:
            shape, fortran, dtype = io.npy_header(handle)
        except ValueError as error:
            raise ValueError(f"{path} is not a .npy array of numbers ({error})") from None
        offset = handle.tell()
    if dtype.kind != "f" or dtype.itemsize not in (2, 4, 8):
        raise TypeError(f"the array in {path} must hold float16, float32 or float64 values, got {dtype}")
    if dtype.byteorder == ">" or (dtype.byteorder == "=" and np.little_endian is False):
        raise NotStreamable(f"{path} holds big-endian values, which are not read block by block; "
                            "nearortho.load reads them (as a native copy)")
    return tuple(shape), dtype.name, offset, bool(fortran)


def _safetensors_region(path: str, key: str | None) -> tuple:
    """Name, shape, stored dtype and data offset of the chosen tensor, after the
    safetensors reader has validated the header."""
    with io.safetensors_tensor(path, key) as (_, name, kind):
        shape, begin, _ = io.safetensors_entry(path, name)
    return name, shape, io.SAFETENSORS_FLOATS[kind], begin
