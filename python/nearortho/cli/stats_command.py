"""``nearortho stats``: interference statistics of a frame or learned dictionary
read from a file, optionally against a second one (e.g. two SAE decoders)."""
from __future__ import annotations

import click
import numpy as np

from .output import emit, progress
from .pass_options import precision_option
from .source import KEY_HELP, PATH, layout_option, load_file, load_other
from .table_file import check_table_path, write_table

SUMMARY = ("n", "m", "m2", "pairs", "coherence", "pair", "mean", "mean_abs", "rms", "welch",
           "best_bound", "best_bound_name", "random_coherence", "inv_sqrt_n", "eps_jl", "count_above", "mmcs",
           "random_mmcs", "total_capacity")
# values for unit vectors: beside raw inner products (--raw) they would compare unlike things
COSINE_REFERENCES = ("welch", "best_bound", "best_bound_name", "random_coherence", "inv_sqrt_n", "eps_jl",
                     "random_mmcs")


@click.command("stats")
@click.argument("path", type=PATH)
@click.option("--key", default=None, help=KEY_HELP)
@click.option("--other", "other_path", type=PATH, default=None,
              help="Second file: statistics over pairs (row of PATH, row of OTHER).")
@click.option("--other-key", default=None, help="Tensor name in --other (default: --key).")
@layout_option
@click.option("--raw", is_flag=True, help="Raw inner products instead of cosines.")
@click.option("--bins", type=int, default=1024, show_default=True, help="Histogram bins of |g|.")
@click.option("--threshold", "thresholds", type=float, multiple=True, help="Count pairs with |g| above it.")
@click.option("--topk", type=int, default=0, show_default=True, help="Most interfering partners per row.")
@click.option("--threads", type=int, default=None, help="Default: OMP_NUM_THREADS or all CPUs.")
@precision_option
@click.option("--features", "features_path", default=None,
              help="Write one row per feature (norm, max |cos|, partner, sum cos^2, capacity, top-k) to .csv, "
                   ".npz or .parquet.")
@click.option("--html", "html_path", default=None,
              help="Write a self-contained page: pairs reaching each |cos| and each feature's maximum "
                   "against a random frame, top pairs, row norms.")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON only (NaN and infinities as null).")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def stats_command(path, key, other_path, other_key, layout, raw, bins, thresholds, topk, threads, precision,
                  features_path, html_path, as_json, quiet):
    """Coherence, RMS, histogram quantiles and references for the rows of PATH."""
    from ..features import feature_table
    from ..interference import interference

    if features_path is not None:
        check_table_path(features_path, "--features")
    if html_path is not None and (other_path is not None or raw):
        raise ValueError("--html describes one dictionary's cosines: drop --other and --raw")
    W = load_file(path, key, layout, directions=not raw, stream=True)
    B = None if other_path is None else load_other(other_path, other_key or key, layout, directions=not raw,
                                                   like=W, like_path=path)
    with progress(1, "tiles", quiet=quiet) as update:
        stats = interference(W, B, normalize=not raw, bins=bins, thresholds=thresholds, topk=topk,
                             per_row=True, threads=threads, precision=precision,
                             progress=lambda done, total: update(done / total))
    if features_path is not None:
        write_table(features_path, feature_table(W, stats), "--features")
    if html_path is not None:
        from ..dictionary_page import write_dictionary_page

        write_dictionary_page(html_path, W, stats, f"nearortho: the dictionary {path}")
    full = stats.to_dict()
    shown = [name for name in SUMMARY if not (raw and name in COSINE_REFERENCES)]
    record = {name: full[name] for name in shown if full.get(name) is not None}
    record["median_abs"] = stats.quantile(0.5)
    record["q99_abs"] = stats.quantile(0.99)
    lo, hi = stats.quantile_interval(0.5)  # both are histogram bin middles: say how close
    record["quantiles_within"] = 0.5 * (hi - lo)
    if stats.gram_error > 0:
        record["gram_error"] = stats.gram_error
    if as_json:
        record["hist_edges"] = np.linspace(*stats.hist_range, len(stats.hist) + 1)
        record["hist_counts"] = stats.hist
    if topk:
        record["topk_index"] = full["topk_index"]
        record["topk_value"] = full["topk_value"]
    emit(record, as_json=as_json, title=f"interference of {path}")
