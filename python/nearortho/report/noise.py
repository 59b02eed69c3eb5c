"""Readout noise against the number of active features (P2, C1)."""
from __future__ import annotations

import math

import numpy as np

from ..frame import frame
from ..simulate import simulate
from .figures import CYCLE, against_l, legend_below, panels, plain_log_ticks
from .section import Section, Table
from .verdict import EXACT_TOLERANCE, Verdict, by_factor, by_truth, span, worst_factor

EXPONENT_TOLERANCE = 0.05  # a random walk grows as l^0.5; Monte Carlo fits land within ~0.01


def measure(context) -> dict:
    sizes = context.sizes
    n, m = sizes.noise_n, sizes.noise_m
    W = frame(n, m, "gaussian", seed=context.seed)
    rows = []
    for l in sizes.noise_ls:
        result = simulate(W, l, trials=sizes.trials, seed=context.seed)
        # C1 is the closed form sqrt(l / n); predicted_std_rms uses this frame's own RMS instead
        rows.append({"l": l, "noise": result.inactive_std, "c1": math.sqrt(l / n),
                     "p2": result.predicted_std_jl, "error_rate": result.error_rate,
                     "error_rate_se": result.error_rate_se})
        context.tick(f"readout noise l={l}")
    return {"n": n, "m": m, "kind": "gaussian", "trials": sizes.trials, "seed": context.seed, "rows": rows}


def exponent(rows) -> float:
    """Slope of log(noise) against log(l), least squares."""
    return float(np.polyfit(np.log([r["l"] for r in rows]), np.log([r["noise"] for r in rows]), 1)[0])


def judge(results) -> list:
    rows = results["rows"]
    slope = exponent(rows)
    last = rows[-1]
    c1 = worst_factor([r["noise"] for r in rows], [r["c1"] for r in rows])
    return [
        Verdict("P2", "The noise from l active features adds up like a random walk",
                "noise(l) ~ eps sqrt(l)", f"noise ~ l^{slope:.3f}", "l^0.5",
                by_truth(abs(slope - 0.5) <= EXPONENT_TOLERANCE), None,
                f"a least-squares fit of log(noise std) on log(l) over l = {rows[0]['l']}..{last['l']} gives "
                f"the exponent {slope:.3f} (holds within +-{EXPONENT_TOLERANCE}). The size of the noise is C1's "
                f"sqrt(l/n); eps_JL sqrt(l) overstates it {span([r['p2'] / r['noise'] for r in rows], 2)}x."),
        Verdict("C1 (noise)", "With typical interference 1/sqrt(n), l active features give noise sqrt(l/n)",
                "noise(l) = sqrt(l / n)", f"{last['noise']:.4f} (l={last['l']})", f"{last['c1']:.4f}",
                by_factor(c1, EXACT_TOLERANCE), c1,
                f"measured noise / sqrt(l/n) is {span([r['noise'] / r['c1'] for r in rows], 4)} for every l; "
                f"tolerance {EXACT_TOLERANCE:.0%}."),
    ]


def method(results) -> str:
    return (f"One Gaussian frame, n = {results['n']}, m = {results['m']}, seed {results['seed']}. For each l, "
            f"{results['trials']} trials: l features chosen uniformly at random are on with amplitude 1, "
            f"x = sum of their vectors, r = W x; the noise is the standard deviation of r over the features "
            f"that are off. The threshold decoder calls a feature on when r > 0.5; its error rate is "
            f"(false positives + false negatives) / (trials x m), with its standard error from the spread of "
            f"the trials' error counts.")


def table(results) -> Table:
    rows = [{"l": r["l"], "noise std (off features)": r["noise"], "C1: sqrt(l/n)": r["c1"],
             "noise / sqrt(l/n)": r["noise"] / r["c1"], "P2: eps_JL sqrt(l)": r["p2"],
             "decoder error rate": r["error_rate"], "its standard error": r["error_rate_se"]}
            for r in results["rows"]]
    return Table(list(rows[0]), rows, list(range(len(rows))))


def draw(results, figure) -> None:
    rows = results["rows"]
    ls = [r["l"] for r in rows]
    noise_ax, error_ax = panels(figure, 2)
    against_l(noise_ax, rows, ("noise", "measured"), ("c1", "C1: sqrt(l/n)"), ("p2", "P2: eps_JL sqrt(l)"),
              "noise std on off features", f"noise, n = {results['n']}, m = {results['m']}")
    error_ax.plot(ls, [r["error_rate"] for r in rows], linestyle="-", markersize=8, **CYCLE[0])
    error_ax.set(xscale="log", xlabel="active features l", ylabel="decoder error rate",
                 title="threshold decoder (r > 0.5) error rate")
    error_ax.set_yscale("symlog", linthresh=1e-4)
    error_ax.set_ylim(0, 1)
    plain_log_ticks(error_ax, ls)
    legend_below(figure)


SECTION = Section(
    key="noise", title="Readout noise against the number of active features",
    claim=("P2: \"If l features are active then the typical noise level on any other feature will be "
           "approximately eps sqrt(l) units. This is because the individual noise terms add up like a random "
           "walk.\" With C1's eps = 1/sqrt(n), that noise is sqrt(l/n)."),
    measure=measure, judge=judge, method=method, table=table, draw=draw)
