"""nearortho.optimize: known optimal packings, the records it keeps, its
determinism, and its errors."""
from __future__ import annotations

import importlib
import math
import os
import signal
import threading

import numpy as np
import pytest

import nearortho


def test_six_lines_in_r3_reach_the_icosahedron():
    # the 6 diagonals of the icosahedron: coherence 1/sqrt(5), which the Welch bound meets
    result = nearortho.optimize((3, 6), seed=0, max_iter=3000)
    assert result.coherence == pytest.approx(1 / math.sqrt(5), abs=1e-4)
    assert result.stopped == "bound" and result.frame.dtype == np.float64  # small: float64 by default
    assert result.best_bound == pytest.approx(1 / math.sqrt(5), rel=1e-12)


def test_sixteen_lines_in_r6_reach_the_equiangular_tight_frame():
    # 16 equiangular lines in R^6 meet the Welch bound sqrt((m - n) / (n (m - 1))) = 1/3;
    # the alternating projection stage finds them from a random start
    seen = []
    result = nearortho.optimize((6, 16), seed=0, max_iter=3000, progress=seen.append)
    assert result.stopped == "bound" and result.start == "gaussian seed 0"
    assert seen[-1].stage == "project"
    W = result.frame
    G = np.abs(W @ W.T)[np.triu_indices(16, 1)]
    np.testing.assert_allclose(G, 1 / 3, atol=1e-5)  # every pair at the bound: equiangular


@pytest.mark.parametrize("n, m, kind, coherence", [(16, 144, "kerdock", 1 / 4), (13, 26, "conference", 1 / 5),
                                                  (64, 256, "kerdock", 1 / 8), (4, 5, "simplex", 1 / 4)])
def test_auto_starts_from_the_best_structured_frame(n, m, kind, coherence):
    # Kerdock bases meet the Levenshtein bound at (16, 144); the Paley conference
    # ETF meets Welch at (13, 26); 4 Kerdock bases of R^64 (coherence 1/8) beat
    # what the descent reaches from random starts there; at (4, 5) the simplex (1/4)
    # beats the first 5 Kerdock rows (1/2)
    result = nearortho.optimize((n, m), kind="auto", max_iter=300)
    assert result.start == result.starts[0][0] == kind
    G = np.abs(result.frame.astype(np.float64) @ result.frame.T.astype(np.float64))
    np.fill_diagonal(G, 0)
    assert G.max() <= coherence * (1 + 1e-6)


def test_a_stuck_start_ends_and_leaves_the_budget_to_the_next():
    # 4 Kerdock bases of R^64 are a critical point of both surrogates (row i's
    # gradient sums g_ij w_j over whole orthonormal bases: a multiple of w_i), so
    # every step from them is rejected: after 100 the start ends. The perturbed
    # Kerdock start falls back into it and ends stuck too; the Gaussian start gets
    # the rest of max_iter and is worse, so the frame returned is the Kerdock one.
    result = nearortho.optimize((64, 256), kind="auto", max_iter=400)
    (label, coherence, steps, ended), perturbed, (label3, coherence3, steps3, ended3) = result.starts
    assert (label, steps, ended) == ("kerdock", 100, "stuck")
    assert perturbed[0] == "kerdock + noise seed 0" and perturbed[3] == "stuck" and 100 <= perturbed[2] < 300
    assert (label3, steps3, ended3) == ("gaussian seed 0", 300 - perturbed[2], "max_iter")
    assert result.stopped == "max_iter" and result.iterations == 400
    assert coherence == pytest.approx(1 / 8, abs=1e-6) and coherence3 > 0.13
    assert result.start == "kerdock"
    kerdock = nearortho.frame(64, 256, "kerdock", dtype="float64")
    np.testing.assert_allclose(result.frame, kerdock, atol=1e-6)
    assert np.all(np.diff(result.history["best"]) <= 0)


def test_kerdock_sum_is_a_direct_sum_of_kerdock_frames():
    # (12, 35): three blocks of R^4 with 12, 12, 11 rows (a Kerdock frame of R^4
    # is 3 bases, 12 rows); rows of different blocks are orthogonal
    from nearortho.optimize_starts import kerdock_sum
    W = kerdock_sum(12, 35, 4)
    G = W @ W.T
    np.testing.assert_allclose(np.diag(G), 1, atol=1e-15)
    blocks = np.repeat([0, 1, 2], [12, 12, 11])
    np.testing.assert_array_equal(W[:, :4][blocks != 0], 0)
    across = blocks[:, None] != blocks[None, :]
    assert np.all(G[across] == 0)
    values = np.abs(G[~across & ~np.eye(35, dtype=bool)])
    assert set(np.round(values, 12)) == {0, 0.5}  # 1/sqrt(4) across bases, 0 within one
    with pytest.raises(ValueError, match="do not make 37 rows"):
        kerdock_sum(12, 37, 4)


def test_auto_starts_from_a_kerdock_sum_where_no_structured_kind_fits():
    # 128 is no power of 4 and its own MUBs have only 256 rows: two Kerdock
    # frames of R^64 (coherence 1/8) start, then that frame perturbed
    result = nearortho.optimize((128, 1024), kind="auto", max_iter=3)
    assert [label for label, *_ in result.starts] == ["kerdock sum 2x64"]
    assert result.coherence == pytest.approx(1 / 8, abs=1e-6)
    # 768 = 3 x 256: the largest block with room for 16384 rows (1/16); 96 = 6 x 16
    from nearortho.optimize_starts import starts
    first, _ = starts((768, 16384), "auto", 5, None)
    assert [label for label, _ in first] == ["kerdock sum 3x256", "kerdock sum 3x256 + noise seed 5", "gaussian seed 5"]
    assert [label for label, _ in starts((96, 400), "auto", 0, None)[0]][0] == "kerdock sum 6x16"
    assert [label for label, _ in starts((96, 900), "auto", 0, None)[0]][0] == "gaussian seed 0"  # 6 x 144 < 900


def test_auto_without_a_structured_frame_starts_at_random():
    one = nearortho.optimize((5, 11), kind="auto", seed=2, max_iter=200)
    two = nearortho.optimize((5, 11), kind="gaussian", seed=2, max_iter=200)
    assert one.start == two.start == "gaussian seed 2"
    np.testing.assert_array_equal(one.frame, two.frame)


def test_result_records_are_consistent():
    result = nearortho.optimize((4, 11), seed=3, max_iter=700, dtype="float64")
    W = result.frame
    assert W.shape == (11, 4) and W.dtype == np.float64 and W.flags.c_contiguous
    np.testing.assert_allclose(np.linalg.norm(W, axis=1), 1, atol=1e-12)
    G = np.abs(W @ W.T)
    np.fill_diagonal(G, -1)
    assert result.coherence == pytest.approx(G.max(), abs=1e-14)
    assert G[result.pair] == pytest.approx(result.coherence, abs=1e-14)
    history = result.history
    assert len(history) >= 2 and result.iterations <= 700
    assert np.all(np.diff(history["best"]) <= 0)  # the best seen never increases
    assert np.all(history["best"] <= history["coherence"])
    assert np.all(np.diff(history["iteration"]) > 0) and np.all(np.diff(history["seconds"]) >= 0)
    assert result.coherence <= history["best"][-1] * (1 + 1e-12)
    start = nearortho.frame(4, 11, seed=3, dtype="float64")
    assert result.coherence < nearortho.interference(start).coherence
    assert result.coherence >= result.best_bound


def test_frame_potential_reaches_a_tight_frame():
    # sum_{i<j} g_ij^2 >= (m^2 / n - m) / 2, with equality exactly for tight frames
    n, m = 5, 13
    result = nearortho.optimize((n, m), objective="frame_potential", seed=1, max_iter=3000, tol=1e-12)
    W = result.frame
    G = W @ W.T
    potential = (np.sum(G * G) - m) / 2
    assert potential == pytest.approx((m * m / n - m) / 2, rel=1e-8)
    np.testing.assert_allclose(W.T @ W, m / n * np.eye(n), atol=1e-4)


def test_progress_reports_the_best_coherence_and_w0_keeps_its_dtype():
    W0 = nearortho.frame(6, 20, seed=2, dtype="float32") * 3.0  # rows get normalised
    seen = []
    result = nearortho.optimize(W0, max_iter=400, progress=seen.append)
    assert result.frame.dtype == np.float32 and result.frame.shape == (20, 6)
    assert seen and all(isinstance(s, nearortho.OptimizeProgress) for s in seen)
    best = [s.coherence for s in seen]
    assert all(b2 <= b1 for b1, b2 in zip(best, best[1:]))
    assert seen[-1].coherence == pytest.approx(result.coherence, abs=1e-6)
    assert seen[-1].best_bound == pytest.approx(result.best_bound)


def test_same_steps_give_the_same_frame_for_any_thread_count():
    # 3 m^2 n = 2.4e8 flops per pass: large enough that the core uses both threads
    W0 = nearortho.frame(64, 1100, seed=4)
    one = nearortho.optimize(W0, max_iter=6, threads=1)
    two = nearortho.optimize(W0, max_iter=6, threads=2)
    np.testing.assert_array_equal(one.frame, two.frame)
    assert one.stopped == two.stopped == "max_iter"


def test_bad_inputs_raise_clear_errors():
    W0 = nearortho.frame(4, 9, seed=0, dtype="float64")
    bad = W0.copy()
    bad[3, 2] = np.nan
    with pytest.raises(ValueError, match="W0 must be finite"):
        nearortho.optimize(bad)
    with pytest.raises(ValueError, match="W0 needs at least 2 rows"):
        nearortho.optimize(W0[:1])
    with pytest.raises(ValueError, match="m must be >= 2"):
        nearortho.optimize((4, 1))
    zero = W0.copy()
    zero[5] = 0
    with pytest.raises(ValueError, match="zero row"):
        nearortho.optimize(zero)
    with pytest.raises(ValueError, match="kind must be one of .*auto"):
        nearortho.optimize((4, 9), kind="best")
    with pytest.raises(ValueError, match="objective"):
        nearortho.optimize(W0, objective="max")
    with pytest.raises(TypeError, match="max_iter"):
        nearortho.optimize(W0, max_iter=1.5)
    with pytest.raises(ValueError, match="tol"):
        nearortho.optimize(W0, tol=0)
    with pytest.raises(TypeError, match="progress"):
        nearortho.optimize(W0, progress=3)
    with pytest.raises(TypeError, match="dtype"):
        nearortho.optimize(W0, dtype="int32")
    with pytest.raises(ValueError, match="p_first"):
        nearortho.optimize(W0, p_first=64, p_max=32)


@pytest.mark.parametrize("m, p_first, first_p", [(101, None, 8), (4096, None, 64), (101, 20, 20)])
def test_the_smooth_stage_starts_at_p_first(m, p_first, first_p):
    # 8 below 4096 rows, 64 from there (where each step counts); m > 100 skips the projection stage
    seen = []
    nearortho.optimize((4, m), p_first=p_first, max_iter=1, progress=seen.append)
    assert (seen[-1].stage, seen[-1].p) == ("smooth", first_p)


@pytest.mark.skipif(not hasattr(signal, "SIGINT") or os.name != "posix", reason="needs POSIX signals")
@pytest.mark.usefixtures("cpu_backend")  # the CPU core's paths, batches and calls
def test_sigint_ends_the_gradient_pass_it_arrives_in(monkeypatch):
    # one pass at (256, 20000) is 3 m^2 n = 3e11 flops, seconds on one thread: the signal is
    # sent 0.3 s into the first one, which must end without a second starting.
    # Judged by passes, not seconds, so a loaded machine cannot fail it.
    core = importlib.import_module("nearortho._core")
    real, passes = core.surrogate_gradient, []
    timer = threading.Timer(0.3, os.kill, args=(os.getpid(), signal.SIGINT))

    def first_pass_interrupted(*args):
        if not passes:
            timer.start()
        passes.append(args[1])
        return real(*args)

    monkeypatch.setattr(core, "surrogate_gradient", first_pass_interrupted)
    try:
        with pytest.raises(KeyboardInterrupt):
            nearortho.optimize((256, 20000), max_seconds=600, threads=1)  # seconds even on 16 cores
    finally:
        timer.cancel()
    assert len(passes) == 1


def _coherence_oracle(W):
    G = np.abs(W.astype(np.float64) @ W.astype(np.float64).T)
    np.fill_diagonal(G, 0.0)
    return G.max()


def test_ctrl_c_hands_back_the_best_frame_so_far(monkeypatch):
    # progress is reported at every step (not every 0.25 s, which a fast machine can
    # converge within): Ctrl-C arrives at the 20th report, mid-descent
    monkeypatch.setattr(importlib.import_module("nearortho.optimize"), "_PROGRESS_SECONDS", 0.0)
    states = []

    def interrupted_at_the_20th_report(state):
        states.append(state)
        if len(states) == 20:
            raise KeyboardInterrupt

    start = nearortho.frame(8, 101, seed=0, dtype="float64")
    with pytest.raises(nearortho.OptimizeInterrupted) as caught:
        nearortho.optimize(start, max_iter=10**7, progress=interrupted_at_the_20th_report)
    assert isinstance(caught.value, KeyboardInterrupt) and len(states) == 20
    result = caught.value.result
    assert result.stopped == "interrupted" and result.starts[-1][3] == "interrupted"
    assert result.iterations == states[-1].iteration > 0
    assert result.coherence == pytest.approx(_coherence_oracle(result.frame), abs=1e-12)
    assert result.coherence == pytest.approx(states[-1].coherence, abs=1e-12)
    assert result.coherence < _coherence_oracle(start)


@pytest.mark.parametrize("start", [np.eye(4)[:3], (8, 8)])
def test_an_orthonormal_start_stops_at_the_bound(start):
    # m <= n: the best bound is 0 and orthonormal rows meet it; an exact 0 must not
    # reach the core as a scale, nor run the budget out
    result = nearortho.optimize(start, kind="orthogonal", max_iter=300)
    assert result.stopped == "bound" and result.iterations < 300
    assert result.coherence <= 1e-12 and result.gap == result.coherence
    np.testing.assert_allclose(result.frame @ result.frame.T, np.eye(len(result.frame)), atol=1e-12)


def test_a_random_start_with_room_reaches_orthogonality():
    result = nearortho.optimize((8, 4), max_iter=2000)
    assert result.stopped == "bound" and result.coherence <= 4 * np.finfo(np.float64).eps


def test_restarts_keep_the_best_over_fresh_seeds():
    one = nearortho.optimize((3, 8), tol=1e-4, max_iter=20000)
    more = nearortho.optimize((3, 8), tol=1e-4, max_iter=20000, restarts=1)
    assert one.stopped == more.stopped == "converged"
    assert more.iterations > one.iterations  # the second start ran too
    assert [label for label, *_ in more.starts] == ["gaussian seed 0", "gaussian seed 1"]
    assert np.all(np.diff(more.history["best"]) <= 0)  # across starts too
    assert more.starts[0] == one.starts[0] and more.coherence == pytest.approx(min(c for _, c, *_ in more.starts))
    assert more.coherence <= one.coherence  # and the first start is the same run
    with pytest.raises(ValueError, match="restarts"):
        nearortho.optimize(one.frame, restarts=1)


def test_frame_potential_restarts_keep_the_lowest_potential():
    # sum_{i<j} g_ij^2 >= (m^2 / n - m) / 2, reached by the first start; the restart that the
    # budget cuts short three steps in ends higher and must not replace it
    n, m = 20, 200
    one = nearortho.optimize((n, m), objective="frame_potential", max_iter=10_000)
    assert one.stopped == "converged"
    more = nearortho.optimize((n, m), objective="frame_potential", restarts=3, max_iter=one.iterations + 3)
    assert [ended for *_, ended in more.starts] == ["converged", "max_iter"]
    G = more.frame.astype(np.float64) @ more.frame.T.astype(np.float64)
    assert (np.sum(G * G) - m) / 2 == pytest.approx((m * m / n - m) / 2, rel=1e-6)
    assert more.start == "gaussian seed 0"
    np.testing.assert_array_equal(more.frame, one.frame)


def test_restarts_from_a_structured_kind_are_gaussian():
    # the Kerdock frame does not depend on the seed: a restart from it would repeat the first run
    result = nearortho.optimize((8, 12), kind="kerdock", restarts=1, max_iter=20000)
    assert [label for label, *_ in result.starts] == ["kerdock", "gaussian seed 1"]
    assert result.starts[1][1:3] != result.starts[0][1:3]  # another run: its own lowest coherence and steps
    assert result.coherence == pytest.approx(min(c for _, c, *_ in result.starts))


def test_the_last_progress_report_describes_the_frame_returned():
    seen = []
    result = nearortho.optimize((5, 12), objective="frame_potential", max_iter=300, progress=seen.append)
    assert seen[-1].coherence == pytest.approx(result.coherence, rel=1e-12)


def test_repr_indents_the_bounds_inside_the_result_and_writes_plain_numbers():
    result = nearortho.optimize((4, 8), max_iter=3)
    lines = repr(result).splitlines()
    start = lines.index("  bounds=Bounds(")
    end = lines.index("  ),", start)
    inner = lines[start + 1:end]
    assert inner and all(line.startswith("    ") for line in inner)
    assert "    gerzon=10," in inner and "np." not in repr(result)  # gerzon = 4 * 5 / 2
