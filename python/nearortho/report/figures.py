"""Shared figure conventions: full-width figures, one legend below the panels, a
distinct marker for every series, small horizontal jitter so equal points stay
visible, and plain (not 10^x) tick labels at the measured sizes."""
from __future__ import annotations

import base64
import io

# one style per series name, so a kind looks the same in every figure
STYLES = {
    "gaussian": dict(marker="o", color="#1f77b4"),
    "sign": dict(marker="s", color="#ff7f0e"),
    "sparse": dict(marker="^", color="#2ca02c"),
    "orthogonal": dict(marker="D", color="#d62728"),
    "srht": dict(marker="v", color="#9467bd"),
    "kerdock": dict(marker="*", color="#8c564b"),
    "optimised": dict(marker="P", color="#e377c2"),
    "none": dict(marker="o", color="#d62728"),
    "threshold": dict(marker="s", color="#2ca02c"),
    "relu": dict(marker="^", color="#ff7f0e"),
}
CYCLE = [dict(marker=m, color=c) for m, c in
         zip("osD^v<>ph", ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
                           "#e377c2", "#7f7f7f", "#bcbd22"))]
# reference lines (predictions)
C1_LINE = dict(color="black", linestyle="-", linewidth=1.2)
JL_LINE = dict(color="#d62728", linestyle="--", linewidth=1.2)
WELCH_LINE = dict(color="gray", linestyle=":", linewidth=1.5)
LAW_LINE = dict(color="#1f77b4", linestyle="-.", linewidth=1.2)


def new_figure(height: float = 3.8):
    """An empty figure as wide as the page (11 in at 110 dpi); a section's draw adds panels."""
    from matplotlib.figure import Figure

    return Figure(figsize=(11, height), dpi=110, layout="constrained")


def panels(figure, count: int) -> list:
    """``count`` axes side by side (small multiples)."""
    return list(figure.subplots(1, count, squeeze=False)[0])


def jittered(xs, index: int, count: int, spread: float = 0.05) -> list:
    """xs shifted multiplicatively (log axes) so ``count`` series at one x don't hide each other."""
    factor = (1 + spread) ** (index - (count - 1) / 2)
    return [x * factor for x in xs]


def hollow(ax, xs, ys, label: str, style: dict) -> None:
    """Measured points: hollow markers, so points that overlap a line or each other stay visible."""
    ax.plot(xs, ys, linestyle="none", markersize=8, markerfacecolor="none", markeredgewidth=1.5, label=label,
            **style)


def against_l(ax, rows, measured: tuple, c1: tuple, jl: tuple, ylabel: str, title: str) -> None:
    """Measured points over the rows' l beside C1's and the post's (eps_JL) predictions, log-log;
    each of measured, c1, jl is (row key, label)."""
    ls = [r["l"] for r in rows]
    ax.plot(ls, [r[c1[0]] for r in rows], label=c1[1], **C1_LINE)
    ax.plot(ls, [r[jl[0]] for r in rows], label=jl[1], **JL_LINE)
    hollow(ax, ls, [r[measured[0]] for r in rows], measured[1], CYCLE[0])
    ax.set(xscale="log", yscale="log", xlabel="active features l", ylabel=ylabel, title=title)
    plain_log_ticks(ax, ls)


def plain_log_ticks(ax, values, axis: str = "x") -> None:
    """Major ticks at exactly ``values`` and no minor ones (``tidy`` labels them)."""
    from matplotlib.ticker import FixedLocator, NullLocator

    target = ax.xaxis if axis == "x" else ax.yaxis
    target.set_major_locator(FixedLocator(sorted(set(values))))
    target.set_minor_locator(NullLocator())


def tidy(figure) -> None:
    """Plain numbers on log axes (1, 10, 100 rather than 10^0, 10^1, 10^2); no minor labels."""
    from matplotlib.ticker import FuncFormatter, NullFormatter

    for ax in figure.axes:
        for axis, scale in ((ax.xaxis, ax.get_xscale()), (ax.yaxis, ax.get_yscale())):
            if scale in ("log", "symlog"):
                axis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
                axis.set_minor_formatter(NullFormatter())


def legend_below(figure, columns: int = 5) -> None:
    """One legend for all panels, below them, so it covers no data."""
    handles, labels, seen = [], [], set()
    for ax in figure.axes:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            if label not in seen:
                seen.add(label)
                handles.append(handle)
                labels.append(label)
    # as many columns as fit the figure's width: about 0.08 in per character plus the marker
    width = figure.get_figwidth() / (0.08 * max(map(len, labels)) + 0.9)
    figure.legend(handles, labels, loc="outside lower center", ncols=max(1, min(columns, len(labels), int(width))),
                  frameon=False, fontsize=10)


def png_data_uri(figure) -> str:
    """The figure as a data: URI (the report is one self-contained file)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
