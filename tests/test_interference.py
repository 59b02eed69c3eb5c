"""nearortho.interference against a dense float64 numpy Gram oracle on sizes that
hit every tile remainder, every ISA in turn, and threads 1 vs 2."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

import nearortho
from interference_oracle import gram, near, partner_values, tolerance

SIZES = (2, 3, 7, 16, 17, 31, 33, 64, 65, 97, 300)
# every m with every n for the plain case; the other variants cycle n and m2
SHAPES = list(itertools.product(SIZES, SIZES))
THRESHOLDS = (0.05, 0.25)


def make(rng, shape, dtype):
    return rng.standard_normal(shape).astype(dtype)


def check_against_oracle(W, B, normalize, dtype, topk, bins=64):
    stats = nearortho.interference(W, B, normalize=normalize, bins=bins, thresholds=THRESHOLDS,
                                   topk=topk, threads=2)
    G, mask = gram(W, B, normalize)
    tol = tolerance(W, B, normalize, dtype)
    g = G[mask]
    a = np.abs(g)
    symmetric = B is None

    assert stats.pairs == g.size
    assert stats.sum == pytest.approx(g.sum(), abs=tol * g.size)
    assert stats.sum_abs == pytest.approx(a.sum(), abs=tol * g.size)
    assert stats.sum_sq == pytest.approx((g * g).sum(), abs=3 * tol * g.size * max(1.0, a.max()))
    assert stats.mean == pytest.approx(g.mean(), abs=tol)
    assert stats.rms == pytest.approx(np.sqrt((g * g).mean()), rel=1e-5, abs=tol)

    # coherence and its pair: exact pair unless the two largest |g| are within rounding
    assert stats.coherence == pytest.approx(a.max(), abs=tol)
    i, j = stats.pair
    assert mask[i, j]
    top2 = np.sort(a)[-2:] if a.size > 1 else np.array([-1.0, a.max()])
    if top2[1] - top2[0] > 2 * tol:
        flat = np.argmax(np.where(mask, np.abs(G), -1.0))
        assert (i, j) == np.unravel_index(flat, G.shape)
    else:
        assert abs(G[i, j]) == pytest.approx(a.max(), abs=2 * tol)

    # histogram on the reported range: exact except values within rounding of an edge
    lo, hi = stats.hist_range
    if normalize:
        assert (lo, hi) == (0.0, 1.0)
    else:
        norms = np.linalg.norm(np.asarray(W, np.float64), axis=1)
        other = np.sort(norms)[-2] if symmetric else np.linalg.norm(np.asarray(B, np.float64), axis=1).max()
        assert hi == pytest.approx(norms.max() * other, rel=1e-12)
    bins = len(stats.hist)
    expected = np.bincount(np.minimum((a / hi * bins).astype(np.int64), bins - 1), minlength=bins)
    assert stats.hist.sum() == g.size
    edges = np.linspace(0.0, hi, bins + 1)[1:-1]
    assert np.abs(stats.hist - expected).sum() <= 2 * near(a, edges, tol)

    for t in THRESHOLDS:
        assert abs(stats.count_above[t] - np.count_nonzero(a > t)) <= near(a, [t], tol)

    # per row, and with B per row of B (the columns) from the same pass
    A = partner_values(G, mask, symmetric)
    signed = np.where(np.isfinite(A), G, -np.inf)
    check_side(G, A, signed, tol, topk, stats.row_max, stats.row_argmax, stats.row_signed_max,
               stats.row_signed_argmax, stats.row_sumsq, stats.topk_index, stats.topk_value)
    if symmetric:
        assert stats.col_max is None and stats.col_topk_index is None
    else:
        check_side(G.T, A.T, signed.T, tol, topk, stats.col_max, stats.col_argmax, stats.col_signed_max,
                   stats.col_signed_argmax, stats.col_sumsq, stats.col_topk_index, stats.col_topk_value)
    return stats


def check_side(G, A, signed, tol, topk, row_max, row_argmax, signed_max, signed_argmax, sumsq, topk_index,
               topk_value):
    """Per-row outputs of one side against the oracle: G the cosines of its rows with
    their partners, A their |g| and ``signed`` their g (-inf where not a partner)."""
    rows = np.arange(len(A))[:, None]
    for value, argmax, key in ((row_max, row_argmax, A), (signed_max, signed_argmax, signed)):
        best = key.max(axis=1)
        np.testing.assert_allclose(value, best, rtol=0, atol=tol)
        np.testing.assert_allclose(key[rows[:, 0], argmax], best, rtol=0, atol=2 * tol)
        S = np.sort(key, axis=1)
        clear = (S[:, -1] - S[:, -2] > 2 * tol) if A.shape[1] > 1 else np.ones(len(A), bool)
        np.testing.assert_array_equal(argmax[clear], key.argmax(axis=1)[clear])
    sq = np.where(np.isfinite(A), G * G, 0.0).sum(axis=1)
    np.testing.assert_allclose(sumsq, sq, rtol=0, atol=3 * tol * A.shape[1])

    if topk:
        full = min(topk, int(np.isfinite(A[0]).sum()))  # B's rows may have fewer partners than topk
        assert np.all(topk_index[:, full:] == -1)
        index, value = topk_index[:, :full], topk_value[:, :full]
        order = np.argsort(-A, axis=1, kind="stable")[:, :full]
        np.testing.assert_allclose(np.abs(value), A[rows, order], rtol=0, atol=tol)
        np.testing.assert_allclose(value, G[rows, index], rtol=0, atol=2 * tol)
        assert all(len(set(r)) == full for r in index.tolist())
        assert np.all(np.diff(np.abs(value), axis=1) <= 0)
        gaps = np.diff(-np.sort(-A, axis=1)[:, :full + 1], axis=1)
        clear = np.all(np.abs(gaps) > 2 * tol, axis=1)
        np.testing.assert_array_equal(index[clear], order[clear])


@pytest.mark.parametrize("m,n", SHAPES)
def test_matches_oracle_float32_normalized(m, n):
    rng = np.random.default_rng(1000 * m + n)
    W = make(rng, (m, n), np.float32)
    check_against_oracle(W, None, True, np.float32, topk=min(3, m - 2) if m > 2 else 0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("normalize", [True, False])
@pytest.mark.parametrize("with_b", [False, True])
@pytest.mark.parametrize("index", range(len(SIZES)))
def test_matches_oracle_variants(index, with_b, normalize, dtype):
    m = SIZES[index]
    n = SIZES[(3 * index + 1) % len(SIZES)]
    m2 = SIZES[(5 * index + 2) % len(SIZES)]
    rng = np.random.default_rng([index, with_b, normalize, np.dtype(dtype).itemsize])
    W = make(rng, (m, n), dtype)
    B = make(rng, (m2, n), dtype) if with_b else None
    partners = m2 if with_b else m - 1
    topk = min(4, partners - 1)
    check_against_oracle(W, B, normalize, dtype, topk=max(topk, 0))


def exact_fields(s):
    sides = [(s.row_max, s.row_argmax, s.row_signed_max, s.row_signed_argmax, s.topk_index, s.topk_value)]
    if s.m2 is not None:
        sides.append((s.col_max, s.col_argmax, s.col_signed_max, s.col_signed_argmax, s.col_topk_index,
                      s.col_topk_value))
    return (s.coherence, s.pair, s.hist.tolist(), s.count_above, [[x.tolist() for x in side] for side in sides])


@pytest.mark.parametrize("isa", ["scalar", "avx2", "avx512"])
# n = 1030 and 2100: the k loop's blocks of 1024 and their remainders
@pytest.mark.parametrize("m,n,m2", [(97, 33, None), (300, 17, None), (65, 300, 31), (64, 7, None), (200, 64, 51),
                                    (65, 1030, 31), (150, 2100, None)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_every_isa_matches_the_oracle(isa, m, n, m2, dtype):
    # levels above what the CPU has run the best it has
    rng = np.random.default_rng([m, n, np.dtype(dtype).itemsize])
    W = make(rng, (m, n), dtype)
    B = None if m2 is None else make(rng, (m2, n), dtype)
    old = nearortho.set_max_isa(isa)
    try:
        check_against_oracle(W, B, True, dtype, topk=3)
    finally:
        nearortho.set_max_isa(old)


@pytest.mark.parametrize("bins", [1, 3, 8, 256, 257])
@pytest.mark.parametrize("with_b", [False, True])
def test_few_bins_match_the_oracle(isa, bins, with_b):
    # up to 256 bins, each lane counts into its own copy of the histogram, and the
    # copies are added when threads merge; 257 bins take the one-copy path
    rng = np.random.default_rng([bins, with_b])
    W = make(rng, (301, 16), np.float32)
    B = make(rng, (157, 16), np.float32) if with_b else None
    stats = check_against_oracle(W, B, True, np.float32, topk=0, bins=bins)
    assert len(stats.hist) == bins


def test_a_pass_keeps_the_isa_it_started_with():
    # the cap was read again for every pair of row blocks, after the rows' first
    # pass had polled: a set_max_isa meanwhile (another thread's, here the progress
    # callback's) mixed two ISAs' roundings in one pass
    if nearortho.build_info()["isa_detected"] == "scalar":
        pytest.skip("needs a vector ISA to tell from scalar")
    W = make(np.random.default_rng(12), (700, 37), np.float32)
    old = nearortho.set_max_isa("avx512")
    try:
        alone = nearortho.interference(W, threads=1, backend="cpu")
        switched = nearortho.interference(W, threads=1, backend="cpu",
                                          progress=lambda done, total: nearortho.set_max_isa("scalar"))
        scalar = nearortho.interference(W, threads=1, backend="cpu")
    finally:
        nearortho.set_max_isa(old)
    assert switched.sum_abs == alone.sum_abs != scalar.sum_abs  # every g of the pass in one rounding


@pytest.mark.parametrize("with_b", [False, True])
def test_thread_count_does_not_change_results(with_b):
    rng = np.random.default_rng(8)
    W = make(rng, (1000, 40), np.float32)
    B = make(rng, (700, 40), np.float32) if with_b else None
    one = nearortho.interference(W, B, thresholds=(0.3,), topk=4, threads=1)
    two = nearortho.interference(W, B, thresholds=(0.3,), topk=4, threads=2)
    assert exact_fields(one) == exact_fields(two)
    assert one.sum_sq == pytest.approx(two.sum_sq, rel=1e-12)
    np.testing.assert_allclose(one.row_sumsq, two.row_sumsq, rtol=1e-12)
    if with_b:
        np.testing.assert_allclose(one.col_sumsq, two.col_sumsq, rtol=1e-12)


def test_large_frame_pairs_and_frobenius_identity():
    rng = np.random.default_rng(9)
    m, n = 20000, 48
    W = rng.standard_normal((m, n)).astype(np.float32)
    stats = nearortho.interference(W, topk=2, thresholds=(0.5,))
    X = W.astype(np.float64)
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    tol = tolerance(W, None, True, np.float32)
    i, j = stats.pair
    assert i < j and abs(X[i] @ X[j]) == pytest.approx(stats.coherence, abs=tol)
    # sum over i < j of g^2 = (||X^T X||_F^2 - sum_i ||x_i||^4) / 2, from an n x n matrix
    frob = (np.linalg.norm(X.T @ X) ** 2 - np.sum(np.linalg.norm(X, axis=1) ** 4)) / 2
    assert stats.sum_sq == pytest.approx(frob, rel=1e-6)
    rows = rng.choice(m, size=40, replace=False)
    for r in rows:
        g = X @ X[r]
        g[r] = 0.0
        a = np.abs(g)
        assert stats.row_max[r] == pytest.approx(a.max(), abs=tol)
        assert a[stats.row_argmax[r]] == pytest.approx(a.max(), abs=2 * tol)
        assert stats.row_sumsq[r] == pytest.approx((g * g).sum(), rel=1e-5)
        np.testing.assert_allclose(stats.topk_value[r], g[stats.topk_index[r]], atol=2 * tol)
        np.testing.assert_allclose(np.abs(stats.topk_value[r]), np.sort(a)[::-1][:2], atol=tol)
    assert stats.coherence >= stats.row_max.max() - tol
    assert stats.coherence == pytest.approx(stats.row_max.max(), abs=0)
    assert stats.hist.sum() == m * (m - 1) // 2
