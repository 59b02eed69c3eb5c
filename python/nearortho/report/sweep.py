"""The interference sweep that the typical- and worst-case sections share."""
from __future__ import annotations

from ..frame import KINDS, frame
from ..interference import interference
from ..theory import theory
from .figures import STYLES, hollow, jittered, legend_below, panels, plain_log_ticks
from .sizes import Sizes

# kinds whose rows are independent: the setting of C1 and of the random-frame law
IID_KINDS = ("gaussian", "sign", "sparse")


def interference_sweep(sizes: Sizes, seed: int, tick) -> list:
    """One record per (n, m, kind): measured RMS and coherence beside the references."""
    records = []
    for n in sizes.dims:
        for ratio in sizes.ratios:
            m = min(ratio * n, sizes.max_m)
            ref = theory(n, m)
            for kind in KINDS:
                stats = interference(frame(n, m, kind, seed=seed), per_row=False)
                records.append({
                    "kind": kind, "n": n, "m": m, "rms": stats.rms, "coherence": stats.coherence,
                    "inv_sqrt_n": float(ref.eps_rms), "eps_jl": float(ref.eps_jl),
                    "welch": float(ref.welch), "random_coherence": float(ref.random_coherence),
                })
                tick(f"interference {kind} n={n} m={m}")
    return records


def draw_in_units_of_typical(records, figure, column: str, ylabel: str, lines) -> None:
    """One panel per m / n: ``column`` x sqrt(n) of every kind against n (jittered so no kind
    hides another), with reference ``lines`` = [(record column, style, label)] on the same scale."""
    ratios = sorted({r["m"] / r["n"] for r in records})
    for ax, ratio in zip(panels(figure, len(ratios)), ratios):
        at = sorted((r for r in records if r["m"] / r["n"] == ratio), key=lambda r: r["n"])
        for index, kind in enumerate(KINDS):
            pts = [r for r in at if r["kind"] == kind]
            hollow(ax, jittered([r["n"] for r in pts], index, len(KINDS)),
                   [r[column] / r["inv_sqrt_n"] for r in pts], kind, STYLES[kind])
        ref = [r for r in at if r["kind"] == KINDS[0]]
        dims = [r["n"] for r in ref]
        for line_column, style, label in lines:
            ax.plot(dims, [r[line_column] / r["inv_sqrt_n"] for r in ref], label=label, **style)
        ax.set(xscale="log", yscale="log", xlabel="dimension n", ylabel=ylabel, title=f"m = {ratio:g} n")
        plain_log_ticks(ax, dims)
        plain_log_ticks(ax, [0.8, 1, 2, 4, 8], axis="y")
    legend_below(figure, columns=8)
