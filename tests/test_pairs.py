"""nearortho.pairs against the dense float64 Gram matrix: the same set of pairs
(away from rounding at the threshold), sorted by |g| then (i, j); the count is
known before anything is collected."""
import numpy as np
import pytest

import nearortho
from interference_oracle import gram


def oracle_pairs(W, B, threshold, signed):
    G, mask = gram(W, B)
    key = G if signed else np.abs(G)
    return G, key, mask & (key >= threshold)


@pytest.mark.parametrize("m, n, m2", [(2, 3, None), (37, 5, None), (70, 4, None), (20, 3, 1), (33, 6, 17)])
@pytest.mark.parametrize("threshold", [0.3, 0.8])
@pytest.mark.parametrize("signed", [False, True])
@pytest.mark.parametrize("k", [1, 4])
def test_pairs_equal_the_dense_oracle(m, n, m2, threshold, signed, k):
    rng = np.random.default_rng(m * 100 + n)
    W = rng.standard_normal((m, n))
    B = None if m2 is None else rng.standard_normal((m2, n))
    i, j, g = nearortho.pairs(W, threshold, B, signed=signed, k=k)
    G, key, want = oracle_pairs(W, B, threshold, signed)
    assert not np.any(np.abs(key - threshold) < 1e-12)  # no pair sits on the threshold within rounding
    assert set(zip(i.tolist(), j.tolist())) == set(zip(*np.nonzero(want)))
    np.testing.assert_allclose(g, G[i, j], rtol=0, atol=1e-14)
    ranked = g if signed else np.abs(g)
    assert np.all(np.diff(ranked) <= 0)  # best first
    assert i.dtype == j.dtype == np.int64 and g.dtype == np.float64


def test_ties_go_by_index_and_duplicates_are_found():
    # sign vectors: many equal |g|; a duplicated and a negated row give g = +-1 within rounding
    rng = np.random.default_rng(3)
    W = np.sign(rng.standard_normal((40, 9)))
    W[25] = W[3]
    W[30] = -W[3]
    i, j, g = nearortho.pairs(W, 5 / 9 - 1e-9, k=2)
    _, key, want = oracle_pairs(W, None, 5 / 9 - 1e-9, False)
    assert set(zip(i.tolist(), j.tolist())) == set(zip(*np.nonzero(want)))
    order = np.lexsort((j, i, -np.abs(g)))
    assert np.array_equal(order, np.arange(len(i)))  # ties by (i, j)
    assert (i[0], j[0]) == (3, 25) and (i[1], j[1]) == (3, 30) and g[0] == -g[1] == pytest.approx(1, abs=1e-15)
    si, sj, sg = nearortho.pairs(W, 0.999, signed=True)
    _, _, same = oracle_pairs(W, None, 0.999, True)
    assert set(zip(si.tolist(), sj.tolist())) == set(zip(*np.nonzero(same))) and (3, 25) in zip(si, sj)
    assert (3, 30) not in zip(si, sj) and np.all(sg > 0.999)


def test_too_many_pairs_says_how_many_before_collecting():
    W = nearortho.frame(8, 300, seed=2)
    _, _, want = oracle_pairs(W, None, 0.2, False)
    count = int(want.sum())
    with pytest.raises(ValueError, match=f"^{count} pairs have .cos. >= 0.2, more than max_pairs = 10;"):
        nearortho.pairs(W, 0.2, max_pairs=10)
    assert len(nearortho.pairs(W, 0.2, max_pairs=count)[0]) == count


def test_float32_pairs_are_exact_in_the_kernels_arithmetic():
    W = nearortho.frame(16, 500, seed=4)  # float32
    stats = nearortho.interference(W, thresholds=(0.6,))
    i, j, g = nearortho.pairs(W, 0.6, k=1)
    assert len(i) == stats.count_above[0.6] and np.all(np.abs(g) > 0.6)
    assert (i[0], j[0]) == stats.pair and abs(g[0]) == stats.coherence


@pytest.mark.parametrize(
    "args, kwargs, error, words",
    [
        ((0.0,), {}, ValueError, "threshold must be > 0.0"),
        ((1.5,), {}, ValueError, "threshold must be <= 1.0"),
        (("x",), {}, TypeError, "threshold must be a real number"),
        ((0.5,), {"signed": "yes"}, TypeError, "signed must be a bool"),
        ((0.5,), {"max_pairs": -1}, ValueError, "max_pairs must be >= 0"),
        ((0.5,), {"k": 0}, ValueError, "k must be >= 1"),
        ((0.5, np.ones((3, 2))), {}, ValueError, "B must have n = 4 columns"),
    ],
)
def test_bad_arguments(args, kwargs, error, words):
    with pytest.raises(error, match=words):
        nearortho.pairs(np.eye(4), *args, **kwargs)
