"""The CUDA backend (nearortho._cuda) against the CPU core, field by field, on
sizes that cross the device's 4096-row Gram tiles. Needs a build with
NEARORTHO_CUDA=ON (README) and a device: skipped otherwise, except the check
that a build without a device fails cleanly.

Most inputs have small integer entries (or rows of norm 4 with entries +-1),
so every Gram entry is exact in any summation order: then every field, sums
included, must equal the CPU's bit for bit, whatever order cuBLAS adds in."""
from __future__ import annotations

import importlib
import itertools
import os

import numpy as np
import pytest

from interference_oracle import gram, near, tolerance
from nearortho import _core

try:
    _cuda = importlib.import_module("nearortho._cuda")
except ModuleNotFoundError:  # a CPU-only build; the ImportError of a broken build fails here
    _cuda = None

built = pytest.mark.skipif(_cuda is None, reason="nearortho._cuda not built (NEARORTHO_CUDA=ON)")
devices = 0 if _cuda is None else _cuda.device_count()


def on_device(test):
    """Marks a test `cuda` and skips it without the module or a device."""
    for mark in (built, pytest.mark.cuda, pytest.mark.skipif(devices == 0, reason="no CUDA device")):
        test = mark(test)
    return test

TOTALS = ("sum", "sum_abs", "sum_sq", "max_abs", "max_i", "max_j", "hist_lo", "hist_hi", "hist", "below",
          "above", "count_above", "collect_overflow", "pair_count")
SIDE_FIELDS = ("max", "argmax", "signed_max", "signed_argmax", "sumsq", "topk_index", "topk_value")
FIELDS = (*TOTALS, *(side + name for side in ("row_", "col_") for name in SIDE_FIELDS))


@built
@pytest.mark.skipif(devices > 0, reason="a CUDA device is present")
def test_without_a_device_calls_fail_cleanly():
    assert devices == 0
    with pytest.raises(RuntimeError, match="CUDA"):
        run(_cuda, np.eye(3, dtype=np.float32), None)
    with pytest.raises(RuntimeError, match="CUDA"):
        frames(_cuda, "sign", 5, 3, 0, 0, 0, 3, np.float32)


@built  # rejected before any device call: no device needed
def test_mismatched_B_is_a_value_error():
    with pytest.raises(ValueError, match="B must have rows of length 3 like W"):
        _cuda.interference(np.ones((2, 3), np.float32), np.ones((2, 4), np.float32), _core.InterferenceOptions())


def frames(module, kind, n, m, seed, sparsity, lo, hi, dtype):
    spec = _core.FrameSpec()
    spec.kind, spec.n, spec.m, spec.seed, spec.sparsity = getattr(_core.FrameKind, kind), n, m, seed, sparsity
    out = np.full((hi - lo, n), np.nan, dtype=dtype)
    module.generate_frame(spec, lo, hi, out, 0)
    return out


@on_device
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kind, n, sparsity", [("sign", 1, 0), ("sign", 129, 0), ("sign", 300, 0),
                                               ("sparse", 1, 1), ("sparse", 37, 1), ("sparse", 37, 37),
                                               ("sparse", 300, 7)])
@pytest.mark.parametrize("rows", [(0, 1), (3, 1030)])
def test_frames_have_the_cpu_bits(kind, n, sparsity, dtype, rows):
    lo, hi = rows
    gpu = frames(_cuda, kind, n, 2000, 12345, sparsity, lo, hi, dtype)
    cpu = frames(_core, kind, n, 2000, 12345, sparsity, lo, hi, dtype)
    assert np.array_equal(gpu.view(np.uint8), cpu.view(np.uint8))


@built  # these kinds come from the CPU core: no device needed
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kind, n", [("gaussian", 9), ("orthogonal", 9), ("srht", 9), ("simplex", 4)])
def test_other_kinds_are_the_cpu_rows(kind, n, dtype):
    gpu = frames(_cuda, kind, n, 5, 7, 0, 1, 5, dtype)
    assert np.array_equal(gpu.view(np.uint8), frames(_core, kind, n, 5, 7, 0, 1, 5, dtype).view(np.uint8))


def run(module, W, B, progress=None, **fields):
    """module's pass with InterferenceOptions' fields set as given (the rest default)."""
    options = _core.InterferenceOptions()
    for name, value in fields.items():
        setattr(options, name, value)
    return module.interference(W, B, options, progress)


def flat(result):
    """An InterferenceResult as one dict: the totals, then row_* and col_* per side."""
    out = {name: getattr(result.totals, name) for name in (*TOTALS, "collected", "pair_i", "pair_j", "pair_g")}
    for side, prefix in ((result.rows, "row_"), (result.cols, "col_")):
        out.update({prefix + name: getattr(side, name) for name in SIDE_FIELDS})
    return out


def both(W, B=None, normalize=False, bins=7, thresholds=(), **fields):
    fields.update(normalize=normalize, bins=bins, thresholds=list(thresholds))
    return flat(run(_core, W, B, **fields)), flat(run(_cuda, W, B, **fields))


def assert_same(cpu, gpu, fields=FIELDS):
    for key in fields:
        assert np.array_equal(np.asarray(gpu[key]), np.asarray(cpu[key])), key
    # the collected pairs come in no set order on either backend
    order_cpu, order_gpu = np.lexsort((cpu["pair_j"], cpu["pair_i"])), np.lexsort((gpu["pair_j"], gpu["pair_i"]))
    for key in ("pair_i", "pair_j", "pair_g"):
        assert np.array_equal(gpu[key][order_gpu], cpu[key][order_cpu]), key


def integer_rows(rng, m, n, dtype):
    return rng.integers(-2, 3, size=(m, n)).astype(dtype)


def norm4_rows(rng, m, n, dtype):
    """Rows with 16 entries +-1 (norm 4): normalised entries +-1/4, cosines k/16."""
    W = np.zeros((m, n), dtype)
    for row in W:
        row[rng.choice(n, 16, replace=False)] = rng.choice([-1.0, 1.0], 16)
    return W


@on_device
# m = 4101 and 4100: two row blocks of 4096 (diagonal, off-diagonal and edge tiles)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("m, n", [(2, 1), (7, 3), (4101, 5)])
def test_pairs_within_W_exact(m, n, dtype):
    W = integer_rows(np.random.default_rng(m + n), m, n, dtype)
    assert_same(*both(W, thresholds=(0.0, 1.0, 2.5, 7.0), topk=min(3, m - 2),  # ties everywhere
                      pair_threshold=3.0 * n, pair_cap=10**6))
    assert_same(*both(W, per_row=False, bins=3, topk=1, pair_threshold=3.0 * n, pair_signed=True,
                      pair_cap=10**6))
    cpu, gpu = both(W, pair_threshold=0.0, pair_cap=0)  # counted, none kept
    assert_same(cpu, gpu)
    assert gpu["pair_count"] == m * (m - 1) // 2 and gpu["pair_i"].size == 0
    if m < 100:
        assert_same(*both(W, topk=m - 1))  # complete lists


@on_device
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("m, m2", [(4100, 3), (5, 4099)])
def test_pairs_against_B_exact(m, m2, dtype):
    rng = np.random.default_rng(m * m2)
    W, B = integer_rows(rng, m, 9, dtype), integer_rows(rng, m2, 9, dtype)
    assert_same(*both(W, B, thresholds=(1.0, 4.5), topk=2, pair_threshold=-1.5, pair_signed=True,
                      pair_cap=10**6))
    assert_same(*both(W, B, per_row=False))
    assert_same(*both(W, B, topk=m2, columns=False))  # complete lists, for W's rows only


@on_device
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_normalised_rows_exact(dtype):
    rng = np.random.default_rng(4)
    W = norm4_rows(rng, 4099, 37, dtype)
    assert_same(*both(W, normalize=True, bins=16, thresholds=(0.0, 0.25, 0.5), topk=4))
    B = norm4_rows(rng, 33, 37, dtype)
    assert_same(*both(W, B, normalize=True, bins=10001, topk=32))  # more bins than a block's shared counters


@on_device
def test_histogram_ranges_and_refine_exact():
    W = integer_rows(np.random.default_rng(5), 301, 11, np.float32)
    assert_same(*both(W, bins=9, hist_lo=1.0, hist_hi=6.0))
    options = dict(bins=5, hist_lo=2.0, hist_hi=6.0, refine=True, collect_lo=3.0, collect_hi=4.0)
    for cap in (0, 10**6):
        cpu, gpu = both(W, collect_cap=cap, **options)
        assert_same(cpu, gpu)
        assert gpu["collect_overflow"] == (cap == 0)
        assert np.array_equal(np.sort(gpu["collected"]), np.sort(cpu["collected"]))  # no set order


@on_device
def test_gaussian_within_rounding_of_float64():
    """Real-valued cosines: cuBLAS and the CPU round differently, so each is
    held to the float64 oracle's tolerance (tests/interference_oracle.py)."""
    W = np.random.default_rng(6).standard_normal((513, 31)).astype(np.float32)
    cpu, gpu = both(W, normalize=True, bins=64, thresholds=(0.25,))
    G, mask = gram(W)
    tol = tolerance(W, None, True, np.float32)
    g = G[mask]
    assert gpu["sum"] == pytest.approx(g.sum(), abs=tol * g.size)
    assert gpu["sum_sq"] == pytest.approx((g * g).sum(), abs=3 * tol * g.size)
    assert gpu["max_abs"] == pytest.approx(np.abs(g).max(), abs=tol)
    assert abs(G[gpu["max_i"], gpu["max_j"]]) == pytest.approx(np.abs(g).max(), abs=2 * tol)
    edges = np.linspace(0, 1, 65)
    assert np.abs(gpu["hist"] - cpu["hist"]).sum() <= 2 * near(np.abs(g), edges, 2 * tol)
    assert abs(gpu["count_above"][0] - cpu["count_above"][0]) <= near(np.abs(g), [0.25], 2 * tol)
    assert np.allclose(gpu["row_max"], cpu["row_max"], atol=2 * tol, rtol=0)
    assert np.allclose(gpu["row_signed_max"], cpu["row_signed_max"], atol=2 * tol, rtol=0)
    assert np.allclose(gpu["row_sumsq"], cpu["row_sumsq"], atol=3 * tol * W.shape[0], rtol=0)


@on_device
def test_bad_input_is_a_value_error():
    W = np.ones((5, 3), np.float32)
    W[3, 1] = np.nan
    with pytest.raises(ValueError, match=r"W contains NaN or Inf \(row 3\)"):
        run(_cuda, W, None)
    W[3, 1] = 0
    W[2] = 0
    with pytest.raises(ValueError, match=r"W has a zero row \(row 2\)"):
        run(_cuda, W, None)
    with pytest.raises(ValueError, match=r"topk must be in \[0, 3\]"):
        run(_cuda, np.eye(4, dtype=np.float32), None, topk=4)
    for scale in (1e200, 1e-160, 1e-200):  # |w|^2 over- or underflows float64: normalising cannot be exact
        W = np.ones((5, 3))
        W[1] *= scale
        with pytest.raises(ValueError, match=r"W has a row whose squared norm overflows or underflows float64 \(row 1"):
            run(_cuda, W, None)


@on_device
def test_progress_error_stops_the_pass():

    def progress(done, total):
        raise ArithmeticError("stop")

    with pytest.raises(ArithmeticError, match="stop"):
        run(_cuda, np.eye(9, dtype=np.float32), None, progress=progress)


# The exact fields of a tensor-core pass: re-checked in float64, so equal to the
# CPU's float64 pass over the same float32 rows (indices exactly, values to
# float64 rounding).
EXACT_INDICES = ("max_i", "max_j", "pair_count", *(side + name for side in ("row_", "col_")
                                                   for name in ("argmax", "signed_argmax", "topk_index")))
EXACT_VALUES = ("max_abs", *(side + name for side in ("row_", "col_") for name in ("max", "signed_max", "topk_value")))


def tensor_and_float64(W, B, precision, **fields):
    """flat() of the tensor-core pass, of the CPU's float64 pass on the same rows,
    and the tensor pass's totals."""
    fields.setdefault("normalize", False)
    gpu = run(_cuda, W, B, precision=precision, **fields)
    cpu = run(_core, W.astype(np.float64), None if B is None else B.astype(np.float64), **fields)
    return flat(cpu), flat(gpu), gpu.totals


def assert_exact_fields(cpu, gpu):
    for key in EXACT_INDICES:
        assert np.array_equal(np.asarray(gpu[key]), np.asarray(cpu[key])), key
    for key in EXACT_VALUES:
        assert np.allclose(np.asarray(gpu[key]), np.asarray(cpu[key]), rtol=1e-13, atol=0), key
    order_cpu, order_gpu = np.lexsort((cpu["pair_j"], cpu["pair_i"])), np.lexsort((gpu["pair_j"], gpu["pair_i"]))
    for key in ("pair_i", "pair_j"):
        assert np.array_equal(gpu[key][order_gpu], cpu[key][order_cpu]), key
    assert np.allclose(gpu["pair_g"][order_gpu], cpu["pair_g"][order_cpu], rtol=1e-13, atol=0)


@on_device
@pytest.mark.parametrize("precision", ["tf32", "bf16"])
@pytest.mark.parametrize("m, m2, n", [(4133, None, 64), (5, 4099, 37), (4100, 130, 301)])
def test_tensor_core_exact_fields_are_the_float64_ones(precision, m, m2, n):
    rng = np.random.default_rng(m + n)
    W = rng.standard_normal((m, n)).astype(np.float32)
    B = None if m2 is None else rng.standard_normal((m2, n)).astype(np.float32)
    bins, thresholds = 32, (1.0, 2.5)
    cpu, gpu, totals = tensor_and_float64(W, B, precision, bins=bins, thresholds=list(thresholds), topk=3,
                                          pair_threshold=2.2 * np.sqrt(n), pair_cap=10**6)
    assert_exact_fields(cpu, gpu)
    assert gpu["pair_count"] > 0
    # the re-check is selective, and the approximate fields keep to the stated bound
    delta = totals.gram_error
    pairs = m * (m - 1) // 2 if B is None else m * m2
    assert 0 < totals.rechecked < (pairs / 20 if B is None else pairs) and not totals.tensor_fallback
    G, mask = gram(W, B, normalize=False)
    g = G[mask]
    assert 0 < delta < (2.0**-6 if precision == "bf16" else 2.0**-8) * np.abs(g).max() * 4
    assert abs(gpu["sum"] - g.sum()) <= delta * g.size
    assert abs(gpu["sum_sq"] - (g * g).sum()) <= (2 * np.abs(g).max() + delta) * delta * g.size
    edges = np.linspace(gpu["hist_lo"], gpu["hist_hi"], bins + 1)
    assert np.abs(np.asarray(gpu["hist"]) - np.asarray(cpu["hist"])).sum() <= 2 * near(np.abs(g), edges, 2 * delta)
    for count_gpu, count_cpu, t in zip(gpu["count_above"], cpu["count_above"], thresholds):
        assert abs(count_gpu - count_cpu) <= near(np.abs(g), [t], 2 * delta)
    # per_row off: the coherence alone is re-checked
    cpu, gpu, _ = tensor_and_float64(W, B, precision, per_row=False)
    assert (gpu["max_abs"], gpu["max_i"], gpu["max_j"]) == (pytest.approx(cpu["max_abs"], rel=1e-13),
                                                            cpu["max_i"], cpu["max_j"])


@on_device
@pytest.mark.parametrize("precision", ["tf32", "bf16"])
def test_tensor_core_ties_of_a_kerdock_frame_go_to_the_smaller_index(precision):
    import nearortho

    W = nearortho.frame(16, 144, kind="kerdock")  # cross-basis |g| = 1/4 exactly, a tie at every maximum
    cpu, gpu, totals = tensor_and_float64(W, None, precision, normalize=True, topk=5)
    assert_exact_fields(cpu, gpu)
    assert totals.rechecked > 0 and not totals.tensor_fallback


@on_device
def test_tensor_core_pass_with_too_many_candidates_runs_again_in_float32():
    import nearortho

    W = nearortho.frame(64, 2112, kind="kerdock")  # 2.2 million pairs at the maximum: past the buffer
    with pytest.warns(RuntimeWarning, match="ran again in float32"):
        tensor = nearortho.interference(W, precision="tf32", topk=2, backend="cuda")
    exact = nearortho.interference(W, topk=2, backend="cpu")
    assert tensor.gram_error == 0 and tensor.coherence == exact.coherence == 0.125 and tensor.pair == exact.pair
    assert np.array_equal(tensor.topk_index, exact.topk_index) and np.array_equal(tensor.hist, exact.hist)


@on_device
def test_tensor_core_pass_through_the_public_function_states_its_bound():
    import nearortho

    W = nearortho.frame(96, 5000, seed=2)
    tensor = nearortho.interference(W, precision="tf32", backend="cuda", topk=2)
    exact = nearortho.interference(W, backend="cuda", topk=2)
    assert 0 < tensor.gram_error < 0.01 and exact.gram_error == 0
    assert tensor.coherence == pytest.approx(exact.coherence, abs=1e-6)
    assert abs(tensor.rms - exact.rms) <= tensor.gram_error
    with pytest.raises(ValueError, match="float32 rows, not float64"):
        run(_cuda, W.astype(np.float64), None, precision="tf32")


@on_device
def test_torch_cuda_tensors_are_read_on_the_device_with_the_results_of_host_arrays():
    torch = pytest.importorskip("torch")
    import nearortho

    rng = np.random.default_rng(8)
    W, B = rng.standard_normal((4100, 33)).astype(np.float32), rng.standard_normal((70, 33)).astype(np.float32)
    options = dict(backend="cuda", topk=3, bins=50, thresholds=(0.3,))
    on_host = nearortho.interference(W, B, **options).to_dict()
    Wd = torch.from_numpy(W).cuda().requires_grad_()
    for b in (B, torch.from_numpy(B).cuda()):  # W in GPU memory, B on either side
        on_gpu = nearortho.interference(Wd, b, **options).to_dict()
        assert on_gpu.keys() == on_host.keys()
        for key, value in on_host.items():  # the float64 sums are added atomically, in no set order
            if key in ("sum", "sum_abs", "sum_sq", "mean", "mean_abs", "mean_sq", "rms"):
                assert on_gpu[key] == pytest.approx(value, rel=1e-12), key
            else:
                assert on_gpu[key] == value or np.array_equal(on_gpu[key], value, equal_nan=True), key
    assert torch.equal(Wd.detach().cpu(), torch.from_numpy(W))  # normalised in a copy, not in place
    tensor = nearortho.interference(Wd, precision="tf32")
    assert tensor.pair == nearortho.interference(W, precision="tf32", backend="cuda").pair
    with pytest.raises(ValueError, match="must be C-contiguous"):
        nearortho.interference(Wd.T)
    with pytest.raises(ValueError, match="only the CUDA backend reads"):
        nearortho.interference(Wd, backend="cpu")
    with pytest.raises(TypeError, match="dtype torch.bfloat16; the CUDA backend reads float32 or float64"):
        nearortho.interference(Wd.detach().bfloat16())
    address = Wd.data_ptr()
    with pytest.raises(ValueError, match="W is float32 in GPU memory; the pass runs in float64"):
        _cuda.interference(("cuda", address, 4100, 33, "float32"), None, _core.InterferenceOptions(), None, True)
    lists, b_lists = nearortho.neighbors(Wd, 2, torch.from_numpy(B).cuda(), both=True)
    assert np.array_equal(b_lists[0], nearortho.neighbors(W, 2, B, both=True, backend="cuda")[1][0])


@on_device
def test_top_k_of_columns_whose_lists_earlier_tiles_filled():
    """Three row blocks: the columns of tile (1, 2) hold lists from tile (0, 2), so
    few entries beat them (the gathering path); ties everywhere (integer rows)."""
    rng = np.random.default_rng(9)
    W = integer_rows(rng, 8200, 7, np.float32)
    assert_same(*both(W, per_row=False, topk=4))
    assert_same(*both(W, integer_rows(rng, 50, 7, np.float32), per_row=False, topk=5))


@on_device
@pytest.mark.parametrize("precision", ["tf32", "bf16"])
def test_neighbors_pairs_and_match_on_tensor_cores_keep_their_exact_results(precision):
    import nearortho

    # cosines k/16: ties, exact in both; 1200 rows: fewer pairs than the re-check holds,
    # so a fallback (a RuntimeWarning, an error under the suite's filterwarnings) cannot happen
    W = norm4_rows(np.random.default_rng(10), 1200, 40, np.float32)
    tensor, exact = nearortho.neighbors(W, 4, precision=precision), nearortho.neighbors(W, 4, backend="cpu")
    assert np.array_equal(tensor[0], exact[0]) and np.array_equal(tensor[1], exact[1])
    tensor, exact = nearortho.pairs(W, 0.375, precision=precision), nearortho.pairs(W, 0.375)
    assert all(np.array_equal(a, b) for a, b in zip(tensor, exact)) and tensor[0].size > 0
    tensor, exact = nearortho.match(W[:500], W[500:], precision=precision), nearortho.match(W[:500], W[500:])
    assert np.array_equal(tensor.b_index, exact.b_index) and tensor.total == exact.total


# Host rows (numpy arrays) are streamed to the device in blocks of 4096 rows
# (cpp/cuda/pass_rows.cuh); every test above already runs them that way with
# the whole frame resident. Below, device budgets (the option device_bytes,
# memory= in the public functions) too small for the whole frame: A is taken a
# superblock at a time, the blocks it pairs with pass through a ring.
BLOCK = 4096


def least_device_bytes(W, B, **fields):
    """The least budget the pass takes, from the error of one below it."""
    with pytest.raises(ValueError, match=r"memory must be at least \d+ bytes of device memory") as error:
        run(_cuda, W, B, device_bytes=1, **fields)
    return int(str(error.value).split("at least ")[1].split()[0])


@built  # plain host code: no device needed
@pytest.mark.parametrize("symmetric", [True, False])
def test_the_tile_plan_computes_every_tile_once_from_rows_that_are_in_place(symmetric):
    """Walks each plan as the pass does: before tile t it queues the loads whose
    ``ready`` is at most t (the tiles before t are done); while tile t runs it may
    queue them too. Each tile's two loads must hold its blocks, in slots no load
    queued so far has overwritten."""
    for ba, bb, resident, b_resident in itertools.product(range(1, 7), range(1, 6), range(1, 8), (False, True)):
        kept, b_kept, tiles, loads = _cuda._tile_plan(ba, bb, symmetric, resident, b_resident)
        assert kept == min(resident, ba) and b_kept == (b_resident and not symmetric)
        slots = kept + (bb if b_kept else 2)
        assert all(0 <= slot < slots for _, _, slot, _ in loads)
        assert [first for first in sorted(range(len(loads)), key=lambda k: min(
            t for t, tile in enumerate(tiles) if k in tile[2:]))] == list(range(len(loads)))  # in order of use
        expected = [(I, J) for I in range(ba) for J in range(I if symmetric else 0, ba if symmetric else bb)]
        assert sorted((I, J) for I, J, _, _ in tiles) == expected  # each once
        for t, (I, J, a, b) in enumerate(tiles):
            assert loads[a][:2] == (False, I) and loads[b][:2] == (not symmetric, J) and loads[a][2] < kept
            # no load queued by the time tile t runs (queued for it, or ready) overwrites its rows
            for used in (a, b):
                assert loads[used][3] <= t
                for later in range(used + 1, len(loads)):
                    if later <= max(a, b) or loads[later][3] <= t:
                        assert loads[later][2] != loads[used][2], (ba, bb, resident, t, used, later)
        once = ba + (0 if symmetric else bb)  # loads when every block is loaded once
        assert len(loads) >= once and (len(loads) == once or kept < ba)


@on_device
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_rows_beyond_the_device_budget_go_superblock_by_superblock(dtype):
    """Five blocks (the last of 5 rows) in superblocks of one block and of two:
    every field the CPU's (integer rows: sums exact in any order)."""
    W = integer_rows(np.random.default_rng(11), 4 * BLOCK + 5, 7, dtype)
    for fields in (dict(thresholds=(0.0, 2.5), topk=3, pair_threshold=18.0, pair_cap=10**6),
                   dict(per_row=False, bins=3, topk=1, pair_threshold=18.0, pair_signed=True, pair_cap=10**6)):
        least = least_device_bytes(W, None, **fields)
        for budget in (least, least + BLOCK * 7 * W.itemsize):
            assert_same(*both(W, device_bytes=budget, **fields))


@on_device
@pytest.mark.parametrize("m2", [2 * BLOCK + 9, 100])  # B through the ring; B resident beside A's superblocks
def test_pairs_against_B_beyond_the_device_budget(m2):
    rng = np.random.default_rng(m2)
    W, B = norm4_rows(rng, 2 * BLOCK + 3, 37, np.float32), norm4_rows(rng, m2, 37, np.float32)
    fields = dict(normalize=True, bins=16, thresholds=(0.25,), topk=2)
    least = least_device_bytes(W, B, **fields)
    assert_same(*both(W, B, device_bytes=least, **fields))
    assert_same(*both(W, B, device_bytes=least, columns=False, **fields))


@on_device
def test_streamed_superblocks_give_the_results_of_rows_already_on_the_gpu():
    """Gaussian rows: whether copied whole on the device (a torch tensor) or
    streamed in superblocks, each tile is the same cuBLAS call on the same shapes
    (rows at 16-byte-aligned addresses either way), so every field but the
    float64 sums (added atomically, in no set order) is the same."""
    torch = pytest.importorskip("torch")
    import nearortho

    W = np.random.default_rng(15).standard_normal((3 * BLOCK + 5, 33)).astype(np.float32)
    options = dict(backend="cuda", topk=3, bins=50, thresholds=(0.3,))
    least = least_device_bytes(W, None, topk=3, bins=50, thresholds=[0.3])  # the options interference() passes
    streamed = nearortho.interference(W, memory=least, **options).to_dict()
    whole = nearortho.interference(torch.from_numpy(W).cuda(), **options).to_dict()
    assert streamed.keys() == whole.keys()
    for key, value in whole.items():
        if key in ("sum", "sum_abs", "sum_sq", "mean", "mean_abs", "mean_sq", "rms"):
            assert streamed[key] == pytest.approx(value, rel=1e-12), key
        else:
            assert streamed[key] == value or np.array_equal(streamed[key], value, equal_nan=True), key


@on_device
def test_public_memory_is_the_device_budget_and_tensor_cores_need_every_row_resident():
    import nearortho

    W = integer_rows(np.random.default_rng(12), 4 * BLOCK + 5, 7, np.float32)
    least = least_device_bytes(W, None, normalize=False, topk=2)  # the options interference() passes
    streamed = nearortho.interference(W, normalize=False, topk=2, backend="cuda", memory=least).to_dict()
    exact = nearortho.interference(W, normalize=False, topk=2, backend="cpu").to_dict()
    assert streamed.keys() == exact.keys()
    for key, value in exact.items():  # integer rows: every value exact, sums included
        assert streamed[key] == value or np.array_equal(streamed[key], value, equal_nan=True), key
    with pytest.raises(ValueError, match=r"memory must be at least \d+ bytes of device memory"):
        nearortho.interference(W, backend="cuda", memory=1000)
    with pytest.raises(ValueError, match='precision "tf32" re-checks with every row on the device'):
        nearortho.interference(W, normalize=False, topk=2, precision="tf32", memory=least)


@on_device
def test_files_are_streamed_from_the_file_with_the_results_of_the_array(tmp_path):
    import nearortho

    W = integer_rows(np.random.default_rng(16), 4 * BLOCK + 5, 7, np.float32)
    path = tmp_path / "w.f32"
    W.tofile(path)
    region = (str(path), 0, "float32", W.shape[0], 7, False)  # what _core reads with pread
    fields = dict(normalize=False, topk=2, thresholds=[2.5])
    least = least_device_bytes(W, None, **fields)
    cpu = flat(run(_core, W, None, **fields))
    for budget in (0, least):  # the whole frame resident; superblocks of one block
        assert_same(cpu, flat(run(_cuda, region, None, device_bytes=budget, **fields)))
    np.save(tmp_path / "w16.npy", W.astype(np.float16))  # stored float16, read as float32 (exact here)
    streamed = nearortho.interference(tmp_path / "w16.npy", normalize=False, topk=2, backend="cuda", memory=least)
    exact = nearortho.interference(W, normalize=False, topk=2, backend="cpu")
    assert streamed.pair == exact.pair and np.array_equal(streamed.topk_index, exact.topk_index)
    assert np.array_equal(streamed.hist, exact.hist) and streamed.sum == exact.sum

    def truncate(done, total):  # after the first tile (done = 0 is the host norms' poll, before any
        if done >= 1:           # upload): the uploader's reads for later superblocks then fail
            os.truncate(path, path.stat().st_size // 3)

    with pytest.raises(OSError, match="w.f32"):
        run(_cuda, region, None, progress=truncate, device_bytes=least, **fields)


@on_device
@pytest.mark.parametrize("normalize", [True, False])
def test_a_progress_error_stops_a_streamed_pass_with_copies_in_flight(normalize):
    """Raw products read every norm on the host first (the poll reports 0 tiles
    done; one thread, so the calling one); cosines stop after the first tile.
    Either way the next pass is whole."""
    rng = np.random.default_rng(13)
    W = (norm4_rows if normalize else integer_rows)(rng, 3 * BLOCK + 5, 20, np.float32)  # exact Gram entries
    least = least_device_bytes(W, None, normalize=normalize)
    calls = []

    def progress(done, total):
        calls.append((done, total))
        raise ArithmeticError("stop")

    with pytest.raises(ArithmeticError, match="stop"):
        run(_cuda, W, None, progress=progress, normalize=normalize, device_bytes=least, threads=1)
    assert calls == [(1 if normalize else 0, 10)]
    assert_same(*both(W, normalize=normalize, device_bytes=least))


@on_device
def test_bad_rows_in_a_later_block_are_value_errors_naming_the_row():
    W = np.random.default_rng(14).integers(1, 3, size=(2 * BLOCK + 7, 3)).astype(np.float32)
    W[BLOCK + 9, 1] = np.inf
    for normalize in (True, False):  # found on the device as the block arrives; on the host first
        with pytest.raises(ValueError, match=rf"W contains NaN or Inf \(row {BLOCK + 9}\)"):
            run(_cuda, W, None, normalize=normalize)
    W[BLOCK + 9] = 0
    with pytest.raises(ValueError, match=rf"W has a zero row \(row {BLOCK + 9}\)"):
        run(_cuda, W, None, normalize=True)
    with pytest.raises(ValueError, match=rf"B has a zero row \(row {BLOCK + 9}\)"):
        run(_cuda, W[:5] + 1, W, normalize=True)
    W = W.astype(np.float64)
    W[BLOCK + 9] = 1e-200
    with pytest.raises(ValueError, match=rf"W has a row whose squared norm overflows .* \(row {BLOCK + 9}:"):
        run(_cuda, W, None, normalize=True)


def gradient_options(p=2, t=0.0, s=1.0):
    options = _core.SurrogateOptions()
    options.p, options.t, options.s = p, t, s
    return options


def device_gradient(W, p, t=0.0, s=1.0):
    grad = np.full_like(W, np.nan)
    return _cuda.surrogate_gradient(W, gradient_options(p, t, s), grad), grad


@built  # checked before any device call: no device needed
def test_gradient_options_are_checked_before_the_device():
    W = np.eye(3)
    for options, match in [(gradient_options(p=1), "p must be"), (gradient_options(t=-1.0), "t must be"),
                           (gradient_options(s=0.0), "s must be")]:
        with pytest.raises(ValueError, match=match):
            _cuda.surrogate_gradient(W, options, np.empty_like(W))
    with pytest.raises(ValueError, match="at least 2 rows"):
        _cuda.surrogate_gradient(W[:1], gradient_options(), np.empty_like(W[:1]))


# one tile (m = 2, 601), two tiles with a 3-row edge (4099), three block rows (8197)
@on_device
@pytest.mark.parametrize("m, n, p, t, s, dtype", [
    (2, 3, 2, 0.0, 1.0, np.float64), (601, 19, 12, 0.3, 0.35, np.float64), (4099, 33, 4, 0.1, 0.5, np.float64),
    (8197, 9, 2, 0.0, 1.0, np.float64), (601, 19, 12, 0.3, 0.35, np.float32), (4099, 33, 4, 0.1, 0.5, np.float32)])
def test_gradient_matches_the_float64_oracle_across_tiles(m, n, p, t, s, dtype):
    from gradient_oracle import oracle, unit_rows

    W = unit_rows(m, n, seed=m, dtype=dtype)
    got, grad = device_gradient(W, p, t, s)
    value, expected, coherence, pair = oracle(W, p, t, s)
    scale = np.abs(expected).max()
    if dtype == np.float64:
        assert got.value == pytest.approx(value, rel=1e-12, abs=1e-300)
        np.testing.assert_allclose(grad, expected, rtol=1e-10, atol=1e-12 * scale)
        assert got.max_abs == pytest.approx(coherence, abs=1e-14)
    else:  # the CPU's float32 tolerance (tests/test_gradient.py), summed over more partners
        assert got.value == pytest.approx(value, rel=p * 2e-6)
        np.testing.assert_allclose(grad, expected, rtol=0, atol=p * 4e-6 * scale)
        assert got.max_abs == pytest.approx(coherence, abs=1e-6)
    assert (got.max_i, got.max_j) == pair


@on_device
def test_gradient_is_the_same_from_run_to_run_and_close_to_the_cpu():
    from gradient_oracle import unit_rows

    W = unit_rows(5000, 24, seed=4, dtype=np.float32)
    first, grad = device_gradient(W, 6, 0.05, 0.3)
    again, grad_again = device_gradient(W, 6, 0.05, 0.3)
    assert first.value == again.value and (first.max_i, first.max_j) == (again.max_i, again.max_j)
    assert np.array_equal(grad, grad_again)
    cpu_grad = np.empty_like(W)
    cpu = _core.surrogate_gradient(W, gradient_options(6, 0.05, 0.3), cpu_grad)
    assert first.value == pytest.approx(cpu.value, rel=1e-4)
    np.testing.assert_allclose(grad, cpu_grad, rtol=0, atol=1e-4 * np.abs(cpu_grad).max())


@on_device
def test_gradient_ties_go_to_the_smallest_pair_across_tiles():
    from gradient_oracle import oracle

    # integer rows: Gram entries exact in any order. Rows with one zero among
    # three +-1 have |g| <= 2; rows 5, 4096, 4097, 4098 are +-(1, 1, 1), so |g| = 3
    # ties in tile (0, 1) and tile (1, 1): the pair is (5, 4096)
    rng = np.random.default_rng(12)
    W = rng.choice([-1.0, 1.0], (4099, 3)).astype(np.float32)
    W[np.arange(4099), rng.integers(0, 3, 4099)] = 0
    W[[5, 4096, 4097]], W[4098] = 1, -1
    got, grad = device_gradient(W, 2)
    value, expected, coherence, pair = oracle(W, 2, 0.0, 1.0)
    assert pair == (5, 4096)
    assert got.max_abs == coherence == 3 and (got.max_i, got.max_j) == pair
    assert got.value == value  # integer terms: exact
    np.testing.assert_array_equal(grad, expected)


@on_device
def test_gradient_high_powers_flush_tiny_terms_as_the_cpu_does():
    from gradient_oracle import oracle, unit_rows

    W = unit_rows(60, 8, seed=9, dtype=np.float32)
    s = float(oracle(W, 2, 0.0, 1.0)[2])  # the coherence: the largest term is 1
    got, grad = device_gradient(W, 4096, s=s)  # most d^p far below float32's range
    value, expected, _, _ = oracle(W, 4096, 0.0, s)
    assert np.isfinite(got.value) and np.all(np.isfinite(grad))
    assert got.value == pytest.approx(value, rel=1e-2)
    np.testing.assert_allclose(grad, expected, rtol=0, atol=1e-2 * np.abs(expected).max())


@on_device
def test_optimize_runs_its_gradient_passes_on_the_device():
    import nearortho

    start = nearortho.frame(24, 300, seed=5)
    result = nearortho.optimize(start, max_iter=200, backend="cuda")
    rows = np.asarray(result.frame, dtype=np.float64)
    np.testing.assert_allclose(np.linalg.norm(rows, axis=1), 1, atol=1e-5)
    G = np.abs(rows @ rows.T)
    np.fill_diagonal(G, 0)
    assert G.max() == pytest.approx(result.coherence, abs=1e-5)
    assert result.coherence < nearortho.interference(start, backend="cpu").coherence - 0.05


READOUT_FIELDS = ("trials", "inactive", "active", "false_positives", "false_negatives", "level_errors",
                  "inactive_sum", "inactive_sumsq", "active_error_sum", "active_error_sumsq", "amplitude_sumsq",
                  "trial_errors_sumsq")


def readout_spec(threshold=0.5, signed=False, lo=-20.0, hi=20.0, bins=64):
    spec = _core.ReadoutSpec()
    spec.threshold, spec.signed_decoder, spec.hist_lo, spec.hist_hi, spec.bins = threshold, signed, lo, hi, bins
    return spec


def activation_spec(m, l=0, p=-1.0, kind="boolean", amplitude=1.0, levels=1, signed=True, seed=3):
    spec = _core.ActivationSpec()
    spec.m, spec.l, spec.p, spec.kind = m, l, p, getattr(_core.AmplitudeKind, kind)
    spec.amplitude, spec.levels, spec.signed_amplitudes, spec.seed = amplitude, levels, signed, seed
    return spec


def readouts_both(W, spec, readout, begin, end, given=None):
    dense = _core.ReadoutPath.dense
    return (_core.simulate_readout(W, spec, readout, begin, end, dense, 0, given),
            _cuda.simulate_readout(W, spec, readout, begin, end, dense, 0, given))


@built  # checked before any device call: no device needed
def test_readout_calls_are_checked_before_the_device():
    W = np.eye(4, dtype=np.float32)
    with pytest.raises(ValueError, match="bins"):
        _cuda.simulate_readout(W, activation_spec(4, l=1), readout_spec(bins=0), 0, 2, _core.ReadoutPath.dense, 0)
    with pytest.raises(ValueError, match="spec.m"):
        _cuda.simulate_readout(W, activation_spec(5, l=1), readout_spec(), 0, 2, _core.ReadoutPath.dense, 0)
    # _core's Activations type is the one _cuda takes
    given = _core.Activations(np.array([0, 1], np.int64), np.array([4], np.int64), np.ones(1))
    with pytest.raises(ValueError, match="index out of"):
        _cuda.simulate_readout(W, activation_spec(4), readout_spec(), 0, 1, _core.ReadoutPath.dense, 0, given)


# Rows with entries in {-1, 0, 1} and integer amplitudes: every readout is an
# integer, exact in float32 whatever order cuBLAS adds in, and so are all sums in
# float64: the device's totals must equal the CPU's exactly. 16400 features cross
# the 16384-feature readout tiles; 4100 trials cross the 4096-trial batches.
@on_device
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", ["l", "p", "levels", "given"])
def test_readouts_of_integer_data_equal_the_cpu_exactly(case, dtype):
    rng = np.random.default_rng(11)
    m, n, trials = 16400, 7, 4100
    W = rng.integers(-1, 2, (m, n)).astype(dtype)
    W[5] = 0  # a zero row is allowed in simulate
    signed = case != "l"
    readout = readout_spec(threshold=1.5, signed=signed, bins=41)
    given = None
    if case == "l":
        spec = activation_spec(m, l=4, amplitude=2.0, signed=False)
    elif case == "p":
        spec = activation_spec(m, p=0.0005)
    elif case == "levels":
        spec = activation_spec(m, l=3, kind="levels", amplitude=4.0, levels=4)  # amplitudes j in 1..4
    else:
        counts = rng.integers(0, 6, trials)
        index = np.concatenate([np.sort(rng.choice(m, c, replace=False)) for c in counts]).astype(np.int64)
        offset = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        given = _core.Activations(offset, index, rng.integers(-3, 4, index.size).astype(np.float64))
        spec = activation_spec(m)
    cpu, gpu = readouts_both(W, spec, readout, 7, 7 + trials, given)
    for field in READOUT_FIELDS:
        assert getattr(gpu, field) == getattr(cpu, field), field
    assert np.array_equal(gpu.histogram, cpu.histogram)
    assert cpu.false_positives > 0 and cpu.false_negatives > 0 and cpu.histogram[1:-1].sum() > 0
    if case == "levels":
        assert cpu.level_errors > 0


@on_device
def test_readouts_of_a_gaussian_frame_agree_with_the_cpu_to_rounding():
    import nearortho

    W = nearortho.frame(96, 20000, seed=2)
    spec, readout = activation_spec(20000, l=30, kind="uniform"), readout_spec(threshold=0.5, lo=-1.0, hi=1.0)
    cpu, gpu = readouts_both(W, spec, readout, 0, 3000)
    for field in ("trials", "inactive", "active"):
        assert getattr(gpu, field) == getattr(cpu, field)
    # readouts within rounding (~1e-7) of the threshold or a bin edge may land on
    # the other side: a few per 10^7 readouts near each
    for field in ("false_positives", "false_negatives"):
        assert abs(getattr(gpu, field) - getattr(cpu, field)) <= 1e-5 * cpu.inactive + 10
    for field in ("inactive_sumsq", "active_error_sumsq", "amplitude_sumsq"):
        assert getattr(gpu, field) == pytest.approx(getattr(cpu, field), rel=1e-5)
    assert np.abs(gpu.histogram - cpu.histogram).sum() <= 1e-4 * cpu.inactive
    stats = {b: nearortho.simulate(W, 30, trials=3000, backend=b) for b in ("cpu", "cuda")}
    assert stats["cuda"].inactive_std == pytest.approx(stats["cpu"].inactive_std, rel=1e-5)
