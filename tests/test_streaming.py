"""Streamed inputs (files read block by block with pread) and the memory= budget:
results equal the in-memory pass, files larger than the address space work, and a
file truncated while it is read is an error, not a crash."""
from __future__ import annotations

import json
import os
import re
import sys

import numpy as np
import pytest

import nearortho
from isolated import assert_succeeds

EXACT = ("coherence", "pair", "hist", "count_above", "row_max", "row_argmax", "row_signed_max", "row_signed_argmax",
         "topk_index", "topk_value", "col_max", "col_argmax", "col_signed_max", "col_signed_argmax", "col_topk_index",
         "col_topk_value", "hist_range", "pairs")


# these tests compare paths bit for bit (files stream on the CPU): every call on the CPU
pytestmark = pytest.mark.usefixtures("cpu_backend")


def least_memory(*args, call=nearortho.interference, **kwargs) -> int:
    """The smallest budget the (first) pass of ``call`` accepts, from its error
    message: one block of 144 rows per side, so a few hundred rows make many blocks."""
    with pytest.raises(ValueError, match="memory must be at least") as caught:
        call(*args, memory=1, **kwargs)
    return int(re.search(r"at least (\d+) bytes", str(caught.value)).group(1))


def assert_same(streamed, loaded):
    for name in EXACT:
        a, b = getattr(streamed, name), getattr(loaded, name)
        if isinstance(a, np.ndarray):
            np.testing.assert_array_equal(a, b, err_msg=name)
        else:
            assert a == b, name
    for name in ("sum", "sum_abs", "sum_sq"):
        assert getattr(streamed, name) == pytest.approx(getattr(loaded, name), rel=1e-12, abs=1e-300), name
    for name in ("row_sumsq", "col_sumsq"):
        if getattr(loaded, name) is not None:
            np.testing.assert_allclose(getattr(streamed, name), getattr(loaded, name), rtol=1e-12, err_msg=name)


def write_safetensors(path, name, array, dtype):
    """A one-tensor .safetensors file written by hand (bfloat16 by truncating float32
    bits, which numpy cannot hold)."""
    if dtype == "BF16":
        raw = (np.ascontiguousarray(array, np.float32).view(np.uint32) >> 16).astype("<u2").tobytes()
    else:
        raw = np.ascontiguousarray(array, {"F16": "<f2", "F32": "<f4", "F64": "<f8"}[dtype]).tobytes()
    header = json.dumps({name: {"dtype": dtype, "shape": list(array.shape), "data_offsets": [0, len(raw)]}}).encode()
    header += b" " * (-len(header) % 8)
    path.write_bytes(len(header).to_bytes(8, "little") + header + raw)


@pytest.fixture
def rng():
    return np.random.default_rng(11)


@pytest.mark.parametrize("stored", ["float32", "float64", "float16"])
@pytest.mark.parametrize("normalize", [True, False])
def test_streamed_npy_equals_the_in_memory_pass_with_many_blocks(tmp_path, rng, stored, normalize):
    W = rng.standard_normal((613, 37)).astype(stored)
    W[100] = W[500]  # a tie for the coherence across blocks
    path = tmp_path / "w.npy"
    np.save(path, W)
    options = dict(normalize=normalize, topk=3, thresholds=(0.1, 0.3), bins=257, threads=2)
    loaded = nearortho.interference(nearortho.load(path), **options)
    budget = least_memory(path, **options)  # 144-row blocks: 5 of them, 15 pairs
    streamed = nearortho.interference(path, memory=budget, **options)
    assert_same(streamed, loaded)
    in_memory_blocks = nearortho.interference(nearortho.load(path), memory=budget, **options)
    assert_same(in_memory_blocks, loaded)
    assert streamed.quantile(0.5, exact=True) == loaded.quantile(0.5, exact=True)


@pytest.mark.parametrize("dtype", ["BF16", "F16", "F32", "F64"])
def test_streamed_safetensors_a_x_b_equals_the_in_memory_pass(tmp_path, rng, dtype):
    A, B = rng.standard_normal((300, 19)), rng.standard_normal((455, 19))
    write_safetensors(tmp_path / "a.safetensors", "W_dec", A, dtype)
    write_safetensors(tmp_path / "b.safetensors", "W_dec", B, dtype)
    a, b = (nearortho.open_rows(tmp_path / f"{x}.safetensors") for x in "ab")
    options = dict(topk=4, thresholds=(0.2,), threads=2)
    loaded = nearortho.interference(nearortho.load(a.path), nearortho.load(b.path), **options)
    budget = least_memory(a, b, **options)
    assert_same(nearortho.interference(a, b, memory=budget, **options), loaded)
    # a file against an array: the array converted, the file read as the wider dtype
    B64 = nearortho.load(b.path).astype(np.float64)
    assert_same(nearortho.interference(a, B64, memory=least_memory(a, B64, **options), **options),
                nearortho.interference(nearortho.load(a.path), B64, **options))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sum_of_g_from_the_blocks_row_sums_is_exact_on_integer_rows(rng, dtype):
    """The sum of g is taken from each block's coordinate sums: on rows of small
    integers (raw products, every partial sum an integer below 2^24) it is the exact
    integer sum over the pairs, with one block or many, within W and against B."""
    W = rng.integers(-3, 4, (463, 23)).astype(dtype)
    B = rng.integers(-3, 4, (301, 23)).astype(dtype)
    G = W.astype(np.int64) @ W.T.astype(np.int64)
    within = int(G[np.triu_indices(len(W), 1)].sum())
    across = int((W.astype(np.int64) @ B.T.astype(np.int64)).sum())
    options = dict(normalize=False, per_row=False, threads=2)
    for args, exact in (((W,), within), ((W, B), across)):
        assert nearortho.interference(*args, **options).sum == exact
        blocked = nearortho.interference(*args, memory=least_memory(*args, **options), **options)
        assert blocked.sum == exact


def test_sum_of_g_near_zero_keeps_its_relative_accuracy_in_float64():
    """Nearly orthogonal float64 rows whose sum of g is tiny: the sum within a block
    is a running sum over the rows, not (|sum u|^2 - sum |u|^2) / 2, whose
    cancellation would leave an error near 1e-16 m however small the sum."""
    for W in (np.array([[1.0, 0.0], [1e-10, 1.0]]), np.array([[1.0, 0, 0], [1e-12, 1, 0], [0, 3e-13, 1]])):
        G = W @ W.T
        exact = G[np.triu_indices(len(W), 1)].sum()
        assert nearortho.interference(W, normalize=False).sum == pytest.approx(exact, rel=1e-14)


def test_pairs_collected_in_a_blocked_pass_are_those_of_the_whole_pass(tmp_path, rng):
    from nearortho.interference import _interference

    W = rng.standard_normal((500, 6)).astype(np.float32)
    np.save(tmp_path / "w.npy", W)
    options = dict(pair_threshold=0.9, pair_signed=False, pair_cap=10**6)
    budget = least_memory(tmp_path / "w.npy", call=lambda *a, **k: _interference(*a, None, True, 1, (), 0, False, None,
                                                                               0, None, "topk", **k, **options))
    _, (count, i, j, g) = _interference(W, None, True, 1, (), 0, False, None, 0, None, "topk", **options)
    _, (count2, i2, j2, g2) = _interference(tmp_path / "w.npy", None, True, 1, (), 0, False, None, 0, None, "topk",
                                            memory=budget, **options)
    assert count == count2 == len(i) > 100  # 6 dimensions: many close pairs
    order, order2 = np.lexsort((j, i)), np.lexsort((j2, i2))
    for x, y in ((i, i2), (j, j2), (g, g2)):
        np.testing.assert_array_equal(x[order], y[order2])


def test_transposed_layouts_are_read_by_columns(tmp_path, rng):
    W = rng.standard_normal((29, 401)).astype(np.float32)  # stored as (d_in, d_sae): columns are features
    np.save(tmp_path / "c.npy", W)
    np.save(tmp_path / "f.npy", np.asfortranarray(W))  # Fortran order: the file holds W.T row-major
    want = nearortho.interference(np.ascontiguousarray(W.T), topk=2)
    with pytest.warns(UserWarning, match="fewer features than dimensions"):
        nearortho.open_rows(tmp_path / "c.npy")
    columns = nearortho.open_rows(tmp_path / "c.npy", layout="columns")
    fortran = nearortho.open_rows(tmp_path / "f.npy", layout="columns")
    assert columns.transposed and not fortran.transposed and columns.shape == fortran.shape == (401, 29)
    budget = least_memory(columns, topk=2)
    for source in (columns, fortran):
        assert_same(nearortho.interference(source, topk=2, memory=budget), want)
    np.testing.assert_array_equal(columns[[5, 3, 400]], W.T[[5, 3, 400]])


def test_neighbors_pairs_and_match_take_files(tmp_path, rng):
    A = rng.standard_normal((350, 300)).astype(np.float32)
    A[7] = A[300] + 0.1 * A[7]  # a few close pairs to find
    B = (A[rng.permutation(350)] + 0.05 * rng.standard_normal((350, 300))).astype(np.float32)
    np.save(tmp_path / "a.npy", A)
    np.save(tmp_path / "b.npy", B)
    a, b = tmp_path / "a.npy", tmp_path / "b.npy"
    budget = least_memory(a, 5, b, call=nearortho.neighbors)
    for got, want in zip(nearortho.neighbors(a, 5, b, memory=budget), nearortho.neighbors(A, 5, B)):
        np.testing.assert_array_equal(got, want)
    # later passes search fewer rows with longer lists: a little more than the first needs
    budget = 2 * least_memory(a, 0.1, call=nearortho.pairs)
    got, want = nearortho.pairs(a, 0.1, memory=budget), nearortho.pairs(A, 0.1)
    assert len(got[0]) > 1
    for x, y in zip(got, want):
        np.testing.assert_array_equal(x, y)
    budget = 2 * least_memory(a, b, call=nearortho.match)
    got, want = nearortho.match(a, b, memory=budget), nearortho.match(A, B)
    np.testing.assert_array_equal(got.b_index, want.b_index)
    assert got.certified and got.total == want.total


@pytest.mark.parametrize("memory, error, words", [
    (0, ValueError, "memory must be >= 1"), (-5, ValueError, "memory must be >= 1"),
    (1.5e9, TypeError, "memory must be an integer"), (True, TypeError, "memory must be an integer"),
    (1000, ValueError, "memory must be at least"),
])
def test_bad_memory_values(rng, memory, error, words):
    with pytest.raises(error, match=words):
        nearortho.interference(rng.standard_normal((300, 8)), memory=memory)


def test_files_that_cannot_be_streamed_say_why(tmp_path, rng):
    W = rng.standard_normal((10, 4))
    np.savez(tmp_path / "w.npz", W=W)
    with pytest.raises(ValueError, match="only .npy and .safetensors"):
        nearortho.open_rows(tmp_path / "w.npz")
    np.save(tmp_path / "big.npy", W.astype(">f4"))
    with pytest.raises(ValueError, match="big-endian"):
        nearortho.open_rows(tmp_path / "big.npy")
    np.save(tmp_path / "short.npy", W)
    data = (tmp_path / "short.npy").read_bytes()
    (tmp_path / "short.npy").write_bytes(data[:-9])
    with pytest.raises(ValueError, match="fewer than the .* its header describes"):
        nearortho.open_rows(tmp_path / "short.npy")
    np.save(tmp_path / "nan.npy", np.where(np.arange(10)[:, None] == 7, np.nan, W))
    with pytest.raises(ValueError, match=r"nan.npy contains NaN or Inf \(row 7\)"):
        nearortho.interference(tmp_path / "nan.npy")


def test_a_file_truncated_during_the_pass_is_a_clear_error(tmp_path):
    path = tmp_path / "w.npy"
    np.save(path, np.random.default_rng(1).standard_normal((1500, 24)).astype(np.float32))
    out = assert_succeeds(f"""
    import os, re, numpy as np, pytest, nearortho
    path = {str(path)!r}
    with pytest.raises(ValueError) as small:
        nearortho.interference(path, memory=1, threads=2)  # the threads of the pass below
    budget = int(re.search(r"at least (\\d+) bytes", str(small.value)).group(1))
    calls = []
    def truncate(done, total):
        calls.append(done)
        if len(calls) == 1:
            os.truncate(path, os.path.getsize(path) // 3)
    try:
        nearortho.interference(path, memory=budget, progress=truncate, threads=2)
    except OSError as error:
        print(error)
    """)
    assert str(path) in out and re.search("truncated or rewritten|modified while being read", out), out


@pytest.mark.slow
@pytest.mark.skipif(sys.platform != "linux" or "asan" in os.environ.get("LD_PRELOAD", ""),
                    reason="address-space limit (the sanitizer reserves terabytes of shadow memory)")
def test_a_file_larger_than_the_address_space_left(tmp_path):
    """Under RLIMIT_AS with less room than the file, the file cannot even be mapped,
    but the streamed pass reads it in blocks within its default budget."""
    path = tmp_path / "wide.npy"
    W = np.random.default_rng(2).standard_normal((2000, 6000)).astype(np.float32)  # 48 MB
    np.save(path, W)
    want = nearortho.interference(W, topk=2, per_row=True)
    small = tmp_path / "small.npy"
    np.save(small, W[:300, :50])
    del W
    out = assert_succeeds(f"""
    import resource, numpy as np, nearortho
    path = {str(path)!r}
    nearortho.interference({str(small)!r}, topk=2, threads=2)  # thread pool and its buffers first
    with open("/proc/self/statm") as f:
        used = int(f.read().split()[0]) * resource.getpagesize()
    resource.setrlimit(resource.RLIMIT_AS, (used + (28 << 20), resource.RLIM_INFINITY))
    try:
        np.load(path, mmap_mode="r")
        raise AssertionError("the file fit in the address space")
    except (OSError, MemoryError, ValueError):
        pass
    s = nearortho.interference(path, topk=2, threads=2)
    print(repr((s.coherence, s.pair, s.hist.tolist(), s.topk_index.tolist(), s.row_max.tolist(), s.sum_sq)))
    """, timeout=120)
    coherence, pair, hist, topk_index, row_max, sum_sq = eval(out.strip().splitlines()[-1])
    assert (coherence, pair) == (want.coherence, want.pair)
    assert hist == want.hist.tolist() and topk_index == want.topk_index.tolist() and row_max == want.row_max.tolist()
    assert sum_sq == pytest.approx(want.sum_sq, rel=1e-12)


@pytest.mark.parametrize("dtype", ["F16", "BF16", "F32", "F64"])
def test_row_file_indexing_reads_the_rows_asked_in_order(tmp_path, rng, dtype, monkeypatch):
    from nearortho import row_file

    monkeypatch.setattr(row_file, "_PIECE", 40)  # runs of rows read in many short pieces
    W = rng.standard_normal((37, 5))
    write_safetensors(tmp_path / "w.safetensors", "W_dec", W, dtype)
    rows = nearortho.open_rows(tmp_path / "w.safetensors")
    whole = rows[:]
    expected = nearortho.load(tmp_path / "w.safetensors")
    assert whole.dtype == rows.dtype and np.array_equal(whole, expected)
    for index in ([5, 6, 7, 30, 2, 2, -1], slice(3, 9), slice(9, 3), [], np.arange(36, -1, -1)):
        assert np.array_equal(rows[index], expected[index]), index
    with pytest.raises(IndexError, match="out of range for 37 rows"):
        rows[[37]]
    with open(tmp_path / "w.safetensors", "r+b") as handle:
        handle.truncate(os.path.getsize(tmp_path / "w.safetensors") - 3)
    with pytest.raises(OSError, match="truncated or rewritten"):
        rows[30:]
