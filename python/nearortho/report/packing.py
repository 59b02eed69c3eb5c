"""How good can a frame be? Random, optimised and structured (Kerdock) frames against the
lower bounds on coherence, and what a better worst case buys: capacity and readout noise."""
from __future__ import annotations

import math

from ..bounds import bounds
from ..capacity import capacity
from ..frame import frame, max_rows
from ..interference import interference
from ..optimize import optimize
from ..reference import random_coherence
from ..simulate import simulate
from .figures import STYLES, WELCH_LINE, hollow, jittered, legend_below, panels, plain_log_ticks
from .section import Section, Table
from .verdict import TOLERANCE, Verdict, by_factor, by_truth, side, span, worst_factor

ERROR_RATE = 0.01
THRESHOLD = 0.5
GAP = 2.0  # "typical and worst case differ": coherence at least twice the RMS
KINDS = ("gaussian", "orthogonal", "optimised", "kerdock")  # random, random bases, optimised, structured


def _frame(n: int, m: int, kind: str, context):
    if kind != "optimised":
        return frame(n, m, kind, seed=context.seed)
    sizes = context.sizes
    return optimize((n, m), seed=context.seed, dtype="float32", max_iter=sizes.packing_iterations).frame


def _record(n: int, m: int, kind: str, context) -> dict:
    stats = interference(_frame(n, m, kind, context), per_row=False)
    b = bounds(n, m)
    return {"kind": kind, "n": n, "m": m, "coherence": stats.coherence, "rms": stats.rms,
            "bound": float(b.best), "bound_name": str(b.best_name), "welch": float(b.welch),
            "random_coherence": float(random_coherence(n, m))}


def _readout(W, l: int, context) -> dict:
    """Capacity at ERROR_RATE with the error rates it evaluated, the noise at l active features,
    and the l below which no error can occur."""
    sizes = context.sizes
    stats = interference(W, per_row=False)
    result = capacity(W, error_rate=ERROR_RATE, threshold=THRESHOLD, trials=sizes.packing_trials,
                      seed=context.seed)
    # |noise| <= l * coherence on an inactive feature and (l - 1) * coherence on an active one:
    # no error is possible while l * coherence < THRESHOLD (for no l >= 1 once coherence >= THRESHOLD)
    exact = math.ceil(THRESHOLD / stats.coherence) - 1
    curve = dict(result.evaluated)
    error_at_exact = None
    if exact >= 1:
        at_exact = simulate(W, exact, trials=sizes.packing_trials, threshold=THRESHOLD, seed=context.seed)
        curve[exact] = (at_exact.error_rate, at_exact.error_rate_se)
        error_at_exact = at_exact.error_rate
    at_l = simulate(W, l, trials=sizes.packing_trials, threshold=THRESHOLD, seed=context.seed)
    return {"coherence": stats.coherence, "rms": stats.rms, "l_max": int(result.l_max),
            "ci_low": int(result.l_max_ci[0]), "ci_high": int(result.l_max_ci[1]), "exact_l": exact,
            "error_at_exact_l": error_at_exact, "noise": at_l.inactive_std,
            "curve": [{"l": x, "error_rate": rate} for x, (rate, _) in sorted(curve.items())]}


def cases(sizes) -> list:
    """The (n, m, kind) of the sweep: m = bases n for every kind (optimised up to its n), and the
    whole Kerdock set (n/2 + 1 bases, at the Levenshtein bound) beside a Gaussian frame at small n."""
    out = []
    for n in sizes.packing_dims:
        m = sizes.packing_bases * n
        out += [(n, m, kind) for kind in KINDS if kind != "optimised" or n <= sizes.packing_optimise_n]
        if n <= sizes.packing_full_n:
            out += [(n, max_rows("kerdock", n), kind) for kind in ("gaussian", "kerdock")]
    return out


def measure(context) -> dict:
    sizes = context.sizes
    records = []
    for n, m, kind in cases(sizes):
        records.append(_record(n, m, kind, context))
        context.tick(f"packing {kind} n={n} m={m}")
    n, m = sizes.packing_n, sizes.packing_m
    readout = {}
    for kind in ("gaussian", "kerdock"):
        readout[kind] = _readout(frame(n, m, kind, seed=context.seed), sizes.packing_l, context)
        context.tick(f"packing capacity {kind} n={n} m={m}")
    return {"seed": context.seed, "iterations": sizes.packing_iterations, "trials": sizes.packing_trials,
            "error_rate": ERROR_RATE, "threshold": THRESHOLD, "records": records,
            "readout": {"n": n, "m": m, "l": sizes.packing_l, "kinds": readout}}


def _of(records, kind):
    return [r for r in records if r["kind"] == kind]


def judge(results) -> list:
    records = results["records"]
    best = _of(records, "kerdock")
    random = _of(records, "gaussian")
    gaps = [r["coherence"] / r["rms"] for r in best]
    to_bound = [r["coherence"] / r["bound"] for r in best]
    out = results["readout"]
    g, k = out["kinds"]["gaussian"], out["kinds"]["kerdock"]
    at = f"n={out['n']}, m={out['m']}"
    measured = k["l_max"] / g["l_max"] if g["l_max"] else math.inf
    by_worst = (g["coherence"] / k["coherence"]) ** 2  # P3 with eps = coherence: l ~ 1 / coherence^2
    by_typical = (g["rms"] / k["rms"]) ** 2
    factor = worst_factor([measured], [by_worst])
    return [
        Verdict("C2 (best frames)", "Typical and worst-case interference differ, for the best frames too",
                "coherence / RMS > 1, well above", f"coherence / RMS {span(gaps, 3)} (Kerdock)",
                f"at least {GAP:g}", by_truth(min(gaps) >= GAP), None,
                f"Kerdock frames (mutually unbiased bases) sit {span(to_bound, 3)} times the best lower bound on "
                f"the coherence, and their coherence is {span(gaps, 3)} times their RMS; Gaussian frames of the "
                f"same sizes are {span([r['coherence'] / r['bound'] for r in random], 2)} times the bound, with "
                f"coherence / RMS {span([r['coherence'] / r['rms'] for r in random], 2)}. The gap belongs to "
                f"random frames, not to superposition."),
        Verdict("C2 (capacity)", "Count how many features fit by the worst case: a lower coherence holds more "
                "active features", "l_max ratio = (coherence ratio)^2",
                f"Kerdock / Gaussian l_max {measured:.2f} ({at})", f"{by_worst:.1f}", by_factor(factor, TOLERANCE),
                factor,
                f"at a {results['error_rate']:.0%} error rate the Kerdock frame holds {k['l_max']} active features "
                f"and the Gaussian one {g['l_max']}, though its coherence is {g['coherence'] / k['coherence']:.1f}x "
                f"lower; the typical (RMS) interference predicts a ratio of {by_typical:.2f}, the worst case "
                f"{by_worst:.1f} (the prediction is {side([measured], [by_worst])}). What the worst case buys: "
                f"{_error_free(k, 'Kerdock', results['threshold'], rate=True)} against "
                f"{_error_free(g, 'Gaussian', results['threshold'], rate=False)}."),
    ]


def _error_free(run, kind, threshold, rate) -> str:
    """'no error at all up to l = 7 (Kerdock, measured rate 0)', or where the coherence reaches the
    threshold, that one active feature can already cross it."""
    if run["exact_l"] == 0:
        return f"errors possible from l = 1 on ({kind}: coherence {run['coherence']:.3f} >= {threshold:g})"
    measured = f", measured rate {run['error_at_exact_l']:.2g}" if rate else ""
    return f"no error at all up to l = {run['exact_l']} ({kind}{measured})"


def method(results) -> str:
    out = results["readout"]
    return (f"Frames of n = 4^k dimensions and m = 4n vectors (and the whole Kerdock set, m = n (n/2 + 1), "
            f"at small n), seed {results['seed']}: Gaussian rows; unions of random orthonormal bases; a Gaussian "
            f"frame after {results['iterations']} steps of nearortho.optimize (float32); and the first m vectors "
            f"of the mutually unbiased bases of a Kerdock set (nearortho.frame(n, m, 'kerdock')). The coherence "
            f"and RMS are exact over all pairs, beside the best of the Welch, orthoplex and Levenshtein lower "
            f"bounds (nearortho.bounds). Then a Gaussian and a Kerdock frame of n = {out['n']}, m = {out['m']}: "
            f"the largest l at a {results['error_rate']:.0%} threshold-decoder error rate (nearortho.capacity, "
            f"{results['trials']} trials per l) and the error rate and noise over l; with coherence c no error is "
            f"possible while l c < {results['threshold']}.")


def notes(results) -> str:
    out = results["readout"]
    g, k = out["kinds"]["gaussian"], out["kinds"]["kerdock"]
    noise = {kind: out["kinds"][kind]["noise"] for kind in ("gaussian", "kerdock")}
    optimised = _of(results["records"], "optimised")
    opt_text = (f"The optimiser, given {results['iterations']} steps, brings a Gaussian frame to "
                f"{span([r['coherence'] / r['bound'] for r in optimised], 2)} times the bound. " if optimised else "")
    return (f"{opt_text}At n = {out['n']}, m = {out['m']}, l = {out['l']}, the readout noise is "
            f"{noise['kerdock']:.4f} (Kerdock) against {noise['gaussian']:.4f} (Gaussian): the ratio "
            f"{noise['kerdock'] / noise['gaussian']:.3f} follows the RMS ratio {k['rms'] / g['rms']:.3f} (a tight "
            f"frame's RMS is the Welch bound, a random frame's 1/sqrt(n)), not the coherence ratio "
            f"{k['coherence'] / g['coherence']:.3f}.")


def table(results) -> Table:
    rows = [{"kind": r["kind"], "n": r["n"], "m": r["m"], "coherence": r["coherence"], "RMS": r["rms"],
             "best lower bound": r["bound"], "bound": r["bound_name"], "coherence / bound": r["coherence"] / r["bound"],
             "random-frame law": r["random_coherence"]} for r in results["records"]]
    return Table(list(rows[0]), rows, [i for i, r in enumerate(rows) if r["m"] == 4 * r["n"]])


def draw(results, figure) -> None:
    left, right = panels(figure, 2)
    records = [r for r in results["records"] if r["m"] == 4 * r["n"]]
    dims = sorted({r["n"] for r in records})
    for index, kind in enumerate(KINDS):
        pts = sorted(_of(records, kind), key=lambda r: r["n"])
        xs = jittered([r["n"] for r in pts], index, len(KINDS))
        hollow(left, xs, [r["coherence"] / r["bound"] for r in pts], f"{kind}: coherence", STYLES[kind])
        left.plot(xs, [r["rms"] / r["bound"] for r in pts], linestyle="none", markersize=4, label=f"{kind}: RMS",
                  **STYLES[kind])
    left.axhline(1, label="best lower bound", **WELCH_LINE)
    left.set(xscale="log", yscale="log", xlabel="dimension n", ylabel="over the best lower bound",
             title="m = 4n: coherence (hollow) and RMS (dots)")
    plain_log_ticks(left, dims)
    plain_log_ticks(left, [1, 1.5, 2, 3, 4, 6], axis="y")
    out = results["readout"]
    for kind in ("gaussian", "kerdock"):
        run = out["kinds"][kind]
        curve = [p for p in run["curve"] if p["error_rate"] > 0]
        right.plot([p["l"] for p in curve], [p["error_rate"] for p in curve], linestyle="-",
                   label=f"{kind}: error rate", **STYLES[kind])
        if run["exact_l"] >= 1:
            right.axvline(run["exact_l"] + 0.5, linestyle="--", color=STYLES[kind]["color"], linewidth=1,
                          label=f"{kind}: error-free to l={run['exact_l']}")
    right.axhline(results["error_rate"], label=f"target {results['error_rate']:.0%}", **WELCH_LINE)
    right.set(xscale="log", yscale="log", xlabel="active features l", ylabel="threshold-decoder error rate",
              title=f"n = {out['n']}, m = {out['m']} (zero error rates not drawn)")
    top = max(p["l"] for run in out["kinds"].values() for p in run["curve"])
    plain_log_ticks(right, [2 ** k for k in range(top.bit_length())])
    legend_below(figure, columns=4)


SECTION = Section(
    key="packing", title="How good can a frame be? The best packings against random frames",
    claim=("C2 (the author's reply): typical and worst-case interference differ for large m; use the worst "
           "case when counting how many features fit. Here the worst case is pushed to its lower bound: do the "
           "best frames (mutually unbiased bases from Kerdock sets, optimised frames) close the gap, and does a "
           "better worst case buy more simultaneously active features?"),
    measure=measure, judge=judge, method=method, table=table, draw=draw, notes=notes)
