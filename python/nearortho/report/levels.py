"""Distinguishable activation levels (P5, P6)."""
from __future__ import annotations

from ..capacity import levels
from ..frame import frame
from .figures import CYCLE, against_l, legend_below, panels, plain_log_ticks
from .section import Section, Table
from .verdict import TOLERANCE, UNMEASURED, Verdict, by_factor, by_truth, side, span, worst_factor

ERROR_RATE = 0.01


def measure(context) -> dict:
    sizes = context.sizes
    n, m = sizes.noise_n, sizes.noise_m
    W = frame(n, m, "gaussian", seed=context.seed)
    rows = []
    for l in sizes.levels_ls:
        result = levels(W, l, error_rate=ERROR_RATE, trials=sizes.trials, seed=context.seed)
        rows.append({"l": l, "levels": int(result.levels), "at_cap": result.next_error_rate is None,
                     "p5_jl": float(result.levels_jl), "p5_c1": float(result.levels_rms),
                     "error_rate": result.level_error_rate, "next_error_rate": result.next_error_rate})
        context.tick(f"levels l={l}")
    return {"n": n, "m": m, "kind": "gaussian", "trials": sizes.trials, "seed": context.seed,
            "error_rate": ERROR_RATE, "rows": rows}


def informative(rows, prediction: str = "p5_jl") -> list:
    """Rows whose count can tell how far the prediction (P5's, or "p5_c1") is off: not at the search
    cap (there the count is only a lower bound), and not one level where it predicts fewer (one level
    is always read right, so the count cannot follow a prediction below 1)."""
    found = [r for r in rows if not r["at_cap"] and not (r["levels"] == 1 and r[prediction] < 1)]
    return found or [r for r in rows if not r["at_cap"]]


def judge(results) -> list:
    if all(r["at_cap"] for r in results["rows"]):
        return _all_at_cap(results["rows"])
    rows = informative(results["rows"])
    counts = [r["levels"] for r in results["rows"]]
    first, last = results["rows"][0], results["rows"][-1]
    shown = rows[-1]
    measured, predicted = [r["levels"] for r in rows], [r["p5_jl"] for r in rows]
    p5 = worst_factor(measured, predicted)
    never_rises = all(a >= b for a, b in zip(counts, counts[1:]))
    falling = never_rises and counts[-1] < counts[0]
    left_out = len(results["rows"]) - len(rows)
    c1_rows = informative(results["rows"], "p5_c1")
    return [
        Verdict(*P5, f"{shown['levels']} (l={shown['l']})", f"{shown['p5_jl']:.2f}",
                by_factor(p5, TOLERANCE), p5,
                f"measured / predicted is {span([m / p for m, p in zip(measured, predicted)], 2)} over "
                f"l = {', '.join(str(r['l']) for r in rows)}"
                + (f" ({left_out} l left out: where P5 predicts under one level the count stops at 1)"
                   if left_out else "")
                + f"; P5 is {side(measured, predicted)}. With C1's eps = 1/sqrt(n) in place of eps_JL, measured "
                f"/ predicted is {span([r['levels'] / r['p5_c1'] for r in c1_rows], 2)} over "
                f"l = {', '.join(str(r['l']) for r in c1_rows)}: amplitude / noise counts "
                f"levels one noise deviation apart, while telling them apart at {results['error_rate']:.0%} "
                f"error takes several."),
        Verdict(*P6, f"{first['levels']} at l={first['l']} to {last['levels']} at l={last['l']}",
                "falling towards 1", by_truth(falling), None,
                f"the level count {'never rises' if never_rises else 'rises somewhere'} with l, from "
                f"{first['levels']} at l={first['l']} to {last['levels']} at l={last['l']}"
                + (" (a single on/off level: boolean)." if last["levels"] == 1 else ".")),
    ]


P5 = ("P5", "Distinguishable activation levels are at most amplitude / noise", "levels ~ 1 / (eps_JL sqrt(l))")
P6 = ("P6", "The more features are active, the more boolean they become (levels fall to 1)", "levels -> 1 as l grows")


def _all_at_cap(rows) -> list:
    """Every count stopped at the search cap: each is a lower bound, so neither P5's factor nor
    P6's trend is measured."""
    last = rows[-1]
    where = (f"every count stopped at the search cap ({span([r['levels'] for r in rows])} levels over "
             f"l = {', '.join(str(r['l']) for r in rows)}), so each is only a lower bound")
    return [
        Verdict(*P5, f"at least {last['levels']} (l={last['l']})", f"{last['p5_jl']:.2f}", UNMEASURED, None,
                f"{where}: how far P5 is off needs a larger search cap."),
        Verdict(*P6, f"at least {last['levels']} at every l", "falling towards 1", UNMEASURED, None,
                f"{where}: whether the count falls with l needs a larger search cap."),
    ]


def method(results) -> str:
    return (f"One Gaussian frame, n = {results['n']}, m = {results['m']}, seed {results['seed']}. For each l, "
            f"{results['trials']} trials activate l features with amplitudes drawn from K equally spaced levels "
            f"1/K, 2/K, ..., 1; a nearest-level decoder reads each active feature's r. The count is the largest "
            f"K whose decoder puts at most {results['error_rate']:.0%} of active features on a wrong level "
            f"(doubling then bisection over K); the table gives the measured rate at K and at K + 1, each over "
            f"{results['trials']} x l active readouts.")


def table(results) -> Table:
    rows = [{"l": r["l"], "measured levels": r["levels"], "P5: 1/(eps_JL sqrt(l))": r["p5_jl"],
             "C1: sqrt(n/l)": r["p5_c1"], "measured / P5": r["levels"] / r["p5_jl"],
             "level errors at K": r["error_rate"],
             "at K + 1": "-" if r["next_error_rate"] is None else r["next_error_rate"],
             "at search cap": "yes" if r["at_cap"] else "no"} for r in results["rows"]]
    return Table(list(rows[0]), rows, list(range(len(rows))))


def draw(results, figure) -> None:
    rows = results["rows"]
    ls = [r["l"] for r in rows]
    count_ax, ratio_ax = panels(figure, 2)
    against_l(count_ax, rows, ("levels", f"measured ({results['error_rate']:.0%} level errors)"),
              ("p5_c1", "1/(eps sqrt(l)) with C1's eps = 1/sqrt(n)"), ("p5_jl", "P5: 1/(eps_JL sqrt(l))"),
              "distinguishable levels", f"levels, n = {results['n']}, m = {results['m']}")
    ratio_ax.axhline(1, color="gray", linewidth=0.8)
    ratio_ax.plot(ls, [r["levels"] / r["p5_jl"] for r in rows], linestyle="-", markersize=8,
                  label="measured / P5", **CYCLE[3])
    left_out = [r for r in rows if r not in informative(rows)]
    if left_out:  # drawn over the filled markers: these counts cannot follow P5 (see informative)
        ratio_ax.plot([r["l"] for r in left_out], [r["levels"] / r["p5_jl"] for r in left_out], linestyle="none",
                      marker="o", markersize=13, markerfacecolor="white", markeredgecolor=CYCLE[3]["color"],
                      zorder=3, label="left out of P5's factor (one level)")
    ratio_ax.plot(ls, [r["levels"] / r["p5_c1"] for r in rows], linestyle="-", markersize=8,
                  label="measured / C1 version", **CYCLE[4])
    ratio_ax.set(xscale="log", yscale="log", xlabel="active features l", ylabel="measured / predicted",
                 title="how far the predictions are off")
    plain_log_ticks(ratio_ax, ls)
    plain_log_ticks(count_ax, [0.5, 1, 2, 4, 8, 16], axis="y")
    plain_log_ticks(ratio_ax, [0.1, 0.2, 0.5, 1, 2, 5], axis="y")
    legend_below(figure)


SECTION = Section(
    key="levels", title="Distinguishable activation levels",
    claim=("P5: with n neurons, m features, at most l active, and amplitude at most a, the noise is "
           "a eps sqrt(l); \"the number of activation levels the neural net can distinguish between is at most "
           "the max amplitude divided by the noise\", 1 / (eps sqrt(l)). P6: \"As we get closer to maxing out l "
           "and m, the smaller the signal to noise ratio gets, meaning we can distinguish between fewer and "
           "fewer activation levels, making it more and more boolean-ish.\""),
    measure=measure, judge=judge, method=method, table=table, draw=draw)
