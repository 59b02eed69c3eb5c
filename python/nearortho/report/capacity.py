"""Capacity: how many features can be active at once (P3, C1, C3), and how many
features fit for a given number of active ones (P4)."""
from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np

from ..capacity import capacity, largest_passing
from ..frame import frame
from ..simulate import rms_interference, simulate
from .figures import (C1_LINE, CYCLE, JL_LINE, WELCH_LINE, hollow, jittered, legend_below, panels,
                      plain_log_ticks)
from .section import Section, Table
from .verdict import (HOLDS, ORDER_OF_MAGNITUDE, TOLERANCE, UNMEASURED, Verdict, by_factor, by_truth,
                      format_factor, side, span, worst_factor)

ERROR_RATE = 0.01
THRESHOLD = 0.5
Z = NormalDist().inv_cdf(1 - ERROR_RATE)  # P(N(0, 1) > Z) = ERROR_RATE
MARGIN = (THRESHOLD / Z) ** 2  # Gaussian noise sqrt(l/n) meets the target error rate at l = MARGIN n
COUNTER_EXAMPLE = (100, 100, "orthogonal")  # C3's m = n = 100


def measure(context) -> dict:
    sizes = context.sizes
    rows = []
    cases = [(n, ratio * n, "gaussian") for n in sizes.capacity_dims for ratio in sizes.capacity_ratios]
    for n, m, kind in cases + [COUNTER_EXAMPLE]:
        W = frame(n, m, kind, seed=context.seed)
        result = capacity(W, error_rate=ERROR_RATE, threshold=THRESHOLD, trials=sizes.capacity_trials,
                          seed=context.seed)
        low, high = result.l_max_ci
        l_snr, noise = signal_over_noise(W, sizes.capacity_trials, context.seed)
        rows.append({"kind": kind, "n": n, "m": m, "l_snr": l_snr, "noise_at_l_snr": noise[l_snr],
                     "noise_above_l_snr": noise.get(l_snr + 1), "l_max": int(result.l_max), "ci_low": int(low),
                     "ci_high": int(high)})
        context.tick(f"capacity {kind} n={n} m={m}")
    return {"error_rate": ERROR_RATE, "threshold": THRESHOLD, "trials": sizes.capacity_trials,
            "seed": context.seed, "rows": rows}


def signal_over_noise(W, trials: int, seed: int) -> tuple[int, dict]:
    """P3's own criterion, "the signal stronger than the noise" (eps sqrt(l) < 1): the largest l
    whose readout noise stays below the signal, 1, and the noise at that l and the next (none
    beyond m). The noise is the std of the off features' readouts (of the on features' errors
    when every feature is on), over ``trials`` trials."""
    m = W.shape[0]
    rms = rms_interference(W)
    noise: dict[int, float] = {0: 0.0}

    def noise_at(l: int) -> float:
        if l not in noise:
            result = simulate(W, l, trials=trials, seed=seed, _rms=rms)
            noise[l] = result.active_error_std if l == m else result.inactive_std
        return noise[l]

    l_snr = largest_passing(lambda l: noise_at(l) < 1.0, 0, m)
    for l in (l_snr, l_snr + 1):
        if l <= m:
            noise_at(l)
    return l_snr, noise


def p3(n, m) -> float:
    return n / (8 * math.log(m))


def p4_log(n, l) -> float:
    """ln of P4's largest m for l active features, n / (8 l) (kept as a log: exp overflows)."""
    return n / (8 * l)


def _split(results):
    random = [r for r in results["rows"] if r["kind"] != COUNTER_EXAMPLE[2]]
    ortho = [r for r in results["rows"] if r["kind"] == COUNTER_EXAMPLE[2]]
    return random, ortho[0]


def judge(results) -> list:
    random, ortho = _split(results)
    measured = [r["l_snr"] for r in random]
    big = max(random, key=lambda r: (r["n"], r["m"]))
    at = f"n={big['n']}, m={big['m']}"
    rate = f"{results['error_rate']:.0%}"
    bound = [p3(r["n"], r["m"]) for r in random]
    f3 = worst_factor(measured, bound)
    f1 = worst_factor(measured, [r["n"] for r in random])
    c3 = ortho["l_max"] / p3(ortho["n"], ortho["m"])
    decoder = (f"A threshold decoder erring on {rate} of features needs more than signal > noise: the noise "
               f"{Z:.2f} times below its margin {THRESHOLD}, i.e. l <= n ({THRESHOLD} / {Z:.2f})^2 = {MARGIN:.3f} n "
               f"by C1; its measured l_max is {span([r['l_max'] / r['n'] for r in random], 2)} n.")
    return [
        Verdict("P3", "At most n / (8 ln m) features can be active at once", "l < 1/eps_JL^2 = n / (8 ln m)",
                f"noise < signal up to l = {big['l_snr']} ({at})", f"{p3(big['n'], big['m']):.1f}",
                by_factor(f3, TOLERANCE), f3,
                f"the largest l whose noise stays below the signal (P3's criterion eps sqrt(l) < 1) is "
                f"{span([m / p for m, p in zip(measured, bound)], 2)} times n / (8 ln m) over {len(random)} "
                f"Gaussian frames; the formula is {side(measured, bound)}. {decoder}"),
        _p4(random, big),
        Verdict("C1 (capacity)", "With eps = 1/sqrt(n), P3 becomes: up to n features can be active", "l < n",
                f"noise < signal up to l = {big['l_snr']} ({at})", f"{big['n']}", by_factor(f1, TOLERANCE), f1,
                f"the largest l whose noise stays below the signal is {span([r['l_snr'] / r['n'] for r in random], 3)} "
                f"n: l < n is where the noise sqrt(l/n) equals the signal. {decoder}"),
        Verdict("C3", "m = n = 100: P3 allows 2.7 active features, yet 100 orthogonal ones can all be active",
                "l_max = n when m = n (orthogonal)", f"l_max {ortho['l_max']} (n=m={ortho['n']}, orthogonal)",
                f"{ortho['n']} (P3: {p3(ortho['n'], ortho['m']):.1f})", by_truth(ortho["l_max"] >= ortho["n"]),
                None,
                f"{ortho['l_max']} of {ortho['m']} orthogonal features can be active together with the decoder "
                f"erring on at most {rate} of features: l_max / P3 = {format_factor(c3)} (the comment: "
                f"'almost two orders of magnitude')."),
    ]


def _p4(random, big) -> Verdict:
    """P4 is an upper bound on m: it holds while no frame holds more features at its l_snr (P3's
    criterion, which P4 inverts) than P4 allows, and one frame that does refutes it by that factor."""
    claim = ("P4", "For l active features, at most exp(n / (8 l)) features fit", "m < exp(n / (8 l))")
    supported = [r for r in random if r["l_snr"] >= 1]
    if not supported:
        return Verdict(*claim, f"l_snr 0 for all {len(random)} Gaussian frames", "-", UNMEASURED, None,
                       "no frame keeps the noise of even one active feature below the signal, so P4's limit "
                       "is not defined.")
    excess = [p4_excess(r) for r in supported]
    worst = supported[int(np.argmax(excess))]
    factor = max(excess)
    holds = factor <= 1
    return Verdict(
        *claim, f"m = {worst['m']} at l = {worst['l_snr']} (n={worst['n']})",
        _exp_text(p4_log(worst["n"], worst["l_snr"])), HOLDS if holds else by_factor(factor, TOLERANCE),
        None if holds else factor,
        f"m / exp(n / (8 l_snr)), the features a frame holds at l_snr (the most active features whose noise "
        f"stays below the signal) over the most P4 allows, is {span(excess, 2)} over {len(supported)} Gaussian "
        f"frames"
        + (f": no frame exceeds the limit (the fullest holds {factor:.2g} of it)" if holds else "") + ". l_snr is "
        f"{span([r['l_snr'] for r in random if r['n'] == big['n']], 3)} for m = "
        f"{', '.join(str(r['m']) for r in random if r['n'] == big['n'])} at n={big['n']}: P4 inverts P3 "
        f"through an exponential, which turns a small error in l into a large one in m.")


def _exp_text(log_value: float) -> str:
    return f"{math.exp(log_value):.0f}" if log_value < 700 else f"e^{log_value:.0f}"


def method(results) -> str:
    random, ortho = _split(results)
    dims = sorted({r["n"] for r in random})
    ratios = sorted({r["m"] // r["n"] for r in random})
    return (f"Gaussian frames with n = {', '.join(map(str, dims))} and m = {', '.join(f'{x}n' for x in ratios)}, "
            f"plus {ortho['m']} orthogonal features in n = {ortho['n']}; seed {results['seed']}; amplitude 1. "
            f"Two largest l, each found by doubling then bisection over l with {results['trials']} trials per l "
            f"(the same trials for every l): l_snr, P3's criterion, the largest l whose noise (the std of the off "
            f"features' readouts) stays below the signal 1, which P3, P4 and C1 are judged on; and l_max, the "
            f"largest l whose threshold decoder (on when r > {results['threshold']}) errs on at most "
            f"{results['error_rate']:.0%} of features, with its 95% confidence range, which C3 is judged on.")


def table(results) -> Table:
    rows = [{"kind": r["kind"], "n": r["n"], "m": r["m"], "l_snr (noise < signal)": r["l_snr"],
             "P3: n/(8 ln m)": p3(r["n"], r["m"]), "C1: n": r["n"],
             "noise at l_snr": r["noise_at_l_snr"],
             "at l_snr + 1": "-" if r["noise_above_l_snr"] is None else r["noise_above_l_snr"],
             "P4: max m at l_snr": _exp_text(p4_log(r["n"], r["l_snr"])) if r["l_snr"] else "-",
             f"l_max ({results['error_rate']:.0%} errors)": r["l_max"], "95% range": f"{r['ci_low']}-{r['ci_high']}",
             f"margin: {MARGIN:.3f} n": MARGIN * r["n"]}
            for r in results["rows"]]
    return Table(list(rows[0]), rows, list(range(len(rows))))


def p4_excess(row) -> float:
    """m over P4's largest m at the measured l_snr: above 1, the frame holds more features than P4 allows."""
    return math.exp(math.log(row["m"]) - p4_log(row["n"], row["l_snr"])) if row["l_snr"] else math.nan


def draw(results, figure) -> None:
    random, ortho = _split(results)
    ratios = sorted({r["m"] // r["n"] for r in random})
    dims = sorted({r["n"] for r in random})
    left, right = panels(figure, 2)
    for index, ratio in enumerate(ratios):
        pts = sorted((r for r in random if r["m"] == ratio * r["n"]), key=lambda r: r["n"])
        style = CYCLE[index]
        xs = jittered([r["n"] for r in pts], index, len(ratios))
        left.errorbar(xs, [r["l_max"] for r in pts],
                      yerr=[[r["l_max"] - r["ci_low"] for r in pts], [r["ci_high"] - r["l_max"] for r in pts]],
                      linestyle="none", markersize=7, markerfacecolor="none", markeredgewidth=1.5, capsize=3,
                      label=f"l_max at {results['error_rate']:.0%} errors, m = {ratio}n", **style)
        left.plot(xs, [r["l_snr"] for r in pts], linestyle="none", markersize=7, label=f"l_snr, m = {ratio}n",
                  **style)
        left.plot([r["n"] for r in pts], [p3(r["n"], r["m"]) for r in pts], color=style["color"],
                  linestyle="--", label=f"P3: n/(8 ln m), m = {ratio}n")
        hollow(right, xs, [p4_excess(r) for r in pts], f"measured, m = {ratio}n", style)
    left.plot(dims, dims, label="C1: l = n", **C1_LINE)
    left.plot(dims, [MARGIN * n for n in dims], label=f"noise margin: l = {MARGIN:.3f} n", **WELCH_LINE)
    left.plot([ortho["n"]], [ortho["l_max"]], linestyle="none", marker="*", markersize=14, color="black",
              label=f"C3: orthogonal, m = n = {ortho['n']}")
    left.set(xscale="log", yscale="log", xlabel="dimension n", ylabel="largest l (noise < signal; decoder)",
             title="how many features can be active (P3, C1, C3)")
    plain_log_ticks(left, dims + [ortho["n"]])
    right.axhline(1, label="P4's limit: m = exp(n / (8 l))", **JL_LINE)
    right.axhspan(1, ORDER_OF_MAGNITUDE, color="#b7791f", alpha=0.12, label="within 10x of P4's limit")
    right.set(xscale="log", yscale="log", xlabel="dimension n", ylabel="m / exp(n / (8 l_snr))",
              title="features held at l_snr over P4's maximum (P4)")
    plain_log_ticks(right, dims)
    legend_below(figure, columns=5)


SECTION = Section(
    key="capacity", title="Capacity: how many features can be active, and how many fit",
    claim=("P3: \"For the signal to be stronger than the noise we need eps sqrt(l) < 1, and preferably "
           "eps sqrt(l) << 1. This means that we can have at most l < n / (8 ln m) simultaneously active "
           "features\", and P4: \"m < exp(n / (8 l)) possible features\". C1: with eps = 1/sqrt(n) the bound "
           "becomes l < n. C3 (a comment): with 100 features in 100 neurons P3 gives l < 2.7, yet 100 "
           "orthogonal features can all be active; the author agrees it is almost two orders of magnitude off."),
    measure=measure, judge=judge, method=method, table=table, draw=draw)
