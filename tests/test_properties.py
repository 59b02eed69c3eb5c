"""Property-based tests of the public functions against plain float64 numpy oracles,
under every SIMD level this CPU runs (the ``isa`` fixture): odd and tiny shapes
(m = 2, n = 1), both dtypes, non-contiguous, byte-swapped and float16 views, exact
ties, and hostile arguments that must raise a named TypeError or ValueError (or
MemoryError), never crash or return nonsense. The example budget and derandomised
search are the "ci" profile of tests/conftest.py."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import nearortho
from interference_oracle import gram, near, tolerance


@st.composite
def frames(draw, min_rows=2, max_rows=40, max_n=40):
    """(W as the caller passes it, W as float64, working dtype)."""
    m = draw(st.integers(min_rows, max_rows))
    n = draw(st.integers(1, max_n))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    shape = draw(st.sampled_from(["gaussian", "ties", "scaled"]))
    if shape == "ties":  # few distinct signed rows: exact ties in every statistic
        W = rng.choice([-1.0, 1.0], size=(m, n)) * 0.5
    else:
        W = rng.standard_normal((m, n)) * (10.0 ** draw(st.integers(-3, 3)) if shape == "scaled" else 1.0)
    W = W.astype(dtype)
    view = draw(st.sampled_from(["contiguous", "strided", "fortran", "byteswapped", "float16"]))
    if view == "strided":
        given_W = np.repeat(W, 2, axis=0)[::2]
    elif view == "fortran":
        given_W = np.asfortranarray(W)
    elif view == "byteswapped":
        given_W = W.astype(W.dtype.newbyteorder(">"))
    elif view == "float16":
        given_W = W.astype(np.float16)
        W, dtype = given_W.astype(np.float32), np.float32
    else:
        given_W = W
    return given_W, np.asarray(W, dtype=np.float64), dtype


def _check_stats(stats, W64, B64, normalize, dtype, thresholds, topk):
    G, mask = gram(W64, B64, normalize=normalize)
    values = np.abs(G[mask])
    tol = tolerance(W64, B64, normalize, dtype)
    assert stats.pairs == values.size
    assert abs(stats.coherence - values.max()) <= tol
    i, j = stats.pair
    assert abs(abs(G[i, j]) - values.max()) <= 2 * tol
    assert stats.sum == pytest.approx(G[mask].sum(), abs=values.size * tol + 1e-9)
    assert stats.sum_sq == pytest.approx((values**2).sum(), rel=1e-4, abs=values.size * tol * (1 + values.max()))
    assert int(stats.hist.sum()) == values.size
    lo, hi = stats.hist_range
    oracle_hist = np.histogram(np.minimum(values, np.nextafter(hi, 0)), bins=len(stats.hist), range=(lo, hi))[0]
    edges = np.linspace(lo, hi, len(stats.hist) + 1)
    assert np.abs(stats.hist - oracle_hist).sum() <= 2 * near(values, edges, tol)
    for t in thresholds:
        assert abs(stats.count_above[t] - np.count_nonzero(values > t)) <= near(values, [t], tol)
    partners = np.abs(G) if B64 is not None else np.where(mask | mask.T, np.abs(G), -np.inf)
    if stats.row_max is not None:
        np.testing.assert_allclose(stats.row_max, partners.max(axis=1), rtol=0, atol=tol)
        picked = partners[np.arange(len(partners)), stats.row_argmax]
        np.testing.assert_allclose(picked, partners.max(axis=1), rtol=0, atol=2 * tol)
    if topk:
        best = -np.sort(-partners, axis=1)[:, :topk]
        np.testing.assert_allclose(np.abs(stats.topk_value), best, rtol=0, atol=tol)
        signed = G[np.arange(len(G))[:, None], stats.topk_index]
        np.testing.assert_allclose(stats.topk_value, signed, rtol=0, atol=2 * tol)
    rank = min(values.size, max(1, math.ceil(0.5 * values.size)))
    assert abs(stats.quantile(0.5, exact=True) - np.sort(values)[rank - 1]) <= tol


@given(frames(), st.booleans(), st.integers(1, 70), st.lists(st.floats(0, 1.5), max_size=3), st.data())
def test_interference_matches_the_float64_oracle(isa, frame, normalize, bins, thresholds, data):
    W, W64, dtype = frame
    assume(normalize or np.abs(W64).max() > 0)
    if normalize:
        assume(np.linalg.norm(W64, axis=1).min() > 0)
    topk = data.draw(st.integers(0, min(3, len(W64) - 2)))
    stats = nearortho.interference(W, normalize=normalize, bins=bins, thresholds=thresholds, topk=topk,
                                   threads=data.draw(st.sampled_from([None, 1, 3])))
    _check_stats(stats, W64, None, normalize, dtype, thresholds, topk)


@given(frames(min_rows=1, max_rows=20, max_n=12), st.data())
def test_interference_between_two_frames_matches_the_oracle(isa, frame, data):
    W, W64, dtype = frame
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    B64 = rng.standard_normal((data.draw(st.integers(1, 20)), W64.shape[1]))
    assume(np.linalg.norm(W64, axis=1).min() > 0)
    B = B64.astype(dtype)
    topk = data.draw(st.integers(0, min(3, len(B64) - 1)))
    stats = nearortho.interference(W, B, topk=topk, thresholds=(0.5,))
    _check_stats(stats, W64, B.astype(np.float64), True, dtype, (0.5,), topk)


@given(frames(max_rows=30, max_n=16), st.integers(1, 29))
def test_neighbors_are_the_oracle_top_k(isa, frame, k):
    W, W64, dtype = frame
    assume(k < len(W64) - 1 and np.linalg.norm(W64, axis=1).min() > 0)
    index, cosine = nearortho.neighbors(W, k)
    G, mask = gram(W64)
    partners = np.where(mask | mask.T, np.abs(G), -np.inf)
    tol = tolerance(W64, None, True, dtype)
    np.testing.assert_allclose(np.abs(cosine), -np.sort(-partners, axis=1)[:, :k], rtol=0, atol=tol)
    assert (index != np.arange(len(W64))[:, None]).all()


@given(st.integers(1, 70), st.integers(1, 90), st.sampled_from(nearortho.KINDS),
       st.sampled_from(["float32", "float64"]), st.integers(0, 2**64 - 1), st.data())
def test_frame_rows_are_unit_and_any_block_has_the_same_bits(isa, n, m, kind, dtype, seed, data):
    whole = nearortho.frame(n, m, kind, seed=seed, dtype=dtype)
    assert whole.shape == (m, n) and whole.dtype == dtype
    eps = np.finfo(dtype).eps
    np.testing.assert_allclose(np.linalg.norm(whole.astype(np.float64), axis=1), 1.0, atol=8 * n * eps)
    start = data.draw(st.integers(0, m))
    stop = data.draw(st.integers(start, m))
    block = nearortho.frame(n, m, kind, seed=seed, dtype=dtype, rows=slice(start, stop), threads=2)
    assert np.array_equal(block, whole[start:stop])


@given(frames(min_rows=1, max_rows=30, max_n=24), st.data())
def test_readouts_match_the_oracle_and_simulate_counts_them(isa, frame, data):
    W, W64, dtype = frame
    m = len(W64)
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    trials = data.draw(st.integers(1, 6))
    indices = [rng.choice(m, size=rng.integers(0, m + 1), replace=False) for _ in range(trials)]
    values = [rng.uniform(-2, 2, size=len(i)) for i in indices]
    path = data.draw(st.sampled_from(["dense", "gram"]))
    r = nearortho.readouts(W, (indices, values), path=path)
    x = np.zeros((trials, m))
    for t, (i, a) in enumerate(zip(indices, values)):
        x[t, i] = a
    X = x @ W64
    oracle = X @ W64.T
    scale = np.linalg.norm(W64, axis=1)[None, :] * (np.abs(x) @ np.linalg.norm(W64, axis=1))[:, None]
    eps = float(np.finfo(dtype).eps)
    np.testing.assert_array_less(np.abs(r - oracle), 4 * (W64.shape[1] + m + 2) * eps * scale + 1e-300)
    threshold = data.draw(st.floats(-1, 1))
    s = nearortho.simulate(W, activations=(indices, values), threshold=threshold, path=path)
    on = x != 0
    tol = 4 * (W64.shape[1] + m + 2) * eps * scale
    fp_lo = np.count_nonzero((oracle > threshold + tol) & ~on)
    fp_hi = np.count_nonzero((oracle > threshold - tol) & ~on)
    if (~on).any():
        assert fp_lo <= s.false_positive_rate * np.count_nonzero(~on) + 1e-9
        assert s.false_positive_rate * np.count_nonzero(~on) <= fp_hi + 1e-9


@given(st.integers(1, 200), st.integers(1, 30), st.sampled_from(["boolean", ("uniform", 2.0), ("levels", 3, 1.5)]),
       st.booleans(), st.integers(0, 2**64 - 1))
def test_sample_activations_are_l_distinct_sorted_features(m, trials, amplitude, signed, seed):
    l = min(m, 7)
    indices, values = nearortho.sample_activations(m, l, trials=trials, amplitude=amplitude, signed=signed, seed=seed)
    assert len(indices) == len(values) == trials
    for i, a in zip(indices, values):
        assert len(i) == l and (np.diff(i) > 0).all() and (0 <= i).all() and (i < m).all()
        top = 1.0 if amplitude == "boolean" else amplitude[-1]
        assert (np.abs(a) > 0).all() and (np.abs(a) <= top).all() and (signed or (a > 0).all())


@given(st.integers(1, 10**6), st.integers(2, 10**9))
def test_reference_values_against_their_formulas(n, m):
    welch = float(nearortho.welch_bound(n, m))
    assert welch == pytest.approx(math.sqrt((m - n) / (n * (m - 1))) if m > n else 0.0, rel=1e-12, abs=1e-300)
    assert float(nearortho.eps_jl(n, m)) == pytest.approx(math.sqrt(8 * math.log(m) / n), rel=1e-12)
    median = float(nearortho.random_coherence(n, m))
    assert (median == 1.0) if n == 1 else (welch - 1e-12 <= median <= 1.0)


_HOSTILE_ARRAYS = [np.array([[np.nan, 1.0], [1.0, 0.0]]), np.array([[np.inf, 1.0], [1.0, 0.0]]), np.zeros((0, 3)),
                   np.ones(4), np.ones((2, 2, 2)), np.array([[1, 2], [3, 4]]), np.array([["a", "b"], ["c", "d"]]),
                   np.ones((1, 3)), np.zeros((3, 2)), "W", None, [[1.0, 2.0], [3.0]]]
_HOSTILE_VALUES = [-1, 0, 1, 2, 2**24 + 1, 2**63, 2**64, -(2**63) - 1, 1.5, float("nan"), float("inf"), True, "3", None,
                   [1], (0.5, "x")]


@given(st.sampled_from(_HOSTILE_ARRAYS + ["ok"]),
       st.dictionaries(st.sampled_from(["bins", "topk", "threads", "row_offset", "col_offset", "thresholds",
                                        "normalize", "per_row"]), st.sampled_from(_HOSTILE_VALUES), max_size=3))
def test_hostile_interference_arguments_raise_named_errors(W, kwargs):
    if isinstance(W, str) and W == "ok":
        W = nearortho.frame(4, 5)
    try:
        stats = nearortho.interference(W, **kwargs)
    except (TypeError, ValueError, MemoryError) as error:
        assert str(error)  # a message, naming what was wrong
        return
    assert stats.pairs == len(np.asarray(W)) * (len(np.asarray(W)) - 1) // 2 and np.isfinite(stats.coherence)


@given(st.dictionaries(st.sampled_from(["n", "m", "kind", "seed", "dtype", "rows", "threads", "s"]),
                       st.sampled_from(_HOSTILE_VALUES + ["sparse", "srht", slice(2, 1), slice(0, 3, 2)]),
                       max_size=3))
def test_hostile_frame_arguments_raise_named_errors(kwargs):
    arguments = {"n": 5, "m": 7, **kwargs}
    try:
        W = nearortho.frame(**arguments)
    except (TypeError, ValueError, MemoryError) as error:
        assert str(error)
        return
    assert np.isfinite(W).all() and W.ndim == 2


@given(st.dictionaries(st.sampled_from(["l", "trials", "threshold", "bins", "seed", "p", "amplitude", "path",
                                        "hist_range", "threads"]),
                       st.sampled_from(_HOSTILE_VALUES + ["gram", ("levels", 0, 1.0), ("uniform", -1.0), (1.0, 0.0)]),
                       max_size=3))
def test_hostile_simulate_arguments_raise_named_errors(kwargs):
    arguments = {"l": 2, "trials": 3, **kwargs}
    try:
        s = nearortho.simulate(nearortho.frame(6, 9, seed=1), **arguments)
    except (TypeError, ValueError, MemoryError) as error:
        assert str(error)
        return
    assert s.trials >= 1 and 0 <= s.error_rate <= 1
