"""Where a command's frame comes from: a file (PATH with --key/--transpose) or a
generated frame (--n, --m, --kind, --seed)."""
from __future__ import annotations

import functools

import click

from ..frame import KINDS, STRUCTURED_KINDS


def frame_source(command):
    """Adds the PATH argument and the generation options; passes ``W`` instead."""

    @click.argument("path", required=False, type=click.Path(dir_okay=False))
    @click.option("--key", default=None, help="Tensor/array name in .npz, .safetensors or .pt files.")
    @click.option("--transpose", is_flag=True, help="Rows are columns in the file.")
    @click.option("--n", "n", type=int, default=None, help="Generate a frame: dimension.")
    @click.option("--m", "m", type=int, default=None, help="Generate a frame: number of vectors.")
    @click.option("--kind", type=click.Choice(KINDS + STRUCTURED_KINDS), default="gaussian", show_default=True)
    @functools.wraps(command)
    def wrapper(path, key, transpose, n, m, kind, **kwargs):
        return command(W=_load(path, key, transpose, n, m, kind, kwargs.get("seed", 0)), **kwargs)

    return wrapper


def _load(path, key, transpose, n, m, kind, seed):
    from ..frame import frame
    from ..io import load_matrix

    if path is not None:
        if n is not None or m is not None:
            raise ValueError("give either PATH or --n/--m, not both")
        return load_matrix(path, key, transpose=transpose)
    if n is None or m is None:
        raise ValueError("give a frame file PATH, or --n and --m to generate one")
    return frame(n, m, kind, seed=seed)
