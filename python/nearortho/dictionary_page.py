"""A self-contained HTML page about one dictionary (``nearortho stats --html``):
how many pairs reach each |cos|, and each feature's maximum |cos|, against a
random frame of the same size; its most similar pairs; its row norms."""
from __future__ import annotations

import base64
import html
import io

import numpy as np

from . import reference
from ._atomic_file import atomic_path
from .features import row_norms
from .interference import InterferenceStats

__all__ = ["write_dictionary_page"]

NEAR_ZERO = 1e-3  # a row whose norm is below this fraction of the median norm is flagged
TOP_PAIRS = 20
_STYLE = ("body{font-family:system-ui,sans-serif;max-width:60em;margin:2em auto;color:#222}"
          "table{border-collapse:collapse;font-size:.9em}td,th{border:1px solid #ccc;padding:.2em .6em;"
          "text-align:right}th{background:#f3f3f3}img{max-width:100%}.warn{color:#a40}")


def _png(draw) -> str:
    try:
        import matplotlib
    except ImportError as error:
        raise ImportError('--html needs matplotlib: pip install "nearortho[plot]"') from error
    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    figure = Figure(figsize=(7, 3.6), dpi=100)
    draw(figure.add_subplot())
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return f"<img alt='' src='data:image/png;base64,{base64.b64encode(buffer.getvalue()).decode()}'>"


def _table(rows, header) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(_cell(c))}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _cell(value) -> str:
    return f"{value:.4g}" if isinstance(value, (float, np.floating)) else str(value)


def _top_pairs(stats: InterferenceStats) -> list:
    """The most similar pairs (i < j), from each row's best partner."""
    i = np.arange(stats.m)
    j = stats.row_argmax
    lo, hi = np.minimum(i, j), np.maximum(i, j)
    keys, first = np.unique(lo * stats.m + hi, return_index=True)
    order = first[np.argsort(-stats.row_max[first], kind="stable")][:TOP_PAIRS]
    return [(int(lo[t]), int(hi[t]), float(stats.row_max[t])) for t in order]


def write_dictionary_page(path: str, W, stats: InterferenceStats, title: str) -> None:
    """Write the page for the rows of ``W`` from ``stats = interference(W, per_row=True)``."""
    if stats.row_max is None or stats.m2 is not None or not stats.normalize:
        raise ValueError("the page needs interference(W, per_row=True) of one frame with cosines")
    n, m = stats.n, stats.m
    norms = row_norms(W)
    flagged = np.flatnonzero(norms < NEAR_ZERO * np.median(norms))
    edges = np.linspace(*stats.hist_range, len(stats.hist) + 1)

    def cosines(axis):
        # Pairs at or above each bin's lower edge, not pairs per bin: the cosines of sign,
        # Kerdock or Paley frames take a few values, one bin in tens, and those bins' spikes
        # stood far above a random frame's smooth per-bin curve at the same total.
        at_least = np.cumsum(stats.hist[::-1])[::-1]
        expected = stats.pairs * reference.beta_tail(n, edges[:-1])
        last = min(len(at_least), max(1, int(np.flatnonzero(at_least + (expected > 0.5)).max()) + 2))
        axis.stairs(at_least[:last], edges[:last + 1], baseline=None, label="this dictionary", zorder=3)
        axis.plot(edges[:last], expected[:last], label="random frame (expected)")
        # from half a pair: near |cos| = 1 (a duplicate feature) a random frame expects 1e-300 pairs
        top = 2 * max(stats.pairs, 1)
        axis.set(yscale="log", ylim=(0.5, top), xlabel="|cos| between two features x",
                 ylabel="pairs with |cos| >= x")
        axis.legend()

    def maxima(axis):
        bins = np.linspace(0.0, 1.0, 101)
        counts, _ = np.histogram(stats.row_max, bins=bins)
        expected = m * np.diff(reference.random_max_cdf(n, stats.partners, bins))
        axis.stairs(counts, bins, label="this dictionary")
        axis.stairs(expected, bins, label="random frame (expected)")
        # log, from half a feature: a few near-duplicates beside bins of thousands stay visible
        axis.set(yscale="log", ylim=(0.5, 2 * max(counts.max(), expected.max(), 1)),
                 xlabel="max |cos| of a feature with any other", ylabel="features per bin")
        axis.legend()

    def norm_plot(axis):
        lo, hi = float(norms.min()), float(norms.max())
        if hi - lo <= 1e-9 * hi:  # equal up to rounding (unit rows in float64): numpy finds no room for 100 bins
            lo, hi = 0.999 * lo, 1.001 * hi
        axis.hist(norms, bins=100, range=(lo, hi))
        axis.set(xlabel="row norm (before normalising)", ylabel="features")

    summary = [("features m", m, ""), ("dimension n", n, ""),
               ("coherence (max |cos|)", stats.coherence, f"random frame: {stats.random_coherence:.4g}, "
                                                          f"Welch bound: {stats.welch:.4g}"),
               ("mean max |cos|", stats.mmcs, f"random frame: {stats.random_mmcs:.4g}"),
               ("RMS cos", stats.rms, f"random frame: 1/sqrt(n) = {stats.inv_sqrt_n:.4g}"),
               ("total capacity", float(stats.capacity.sum()), f"at most n = {n}")]
    warning = (f"<p class='warn'>{len(flagged)} rows have a norm below {NEAR_ZERO:g} x the median: "
               f"{', '.join(map(str, flagged[:50]))}{' ...' if len(flagged) > 50 else ''}</p>" if len(flagged) else
               "<p>No row has a near-zero norm.</p>")
    parts = [f"<!doctype html><meta charset='utf-8'><title>{html.escape(title)}</title><style>{_STYLE}</style>",
             f"<h1>{html.escape(title)}</h1>",
             "<p>Rows are features. Every row is normalised before cosines are taken, so the norms below do not "
             "enter the statistics; the random frame has the same n and m, rows uniform on the sphere.</p>",
             _table(summary, ["quantity", "measured", "reference"]),
             "<h2>Pairs with |cos| at least x</h2>", _png(cosines),
             "<h2>Each feature's maximum |cos|</h2>", _png(maxima),
             f"<h2>The {TOP_PAIRS} most similar pairs</h2>", _table(_top_pairs(stats), ["i", "j", "|cos|"]),
             "<h2>Row norms</h2>", warning, _png(norm_plot)]
    with atomic_path(path) as (_, partial), open(partial, "w", encoding="utf-8") as handle:
        handle.write("\n".join(parts))
