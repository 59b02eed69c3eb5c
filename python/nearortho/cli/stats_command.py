"""``nearortho stats``: interference statistics of a frame or learned dictionary
read from a file, optionally against a second one (e.g. two SAE decoders)."""
from __future__ import annotations

import click

from .output import emit, progress

SUMMARY = ("n", "m", "m2", "pairs", "coherence", "pair", "mean", "mean_abs", "rms", "welch",
           "best_bound", "best_bound_name", "random_coherence", "inv_sqrt_n", "eps_jl", "count_above", "mmcs")


@click.command("stats")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--key", default=None, help="Tensor/array name in .npz, .safetensors or .pt files.")
@click.option("--other", "other_path", type=click.Path(dir_okay=False), default=None,
              help="Second file: statistics over pairs (row of PATH, row of OTHER).")
@click.option("--other-key", default=None, help="Tensor name in --other.")
@click.option("--transpose", is_flag=True, help="Rows are columns in the file(s), as in many SAE decoders.")
@click.option("--raw", is_flag=True, help="Raw inner products instead of cosines.")
@click.option("--bins", type=int, default=1024, show_default=True, help="Histogram bins of |g|.")
@click.option("--threshold", "thresholds", type=float, multiple=True, help="Count pairs with |g| above it.")
@click.option("--topk", type=int, default=0, show_default=True, help="Most interfering partners per row.")
@click.option("--threads", type=int, default=None, help="Default: OMP_NUM_THREADS or all CPUs.")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON only.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def stats_command(path, key, other_path, other_key, transpose, raw, bins, thresholds, topk, threads,
                  as_json, quiet):
    """Coherence, RMS, histogram quantiles and references for the rows of PATH."""
    from ..interference import interference
    from ..io import load_matrix

    W = load_matrix(path, key, transpose=transpose)
    B = None if other_path is None else load_matrix(other_path, other_key, transpose=transpose)
    with progress(1, "tiles", quiet=quiet) as update:
        stats = interference(W, B, normalize=not raw, bins=bins, thresholds=thresholds, topk=topk,
                             per_row=B is not None or topk > 0, threads=threads,
                             progress=lambda done, total: update(done / total))
    full = stats.to_dict()
    record = {name: full[name] for name in SUMMARY if full.get(name) is not None}
    record["median_abs"] = stats.quantile(0.5)
    record["q99_abs"] = stats.quantile(0.99)
    if topk:
        record["topk_index"] = full["topk_index"]
        record["topk_value"] = full["topk_value"]
    emit(record, as_json=as_json, title=f"interference of {path}")
