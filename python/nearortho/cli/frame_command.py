"""``nearortho frame``: generate a frame and save it as .npy."""
from __future__ import annotations

import json
import os
import shutil
import tempfile

import click
import numpy as np

from .._validate import memory
from ..frame import KINDS, STRUCTURED_KINDS, frame


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
    memory(m * n * np.dtype(dtype).itemsize, f"writing {out}", limit=free)
    # a temporary beside the target, renamed on success: a failed run never leaves
    # a partial file or clobbers an existing one
    handle, partial = tempfile.mkstemp(suffix=".npy", dir=os.path.dirname(os.path.abspath(out)))
    os.close(handle)
    try:
        target = np.lib.format.open_memmap(partial, mode="w+", dtype=np.dtype(dtype), shape=(m, n))
        frame(n, m, kind, seed=seed, dtype=dtype, threads=threads, out=target, **options)
        target.flush()
        del target
        os.replace(partial, out)
    finally:
        if os.path.exists(partial):
            os.remove(partial)
    summary = {"out": out, "n": n, "m": m, "kind": kind, "seed": seed, "dtype": dtype}
    if as_json:
        click.echo(json.dumps(summary))
    else:
        click.echo(f"wrote {m} x {n} {kind} frame ({dtype}, seed {seed}) to {out}")
