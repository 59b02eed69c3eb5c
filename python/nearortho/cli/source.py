"""Where a command's matrix comes from: a file or SAE directory (PATH with --key
and --layout), or a generated frame (--n, --m, --kind, --seed)."""
from __future__ import annotations

import functools
import warnings

import click
import numpy as np

from ..frame import KINDS, STRUCTURED_KINDS
from ..io import LAYOUTS

PATH = click.Path(exists=False)
KEY_HELP = "Tensor name in .npz, .safetensors or .pt files (dotted for nested checkpoints)."
LAYOUT_HELP = ("Which axis holds the features: auto reads it from the key (W_dec: rows, decoder.weight: "
               "columns) or cfg.json.")


def layout_option(command):
    return click.option("--layout", type=click.Choice(LAYOUTS), default="auto", show_default=True,
                        help=LAYOUT_HELP)(command)


def load_file(path, key, layout, directions=False, stream=False):
    """``nearortho.load``, with its warnings as one 'warning:' line each on stderr.

    The matrix is checked here, so errors name the file: finite values, and with
    ``directions`` (commands that take cosines) no zero row.

    ``stream``: for commands whose every step takes a RowFile (stats, pairs,
    match), ``.npy`` and ``.safetensors`` files (and SAE directories of them) are
    opened with ``open_rows`` instead, whatever their size: the pass then reads
    them in blocks within its memory budget, checks the rows as it reads them
    (naming the file), and a file truncated by another process mid-run is an
    error rather than SIGBUS, at the cost of one more read of the file (cheap
    next to the m^2 n pass). Other formats and big-endian files are loaded."""
    from .. import _validate as v
    from ..io import load
    from ..row_file import NotStreamable, open_rows

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        matrix = None
        if stream:
            try:
                matrix = open_rows(path, key, layout)
            except NotStreamable:
                caught.clear()
        if matrix is None:
            matrix = load(path, key, layout)
    for warning in caught:
        click.echo(f"warning: {warning.message}", err=True)
    return matrix if stream and not isinstance(matrix, np.ndarray) else v.frame_array(
        matrix, str(path), nonzero_rows=directions)


def load_other(other_path, key, layout, *, directions, like, like_path):
    """--other of stats and pairs: ``load_file`` (streamed), whose rows must have the
    length of ``like``'s (read from ``like_path``)."""
    B = load_file(other_path, key, layout, directions=directions, stream=True)
    if B.shape[1] != like.shape[1]:
        raise ValueError(f"--other {other_path} holds rows of length {B.shape[1]}, {like_path} rows of length "
                         f"{like.shape[1]}: the two must live in the same space")
    return B


def frame_source(command):
    """Adds the PATH argument and the generation options; passes ``W`` instead."""

    @click.argument("path", required=False, type=PATH)
    @click.option("--key", default=None, help=KEY_HELP)
    @layout_option
    @click.option("--n", "n", type=int, default=None, help="Generate a frame: dimension.")
    @click.option("--m", "m", type=int, default=None, help="Generate a frame: number of vectors.")
    @click.option("--kind", type=click.Choice(KINDS + STRUCTURED_KINDS), default="gaussian", show_default=True)
    @functools.wraps(command)
    def wrapper(path, key, layout, n, m, kind, **kwargs):
        return command(W=_load(path, key, layout, n, m, kind, kwargs.get("seed", 0)), **kwargs)

    return wrapper


def _load(path, key, layout, n, m, kind, seed):
    from ..frame import frame

    if path is not None:
        if n is not None or m is not None:
            raise ValueError("give either PATH or --n/--m, not both")
        return load_file(path, key, layout)
    if n is None or m is None:
        raise ValueError("give a frame file PATH, or --n and --m to generate one")
    return frame(n, m, kind, seed=seed)
