"""nearortho.interference: merge, MMCS, structured frames with known answers,
quantiles, the result object, input policy and bad inputs."""
from __future__ import annotations

import json
import sys
import threading

import numpy as np
import pytest

import nearortho
from interference_oracle import gram, tolerance


def rows(rng, m, n, dtype=np.float32):
    return rng.standard_normal((m, n)).astype(dtype)


def assert_same_totals(a, b):
    assert a.pairs == b.pairs
    assert a.coherence == b.coherence and a.pair == b.pair
    np.testing.assert_array_equal(a.hist, b.hist)
    assert a.count_above == b.count_above
    assert a.sum == pytest.approx(b.sum, abs=1e-9)
    assert a.sum_abs == pytest.approx(b.sum_abs, rel=1e-12)
    assert a.sum_sq == pytest.approx(b.sum_sq, rel=1e-12)


def test_merge_of_symmetric_row_blocks_equals_whole():
    rng = np.random.default_rng(20)
    W = rows(rng, 400, 30)
    k = 170
    whole = nearortho.interference(W, thresholds=(0.3,), per_row=False, backend="cpu")
    parts = [nearortho.interference(W[:k], thresholds=(0.3,), per_row=False, backend="cpu"),
             nearortho.interference(W[k:], thresholds=(0.3,), per_row=False, row_offset=k, backend="cpu"),
             nearortho.interference(W[:k], W[k:], thresholds=(0.3,), per_row=False, col_offset=k, backend="cpu")]
    merged = parts[0].merge(parts[1]).merge(parts[2])
    assert_same_totals(merged, whole)
    assert merged.m == 400


def test_merge_of_cross_splits_equals_whole_with_rows():
    # on the CPU, whose Gram entries have the same bits for any split (cuBLAS may not)
    rng = np.random.default_rng(21)
    A, B = rows(rng, 250, 20), rows(rng, 310, 20)
    whole = nearortho.interference(A, B, topk=3, backend="cpu")
    # split the rows of A: per-row arrays concatenate
    by_rows = nearortho.interference(A[:100], B, topk=3, backend="cpu").merge(
        nearortho.interference(A[100:], B, topk=3, row_offset=100, backend="cpu"))
    # split the rows of B: per-row arrays combine elementwise
    by_cols = nearortho.interference(A, B[:123], topk=3, backend="cpu").merge(
        nearortho.interference(A, B[123:], topk=3, col_offset=123, backend="cpu"))
    for merged in (by_rows, by_cols):
        assert_same_totals(merged, whole)
        for side in ("row", "col"):  # the rows of B (columns) concatenate or combine the other way
            for name in ("max", "argmax", "signed_max", "signed_argmax"):
                np.testing.assert_array_equal(getattr(merged, f"{side}_{name}"), getattr(whole, f"{side}_{name}"))
            np.testing.assert_allclose(getattr(merged, f"{side}_sumsq"), getattr(whole, f"{side}_sumsq"), rtol=1e-12)
        for name in ("topk_index", "topk_value", "col_topk_index", "col_topk_value"):
            np.testing.assert_array_equal(getattr(merged, name), getattr(whole, name))
    assert by_cols.mmcs == pytest.approx(whole.mmcs, rel=1e-15)



@pytest.mark.parametrize("order", ["ab", "abc", "acb", "cab", "cb"])
def test_merged_per_row_arrays_are_complete_or_absent(order):
    # a, b: the pairs within W[:k] and within W[k:]; c: those between. Merging c into a
    # dropped c's arrays for the rows of W[k:]; concatenating b's then gave those rows
    # maxima that missed their partners in W[:k]
    rng = np.random.default_rng(22)
    W = rows(rng, 40, 8)
    k = 15
    parts = {"a": nearortho.interference(W[:k], topk=2),
             "b": nearortho.interference(W[k:], topk=2, row_offset=k),
             "c": nearortho.interference(W[:k], W[k:], topk=2, col_offset=k)}
    merged = parts[order[0]]
    for name in order[1:]:
        merged = merged.merge(parts[name])
    G, upper = gram(W)
    first = np.arange(40) < k
    if order == "ab":  # no pairs between the blocks
        upper &= first[:, None] == first[None, :]
    if order == "cb":  # no pairs within W[:k]
        upper &= ~(first[:, None] & first[None, :])
    A = np.where(upper | upper.T, np.abs(G), -np.inf)
    tol = tolerance(W, None, True, np.float32)
    assert merged.pairs == upper.sum()
    assert merged.coherence == pytest.approx(A.max(), abs=tol)
    assert (merged.row_max is None) == (order != "ab")  # complete for a and b alone, else unknown
    if merged.row_max is not None:
        np.testing.assert_allclose(merged.row_max, A.max(axis=1), rtol=0, atol=tol)
        np.testing.assert_array_equal(merged.row_argmax, A.argmax(axis=1))
        np.testing.assert_array_equal(merged.topk_index, np.argsort(-A, axis=1, kind="stable")[:, :2])


@pytest.mark.parametrize("swap", [False, True])
def test_merge_breaks_ties_by_smaller_index_whichever_side_has_it(swap):
    # entries +-1/2 in R^4: |g| takes few values, so nearly every maximum is tied
    A = nearortho.frame(4, 37, "sign", seed=3, dtype="float64")
    B = nearortho.frame(4, 41, "sign", seed=4, dtype="float64")
    G = np.abs(A @ B.T)  # exact: multiples of 1/4
    parts = [nearortho.interference(A, B[:17], topk=5),
             nearortho.interference(A, B[17:], topk=5, col_offset=17)]
    merged = parts[1].merge(parts[0]) if swap else parts[0].merge(parts[1])
    assert merged.coherence == G.max()
    assert merged.pair == np.unravel_index(np.argmax(G), G.shape)  # first in row-major order
    np.testing.assert_array_equal(merged.row_max, G.max(axis=1))
    np.testing.assert_array_equal(merged.row_argmax, np.argmax(G, axis=1))
    np.testing.assert_array_equal(merged.topk_index, np.argsort(-G, axis=1, kind="stable")[:, :5])
    S = A @ B.T
    np.testing.assert_array_equal(merged.row_signed_argmax, np.argmax(S, axis=1))
    np.testing.assert_array_equal(merged.col_signed_argmax, np.argmax(S, axis=0))
    np.testing.assert_array_equal(merged.col_argmax, np.argmax(G, axis=0))
    np.testing.assert_array_equal(merged.col_topk_index, np.argsort(-G.T, axis=1, kind="stable")[:, :5])


def test_merge_rejects_incompatible_results():
    rng = np.random.default_rng(22)
    W = rows(rng, 20, 5)
    with pytest.raises(ValueError, match="bins"):
        nearortho.interference(W, bins=8).merge(nearortho.interference(W, bins=16))
    with pytest.raises(ValueError, match="n"):
        nearortho.interference(W).merge(nearortho.interference(rows(rng, 20, 6)))
    with pytest.raises(TypeError, match="other"):
        nearortho.interference(W).merge({})


def test_mmcs_is_mean_of_cross_row_max():
    rng = np.random.default_rng(23)
    A, B = rows(rng, 90, 24, np.float64), rows(rng, 130, 24, np.float64)
    stats = nearortho.interference(A, B)
    G, _ = gram(A, B)
    assert stats.mmcs == pytest.approx(np.abs(G).max(axis=1).mean(), abs=1e-14)
    with pytest.raises(ValueError, match="per_row"):
        _ = nearortho.interference(A, B, per_row=False).mmcs


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_orthonormal_basis_has_zero_interference(dtype):
    Q, _ = np.linalg.qr(np.random.default_rng(24).standard_normal((50, 50)))
    stats = nearortho.interference(Q.astype(dtype))
    tol = tolerance(Q, None, True, dtype)
    assert stats.coherence < tol
    assert stats.hist[0] == stats.pairs == 50 * 49 // 2
    np.testing.assert_array_less(stats.row_sumsq, tol)


def test_duplicated_row_has_coherence_one_at_that_pair():
    rng = np.random.default_rng(25)
    W = rows(rng, 60, 40, np.float64)
    W[41] = 3.0 * W[12]
    stats = nearortho.interference(W)
    assert stats.pair == (12, 41)
    assert stats.coherence == pytest.approx(1.0, abs=1e-15)
    assert stats.row_argmax[12] == 41 and stats.row_argmax[41] == 12


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_identity_and_hadamard_bases_have_coherence_one_over_sqrt_n(dtype):
    n = 64
    H = np.array([[1.0]])
    while len(H) < n:
        H = np.block([[H, H], [H, -H]])
    W = np.vstack([np.eye(n), H / np.sqrt(n)]).astype(dtype)
    stats = nearortho.interference(W, bins=1024, thresholds=(0.125,))
    assert stats.coherence == 1 / np.sqrt(n)  # exact: every g is 0 or +-1/8
    assert stats.pair == (0, n)
    assert stats.hist[int(1024 / np.sqrt(n))] == n * n
    assert stats.hist[0] == 2 * (n * (n - 1) // 2)
    assert stats.count_above[0.125] == 0
    assert stats.welch == pytest.approx(np.sqrt(n / (n * (2 * n - 1))))


def test_quantiles_from_histogram_and_exact():
    rng = np.random.default_rng(26)
    W = rows(rng, 400, 20, np.float64)
    stats = nearortho.interference(W, bins=128)
    G, mask = gram(W)
    a = np.abs(G[mask])
    for q in (0.0, 0.1, 0.5, 0.9, 0.999, 1.0):
        truth = np.quantile(a, q, method="inverted_cdf")
        lo, hi = stats.quantile_interval(q)
        assert lo <= truth <= hi and hi - lo == pytest.approx(1 / 128)
        assert abs(stats.quantile(q) - truth) <= (hi - lo) / 2
        assert stats.quantile(q, exact=True) == pytest.approx(truth, abs=1e-15)
    with pytest.raises(ValueError, match="q"):
        stats.quantile(1.5)
    merged = stats.merge(nearortho.interference(W[:10], bins=128))
    with pytest.raises(ValueError, match="merge"):
        merged.quantile(0.5, exact=True)


def test_exact_quantile_narrows_when_a_bin_is_crowded(monkeypatch):
    module = sys.modules["nearortho._order_statistic"]
    monkeypatch.setattr(module, "COLLECT_CAP", 50)
    rng = np.random.default_rng(27)
    W = rows(rng, 300, 10, np.float64)
    stats = nearortho.interference(W, bins=4)
    G, mask = gram(W)
    truth = np.quantile(np.abs(G[mask]), 0.37, method="inverted_cdf")
    assert stats.quantile(0.37, exact=True) == pytest.approx(truth, abs=1e-15)


def test_result_dict_is_json_and_repr_is_readable():
    rng = np.random.default_rng(28)
    stats = nearortho.interference(rows(rng, 30, 8), thresholds=(0.5,), topk=2)
    d = json.loads(json.dumps(stats.to_dict()))
    assert d["pairs"] == 435 and d["pair"] == list(stats.pair) and len(d["hist"]) == 1024
    assert d["welch"] == stats.welch and d["mmcs"] == stats.mmcs
    text = repr(stats)
    assert "coherence" in text and "welch" in text and "MMCS" in text


def test_raw_inner_products_use_the_norm_bound_as_range():
    rng = np.random.default_rng(29)
    W = rows(rng, 40, 9, np.float64) * np.linspace(0.5, 3.0, 40)[:, None]
    stats = nearortho.interference(W, normalize=False)
    norms = np.sort(np.linalg.norm(W, axis=1))
    assert stats.hist_range == (0.0, pytest.approx(norms[-1] * norms[-2], rel=1e-14))
    G, mask = gram(W, normalize=False)
    assert stats.coherence == pytest.approx(np.abs(G[mask]).max(), rel=1e-14)
    # the references are values for unit vectors: not beside raw inner products (as stats --raw leaves them out)
    assert "welch" not in repr(stats) and "random frame" not in repr(stats) and "MMCS" in repr(stats)


def test_neighbors_match_oracle():
    rng = np.random.default_rng(30)
    W = rows(rng, 80, 16, np.float64)
    idx, cos = nearortho.neighbors(W, 3)
    G, mask = gram(W)
    A = np.abs(G)
    np.fill_diagonal(A, -1)
    np.testing.assert_array_equal(idx, np.argsort(-A, axis=1, kind="stable")[:, :3])
    np.testing.assert_allclose(cos, np.take_along_axis(G, idx, axis=1), atol=1e-15)
    with pytest.raises(ValueError, match="k must be < 79"):
        nearortho.neighbors(W, 79)


def test_neighbors_in_another_frame_match_oracle():
    rng = np.random.default_rng(36)
    A, B = rows(rng, 40, 12, np.float64), rows(rng, 55, 12, np.float64)
    idx, cos = nearortho.neighbors(A, 4, B)
    G, _ = gram(A, B)
    np.testing.assert_array_equal(idx, np.argsort(-np.abs(G), axis=1, kind="stable")[:, :4])
    np.testing.assert_allclose(cos, np.take_along_axis(G, idx, axis=1), atol=1e-15)
    with pytest.raises(ValueError, match="k must be < 55"):
        nearortho.neighbors(A, 55, B)


def test_neighbors_of_both_sides_from_one_pass():
    rng = np.random.default_rng(37)
    A, B = rows(rng, 41, 9, np.float64), rows(rng, 26, 9, np.float64)
    (idx, cos), (b_idx, b_cos) = nearortho.neighbors(A, 5, B, both=True)
    G, _ = gram(A, B)
    np.testing.assert_array_equal(idx, np.argsort(-np.abs(G), axis=1, kind="stable")[:, :5])
    np.testing.assert_array_equal(b_idx, np.argsort(-np.abs(G.T), axis=1, kind="stable")[:, :5])
    np.testing.assert_allclose(b_cos, np.take_along_axis(G.T, b_idx, axis=1), atol=1e-15)
    assert np.array_equal(nearortho.neighbors(A, 5, B)[0], idx)
    with pytest.raises(ValueError, match="k must be < 10, the rows of W"):
        nearortho.neighbors(A[:10], 12, B, both=True)
    with pytest.raises(ValueError, match="both=True needs B"):
        nearortho.neighbors(A, 2, both=True)
    with pytest.raises(TypeError, match="both must be a bool"):
        nearortho.neighbors(A, 2, B, both="yes")


# input policy

def test_noncontiguous_byteswapped_float16_and_memmap_inputs(tmp_path):
    rng = np.random.default_rng(31)
    base = rows(rng, 70, 24)
    expected = nearortho.interference(base)
    wide = np.zeros((70, 48), np.float32)
    wide[:, ::2] = base
    swapped = base.astype(base.dtype.newbyteorder(">"))
    fortran = np.asfortranarray(base)
    for variant in (wide[:, ::2], swapped, fortran):
        got = nearortho.interference(variant)
        assert got.coherence == expected.coherence and got.pair == expected.pair
    as_list = nearortho.interference(base.tolist())  # nested sequences become float64
    assert as_list.coherence == nearortho.interference(base.astype(np.float64)).coherence
    path = tmp_path / "w.npy"
    np.save(path, base)
    mapped = np.load(path, mmap_mode="r")
    assert nearortho.interference(mapped).coherence == expected.coherence
    half = base.astype(np.float16)
    got = nearortho.interference(half)
    assert got.coherence == nearortho.interference(half.astype(np.float32)).coherence


def test_dlpack_and_array_protocol_inputs():
    rng = np.random.default_rng(32)
    base = rows(rng, 30, 12)

    class DLPackOnly:
        def __init__(self, a):
            self._a = a

        def __dlpack__(self, **kwargs):
            return self._a.__dlpack__(**kwargs)

        def __dlpack_device__(self):
            return self._a.__dlpack_device__()

    class ArrayOnly:
        def __array__(self, dtype=None, copy=None):
            return base

    expected = nearortho.interference(base).coherence
    assert nearortho.interference(DLPackOnly(base)).coherence == expected
    assert nearortho.interference(ArrayOnly()).coherence == expected


def test_mixed_dtypes_use_the_wider():
    rng = np.random.default_rng(33)
    A, B = rows(rng, 20, 7, np.float32), rows(rng, 25, 7, np.float64)
    got = nearortho.interference(A, B)
    assert got.coherence == nearortho.interference(A.astype(np.float64), B).coherence


def test_concurrent_calls_from_python_threads_agree():
    rng = np.random.default_rng(34)
    frames = [rows(rng, 600, 32) for _ in range(4)]
    expected = [nearortho.interference(f, topk=2) for f in frames]
    results = [None] * 4

    def work(i):
        results[i] = nearortho.interference(frames[i], topk=2)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for got, want in zip(results, expected):
        assert got.pair == want.pair
        np.testing.assert_array_equal(got.hist, want.hist)
        np.testing.assert_array_equal(got.topk_index, want.topk_index)


# bad inputs

@pytest.mark.parametrize("W,B,kwargs,error,match", [
    (np.array([[1.0, np.nan], [0.0, 1.0]]), None, {}, ValueError, "W contains NaN or Inf"),
    (np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([[np.inf, 0.0]]), {}, ValueError, "B contains NaN or Inf"),
    (np.array([[1.0, 0.0], [0.0, 0.0]]), None, {}, ValueError, "W has a zero row"),
    (np.ones((1, 4)), None, {}, ValueError, "W needs at least 2 rows"),
    (np.ones((3, 4)), np.ones((3, 5)), {}, ValueError, "B must have n = 4"),
    (np.eye(3), None, {"bins": 0}, ValueError, "bins must be >= 1"),
    (np.eye(3), None, {"bins": 1 << 25}, ValueError, "bins must be <="),
    (np.eye(3), None, {"topk": 2}, ValueError, "topk must be < 2"),
    (np.eye(3), np.eye(3), {"topk": 3}, ValueError, "topk must be < 3"),
    (np.eye(3), None, {"topk": -1}, ValueError, "topk must be >= 0"),
    (np.eye(3, dtype=np.int64), None, {}, TypeError, "W must have a float16"),
    (np.eye(3, dtype=np.complex128), None, {}, TypeError, "W must have a float16"),
    (np.ones(4), None, {}, ValueError, "W must be 2-dimensional"),
    (np.ones((0, 4)), None, {}, ValueError, "W must not be empty"),
    ("abc", None, {}, ValueError, "only .npy and .safetensors files"),  # a str is a path
    (b"abc", None, {}, TypeError, "W must be an array"),
    ([[1.0, 0.0], [1.0]], None, {}, ValueError, "W is not a rectangular array"),  # rows of unequal length
    (np.eye(2), [[1.0, 0.0], [0.0]], {}, ValueError, "B is not a rectangular array"),
    (np.ma.masked_array(np.eye(3), mask=np.eye(3) == 0), None, {}, ValueError, "W is a masked array"),
    (np.eye(3), None, {"thresholds": (-0.1,)}, ValueError, r"thresholds\[0\] must be >= 0"),
    (np.eye(3), None, {"thresholds": (float("nan"),)}, ValueError, r"thresholds\[0\] must be finite"),
    (np.eye(3), None, {"threads": 0}, ValueError, "threads must be >= 1"),
    (np.eye(3), None, {"normalize": 1}, TypeError, "normalize must be a bool"),
    (np.eye(3), None, {"bins": 2.5}, TypeError, "bins must be an integer"),
])
def test_bad_inputs_raise_clear_errors(W, B, kwargs, error, match):
    with pytest.raises(error, match=match):
        nearortho.interference(W, B, **kwargs)


def test_one_dimensional_rows_are_all_parallel():
    stats = nearortho.interference(np.array([[2.0], [-3.0], [0.5]]), bins=10, topk=1)
    assert stats.coherence == 1.0 and stats.pair == (0, 1)
    assert stats.hist[-1] == 3 and stats.mean == pytest.approx(-1 / 3)
    np.testing.assert_array_equal(stats.topk_index[:, 0], [1, 0, 0])
    np.testing.assert_array_equal(stats.topk_value[:, 0], [-1.0, -1.0, 1.0])
    np.testing.assert_array_equal(stats.row_signed_max, [1.0, -1.0, 1.0])  # row 1 has no parallel partner
    np.testing.assert_array_equal(stats.row_signed_argmax, [2, 0, 0])


@pytest.mark.parametrize("m, m2", [(2, 3), (1, 3), (5, 2)])
def test_one_dimensional_rows_of_two_frames_on_both_sides(m, m2):
    A, B = np.arange(1.0, m + 1)[:, None] * (-1) ** np.arange(m)[:, None], -np.ones((m2, 1))
    stats = nearortho.interference(A, B, topk=1)
    G = np.sign(A) @ np.sign(B).T  # +-1 exactly
    np.testing.assert_array_equal(stats.row_signed_max, G.max(axis=1))
    np.testing.assert_array_equal(stats.row_signed_argmax, G.argmax(axis=1))
    np.testing.assert_array_equal(stats.col_signed_max, G.max(axis=0))
    np.testing.assert_array_equal(stats.col_signed_argmax, G.argmax(axis=0))
    np.testing.assert_array_equal(stats.col_argmax, np.zeros(m2))  # every |g| = 1: the smallest index
    np.testing.assert_array_equal(stats.col_sumsq, np.full(m2, float(m)))
    np.testing.assert_array_equal(stats.col_topk_index[:, 0], np.zeros(m2))


def test_huge_rows_overflow_only_without_normalisation():
    rng = np.random.default_rng(35)
    W = (rng.standard_normal((20, 8)) * 1e20).astype(np.float32)
    with pytest.raises(ValueError, match="W has rows so long .* overflow float32"):
        nearortho.interference(W, normalize=False)
    G, mask = gram(W)
    assert nearortho.interference(W).coherence == pytest.approx(np.abs(G[mask]).max(), abs=1e-5)
    tiny = (rng.standard_normal((20, 8)) * 1e-30).astype(np.float32)
    stats = nearortho.interference(tiny, normalize=False)
    assert stats.hist[0] == stats.pairs


def test_offsets_whose_indices_would_leave_int64_are_refused():
    # once wrapped to negative indices silently (2^63 - 2), or an unnamed OverflowError (2^64)
    W = np.array([[1.0, 0.0], [0.6, 0.8], [0.0, 1.0]])
    for offset in (2**63 - 2, 2**64):
        with pytest.raises(ValueError, match="row_offset must be <= 9223372036854775805"):
            nearortho.interference(W, topk=1, row_offset=offset)
        with pytest.raises(ValueError, match="col_offset must be <= 9223372036854775805"):
            nearortho.interference(W, W, topk=1, col_offset=offset)
    top = 2**63 - 3  # the largest: the last row's global index is 2^63 - 1
    stats = nearortho.interference(W, topk=1, row_offset=top)
    assert stats.pair == (top + 1, top + 2)  # cosine 0.8
    assert stats.row_argmax.tolist() == [top + 1, top + 2, top + 1]
    assert stats.topk_index[:, 0].tolist() == [top + 1, top + 2, top + 1]


def test_zero_rows_are_fine_for_raw_products():
    W = np.array([[1.0, 0.0], [0.0, 0.0], [0.5, 0.5]])
    stats = nearortho.interference(W, normalize=False)
    assert stats.coherence == 0.5 and stats.pair == (0, 2)


@pytest.mark.usefixtures("cpu_backend")  # the CPU's row blocks (a GPU would stream ~32M rows)
def test_a_frame_larger_than_memory_is_packed_in_blocks_not_refused(tmp_path):
    import nearortho._validate as validate

    huge = np.lib.format.open_memmap(tmp_path / "huge.npy", mode="w+", dtype=np.float32,
                                     shape=(validate.physical_memory() // (4 * 1024) + 1, 1024))
    huge[:200] = 1.0
    # the pass starts (its first read finds the zero rows of the sparse file) instead of refusing
    with pytest.raises(ValueError, match=r"W has a zero row \(row 200\)"):
        nearortho.interference(huge)
    with pytest.raises(ValueError, match="memory must be at least"):
        nearortho.interference(huge, memory=1 << 20)


@pytest.mark.parametrize("m, n", [(2, 1), (2, 3), (37, 5), (70, 33)])
def test_capacity_and_random_mmcs_against_the_oracle(m, n):
    W = np.random.default_rng(m + n).standard_normal((m, n))
    stats = nearortho.interference(W)
    # Scherlis et al.'s definition, (w_i . w_i)^2 / sum_j (w_i . w_j)^2, on the unit rows
    unit = W / np.linalg.norm(W, axis=1, keepdims=True)
    raw = unit @ unit.T
    want = np.diag(raw) ** 2 / np.sum(raw**2, axis=1)
    np.testing.assert_allclose(stats.capacity, want, rtol=1e-12)
    assert stats.capacity.sum() <= min(m, n) + 1e-9  # total capacity is at most the rank
    G, _ = gram(W)
    np.fill_diagonal(G, 0.0)
    assert stats.mmcs == pytest.approx(np.abs(G).max(axis=1).mean(), rel=1e-12)
    assert stats.random_mmcs == pytest.approx(nearortho.reference.random_mean_max(n, m - 1), rel=1e-15)
    record = stats.to_dict()
    assert record["total_capacity"] == pytest.approx(want.sum(), rel=1e-12)
    assert record["random_mmcs"] == stats.random_mmcs


def test_a_tight_frame_has_total_capacity_n():
    # a union of two orthonormal bases: W^T W = 2 I, so every capacity is 1/2
    W = nearortho.frame(16, 32, "orthogonal", seed=3, dtype="float64")
    stats = nearortho.interference(W)
    np.testing.assert_allclose(stats.capacity, 0.5, rtol=1e-12)
    assert stats.capacity.sum() == pytest.approx(16, rel=1e-12)


def test_capacity_is_refused_where_undefined():
    W = nearortho.frame(8, 20, seed=1)
    for stats, words in ((nearortho.interference(W, per_row=False), "per-row statistics"),
                         (nearortho.interference(W, W[:5]), "among the rows of one frame"),
                         (nearortho.interference(W, normalize=False), "normalize=True")):
        with pytest.raises(ValueError, match=words):
            stats.capacity
    cross = nearortho.interference(W, W[:5])
    assert cross.random_mmcs == pytest.approx(nearortho.reference.random_mean_max(8, 5), rel=1e-15)
