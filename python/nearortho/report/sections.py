"""The report's six parts: each measures one claim of the post (seed/MATH.md)
and returns a table, a figure, and a one-line verdict computed from the numbers."""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..capacity import capacity, levels
from ..compound import compound
from ..frame import KINDS, frame
from ..interference import interference
from ..simulate import simulate
from ..theory import theory
from .sizes import Sizes


@dataclass
class Section:
    key: str
    title: str
    claims: str                      # which claims of MATH.md it tests
    columns: list
    rows: list
    verdict: str
    plot: object = field(repr=False, default=None)  # callable(ax) drawing the figure


def _plot_against_l(ax, rows, series, ylabel: str, title: str) -> None:
    """Log-log lines over the rows' l: series are (column, matplotlib style, label)."""
    ls = [r["l"] for r in rows]
    for column, style, label in series:
        ax.plot(ls, [r[column] for r in rows], style, label=label)
    ax.set(xscale="log", yscale="log", xlabel="active features l", ylabel=ylabel, title=title)
    ax.legend(fontsize=7)


def _fit_exponent(x, y) -> float:
    """Slope of log y against log x (least squares)."""
    return float(np.polyfit(np.log(x), np.log(y), 1)[0])


def interference_sweep(sizes: Sizes, seed: int, tick) -> list:
    """RMS and coherence of every frame kind over the (n, m) grid."""
    records = []
    for n in sizes.dims:
        for ratio in sizes.ratios:
            m = min(ratio * n, sizes.max_m)
            ref = theory(n, m)
            for kind in KINDS:
                W = frame(n, m, kind, seed=seed)
                stats = interference(W, per_row=False)
                records.append({
                    "kind": kind, "n": n, "m": m, "rms": stats.rms, "coherence": stats.coherence,
                    "inv_sqrt_n": float(ref.eps_rms), "eps_jl": float(ref.eps_jl),
                    "welch": float(ref.welch), "random_coherence": float(ref.random_coherence),
                })
                tick(f"interference {kind} n={n} m={m}")
    return records


# kinds whose rows are independent (the setting of C1 and of the random-frame law)
IID_KINDS = ("gaussian", "sign", "sparse")


def _verdict(ok: bool) -> str:
    return "holds" if ok else "does not hold"


def typical_interference(records: list) -> Section:
    ratio = {kind: [r["rms"] / r["inv_sqrt_n"] for r in records if r["kind"] == kind] for kind in KINDS}
    iid = [x for kind in IID_KINDS for x in ratio[kind]]
    structured = [x for kind in KINDS if kind not in IID_KINDS for x in ratio[kind]]
    vs_jl = [r["eps_jl"] / r["rms"] for r in records if r["kind"] in IID_KINDS]
    rows = [{"kind": r["kind"], "n": r["n"], "m": r["m"], "measured RMS": r["rms"],
             "C1: 1/sqrt(n)": r["inv_sqrt_n"], "P1: eps_JL": r["eps_jl"],
             "RMS * sqrt(n)": r["rms"] / r["inv_sqrt_n"]} for r in records]
    verdict = (f"C1 {_verdict(all(abs(x - 1) < 0.05 for x in iid))} (within 5%): the RMS cosine of frames "
               f"with independent rows is {min(iid):.3f} to {max(iid):.3f} times 1/sqrt(n), of structured "
               f"frames (orthogonal, srht) {min(structured):.3f} to {max(structured):.3f}; P1's eps_JL "
               f"overstates typical interference by {min(vs_jl):.1f}x to {max(vs_jl):.1f}x.")

    def plot(ax):
        for kind in KINDS:
            pts = [r for r in records if r["kind"] == kind]
            ax.scatter([r["n"] for r in pts], [r["rms"] for r in pts], label=kind, s=18)
        dims = sorted({r["n"] for r in records})
        ax.plot(dims, [1 / math.sqrt(n) for n in dims], "k-", label="1/sqrt(n) (C1)")
        largest_m = max(r["m"] for r in records)
        ax.plot(dims, [math.sqrt(8 * math.log(largest_m) / n) for n in dims], "r--",
                label=f"eps_JL, m={largest_m} (P1)")
        ax.set(xscale="log", yscale="log", xlabel="n", ylabel="RMS cosine over pairs")
        ax.legend(fontsize=7)

    return Section("typical", "Typical interference: RMS cosine", "P1, C1",
                   list(rows[0]), rows, verdict, plot)


def worst_case(records: list) -> Section:
    # the law is for independent uniform unit vectors: the gaussian kind exactly
    vs_law = [r["coherence"] / r["random_coherence"] for r in records if r["kind"] == "gaussian"]
    vs_jl = [r["eps_jl"] / r["coherence"] for r in records]
    vs_welch = [r["coherence"] / r["welch"] for r in records]
    vs_rms = [r["coherence"] / r["rms"] for r in records]
    rows = [{"kind": r["kind"], "n": r["n"], "m": r["m"], "coherence": r["coherence"],
             "random-frame law": r["random_coherence"], "Welch bound": r["welch"],
             "P1: eps_JL": r["eps_jl"]} for r in records]
    same_order = max(vs_jl) < 10 and min(vs_jl) > 0.1
    verdict = (f"The coherence of Gaussian frames is {min(vs_law):.2f} to {max(vs_law):.2f} times the "
               f"random-frame law; eps_JL is {min(vs_jl):.1f}x to {max(vs_jl):.1f}x the measured worst "
               f"case (P8 {_verdict(same_order)}: the same order of magnitude), and every frame sits {min(vs_welch):.1f}x "
               f"to {max(vs_welch):.1f}x above the Welch bound; C2: the worst case is {min(vs_rms):.1f}x to "
               f"{max(vs_rms):.1f}x the typical (RMS) one.")

    def plot(ax):
        ratio = max(r["m"] / r["n"] for r in records)
        at_ratio = [r for r in records if r["m"] / r["n"] == ratio]
        for kind in KINDS:
            pts = [r for r in at_ratio if r["kind"] == kind]
            ax.plot([r["n"] for r in pts], [r["coherence"] for r in pts], "o", label=kind, ms=4)
        reference = [r for r in at_ratio if r["kind"] == KINDS[0]]
        dims = [r["n"] for r in reference]
        ax.plot(dims, [r["random_coherence"] for r in reference], "k-", label="random-frame law")
        ax.plot(dims, [r["eps_jl"] for r in reference], "r--", label="eps_JL (P1)")
        ax.plot(dims, [r["welch"] for r in reference], ":", c="gray", label="Welch bound")
        ax.set(xscale="log", yscale="log", xlabel="n", ylabel="coherence max |cos|",
               title=f"m = {ratio:g} n")
        ax.legend(fontsize=7)

    return Section("worst", "Worst case: coherence", "P8, C2", list(rows[0]), rows, verdict, plot)


def readout_noise(sizes: Sizes, seed: int, tick) -> Section:
    n, m = sizes.noise_n, sizes.noise_m
    W = frame(n, m, "gaussian", seed=seed)
    rows = []
    for l in sizes.noise_ls:
        result = simulate(W, l, trials=sizes.trials, seed=seed)
        rows.append({"l": l, "noise std (inactive)": result.inactive_std,
                     "C1: sqrt(l/n)": result.predicted_std_rms,
                     "P2: eps_JL sqrt(l)": result.predicted_std_jl,
                     "error rate": result.error_rate})
        tick(f"readout noise l={l}")
    exponent = _fit_exponent([r["l"] for r in rows], [r["noise std (inactive)"] for r in rows])
    ratio = [r["noise std (inactive)"] / r["C1: sqrt(l/n)"] for r in rows]
    vs_jl = [r["P2: eps_JL sqrt(l)"] / r["noise std (inactive)"] for r in rows]
    verdict = (f"P2 {_verdict(0.45 <= exponent <= 0.55)}: noise grows as l^{exponent:.3f} (random walk: 0.5); its size is "
               f"{min(ratio):.3f} to {max(ratio):.3f} times sqrt(l/n) (C1), while eps_JL sqrt(l) is "
               f"{min(vs_jl):.1f}x to {max(vs_jl):.1f}x the measured noise.")

    def plot(ax):
        _plot_against_l(ax, rows, [("noise std (inactive)", "o-", "measured"),
                                   ("C1: sqrt(l/n)", "k-", "sqrt(l/n) (C1)"),
                                   ("P2: eps_JL sqrt(l)", "r--", "eps_JL sqrt(l) (P2)")],
                        "noise std on inactive features", f"n={n}, m={m}")

    return Section("noise", "Readout noise against the number of active features", "P2, C1",
                   list(rows[0]), rows, verdict, plot)


def capacity_section(sizes: Sizes, seed: int, tick) -> Section:
    rows = []
    for n in sizes.capacity_dims:
        for ratio in sizes.capacity_ratios:
            m = ratio * n
            result = capacity((n, m, "gaussian"), error_rate=0.01, trials=sizes.capacity_trials, seed=seed)
            rows.append(_capacity_row("gaussian", n, m, result))
            tick(f"capacity n={n} m={m}")
    result = capacity((100, 100, "orthogonal"), error_rate=0.01, trials=sizes.capacity_trials, seed=seed)
    rows.append(_capacity_row("orthogonal", 100, 100, result))
    tick("capacity counter-example m=n=100")
    random_rows = rows[:-1]
    vs_jl = [r["measured l_max"] / r["P3: n/(8 ln m)"] for r in random_rows]
    vs_n = [r["measured l_max"] / r["C1: n"] for r in random_rows]
    ortho = rows[-1]
    verdict = (f"At a 1% error rate the measured capacity is {min(vs_jl):.1f}x to {max(vs_jl):.1f}x P3's "
               f"n/(8 ln m) and {min(vs_n):.3f} to {max(vs_n):.3f} of C1's n; C3 "
               f"{'reproduced' if ortho['measured l_max'] == 100 else 'not reproduced'}: 100 orthogonal "
               f"features in n=100 allow l_max = {ortho['measured l_max']} where P3 predicts "
               f"{ortho['P3: n/(8 ln m)']:.2f}.")

    def plot(ax):
        for ratio in sizes.capacity_ratios:
            pts = [r for r in random_rows if r["m"] == ratio * r["n"]]
            ax.errorbar([r["n"] for r in pts], [r["measured l_max"] for r in pts],
                        yerr=[[r["measured l_max"] - r["ci low"] for r in pts],
                              [r["ci high"] - r["measured l_max"] for r in pts]],
                        fmt="o-", label=f"measured, m={ratio}n")
            ax.plot([r["n"] for r in pts], [r["P3: n/(8 ln m)"] for r in pts], "--",
                    label=f"n/(8 ln m), m={ratio}n")
        dims = list(sizes.capacity_dims)
        ax.plot(dims, dims, "k-", label="n (C1)")
        ax.set(xscale="log", yscale="log", xlabel="n", ylabel="largest l at 1% error")
        ax.legend(fontsize=7)

    return Section("capacity", "Capacity: how many features can be active", "P3, P4, C1, C3",
                   list(rows[0]), rows, verdict, plot)


def _capacity_row(kind, n, m, result) -> dict:
    low, high = result.l_max_ci
    return {"kind": kind, "n": n, "m": m, "measured l_max": int(result.l_max), "ci low": int(low),
            "ci high": int(high), "P3: n/(8 ln m)": n / (8 * math.log(m)), "C1: n": n}


def levels_section(sizes: Sizes, seed: int, tick) -> Section:
    n, m = sizes.noise_n, sizes.noise_m
    W = frame(n, m, "gaussian", seed=seed)
    rows = []
    for l in sizes.levels_ls:
        result = levels(W, l, error_rate=0.01, trials=sizes.trials, seed=seed)
        rows.append({"l": l, "measured levels": int(result.levels),
                     "at search cap": result.next_error_rate is None,
                     "P5 with eps_JL": float(result.levels_jl), "P5 with 1/sqrt(n)": float(result.levels_rms),
                     "P5 with measured RMS": float(result.levels_measured)})
        tick(f"levels l={l}")
    first, last = rows[0], rows[-1]
    counts = [r["measured levels"] for r in rows]
    falling = all(a >= b for a, b in zip(counts, counts[1:])) and counts[-1] < counts[0]
    verdict = (f"P6 {_verdict(falling)}: distinguishable levels fall from {first['measured levels']} at l={first['l']} "
               f"to {last['measured levels']} at l={last['l']}; P5 with 1/sqrt(n) predicts "
               f"{first['P5 with 1/sqrt(n)']:.1f} to {last['P5 with 1/sqrt(n)']:.1f}, with eps_JL "
               f"{first['P5 with eps_JL']:.2f} to {last['P5 with eps_JL']:.2f}.")

    def plot(ax):
        _plot_against_l(ax, rows, [("measured levels", "o-", "measured (1% error)"),
                                   ("P5 with 1/sqrt(n)", "k-", "1/(sqrt(l/n)) (C1)"),
                                   ("P5 with eps_JL", "r--", "1/(eps_JL sqrt(l)) (P5)")],
                        "activation levels", f"n={n}, m={m}")

    return Section("levels", "Distinguishable activation levels", "P5, P6", list(rows[0]), rows,
                   verdict, plot)


def compound_section(sizes: Sizes, seed: int, tick) -> Section:
    n, m = sizes.noise_n, sizes.noise_m // 2
    results = {}
    for correction in ("none", "threshold", "relu"):
        results[correction] = compound(n, m, layers=sizes.layers, l=sizes.compound_l,
                                       correction=correction, trials=sizes.trials, seed=seed)
        tick(f"compound {correction}")
    rows = []
    for layer in range(sizes.layers):
        row = {"layer": layer + 1}
        for correction, result in results.items():
            row[f"noise ({correction})"] = float(result.noise_std[layer])
            row[f"error ({correction})"] = float(result.error_rate[layer])
        rows.append(row)
    growth = {c: r.noise_std[-1] / r.noise_std[0] for c, r in results.items()}
    verdict = (f"P7 measured: over {sizes.layers} layers the noise grows {growth['none']:.2f}x with no "
               f"correction, {growth['threshold']:.2f}x with a threshold and {growth['relu']:.2f}x with a "
               f"biased ReLU (n={n}, m={m}, l={sizes.compound_l}).")

    def plot(ax):
        layers = [r["layer"] for r in rows]
        for correction in results:
            ax.plot(layers, [r[f"noise ({correction})"] for r in rows], "o-", label=correction)
        ax.set(xlabel="layer", ylabel="noise std on inactive features", yscale="log")
        ax.legend(fontsize=7)

    return Section("compound", "Noise across layers", "P7", list(rows[0]), rows, verdict, plot)
