"""``nearortho frame``: generate a frame and save it as .npy."""
from __future__ import annotations

import json

import click

from ..frame import KINDS, STRUCTURED_KINDS, frame
from .npy_output import check_npy_path, npy_output


@click.command("frame")
@click.option("--n", "n", type=int, required=True, help="Dimension (neurons).")
@click.option("--m", "m", type=int, required=True, help="Number of unit vectors (features).")
@click.option("--kind", type=click.Choice(KINDS + STRUCTURED_KINDS), default="gaussian", show_default=True,
              help="Random, any n and m: gaussian, sign, sparse, orthogonal, srht. Structured (fixed "
                   "constructions, the first m rows): kerdock (n = 2^r; m <= n (n/2 + 1) for n = 4^k, else "
                   "m <= 2n), simplex (m <= n + 1), conference (2n - 1 a prime power = 1 mod 4, m <= 2n), "
                   "lines28 (n = 7, m <= 28).")
@click.option("--s", "s", type=int, default=None, help="Nonzeros per row (kind sparse).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the random kinds (structured "
              "kinds do not use it).")
@click.option("--dtype", type=click.Choice(["float32", "float64"]), default="float32", show_default=True)
@click.option("--threads", type=int, default=None, help="Default: OMP_NUM_THREADS or all CPUs.")
@click.option("--out", type=click.Path(dir_okay=False), required=True, help="Output .npy file.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary only.")
def frame_command(n, m, kind, s, seed, dtype, threads, out, as_json):
    """Generate m unit vectors in R^n and write them as an (m, n) .npy file."""
    if s is not None and kind != "sparse":
        raise ValueError(f"--s is for --kind sparse; got --kind {kind}")
    options = {"s": s} if s is not None else {}
    check_npy_path(out)
    frame(n, m, kind, seed=seed, dtype=dtype, threads=threads, rows=slice(0, 0), **options)  # validate
    with npy_output(out, (m, n), dtype) as target:
        frame(n, m, kind, seed=seed, dtype=dtype, threads=threads, out=target, **options)
    seeded = kind not in STRUCTURED_KINDS
    summary = {"out": out, "n": n, "m": m, "kind": kind, "seed": seed if seeded else None, "dtype": dtype}
    if as_json:
        click.echo(json.dumps(summary))
    else:
        click.echo(f"wrote {m} x {n} {kind} frame ({dtype}{f', seed {seed}' if seeded else ''}) to {out}")
