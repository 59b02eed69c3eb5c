"""Writing a command's (m, n) result as an .npy file, whole or not at all."""
from __future__ import annotations

import contextlib
import io
import os
import shutil

import numpy as np

from .._atomic_file import atomic_path
from .._validate import memory


def check_npy_path(out: str) -> None:
    if not out.endswith(".npy"):
        raise ValueError(f"--out must name a .npy file, got {out!r}")


@contextlib.contextmanager
def npy_output(out: str, shape: tuple, dtype):
    """Yields a memory map of a temporary .npy beside ``out`` to fill; renamed onto
    ``out`` when the block ends without an error, so a failed run never leaves a
    partial file or clobbers an existing one. The disk must have room for the whole
    file first (header included), and its blocks are reserved before any write:
    a write onto a full disk through a memory map is SIGBUS, a failed reservation
    an OSError."""
    dtype = np.dtype(dtype)
    folder = os.path.dirname(os.path.abspath(out))
    memory(_npy_size(shape, dtype), f"writing {out}", limit=shutil.disk_usage(folder).free,
           available="free on its disk")
    with atomic_path(out) as (handle, partial):
        target = np.lib.format.open_memmap(partial, mode="w+", dtype=dtype, shape=shape)
        if hasattr(os, "posix_fallocate"):
            os.posix_fallocate(handle, 0, os.fstat(handle).st_size)
        yield target
        target.flush()
        del target


def _npy_size(shape: tuple, dtype: np.dtype) -> int:
    """Bytes of an .npy file: the header numpy writes, then the data."""
    header = io.BytesIO()
    np.lib.format.write_array_header_2_0(header, np.lib.format.header_data_from_array_1_0(np.empty((0,), dtype))
                                         | {"shape": shape})
    return header.tell() + int(np.prod(shape, dtype=object)) * dtype.itemsize
