"""Structured frame kinds against the facts that define them: exact inner products of
mutually unbiased bases, equiangular tight frames, and clear errors for sizes that do not exist."""
import math

import numpy as np
import pytest

import nearortho


def gram(W):
    W = np.asarray(W, dtype=np.float64)
    return W @ W.T


def kerdock_bases(n):
    return nearortho.frame_max_rows("kerdock", n) // n


@pytest.mark.parametrize("n, bases", [(1, 1), (4, 3), (16, 9), (64, 33), (2, 2), (8, 2), (32, 2)])
def test_kerdock_is_mutually_unbiased_bases(n, bases):
    assert kerdock_bases(n) == bases
    W = nearortho.frame(n, bases * n, "kerdock", dtype="float64")
    G = gram(W)
    same_basis = np.equal.outer(np.arange(bases * n) // n, np.arange(bases * n) // n)
    # each basis orthonormal; between bases every |g| is 1/sqrt(n)
    np.testing.assert_allclose(G[same_basis], np.eye(bases * n)[same_basis], rtol=0, atol=1e-14)
    np.testing.assert_allclose(np.abs(G[~same_basis]), 1 / math.sqrt(n), rtol=0, atol=1e-14)
    assert np.array_equal(W[:n], np.eye(n))  # the standard basis first


@pytest.mark.parametrize("n", [4, 16, 64])
def test_kerdock_entries_and_inner_products_are_exact_at_powers_of_four(n):
    W = nearortho.frame(n, kerdock_bases(n) * n, "kerdock", dtype="float64")
    assert set(np.unique(np.abs(W[n:]))) == {1 / math.sqrt(n)}
    # with entries +-2^-k, every inner product is exact: |g| in {0, 1/sqrt(n)} bit for bit
    values = set(np.unique(np.abs(gram(W) - np.eye(len(W)))))
    assert values == {0.0, 1 / math.sqrt(n)}
    stats = nearortho.interference(W)
    assert stats.coherence == 1 / math.sqrt(n) == pytest.approx(stats.best_bound, rel=1e-14)  # meets Levenshtein


def probe_kerdock(n, bases, probes):
    """Every basis of the n = 4^k Kerdock set against each of the probe bases. Entries
    +-2^-k make every float32 inner product exact, so the comparisons are exact too."""
    W = nearortho.frame(n, bases * n, "kerdock", dtype="float32")
    assert set(np.unique(np.abs(W[n:]))) == {np.float32(1 / math.sqrt(n))}  # unbiased to the standard basis
    G = W @ W[np.concatenate([np.arange(b * n, (b + 1) * n) for b in probes])].T  # one sgemm
    for k, b in enumerate(probes):
        block = G[:, k * n:(k + 1) * n].reshape(bases, n, n)
        np.testing.assert_array_equal(block[b], np.eye(n))  # orthonormal
        others = np.delete(block, b, axis=0)
        assert np.all(np.abs(others) == np.float32(1 / math.sqrt(n)))  # unbiased to every other basis


def test_every_kerdock_basis_of_r256_against_spread_probes():
    probe_kerdock(256, 129, probes=[1, 2, 64, 128])  # 129 bases, each against 4 others


@pytest.mark.slow
def test_kerdock_bases_of_r1024_pairwise():
    n = 1024  # 513 bases: a few across the set, pairwise
    chosen = [1, 2, 3, 257, 512]
    blocks = np.concatenate([nearortho.frame(n, 513 * n, "kerdock", dtype="float32", rows=slice(b * n, (b + 1) * n))
                             for b in chosen])
    G = (blocks @ blocks.T).reshape(len(chosen), n, len(chosen), n)
    for a in range(len(chosen)):
        np.testing.assert_array_equal(G[a, :, a], np.eye(n))
        for b in range(a + 1, len(chosen)):
            assert np.all(np.abs(G[a, :, b]) == np.float32(1 / 32))


def test_kerdock_blocks_threads_dtypes_and_isa_agree_bitwise():
    n, m = 64, 2112
    whole = nearortho.frame(n, m, "kerdock", dtype="float64", threads=2)
    assert np.array_equal(whole, nearortho.frame(n, m, "kerdock", dtype="float64", threads=1))
    for a, b in [(0, 1), (63, 65), (100, 1000), (2047, 2112)]:
        assert np.array_equal(nearortho.frame(n, m, "kerdock", dtype="float64", rows=slice(a, b)), whole[a:b])
    assert np.array_equal(nearortho.frame(n, 77, "kerdock", dtype="float64"), whole[:77])  # m is a prefix
    assert np.array_equal(nearortho.frame(n, m, "kerdock", dtype="float32"), whole)  # +-1/8 is exact in float32
    assert np.array_equal(nearortho.frame(n, m, "kerdock", dtype="float64", seed=12345), whole)  # no randomness
    old = nearortho.set_max_isa("scalar")
    try:
        assert np.array_equal(nearortho.frame(n, m, "kerdock", dtype="float64"), whole)
    finally:
        nearortho.set_max_isa(old)


@pytest.mark.parametrize("n", [1, 2, 3, 7, 17, 33])
@pytest.mark.parametrize("dtype, tol", [("float64", 1e-14), ("float32", 1e-6)])
def test_simplex_is_the_regular_simplex(n, dtype, tol):
    W = nearortho.frame(n, n + 1, "simplex", dtype=dtype)
    G = gram(W)
    expected = np.full((n + 1, n + 1), -1 / n)
    np.fill_diagonal(expected, 1.0)
    np.testing.assert_allclose(G, expected, rtol=0, atol=tol)
    np.testing.assert_allclose(W.astype(np.float64).sum(axis=0), 0.0, atol=n * tol)  # centred
    np.testing.assert_allclose(float(nearortho.bounds(n, n + 1).welch), 1 / n, rtol=1e-14)  # and optimal


@pytest.mark.parametrize("n, coherence", [(3, 1 / math.sqrt(5)), (5, 1 / 3), (7, 1 / math.sqrt(13)),
                                          (13, 1 / 5), (41, 1 / 9), (27, 1 / math.sqrt(53))])
def test_conference_is_an_equiangular_tight_frame(n, coherence):
    # q = 5, 9 = 3^2, 13, 25 = 5^2, 81 = 3^4, 53: primes and prime powers
    W = nearortho.frame(n, 2 * n, "conference", dtype="float64")
    G = gram(W)
    np.testing.assert_allclose(np.diag(G), 1.0, rtol=0, atol=1e-14)
    off = np.abs(G[~np.eye(2 * n, dtype=bool)])
    np.testing.assert_allclose(off, coherence, rtol=0, atol=1e-14)
    np.testing.assert_allclose(W.T @ W, 2.0 * np.eye(n), rtol=0, atol=1e-13)  # tight: frame bound m/n = 2
    assert coherence == pytest.approx(float(nearortho.bounds(n, 2 * n).welch), rel=1e-13)


def test_lines28_are_the_28_equiangular_lines_in_r7():
    W = nearortho.frame(7, 28, "lines28", dtype="float64")
    G = gram(W)
    np.testing.assert_allclose(np.diag(G), 1.0, rtol=0, atol=1e-15)
    np.testing.assert_allclose(np.abs(G[~np.eye(28, dtype=bool)]), 1 / 3, rtol=0, atol=1e-15)
    np.testing.assert_allclose(W.T @ W, 4.0 * np.eye(7), rtol=0, atol=1e-14)  # tight: 28 / 7
    b = nearortho.bounds(7, 28)
    assert int(b.gerzon) == 28 and float(b.best) == pytest.approx(1 / 3, rel=1e-15)
    assert np.array_equal(nearortho.frame(7, 28, "lines28", dtype="float64", rows=slice(5, 9)), W[5:9])


def test_conference_blocks_and_dtypes():
    n, m = 15, 30
    whole = nearortho.frame(n, m, "conference", dtype="float64")
    for a, b in [(0, 1), (1, 2), (7, 30), (29, 30)]:
        assert np.array_equal(nearortho.frame(n, m, "conference", dtype="float64", rows=slice(a, b)), whole[a:b])
    assert np.array_equal(nearortho.frame(n, m, "conference", dtype="float64", threads=1), whole)
    assert np.array_equal(nearortho.frame(n, m, "conference"), whole.astype(np.float32))


@pytest.mark.parametrize("kind, n, m, words", [
    ("kerdock", 12, 12, "needs n a power of two: n = 4^k"),
    ("kerdock", 4, 13, "m must be <= 12 for kind 'kerdock' at n = 4"),
    ("kerdock", 8, 17, "m must be <= 16"),
    ("conference", 4, 8, "nearest to 4: 3, 5"),
    ("conference", 11, 22, "2n - 1 a prime power = 1 mod 4"),   # 21 = 3 * 7
    ("conference", 2, 4, "nearest to 2: 3"),                    # q = 3 = 3 mod 4
    ("conference", 3, 7, "m must be <= 6"),
    ("simplex", 3, 5, "m must be <= 4 for kind 'simplex'"),
    ("lines28", 8, 28, "exists only at n = 7"),
    ("lines28", 7, 29, "m must be <= 28 for kind 'lines28'"),
])
def test_unsupported_sizes_raise_value_errors_naming_the_sizes(kind, n, m, words):
    with pytest.raises(ValueError, match=words.replace("(", r"\(").replace("^", r"\^")):
        nearortho.frame(n, m, kind)


def test_max_rows_names_each_construction():
    assert nearortho.frame_max_rows("kerdock", 256) == 256 * 129
    assert nearortho.frame_max_rows("simplex", 9) == 10
    assert nearortho.frame_max_rows("conference", 9) == 18
    assert nearortho.frame_max_rows("gaussian", 9) is None
    with pytest.raises(ValueError, match="power of two"):
        nearortho.frame_max_rows("kerdock", 48)
    with pytest.raises(ValueError, match="kind must be one of"):
        nearortho.frame_max_rows("hadamard", 4)
