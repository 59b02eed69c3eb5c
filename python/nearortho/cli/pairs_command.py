"""``nearortho pairs``: every pair of features above a cosine threshold."""
from __future__ import annotations

import click

from .output import emit, progress
from .pass_options import precision_option
from .source import KEY_HELP, PATH, layout_option, load_file, load_other
from .table_file import check_table_path, write_table

SHOWN = 10  # pairs printed; --out keeps them all


@click.command("pairs")
@click.argument("path", type=PATH)
@click.option("--threshold", type=float, required=True, help="Keep pairs with |cos| >= this (in (0, 1]).")
@click.option("--key", default=None, help=KEY_HELP)
@click.option("--other", "other_path", type=PATH, default=None, help="Pairs (row of PATH, row of OTHER) instead.")
@click.option("--other-key", default=None, help="Tensor name in --other (default: --key).")
@layout_option
@click.option("--signed", is_flag=True, help="Keep cos >= threshold only (not near-opposites).")
@click.option("--max-pairs", type=int, default=10_000_000, show_default=True, help="Refuse to collect more.")
@click.option("--out", default=None, help="Write every pair (i, j, cosine) to .csv, .npz or .parquet.")
@click.option("--threads", type=int, default=None, help="Default: OMP_NUM_THREADS or all CPUs.")
@precision_option
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON only.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def pairs_command(path, threshold, key, other_path, other_key, layout, signed, max_pairs, out, threads, precision,
                  as_json, quiet):
    """Every pair of rows of PATH whose |cosine| reaches --threshold, largest first."""
    from ..pairs import pairs

    if out is not None:
        check_table_path(out, "--out")
    W = load_file(path, key, layout, directions=True, stream=True)
    B = None if other_path is None else load_other(other_path, other_key or key, layout, directions=True,
                                                   like=W, like_path=path)
    with progress(1, "tiles", quiet=quiet) as update:
        i, j, g = pairs(W, threshold, B, signed=signed, max_pairs=max_pairs, threads=threads, precision=precision,
                        progress=lambda done, total: update(done / total))
    if out is not None:
        write_table(out, {"i": i, "j": j, "cosine": g}, "--out")
    record = {"threshold": threshold, "signed": signed, "count": len(i),
              "largest": [[int(a), int(b), float(c)] for a, b, c in zip(i[:SHOWN], j[:SHOWN], g[:SHOWN])]}
    if out is not None:
        record["out"] = out
    emit(record, as_json=as_json, title=f"pairs of {path} with |cos| >= {threshold}")
