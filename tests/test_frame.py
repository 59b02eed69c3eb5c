"""Frame generators against independent facts: norms, exact entry values,
orthogonality, distribution tests, Philox known answers, and bitwise determinism."""
import importlib
import os
import signal
import threading
import math

import numpy as np
import pytest
from scipy import stats

import nearortho
from nearortho import _core
from nearortho.frame import default_sparsity

SIZES = (1, 2, 3, 7, 17, 31, 33, 65, 1000)
DTYPES = (np.float32, np.float64)


@pytest.mark.parametrize(
    "counter, key, expected",
    [  # Random123's published known-answer vectors for philox4x32_10
        ([0, 0, 0, 0], [0, 0], [0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8]),
        ([0xFFFFFFFF] * 4, [0xFFFFFFFF] * 2, [0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD]),
        (
            [0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344],
            [0xA4093822, 0x299F31D0],
            [0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1],
        ),
    ],
)
def test_philox_known_answers(counter, key, expected):
    assert list(_core.philox4x32_10(counter, key)) == expected


@pytest.mark.parametrize("kind", nearortho.KINDS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", SIZES)
def test_rows_have_unit_norm(kind, dtype, n):
    m = 37 if n < 1000 else 5
    W = nearortho.frame(n, m, kind, seed=3, dtype=dtype)
    assert W.shape == (m, n) and W.dtype == dtype and W.flags.c_contiguous
    assert np.isfinite(W).all()
    norms = np.linalg.norm(W.astype(np.float64), axis=1)
    tol = 1e-6 if dtype == np.float32 else 1e-13
    np.testing.assert_allclose(norms, 1.0, atol=tol, rtol=0)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", SIZES)
def test_sign_entries_are_exactly_plus_minus_inv_sqrt_n(dtype, n):
    W = nearortho.frame(n, 50, "sign", seed=1, dtype=dtype)
    value = dtype(1.0 / math.sqrt(n))
    assert np.all(np.abs(W) == value)
    if n * 50 > 200:  # both signs appear in a fair share
        assert 0.4 < (W > 0).mean() < 0.6


@pytest.mark.parametrize("n", [1, 31, 32, 33, 128, 130, 300])
def test_sign_rows_follow_their_philox_words(n):
    # coordinate j of row r is negative where bit j % 32 of word (j % 128) // 32 of
    # Philox block j // 128 is set (counter: block, row, 0, stream 2; key: the seed)
    seed, rows = 2**40 + 7, [0, 5, 2**33 + 1]
    for r in rows:
        row = nearortho.frame(n, 2**34, "sign", seed=seed, rows=slice(r, r + 1), threads=2)[0]
        words = [_core.philox4x32_10([b, r % 2**32, r >> 32, 2], [seed % 2**32, seed >> 32])
                 for b in range(-(-n // 128))]
        negative = [(words[j // 128][j % 128 // 32] >> (j % 32)) & 1 for j in range(n)]
        assert np.array_equal(row < 0, np.array(negative, bool)), r


@pytest.mark.parametrize(
    "n, s", [(n, s) for n in SIZES for s in {1, 2, 5, default_sparsity(n), n} if s <= n]
)
def test_sparse_rows_have_exactly_s_nonzeros(n, s):
    W = nearortho.frame(n, 40, "sparse", seed=2, s=s, dtype=np.float64)
    assert np.all(np.count_nonzero(W, axis=1) == s)
    assert np.all(np.abs(W[W != 0]) == 1.0 / math.sqrt(s))


def test_sparse_positions_are_uniform():
    # Each coordinate is chosen with probability s/n: chi-square over 4000 rows.
    n, s, m = 20, 3, 4000
    W = nearortho.frame(n, m, "sparse", seed=5, s=s)
    counts = np.count_nonzero(W, axis=0)
    assert stats.chisquare(counts).pvalue > 1e-4
    assert abs((W > 0).sum() / (m * s) - 0.5) < 0.02


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", SIZES)
def test_orthogonal_frame_is_a_union_of_orthonormal_bases(dtype, n):
    m = 2 * n + max(1, n // 3) if n < 1000 else 1100  # two full bases and a partial one
    W = nearortho.frame(n, m, "orthogonal", seed=4, dtype=dtype).astype(np.float64)
    tol = 2e-5 if dtype == np.float32 else 1e-12
    for start in range(0, m, n):
        block = W[start:start + n]
        np.testing.assert_allclose(block @ block.T, np.eye(len(block)), atol=tol)
    if n > 1:  # independent bases are not aligned
        assert np.abs(W[:n] @ W[n:2 * n].T).max() > 0.1


@pytest.mark.parametrize("n", [64, 100])
def test_orthogonal_with_m_at_most_n(n):
    W = nearortho.frame(n, n // 2 + 1, "orthogonal", seed=9, dtype=np.float64)
    np.testing.assert_allclose(W @ W.T, np.eye(len(W)), atol=1e-12)


def test_srht_is_an_orthonormal_basis_per_group_when_n_is_a_power_of_two():
    n = 64
    W = nearortho.frame(n, 3 * n, "srht", seed=6, dtype=np.float64)
    for start in range(0, 3 * n, n):
        block = W[start:start + n]
        np.testing.assert_allclose(block @ block.T, np.eye(n), atol=1e-12)
    assert np.all(np.abs(W) == 1.0 / 8.0)


def test_srht_rows_are_signed_walsh_functions_on_a_coordinate_subset():
    # Independent construction: with N = 128 > n = 100, the rows of group 0 are
    # H_N D restricted to the group's coordinates S, so (W * sqrt(n)) = H[:, S] D_S.
    n, big_n = 100, 128
    W = nearortho.frame(n, big_n, "srht", seed=8, dtype=np.float64) * math.sqrt(n)
    hadamard = np.array([[(-1) ** bin(r & k).count("1") for k in range(big_n)] for r in range(big_n)])
    signs = W[0]  # row 0 of H is all ones, so row 0 is D_S
    # each column of W / D_S must be a distinct column of H; sorted coordinate order
    columns = W / signs
    matches = [int(np.flatnonzero((hadamard.T == col).all(axis=1))[0]) for col in columns.T]
    assert matches == sorted(set(matches)) and len(matches) == n


def test_gaussian_pair_statistics_match_random_unit_vectors():
    # E <w_i, w_j>^2 = 1/n for independent uniform unit vectors; Var of g^2 is
    # 2(n-1)/(n^2 (n+2)); pairs from disjoint rows are independent.
    n, m = 64, 4000
    W = nearortho.frame(n, m, seed=11, dtype=np.float64)
    g = np.einsum("ij,ij->i", W[0::2], W[1::2])
    std_err = math.sqrt(2 * (n - 1) / (n * n * (n + 2)) / len(g))
    assert abs(np.mean(g**2) - 1 / n) < 4 * std_err
    assert abs(np.mean(g)) < 4 * math.sqrt(1 / n / len(g))


@pytest.mark.parametrize("dtype", DTYPES)
def test_gaussian_coordinates_look_standard_normal(dtype):
    # For large n, sqrt(n) * w_ij is nearly N(0, 1) (exactly a scaled Beta; the
    # deviation at n = 2000 is far below what a KS test over 100k samples sees).
    n = 2000
    W = nearortho.frame(n, 50, seed=12, dtype=dtype).astype(np.float64)
    assert stats.kstest(W.ravel() * math.sqrt(n), "norm").pvalue > 1e-3


def test_gaussian_rows_are_uniform_directions_in_low_dimension():
    # In R^2 the angle of a uniform unit vector is uniform on (-pi, pi].
    W = nearortho.frame(2, 20000, seed=13, dtype=np.float64)
    angles = np.arctan2(W[:, 1], W[:, 0])
    assert stats.kstest(angles, "uniform", args=(-math.pi, 2 * math.pi)).pvalue > 1e-3


@pytest.mark.parametrize("kind", nearortho.KINDS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_bitwise_determinism_across_threads_blocks_and_runs(kind, dtype):
    n, m = 33, 300
    whole = nearortho.frame(n, m, kind, seed=21, dtype=dtype, threads=1)
    assert np.array_equal(whole, nearortho.frame(n, m, kind, seed=21, dtype=dtype, threads=2))
    assert np.array_equal(whole, nearortho.frame(n, m, kind, seed=21, dtype=dtype))
    cuts = [0, 1, 40, 41, 150, 299, 300]
    blocks = [nearortho.frame(n, m, kind, seed=21, dtype=dtype, rows=slice(a, b))
              for a, b in zip(cuts[:-1], cuts[1:])]
    assert np.array_equal(whole, np.concatenate(blocks))
    assert not np.array_equal(whole, nearortho.frame(n, m, kind, seed=22, dtype=dtype))


def test_orthogonal_rows_match_across_blocks_threads_and_prefixes():
    # Blocked Gram-Schmidt (blocks of 64 rows): odd n with a partial last block,
    # large enough that the block projections run on two threads, cut inside
    # and at block edges; every prefix of a basis must give the same bits.
    n, m = 301, 420
    whole = nearortho.frame(n, m, "orthogonal", seed=5, dtype=np.float64, threads=1)
    assert np.array_equal(whole, nearortho.frame(n, m, "orthogonal", seed=5, dtype=np.float64,
                                                 threads=2))
    cuts = [0, 1, 63, 64, 65, 130, 256, 300, 301, 302, 365, 420]
    parts = [nearortho.frame(n, m, "orthogonal", seed=5, dtype=np.float64, rows=slice(a, b))
             for a, b in zip(cuts[:-1], cuts[1:])]
    assert np.array_equal(whole, np.concatenate(parts))
    for start in (0, n):
        block = whole[start:start + n]
        np.testing.assert_allclose(block @ block.T, np.eye(len(block)), atol=1e-12)


@pytest.mark.parametrize("n", [130, 301])
def test_orthogonal_float64_is_bitwise_identical_on_every_isa(isa, n):
    W = nearortho.frame(n, n + 70, "orthogonal", seed=8, dtype=np.float64)
    previous = nearortho.set_max_isa("scalar")
    try:
        reference = nearortho.frame(n, n + 70, "orthogonal", seed=8, dtype=np.float64)
    finally:
        nearortho.set_max_isa(previous)
    assert nearortho.build_info()["isa"] == isa
    assert np.array_equal(W, reference)


def test_orthogonal_stays_orthonormal_at_the_end_of_a_large_basis():
    # The last blocks of a basis are projected onto a nearly exhausted
    # complement; projecting once before the within-block step lost two digits
    # here (1.7e-13), projecting after it too keeps Gram-Schmidt's 1e-15.
    W = nearortho.frame(1000, 1000, "orthogonal", seed=0, dtype=np.float64)
    np.testing.assert_allclose(W @ W.T, np.eye(1000), atol=1e-14)


def test_rows_do_not_depend_on_m():
    assert np.array_equal(nearortho.frame(17, 10, seed=3), nearortho.frame(17, 1000, seed=3)[:10])


@pytest.mark.parametrize("n", [1, 7, 256, 257])
def test_gaussian_float32_is_bitwise_identical_on_every_isa(isa, n):
    W = nearortho.frame(n, 200, seed=31)
    previous = nearortho.set_max_isa("scalar")
    try:
        reference = nearortho.frame(n, 200, seed=31)
    finally:
        nearortho.set_max_isa(previous)
    assert nearortho.build_info()["isa"] == isa
    assert np.array_equal(W, reference)


def test_out_argument_is_written_in_place():
    out = np.full((5, 9), np.nan, dtype=np.float32)
    result = nearortho.frame(9, 5, "sign", seed=4, out=out)
    assert result is out
    assert np.array_equal(out, nearortho.frame(9, 5, "sign", seed=4))


def test_large_seed_and_row_index_are_supported():
    W = nearortho.frame(8, 2**40, seed=2**64 - 1, rows=slice(2**40 - 3, 2**40))
    assert W.shape == (3, 8)
    np.testing.assert_allclose(np.linalg.norm(W, axis=1), 1.0, atol=1e-6)


@pytest.mark.parametrize(
    "kwargs, error, words",
    [
        (dict(n=0, m=5), ValueError, "n must be >= 1"),
        (dict(n=5, m=0), ValueError, "m must be >= 1"),
        (dict(n=2.5, m=5), TypeError, "n must be an integer"),
        (dict(n=5, m=True), TypeError, "m must be an integer"),
        (dict(n=5, m=5, kind="cauchy"), ValueError, "kind must be one of"),
        (dict(n=5, m=5, kind="sparse", s=0), ValueError, "s must be >= 1"),
        (dict(n=5, m=5, kind="sparse", s=6), ValueError, "s must be <= 5"),
        (dict(n=5, m=5, kind="gaussian", s=2), TypeError, "unknown option"),
        (dict(n=5, m=5, dtype="int32"), TypeError, "dtype must be float32 or float64"),
        (dict(n=5, m=5, dtype="float16"), TypeError, "dtype must be float32 or float64"),
        (dict(n=5, m=5, dtype="nonsense"), TypeError, "dtype must be float32 or float64"),
        (dict(n=5, m=5, seed=-1), ValueError, "seed must be >= 0"),
        (dict(n=5, m=5, seed=2**64), ValueError, "seed must be <="),
        (dict(n=5, m=5, rows=slice(0, 6)), ValueError, "rows must satisfy"),
        (dict(n=5, m=5, rows=slice(-1, 3)), ValueError, "rows must satisfy"),
        (dict(n=5, m=5, rows=slice(3, 2)), ValueError, "rows must satisfy"),
        (dict(n=5, m=5, rows=slice(0, 4, 2)), ValueError, "rows must have no step"),
        (dict(n=5, m=5, rows=[1, 2]), TypeError, "rows must be a slice"),
        (dict(n=5, m=5, threads=0), ValueError, "threads must be >= 1"),
        (dict(n=5, m=5, out=np.empty((5, 4), np.float32)), ValueError, "out must have shape"),
        (dict(n=5, m=5, out=np.empty((5, 5), np.float64)), ValueError, "out must have shape"),
        (dict(n=5, m=5, out=np.empty((5, 10), np.float32)[:, ::2]), ValueError, "C-contiguous"),
    ],
)
def test_bad_arguments_raise_naming_the_argument(kwargs, error, words):
    with pytest.raises(error, match=words):
        nearortho.frame(**kwargs)


def test_isa_cap_rejects_unknown_names():
    with pytest.raises(ValueError, match="isa must be"):
        nearortho.set_max_isa("sse9")


def test_frames_larger_than_memory_are_refused_before_allocating():
    with pytest.raises(MemoryError, match="frame .* needs .* GiB, more than"):
        nearortho.frame(1_000_000, 10_000_000)


@pytest.mark.parametrize("kind", nearortho.KINDS)
def test_chunked_generation_equals_one_call(monkeypatch, kind):
    # frame() calls the core in chunks (Ctrl-C is handled between them); chunks of
    # any size, aligned to the kind's row groups, give the same bits.
    frame_module = importlib.import_module("nearortho.frame")
    whole = nearortho.frame(20, 150, kind, seed=7, rows=slice(3, 150))
    monkeypatch.setattr(frame_module, "_CHUNK_ELEMENTS", 20 * 7)
    assert np.array_equal(whole, nearortho.frame(20, 150, kind, seed=7, rows=slice(3, 150)))


@pytest.mark.skipif(os.name != "posix", reason="needs POSIX signals")
def test_sigint_interrupts_a_long_orthogonal_basis():
    # One basis of n = 3000 is one core call of about a minute on two cores; the
    # core polls for Ctrl-C between rows, so the call ends before any row is
    # written (rows are copied out once their prefix is built). Judged by the
    # rows written, not by seconds: a wall-clock bound failed under the
    # sanitizer on a loaded machine.
    out = np.full((3000, 3000), np.nan)
    timer = threading.Timer(0.3, os.kill, args=(os.getpid(), signal.SIGINT))
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            nearortho.frame(3000, 3000, "orthogonal", dtype=np.float64, out=out)
    finally:
        timer.cancel()
    assert np.isnan(out).all()
