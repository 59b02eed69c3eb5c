"""Worst-case interference (P8, C2): the coherence max |cos| of a frame."""
from __future__ import annotations

import math

from .figures import C1_LINE, JL_LINE, LAW_LINE, WELCH_LINE
from .section import Section, Table
from .sweep import IID_KINDS, draw_in_units_of_typical
from .verdict import FAILS, TOLERANCE, UNMEASURED, Verdict, by_factor, by_truth, side, span, worst_factor

RANDOM_FRAME_LAW = ("random-frame law: the median coherence of m independent uniformly random unit vectors "
                    "in R^n, the t with exp(-C(m,2) P(Beta(1/2, (n-1)/2) > t^2)) = 1/2 (each pair's "
                    "squared cosine is Beta(1/2, (n-1)/2); pairs treated as independent); about "
                    "sqrt(4 ln m / n) for large m")


def measure(context) -> dict:
    return {"seed": context.seed, "records": context.interference_sweep}


def _growth_with_m(records) -> list:
    """Per n: coherence / RMS of the Gaussian frame at the largest m over that at the smallest m."""
    growth = []
    for n in sorted({r["n"] for r in records}):
        pts = sorted((r for r in records if r["kind"] == "gaussian" and r["n"] == n), key=lambda r: r["m"])
        if len(pts) > 1:
            growth.append((pts[-1]["coherence"] / pts[-1]["rms"]) / (pts[0]["coherence"] / pts[0]["rms"]))
    return growth


def judge(results) -> list:
    records = results["records"]
    iid = [r for r in records if r["kind"] in IID_KINDS]
    big = max(iid, key=lambda r: (r["n"], r["m"]))
    at = f"n={big['n']}, m={big['m']}, {big['kind']}"
    coherence, jl = [r["coherence"] for r in records], [r["eps_jl"] for r in records]
    p8 = worst_factor(coherence, jl)
    gaps = [r["coherence"] / r["rms"] for r in iid]
    growth = _growth_with_m(records)
    # "differ": the worst case at least twice the typical one everywhere, and the gap widening with m
    # (on average over n: one frame's maximum fluctuates by a few percent). With one m per n the
    # widening is not measured: a gap under 2 still refutes C2, a wider one cannot confirm it.
    if growth:
        mean_growth = math.prod(growth) ** (1 / len(growth))
        c2 = by_truth(min(gaps) >= 2 and mean_growth > 1)
        growth_text = (f"for Gaussian frames the gap is {span(growth, 3)} times (geometric mean "
                       f"{mean_growth:.3f}) larger at the largest m than at the smallest, n by n")
    else:
        c2 = FAILS if min(gaps) < 2 else UNMEASURED
        growth_text = ("only one m per n was measured for Gaussian frames, so whether the gap grows with m "
                       "is not measured")
    return [
        Verdict("P8", "JL's eps is a worst case: the largest cosine between features is of order eps_JL",
                "max |cos| ~ eps_JL", f"coherence {big['coherence']:.3f} ({at})", f"{big['eps_jl']:.3f}",
                by_factor(p8, TOLERANCE), p8,
                f"eps_JL / coherence is {span([r['eps_jl'] / r['coherence'] for r in records], 2)} over every "
                f"frame measured (all kinds): eps_JL is {side(coherence, jl)}."),
        Verdict("C2", "Typical and worst-case interference differ, the more so the larger m",
                "coherence / RMS > 1, growing with m", f"coherence / RMS {big['coherence'] / big['rms']:.1f} ({at})",
                "well above 1, growing with m", c2, None,
                f"coherence / RMS is {span(gaps, 2)} for frames with independent rows; {growth_text}."),
    ]


def method(results) -> str:
    return (f"The same frames as the typical-interference section (seed {results['seed']}): the coherence "
            f"max |cos| over all pairs, exactly. Reference lines: eps_JL (P1), the Welch bound "
            f"sqrt((m - n) / (n (m - 1))) that no frame can beat, and the {RANDOM_FRAME_LAW}.")


def notes(results) -> str:
    gaussian = [r for r in results["records"] if r["kind"] == "gaussian"]
    records = results["records"]
    return (f"Gaussian frames sit at {span([r['coherence'] / r['random_coherence'] for r in gaussian], 3)} "
            f"times the random-frame law; every frame is {span([r['coherence'] / r['welch'] for r in records], 2)} "
            f"times the Welch bound, so much better packings may exist (see how good a frame can be).")


def table(results) -> Table:
    rows = [{"kind": r["kind"], "n": r["n"], "m": r["m"], "coherence": r["coherence"],
             "random-frame law": r["random_coherence"], "Welch bound": r["welch"], "P1: eps_JL": r["eps_jl"],
             "eps_JL / coherence": r["eps_jl"] / r["coherence"], "coherence / RMS": r["coherence"] / r["rms"]}
            for r in results["records"]]
    big_n = max(r["n"] for r in rows)
    return Table(list(rows[0]), rows, [i for i, r in enumerate(rows) if r["n"] == big_n])


def draw(results, figure) -> None:
    draw_in_units_of_typical(results["records"], figure, "coherence", "coherence x sqrt(n)",
                             [("eps_jl", JL_LINE, "P1: eps_JL"), ("random_coherence", LAW_LINE, "random-frame law"),
                              ("welch", WELCH_LINE, "Welch bound"), ("inv_sqrt_n", C1_LINE, "typical: 1/sqrt(n)")])


SECTION = Section(
    key="worst", title="Worst-case interference: the coherence max |cos|",
    claim=("P8 (footnote 1): in the JL lemma eps is the error in vector lengths, not in orthogonality, but "
           "for small eps they are similar; \"This is a worst case scenario. I have not calculated the typical "
           "case, but I expect it to be somewhat less, but still same order of magnitude.\" C2 (the author's "
           "reply to C1): JL gives the worst-case error of the best embedding; typical and worst case differ "
           "for large m; use the typical case when adding up noise and the worst case when counting how many "
           "features fit."),
    measure=measure, judge=judge, method=method, table=table, draw=draw, notes=notes)
