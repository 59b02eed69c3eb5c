"""The report's "How good can a frame be?" section: its numbers are the API's, and its
verdicts follow made-up numbers either way."""
import dataclasses
import math

import numpy as np
import pytest

import nearortho
from nearortho.report import packing
from nearortho.report.section import Context
from nearortho.report.sizes import SIZES
from nearortho.report.verdict import FAILS, HOLDS


def test_records_and_capacity_are_the_apis():
    sizes = dataclasses.replace(SIZES["quick"], packing_dims=(16,), packing_full_n=16, packing_optimise_n=0,
                                packing_n=16, packing_m=64, packing_l=4, packing_trials=50)
    results = packing.measure(Context(sizes, 5, lambda message: None))
    assert [(r["kind"], r["m"]) for r in results["records"]] == [
        ("gaussian", 64), ("orthogonal", 64), ("kerdock", 64), ("gaussian", 144), ("kerdock", 144)]
    full = results["records"][-1]
    assert full["coherence"] == 0.25 == full["bound"] and full["bound_name"] == "orthoplex"
    gaussian = results["records"][0]
    assert gaussian["coherence"] == nearortho.interference(nearortho.frame(16, 64, seed=5)).coherence
    kerdock = results["readout"]["kinds"]["kerdock"]
    direct = nearortho.capacity((16, 64, "kerdock"), error_rate=0.01, trials=50, seed=5)
    assert kerdock["l_max"] == direct.l_max and kerdock["exact_l"] == 1  # 1/4 coherence: l * 1/4 < 1/2
    assert kerdock["error_at_exact_l"] == 0.0


def test_no_l_is_called_error_free_once_the_coherence_reaches_the_threshold():
    # this frame has a pair with g_ij > 1/2: with only feature j on, feature i reads g_ij, a false
    # positive at the threshold 1/2, so not even l = 1 is free of errors
    W = nearortho.frame(16, 64, seed=5)
    G = W.astype(np.float64) @ W.T.astype(np.float64)
    np.fill_diagonal(G, 0)
    assert G.max() > packing.THRESHOLD
    sizes = dataclasses.replace(SIZES["quick"], packing_trials=20)
    run = packing._readout(W, 2, Context(sizes, 5, lambda message: None))
    assert run["exact_l"] == 0 and run["error_at_exact_l"] is None
    results = _results()
    results["readout"]["kinds"]["gaussian"] = run
    reason = next(v.reason for v in packing.judge(results) if v.claim == "C2 (capacity)")
    assert "errors possible from l = 1 on (Gaussian" in reason and "(Gaussian)" not in reason


def _results(kerdock_gap=1.05, l_max=(11, 12), coherence=(0.32, 0.0625), rms=(0.0625, 0.0605)):
    records = []
    for n in (16, 64):
        for kind, c, r in (("gaussian", 4.0 / math.sqrt(n), 1 / math.sqrt(n)),
                           ("kerdock", kerdock_gap / math.sqrt(n), 1 / math.sqrt(n))):
            records.append({"kind": kind, "n": n, "m": 4 * n, "coherence": c, "rms": r, "bound": 0.9 / math.sqrt(n),
                            "bound_name": "welch", "welch": 0.9 / math.sqrt(n), "random_coherence": c})
    kinds = {kind: {"coherence": c, "rms": r, "l_max": l, "ci_low": l, "ci_high": l, "exact_l": 1, "noise": 0.25,
                    "error_at_exact_l": 0.0, "curve": [{"l": 1, "error_rate": 0.0}]}
             for kind, c, r, l in zip(("gaussian", "kerdock"), coherence, rms, l_max)}
    return {"seed": 0, "iterations": 10, "trials": 10, "error_rate": 0.01, "threshold": 0.5, "records": records,
            "readout": {"n": 256, "m": 4096, "l": 16, "kinds": kinds}}


def _status(results, claim):
    return next(v.status for v in packing.judge(results) if v.claim == claim)


def test_best_frames_verdict_follows_the_numbers():
    assert _status(_results(kerdock_gap=1.05), "C2 (best frames)") == FAILS
    assert _status(_results(kerdock_gap=3.0), "C2 (best frames)") == HOLDS


def test_capacity_verdict_follows_the_numbers():
    assert _status(_results(l_max=(11, 12)), "C2 (capacity)") == FAILS
    # l_max growing as the squared coherence ratio (0.32 / 0.0625)^2 = 26.2: the worst case would rule
    assert _status(_results(l_max=(11, 288)), "C2 (capacity)") == HOLDS


def test_section_is_listed_and_documented():
    from nearortho.report.sections import SECTIONS

    assert SECTIONS[-1] is packing.SECTION
    table = packing.table(_results())
    assert table.key == list(range(len(table.rows)))  # every row has m = 4n
    assert pytest.approx(table.rows[0]["coherence / bound"]) == 4.0 / 0.9
