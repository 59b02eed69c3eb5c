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
def test_pairs_equal_the_dense_oracle(m, n, m2, threshold, signed):
    rng = np.random.default_rng(m * 100 + n)
    W = rng.standard_normal((m, n))
    B = None if m2 is None else rng.standard_normal((m2, n))
    i, j, g = nearortho.pairs(W, threshold, B, signed=signed)
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
    i, j, g = nearortho.pairs(W, 5 / 9 - 1e-9)
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


def test_a_small_budget_names_max_pairs_which_it_must_hold(tmp_path):
    W = nearortho.frame(40, 700, seed=5)
    np.save(tmp_path / "w.npy", W)
    with pytest.raises(ValueError, match=r"keeping up to 244650 pairs of 72 bytes \(all the pairs; max_pairs"):
        nearortho.pairs(tmp_path / "w.npy", 0.5, memory=4 << 20)  # all 700 * 699 / 2 pairs need 17.6 MB
    with pytest.raises(ValueError, match=r"keeping up to 100000 pairs of 72 bytes \(max_pairs = 100000\)"):
        nearortho.pairs(tmp_path / "w.npy", 0.5, memory=4 << 20, max_pairs=100_000)  # 7.2 MB
    i, j, _ = nearortho.pairs(tmp_path / "w.npy", 0.5, memory=4 << 20, max_pairs=1000)
    _, _, want = oracle_pairs(W, None, 0.5, False)
    assert set(zip(i.tolist(), j.tolist())) == set(zip(*np.nonzero(want)))


def test_float32_pairs_are_exact_in_the_kernels_arithmetic():
    W = nearortho.frame(16, 500, seed=4)  # float32
    stats = nearortho.interference(W, thresholds=(0.6,))
    i, j, g = nearortho.pairs(W, 0.6)
    assert len(i) == stats.count_above[0.6] and np.all(np.abs(g) > 0.6)
    assert (i[0], j[0]) == stats.pair and abs(g[0]) == stats.coherence


@pytest.mark.parametrize("isa", ["scalar", "avx2", "avx512"])
@pytest.mark.parametrize("m, n, m2", [(145, 1, None), (150, 7, None), (2, 9, None), (145, 5, 3), (19, 11, 290)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_every_isa_and_odd_size_finds_the_oracles_pairs(isa, m, n, m2, dtype):
    # sizes across the 144-row tile edge, n = 1 (every |g| = 1), one and many rows of B;
    # float32: pairs within rounding of the threshold may go either way
    rng = np.random.default_rng([m, n, m2 or 0])
    W = rng.standard_normal((m, n)).astype(dtype)
    B = None if m2 is None else rng.standard_normal((m2, n)).astype(dtype)
    threshold = 0.55 if n > 1 else 0.999
    old = nearortho.set_max_isa(isa)
    try:
        got = {s: nearortho.pairs(W, threshold, B, signed=s, threads=2) for s in (False, True)}
        one = nearortho.pairs(W, threshold, B, threads=1)
    finally:
        nearortho.set_max_isa(old)
    for a, b in zip(one, got[False]):
        assert np.array_equal(a, b)  # threads 1 and 2 alike, bit for bit
    tol = 4 * (n + 2) * np.finfo(dtype).eps
    for signed, (i, j, g) in got.items():
        G, key, want = oracle_pairs(W, B, threshold, signed)
        found = np.zeros_like(want)
        found[i, j] = True
        unsure = np.abs(key - threshold) <= tol
        assert np.array_equal(found & ~unsure, want & ~unsure)
        assert len(set(zip(i.tolist(), j.tolist()))) == len(i) and not np.any(found & ~(want | unsure))
        np.testing.assert_allclose(g, G[i, j], rtol=0, atol=tol)
        ranked = g if signed else np.abs(g)
        assert np.array_equal(np.lexsort((j, i, -ranked)), np.arange(len(i)))
        if n == 1 and not signed:
            assert len(i) == want.sum() == want.size - (m * (m + 1) // 2 if B is None else 0)


def test_too_many_pairs_across_two_frames_and_signed():
    rng = np.random.default_rng(6)
    A, B = rng.standard_normal((60, 5)), rng.standard_normal((70, 5))
    for signed, words in ((False, "|cos|"), (True, "cos")):
        _, _, want = oracle_pairs(A, B, 0.4, signed)
        count = int(want.sum())
        with pytest.raises(ValueError, match=f"^{count} pairs have {words} >= 0.4, more than max_pairs = 3;".replace(
                "|", "[|]")):
            nearortho.pairs(A, 0.4, B, signed=signed, max_pairs=3)
        assert len(nearortho.pairs(A, 0.4, B, signed=signed, max_pairs=count)[0]) == count
    assert len(nearortho.pairs(A, 0.999, B, max_pairs=0)[0]) == 0


@pytest.mark.parametrize(
    "args, kwargs, error, words",
    [
        ((0.0,), {}, ValueError, "threshold must be > 0.0"),
        ((1.5,), {}, ValueError, "threshold must be <= 1.0"),
        (("x",), {}, TypeError, "threshold must be a real number"),
        ((0.5,), {"signed": "yes"}, TypeError, "signed must be a bool"),
        ((0.5,), {"max_pairs": -1}, ValueError, "max_pairs must be >= 0"),
        ((0.5,), {"threads": 0}, ValueError, "threads must be >= 1"),
        ((0.5, np.ones((3, 2))), {}, ValueError, "B must have n = 4 columns"),
    ],
)
def test_bad_arguments(args, kwargs, error, words):
    with pytest.raises(error, match=words):
        nearortho.pairs(np.eye(4), *args, **kwargs)


def test_progress_ends_at_the_total_and_an_exception_in_it_stops_the_pass():
    W = nearortho.frame(32, 700, seed=4)
    seen = []
    i, j, g = nearortho.pairs(W, 0.4, progress=lambda done, total: seen.append((done, total)))
    total = seen[-1][1]
    assert seen[-1] == (total, total) and all(0 <= d <= t == total for d, t in seen)
    expected = nearortho.pairs(W, 0.4)
    assert all(np.array_equal(a, b) for a, b in zip((i, j, g), expected))

    class Stop(Exception):
        pass

    def refuse(done, total):
        raise Stop

    with pytest.raises(Stop):
        nearortho.pairs(W, 0.4, progress=refuse)


def test_the_pairs_command_moves_a_progress_bar_to_the_end(tmp_path, record_progress):
    # a pass over a large dictionary ran for many minutes without a sign of life
    from click.testing import CliRunner

    from nearortho.cli import pairs_command
    from nearortho.cli.main import cli

    updates = record_progress(pairs_command)
    np.save(tmp_path / "w.npy", nearortho.frame(16, 300, seed=2))
    for flags, quiet in (([], False), (["--quiet"], True)):
        updates.clear()
        result = CliRunner().invoke(cli, ["pairs", str(tmp_path / "w.npy"), "--threshold", "0.5", *flags])
        assert result.exit_code == 0, result.output
        assert updates[-1] == (1.0, quiet)
