"""``nearortho frame``: generate a frame and save it as .npy."""
from __future__ import annotations

import json
import os
import shutil
import stat
import tempfile

import click
import numpy as np

from .._validate import memory
from ..frame import KINDS, STRUCTURED_KINDS, frame


def _npy_size(shape: tuple, dtype: np.dtype) -> int:
    """Bytes of an .npy file: the header numpy writes, then the data."""
    import io

    header = io.BytesIO()
    np.lib.format.write_array_header_2_0(header, np.lib.format.header_data_from_array_1_0(np.empty((0,), dtype))
                                         | {"shape": shape})
    return header.tell() + int(np.prod(shape, dtype=object)) * dtype.itemsize


def _file_mode(path: str) -> int:
    """The mode of the file being replaced, else what the umask gives a new file
    (mkstemp's own 0600 would make a shared frame unreadable to others)."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


@click.command("frame")
@click.option("--n", "n", type=int, required=True, help="Dimension (neurons).")
@click.option("--m", "m", type=int, required=True, help="Number of unit vectors (features).")
@click.option("--kind", type=click.Choice(KINDS + STRUCTURED_KINDS), default="gaussian", show_default=True)
@click.option("--s", "s", type=int, default=None, help="Nonzeros per row (kind sparse).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--dtype", type=click.Choice(["float32", "float64"]), default="float32", show_default=True)
@click.option("--threads", type=int, default=None, help="Default: OMP_NUM_THREADS or all CPUs.")
@click.option("--out", type=click.Path(dir_okay=False), required=True, help="Output .npy file.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary only.")
def frame_command(n, m, kind, s, seed, dtype, threads, out, as_json):
    """Generate m unit vectors in R^n and write them as an (m, n) .npy file."""
    options = {"s": s} if s is not None else {}
    if not out.endswith(".npy"):
        raise ValueError(f"--out must name a .npy file, got {out!r}")
    frame(n, m, kind, seed=seed, dtype=dtype, threads=threads, rows=slice(0, 0), **options)  # validate
    free = shutil.disk_usage(os.path.dirname(os.path.abspath(out))).free
    size = _npy_size((m, n), np.dtype(dtype))
    memory(size, f"writing {out}", limit=free, available="free on its disk")
    # a temporary beside the target, renamed on success: a failed run never leaves
    # a partial file or clobbers an existing one
    handle, partial = tempfile.mkstemp(suffix=".npy", dir=os.path.dirname(os.path.abspath(out)))
    try:
        os.fchmod(handle, _file_mode(out))
        target = np.lib.format.open_memmap(partial, mode="w+", dtype=np.dtype(dtype), shape=(m, n))
        # reserve the blocks before writing through the map: a write onto a full
        # disk through a memory map is SIGBUS, a failed reservation an OSError
        if hasattr(os, "posix_fallocate"):
            os.posix_fallocate(handle, 0, os.fstat(handle).st_size)
        frame(n, m, kind, seed=seed, dtype=dtype, threads=threads, out=target, **options)
        target.flush()
        del target
        os.replace(partial, out)
    finally:
        os.close(handle)
        if os.path.exists(partial):
            os.remove(partial)
    summary = {"out": out, "n": n, "m": m, "kind": kind, "seed": seed, "dtype": dtype}
    if as_json:
        click.echo(json.dumps(summary))
    else:
        click.echo(f"wrote {m} x {n} {kind} frame ({dtype}, seed {seed}) to {out}")
