"""``nearortho match``: one-to-one matching of the features of two dictionaries."""
from __future__ import annotations

import click

from .output import emit, progress
from .pass_options import precision_option
from .source import KEY_HELP, PATH, layout_option, load_file
from .table_file import check_table_path, write_table

SUMMARY = ("ma", "mb", "matched", "mean", "fraction_above", "total", "upper_bound", "gap", "certified", "k",
           "candidates", "unmatched_a", "unmatched_b")


@click.command("match")
@click.argument("a_path", metavar="A", type=PATH)
@click.argument("b_path", metavar="B", type=PATH)
@click.option("--key", default=None, help=KEY_HELP)
@click.option("--other-key", default=None, help="Tensor name in B (default: --key).")
@layout_option
@click.option("--signed", is_flag=True, help="Maximise the sum of cosines, not of |cos|.")
@click.option("--k", "k", type=int, default=8, show_default=True, help="Candidate partners per feature at first.")
@click.option("--out", default=None, help="Write the pairs (a, b, cosine) to .csv, .npz or .parquet.")
@click.option("--threads", type=int, default=None, help="Default: OMP_NUM_THREADS or all CPUs.")
@precision_option
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON only (NaN and infinities as null).")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def match_command(a_path, b_path, key, other_key, layout, signed, k, out, threads, precision, as_json, quiet):
    """Match the features (rows) of A one-to-one to those of B, maximising total |cos|."""
    from ..match import match

    if out is not None:
        check_table_path(out, "--out")
    A = load_file(a_path, key, layout, directions=True, stream=True)
    B = load_file(b_path, other_key or key, layout, directions=True, stream=True)
    with progress(1, "tiles", quiet=quiet) as update:  # the first top-k pass, then each round's
        result = match(A, B, signed=signed, k=k, threads=threads, precision=precision,
                       progress=lambda done, total: update(done / total))
    if out is not None:
        write_table(out, {"a": result.a_index, "b": result.b_index, "cosine": result.cosine}, "--out")
    record = {name: getattr(result, name, None) for name in SUMMARY}
    record.update(ma=len(A), mb=len(B), matched=len(result.a_index), unmatched_a=len(result.unmatched_a),
                  unmatched_b=len(result.unmatched_b))
    if out is not None:
        record["out"] = out
    emit(record, as_json=as_json, title=f"matching {a_path} to {b_path}")
