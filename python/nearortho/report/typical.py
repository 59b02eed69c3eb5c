"""Typical interference (P1, C1): the RMS cosine over all pairs of a frame."""
from __future__ import annotations

from ..frame import KINDS
from .figures import C1_LINE, JL_LINE, WELCH_LINE
from .section import Section, Table
from .sweep import IID_KINDS, draw_in_units_of_typical
from .verdict import EXACT_TOLERANCE, TOLERANCE, Verdict, by_factor, side, span, worst_factor


def measure(context) -> dict:
    return {"seed": context.seed, "records": context.interference_sweep}


def _iid(results) -> list:
    return [r for r in results["records"] if r["kind"] in IID_KINDS]


def _largest(records) -> dict:
    return max(records, key=lambda r: (r["n"], r["m"]))


def judge(results) -> list:
    iid = _iid(results)
    big = _largest(iid)
    rms, jl, c1 = ([r[k] for r in iid] for k in ("rms", "eps_jl", "inv_sqrt_n"))
    at = f"n={big['n']}, m={big['m']}"
    p1 = worst_factor(rms, jl)
    c1_factor = worst_factor(rms, c1)
    return [
        Verdict("P1", "One active feature puts about eps_JL units of noise on each other feature",
                "eps_JL = sqrt(8 ln m / n)", f"RMS cosine {big['rms']:.4f} ({at})", f"{big['eps_jl']:.4f}",
                by_factor(p1, TOLERANCE), p1,
                f"eps_JL / RMS is {span([j / r for j, r in zip(jl, rms)], 2)} over frames with independent rows "
                f"(every n and m measured); eps_JL is {side(rms, jl)}. For random frames the ratio is "
                f"sqrt(8 ln m), which passes 10x once m > e^12.5, about 270,000 features."),
        Verdict("C1 (RMS)", "Typical cosine of two random unit vectors is exactly 1/sqrt(n)",
                "RMS = 1/sqrt(n)", f"{big['rms']:.4f} ({at})", f"{big['inv_sqrt_n']:.4f}",
                by_factor(c1_factor, EXACT_TOLERANCE), c1_factor,
                f"RMS x sqrt(n) is {span([r / c for r, c in zip(rms, c1)], 4)} over {len(iid)} frames with "
                f"independent rows ({', '.join(IID_KINDS)}); tolerance {EXACT_TOLERANCE:.0%}."),
    ]


def method(results) -> str:
    records = results["records"]
    dims = sorted({r["n"] for r in records})
    ms = sorted({r["m"] for r in records})
    return (f"Frames of every kind ({', '.join(KINDS)}) with n = {', '.join(map(str, dims))} and "
            f"m = {', '.join(map(str, ms))} (m / n = {', '.join(f'{x:g}' for x in _ratios(records))}), "
            f"seed {results['seed']}; the RMS of the cosine over all m(m-1)/2 pairs, exactly "
            f"(one pass over the pairs, no sampling).")


def notes(results) -> str:
    structured = [r for r in results["records"] if r["kind"] not in IID_KINDS]
    if not structured:
        return ""
    to_welch = [r["rms"] / r["welch"] for r in structured]
    return (f"C1 is about independent random vectors. Frames built from orthonormal bases (orthogonal, "
            f"srht) are tight and reach the lowest RMS any unit-norm frame can have, the Welch bound "
            f"sqrt((m - n) / (n (m - 1))): their RMS is {span(to_welch, 4)} times it, "
            f"which is {span([r['rms'] / r['inv_sqrt_n'] for r in structured], 3)} times 1/sqrt(n).")


def _ratios(records) -> list:
    return sorted({r["m"] / r["n"] for r in records})


def table(results) -> Table:
    rows = [{"kind": r["kind"], "n": r["n"], "m": r["m"], "RMS cosine": r["rms"],
             "C1: 1/sqrt(n)": r["inv_sqrt_n"], "RMS x sqrt(n)": r["rms"] / r["inv_sqrt_n"],
             "Welch bound": r["welch"], "P1: eps_JL": r["eps_jl"], "eps_JL / RMS": r["eps_jl"] / r["rms"]}
            for r in results["records"]]
    big_n = max(r["n"] for r in rows)
    return Table(list(rows[0]), rows, [i for i, r in enumerate(rows) if r["n"] == big_n])


def draw(results, figure) -> None:
    # the inv_sqrt_n column divided by itself is C1's line at 1
    draw_in_units_of_typical(results["records"], figure, "rms", "RMS cosine x sqrt(n)",
                             [("inv_sqrt_n", C1_LINE, "C1: 1/sqrt(n)"), ("eps_jl", JL_LINE, "P1: eps_JL"),
                              ("welch", WELCH_LINE, "Welch bound")])


SECTION = Section(
    key="typical", title="Typical interference: the RMS cosine between features",
    claim=("P1: \"The typical noise on feature i caused by 1 unit of activation from feature j, for any "
           "pair of features i, j, is (derived from Johnson-Lindenstrauss lemma) eps = sqrt(8 ln m / n).\" "
           "C1 (first comment): the typical (RMS) inner product of two independent random unit vectors "
           "in R^n is 1/sqrt(n), so the sqrt(8 ln m) factor should not be there."),
    measure=measure, judge=judge, method=method, table=table, draw=draw, notes=notes)
