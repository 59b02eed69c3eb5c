"""bounds(): coherence lower bounds against hand-computed closed forms and known packings."""
import math

import numpy as np
import pytest

import nearortho as no


@pytest.mark.parametrize("n, m, welch", [
    (2, 3, 0.5),                   # the Mercedes frame: sqrt(1 / (2 * 2))
    (3, 6, 1 / math.sqrt(5)),      # the icosahedron's 6 diagonals
    (7, 28, 1 / 3),                # sqrt(21 / (7 * 27)), the 28 lines in R^7
    (5, 5, 0.0),                   # an orthonormal basis fits
])
def test_welch_at_hand_points(n, m, welch):
    b = no.bounds(n, m)
    assert float(b.welch) == pytest.approx(welch, rel=1e-14, abs=1e-300)
    assert float(b.best) == float(b.welch) and str(b.best_name) == "welch"
    assert np.isnan(b.orthoplex) and np.isnan(b.levenshtein)  # m <= n(n+1)/2


def test_every_bound_is_one_in_one_dimension():
    b = no.bounds(1, [2, 3, 50])  # in R^1 every pair is +-1; all three bounds apply and agree
    for values in (b.welch, b.orthoplex, b.levenshtein, b.best):
        np.testing.assert_allclose(values, 1.0, rtol=1e-15)
    assert list(b.best_name) == ["levenshtein"] * 3


@pytest.mark.parametrize("n", [2, 4, 16, 64])
def test_levenshtein_meets_orthoplex_at_kerdock_size(n):
    # at m = n(n+2)/2: (3m - n^2 - 2n) / ((n + 2)(m - n)) = (n(n+2)/2) / ((n+2) n^2 / 2) = 1/n
    b = no.bounds(n, n * (n + 2) // 2)
    assert float(b.levenshtein) == pytest.approx(1 / math.sqrt(n), rel=1e-14)
    assert float(b.orthoplex) == pytest.approx(1 / math.sqrt(n), rel=1e-14)
    assert str(b.best_name) == "orthoplex"  # the tie names the simpler bound


def test_orthoplex_then_levenshtein_above_gerzon():
    # (3, 7): orthoplex 1/sqrt(3) = 0.5774 beats Levenshtein sqrt(6 / 20) = 0.5477
    b = no.bounds(3, 7)
    assert float(b.orthoplex) == pytest.approx(1 / math.sqrt(3), rel=1e-14)
    assert float(b.levenshtein) == pytest.approx(math.sqrt(0.3), rel=1e-14)
    assert str(b.best_name) == "orthoplex" and float(b.best) == float(b.orthoplex)
    # (3, 16): Levenshtein sqrt((48 - 9 - 6) / (5 * 13)) = sqrt(33 / 65) beats 1/sqrt(3)
    b = no.bounds(3, 16)
    assert float(b.levenshtein) == pytest.approx(math.sqrt(33 / 65), rel=1e-14)
    assert str(b.best_name) == "levenshtein" and float(b.best) == float(b.levenshtein)


def test_bounds_below_known_optimal_packings():
    # m lines in R^2 pack best as equally spaced angles pi/m: coherence cos(pi/m)
    for m in range(3, 12):
        assert float(no.bounds(2, m).best) <= math.cos(math.pi / m) + 1e-15
    assert float(no.bounds(2, 4).best) == pytest.approx(math.cos(math.pi / 4), rel=1e-14)  # tight


def test_random_frames_never_beat_the_best_bound():
    for n, m in [(2, 7), (3, 9), (4, 13), (5, 40)]:
        W = no.frame(n, m, seed=n, dtype="float64")
        G = np.abs(W @ W.T)
        np.fill_diagonal(G, 0)
        assert G.max() >= float(no.bounds(n, m).best)


def test_gerzon_and_best_is_largest_applicable():
    n = np.arange(1, 30)[:, None]
    m = np.arange(2, 600)[None, :]
    b = no.bounds(n, m)
    assert b.best.shape == (29, 598) and b.best_name.shape == (29, 598)
    np.testing.assert_array_equal(b.gerzon, n * (n + 1) // 2 + 0 * m)
    applicable = np.fmax(np.fmax(b.welch, b.orthoplex), b.levenshtein)
    np.testing.assert_allclose(b.best, applicable, rtol=1e-14)
    np.testing.assert_array_equal(np.isnan(b.orthoplex), m <= n * (n + 1) // 2)


def test_broadcasting_matches_scalar_calls():
    b = no.bounds(np.array([3, 8]), np.array([[5], [50]]))
    for i, m in enumerate([5, 50]):
        for j, n in enumerate([3, 8]):
            one = no.bounds(n, m)
            assert b.best[i, j] == one.best and b.best_name[i, j] == one.best_name and b.welch[i, j] == one.welch


def test_references_carry_the_best_bound():
    W = no.frame(3, 10, seed=1, dtype="float64")
    stats = no.interference(W)
    assert stats.best_bound == float(no.bounds(3, 10).best) and stats.best_bound_name == "levenshtein"
    assert "best bound" in repr(stats) and stats.to_dict()["best_bound"] == stats.best_bound
    t = no.theory([4, 16], 12)
    np.testing.assert_array_equal(t.best_bound, no.bounds([4, 16], 12).best)
    assert [r["best_bound_name"] for r in t.records()] == ["orthoplex", "welch"]


@pytest.mark.parametrize("n, m, error", [(0, 5, ValueError), (3, 1, ValueError), (3.5, 7, ValueError),
                                         (True, 7, TypeError), ("3", 7, TypeError), ([], 7, ValueError)])
def test_bad_sizes_raise(n, m, error):
    with pytest.raises(error, match="n|m"):
        no.bounds(n, m)


def test_no_bound_is_claimed_between_two_frames():
    # B spans the complement of A's one vector: the cross coherence is 0, below any
    # bound for m + m2 vectors, so none may be shown as one
    rng = np.random.default_rng(3)
    A = np.eye(8)[:1]
    B = rng.standard_normal((200, 8))
    B[:, 0] = 0.0
    stats = no.interference(A, B)
    assert stats.coherence == 0.0
    assert np.isnan(stats.welch) and np.isnan(stats.best_bound) and stats.best_bound_name == "none"
    assert no.interference(B).best_bound > 0


def test_huge_n_is_refused_by_name_and_the_largest_allowed_is_exact():
    with pytest.raises(ValueError, match="n must be <= 2147483647"):
        no.bounds(2**33, 2**40)
    n = 2**31 - 1
    b = no.bounds(n, 10)
    assert int(b.gerzon) == n * (n + 1) // 2 and str(b.best_name) == "welch"
