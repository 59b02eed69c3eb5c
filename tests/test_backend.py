"""The backend seam (docs/backends.md): selection by backend=, its errors, and the
typed option and result objects that cross the binding, checked against numpy."""
import importlib.util
import os
import subprocess
import sys
import types

import numpy as np
import pytest

import nearortho
from nearortho import _backend, _core

W = nearortho.frame(5, 9, seed=3, dtype="float64")
CALLS = {  # every public entry point that takes backend=, on tiny inputs
    "frame": lambda backend: nearortho.frame(5, 9, backend=backend),
    "interference": lambda backend: nearortho.interference(W, backend=backend),
    "neighbors": lambda backend: nearortho.neighbors(W, 2, backend=backend),
    "simulate": lambda backend: nearortho.simulate(W, 2, trials=7, backend=backend),
    "readouts": lambda backend: nearortho.readouts(W, ([[0, 3]], [[1.0, -2.0]]), backend=backend),
    "sample_activations": lambda backend: nearortho.sample_activations(9, 2, trials=3, backend=backend),
    "surrogate_gradient": lambda backend: nearortho.surrogate_gradient(W, backend=backend),
    "optimize": lambda backend: nearortho.optimize(W, max_iter=2, backend=backend),
    "capacity": lambda backend: nearortho.capacity(W, trials=4, backend=backend),
    "levels": lambda backend: nearortho.levels(W, 1, trials=4, k_max=2, backend=backend),
}
no_cuda = pytest.mark.skipif(_backend.cuda_available(), reason="a CUDA device is present")


@no_cuda
def test_auto_runs_every_operation_on_the_cpu_without_cuda():
    assert nearortho.build_info()["cuda"] is False
    for op in _backend.OPERATIONS:
        assert _backend.select("auto", op) is getattr(_core, op)


@no_cuda
@pytest.mark.parametrize("name", sorted(CALLS))
def test_cuda_without_the_extension_is_a_runtime_error_that_says_how_to_build_it(name):
    with pytest.raises(RuntimeError, match="NEARORTHO_CUDA=ON"):
        CALLS[name]("cuda")


@pytest.mark.parametrize("name", sorted(CALLS))
def test_a_bad_backend_is_a_value_error_and_a_non_string_a_type_error(name):
    with pytest.raises(ValueError, match="backend must be one of 'auto', 'cpu', 'cuda'; got 'gpu'"):
        CALLS[name]("gpu")
    with pytest.raises(TypeError, match="backend must be a string"):
        CALLS[name](1)


def test_cpu_and_auto_give_the_same_results():
    for name in ("frame", "sample_activations"):
        a, b = CALLS[name]("cpu"), CALLS[name]("auto")
        assert all(np.array_equal(x, y) for x, y in zip(np.atleast_1d(a), np.atleast_1d(b)))
    assert CALLS["interference"]("cpu").coherence == CALLS["interference"]("auto").coherence


@pytest.fixture
def fake_cuda(monkeypatch):
    """A CUDA backend that sees a device and implements frame generation only
    (by the CPU's function, recording its calls)."""
    calls = []

    def generate_frame(*args):
        calls.append(args)
        return _core.generate_frame(*args)

    module = types.SimpleNamespace(device_count=lambda: 1, generate_frame=generate_frame, calls=calls)
    monkeypatch.setattr(_backend, "_cuda_module", lambda: module)
    monkeypatch.delenv("NEARORTHO_BACKEND", raising=False)
    return module


def test_auto_prefers_cuda_for_what_it_implements_and_the_cpu_for_the_rest(fake_cuda):
    assert nearortho.build_info()["cuda"] is True
    rows = nearortho.frame(6, 11, "sign", seed=2)
    assert len(fake_cuda.calls) == 1
    spec = fake_cuda.calls[0][0]
    assert (spec.n, spec.m, spec.kind, spec.seed) == (6, 11, _core.FrameKind.sign, 2)
    assert np.array_equal(rows, nearortho.frame(6, 11, "sign", seed=2, backend="cpu"))
    assert len(fake_cuda.calls) == 1  # "cpu" did not go through it
    assert _backend.select("auto", "interference") is _core.interference


def test_auto_keeps_small_calls_on_the_cpu(fake_cuda, monkeypatch):
    monkeypatch.setattr(fake_cuda, "surrogate_gradient", lambda *args: None, raising=False)
    small, large = _backend.CUDA_MIN_WORK - 1, _backend.CUDA_MIN_WORK
    assert _backend.select("auto", "surrogate_gradient", work=small) is _core.surrogate_gradient
    assert _backend.select("auto", "surrogate_gradient", work=large) is fake_cuda.surrogate_gradient
    assert _backend.select("cuda", "surrogate_gradient", work=small) is fake_cuda.surrogate_gradient
    grad = nearortho.surrogate_gradient(W, 2)  # a few multiply-adds: the CPU's
    assert grad.value == pytest.approx(nearortho.surrogate_gradient(W, 2, backend="cpu").value)


def test_a_gpu_pass_checks_the_host_memory_its_results_need(fake_cuda, monkeypatch):
    import nearortho._validate as validate

    fake_cuda.interference = lambda *args, **kwargs: pytest.fail("the pass must be refused first")
    monkeypatch.setattr(validate, "available_memory", lambda: 50 << 20)  # less than the staging buffers
    with pytest.raises(MemoryError, match="the interference pass over a 3000 x 5 float64 frame with topk = 2 partners per row needs"):
        nearortho.interference(np.ones((3000, 5)), topk=2)


def test_cuda_lacking_an_operation_raises_not_implemented_naming_it(fake_cuda):
    with pytest.raises(NotImplementedError, match="interference"):
        nearortho.interference(W, backend="cuda")
    with pytest.raises(NotImplementedError, match="surrogate_gradient"):
        nearortho.optimize(W, max_iter=1, backend="cuda")


def test_the_cuda_extension_is_optional():
    if importlib.util.find_spec("nearortho._cuda") is None:
        assert not _backend.cuda_available()


def test_surrogate_totals_against_numpy():
    G = W @ W.T
    i, j = np.triu_indices(len(W), 1)
    options = _core.SurrogateOptions()
    options.p, options.t, options.s = 4, 0.1, 0.5
    grad = np.empty_like(W)
    totals = _core.surrogate_gradient(W, options, grad)
    d = np.maximum(np.abs(G[i, j]) - 0.1, 0) / 0.5
    assert totals.value == pytest.approx(np.sum(d**4), rel=1e-12)
    best = np.argmax(np.abs(G[i, j]))
    assert totals.max_abs == pytest.approx(abs(G[i[best], j[best]]), rel=1e-14)
    assert (totals.max_i, totals.max_j) == (i[best], j[best])
    with pytest.raises(AttributeError):
        totals.value = 0.0  # results are read-only


def _readout_call(W, offset, index, value, begin, end, threshold):
    spec = _core.ActivationSpec()
    spec.m = len(W)
    readout = _core.ReadoutSpec()
    readout.threshold, readout.hist_lo, readout.hist_hi, readout.bins = threshold, -1.0, 1.0, 4
    given = _core.Activations(offset[begin:end + 1] - offset[begin], index[offset[begin]:offset[end]],
                              value[offset[begin]:offset[end]])
    return _core.simulate_readout(W, spec, readout, begin, end, _core.ReadoutPath.dense, 1, given)


def test_readout_totals_against_numpy_and_merged_with_plus_equals():
    rng = np.random.default_rng(5)
    m, trials = len(W), 13
    index = np.concatenate([np.sort(rng.choice(m, 3, replace=False)) for _ in range(trials)]).astype(np.int64)
    value = rng.uniform(0.5, 1.5, size=index.size)
    offset = np.arange(0, index.size + 1, 3, dtype=np.int64)
    X = np.zeros((trials, m))
    X[np.repeat(np.arange(trials), 3), index] = value
    R = (X @ W) @ W.T
    on = X != 0
    totals = _readout_call(W, offset, index, value, 0, 5, 0.5)
    totals += _readout_call(W, offset, index, value, 5, trials, 0.5)
    assert (totals.trials, totals.active, totals.inactive) == (trials, index.size, trials * m - index.size)
    assert totals.false_positives == np.sum((R > 0.5) & ~on)
    assert totals.false_negatives == np.sum((R <= 0.5) & on)
    assert totals.inactive_sum == pytest.approx(R[~on].sum(), abs=1e-12)
    assert totals.active_error_sumsq == pytest.approx(np.sum((R[on] - X[on]) ** 2), rel=1e-12)
    assert totals.amplitude_sumsq == pytest.approx(np.sum(value**2), rel=1e-14)
    inside = np.histogram(R[~on], bins=4, range=(-1, 1))[0]
    assert totals.histogram.tolist() == [np.sum(R[~on] < -1), *inside, np.sum(R[~on] >= 1)]


def test_readout_totals_with_different_bins_do_not_add():
    offset, index, value = np.array([0, 1], np.int64), np.array([2], np.int64), np.array([1.0])
    totals = _readout_call(W, offset, index, value, 0, 1, 0.5)
    spec, readout = _core.ActivationSpec(), _core.ReadoutSpec()
    spec.m, readout.bins = len(W), 7
    other = _core.simulate_readout(W, spec, readout, 0, 1, _core.ReadoutPath.dense, 1,
                                   _core.Activations(offset, index, value))
    with pytest.raises(ValueError, match="histogram bins"):
        totals += other


def test_offsets_that_decrease_later_are_refused_before_any_entry_is_read():
    # offset[1] = 2^40 lies past the one index the last offset vouches for: the entries
    # of trial 0 were read (far out of bounds) before offset[2] < offset[1] was seen
    given = _core.Activations(np.array([0, 1 << 40, 1], np.int64), np.array([2], np.int64), np.array([1.0]))
    with pytest.raises(ValueError, match="activations: offsets must not decrease"):
        _core.readout_values(W, given, _core.ReadoutPath.dense, 1)
    spec, readout = _core.ActivationSpec(), _core.ReadoutSpec()
    with pytest.raises(ValueError, match="activations: offsets must not decrease"):
        _core.simulate_readout(W, spec, readout, 0, 2, _core.ReadoutPath.dense, 1, given)


def test_sampled_activations_are_typed_csr_arrays():
    spec = _core.ActivationSpec()
    spec.m, spec.l, spec.seed = 12, 4, 9
    block = _core.sample_activations(spec, 3, 8)
    assert block.offset.tolist() == [0, 4, 8, 12, 16, 20]
    assert block.index.dtype == np.int64 and block.value.dtype == np.float64 and block.value.size == 20
    for t in range(5):
        row = block.index[block.offset[t]:block.offset[t + 1]]
        assert np.all(np.diff(row) > 0) and row.min() >= 0 and row.max() < 12


def test_frame_spec_has_its_fields_and_no_others():
    spec = _core.FrameSpec()
    spec.n, spec.m, spec.kind, spec.seed, spec.sparsity = 4, 3, _core.FrameKind.sparse, 2**64 - 1, 2
    assert (spec.n, spec.m, spec.kind, spec.seed, spec.sparsity) == (4, 3, _core.FrameKind.sparse, 2**64 - 1, 2)
    with pytest.raises(AttributeError):
        spec.rows = 3


def test_constants_agree_with_what_the_core_does():
    assert set(_core.FRAME_KINDS) | set(_core.STRUCTURED_FRAME_KINDS) == set(_core.FrameKind.__members__)
    for kind in _core.FRAME_KINDS:
        assert nearortho.frame_max_rows(kind, 8) is None
    for kind in _core.STRUCTURED_FRAME_KINDS:  # each has a largest m (at n = 8 or 7)
        assert nearortho.frame_max_rows(kind, 8 if kind == "kerdock" else 7) >= 8
    assert nearortho.build_info()["isa"] in _core.ISA_NAMES
    assert _core.ISA_NAMES[0] == "scalar"


def test_an_unknown_isa_is_a_value_error_naming_the_known_ones():
    with pytest.raises(ValueError, match="isa must be one of scalar, avx2, avx512; got 'sse9'"):
        nearortho.set_max_isa("sse9")


def test_a_bad_max_isa_in_the_environment_names_the_variable():
    env = {**os.environ, "NEARORTHO_MAX_ISA": "AVX2"}
    run = subprocess.run([sys.executable, "-c", "import nearortho"], env=env, capture_output=True, text=True)
    assert run.returncode != 0
    assert ("ValueError: environment variable NEARORTHO_MAX_ISA: isa must be 'scalar', 'avx2' or 'avx512', "
            "got 'AVX2'") in run.stderr


def test_interference_result_against_numpy():
    rng = np.random.default_rng(8)
    A, B = rng.standard_normal((7, 5)), rng.standard_normal((4, 5))
    options = _core.InterferenceOptions()
    options.normalize, options.bins, options.thresholds, options.topk = False, 3, [0.5, 1.5], 2
    options.pair_threshold, options.pair_cap = 1.0, 100
    out = _core.interference(A, B, options)
    G = A @ B.T
    t = out.totals
    assert t.sum == pytest.approx(G.sum(), rel=1e-12) and t.sum_sq == pytest.approx((G**2).sum(), rel=1e-12)
    i, j = np.unravel_index(np.argmax(np.abs(G)), G.shape)
    assert (t.max_abs, t.max_i, t.max_j) == (pytest.approx(abs(G[i, j]), rel=1e-14), i, j)
    assert t.hist.sum() == G.size and t.count_above.tolist() == [np.sum(np.abs(G) > 0.5), np.sum(np.abs(G) > 1.5)]
    hits = sorted(zip(t.pair_i.tolist(), t.pair_j.tolist()))
    assert t.pair_count == len(hits) and hits == sorted(zip(*np.nonzero(np.abs(G) >= 1.0)))
    np.testing.assert_allclose(t.pair_g, G[t.pair_i, t.pair_j], rtol=1e-14)
    np.testing.assert_allclose(out.rows.max, np.abs(G).max(axis=1), rtol=1e-14)
    np.testing.assert_allclose(out.cols.signed_max, G.max(axis=0), rtol=1e-14)
    assert out.rows.argmax.tolist() == np.argmax(np.abs(G), axis=1).tolist()
    np.testing.assert_allclose(out.cols.sumsq, (G**2).sum(axis=0), rtol=1e-12)
    np.testing.assert_allclose(np.abs(out.rows.topk_value), -np.sort(-np.abs(G), axis=1)[:, :2], rtol=1e-14)
    assert out.rows.topk_index.shape == (7, 2) and out.cols.topk_index.shape == (4, 2)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_an_explicit_histogram_range_below_the_values_clamps_them_into_the_last_bin(dtype):
    # without refine, |g| above hist_hi counts in the last bin; |g| / hist_hi beyond the
    # integer range was converted to a bin far past the histogram (a segfault)
    rng = np.random.default_rng(4)
    A = rng.standard_normal((50, 8)).astype(dtype)
    options = _core.InterferenceOptions()
    options.hist_hi, options.bins = 1e-9, 16
    totals = _core.interference(A, None, options).totals
    X = A.astype(np.float64) / np.linalg.norm(A.astype(np.float64), axis=1, keepdims=True)
    g = np.abs(X @ X.T)[np.triu_indices(50, 1)]
    expected = np.bincount(np.minimum(np.floor(g * 16 / 1e-9), 15).astype(np.int64), minlength=16)
    assert totals.hist.tolist() == expected.tolist()
    assert (totals.hist_lo, totals.hist_hi) == (0.0, 1e-9)


def test_the_core_refuses_more_histogram_bins_than_float32_numbers_them_exactly():
    options = _core.InterferenceOptions()
    options.bins = _core.INTERFERENCE_MAX_BINS + 1
    with pytest.raises(ValueError, match=rf"bins must be in \[1, {_core.INTERFERENCE_MAX_BINS}\]"):
        _core.interference(W, None, options)
    with pytest.raises(ValueError, match=f"bins must be <= {_core.INTERFERENCE_MAX_BINS}"):
        nearortho.interference(W, bins=_core.INTERFERENCE_MAX_BINS + 1)


def test_the_core_refuses_arrays_whose_elements_are_not_aligned():
    # the Python layer copies them (tests/test_hostile_inputs.py); the core reads T through T*
    bytes_ = np.zeros(W.nbytes + 1, np.uint8)
    shifted = bytes_[1:].view(np.float64).reshape(W.shape)
    shifted[...] = W
    with pytest.raises(ValueError, match="W must be an aligned, C-contiguous array"):
        _core.interference(shifted, None, _core.InterferenceOptions())
    with pytest.raises(ValueError, match="W must be an aligned, C-contiguous array"):
        _core.pair_sumsq(shifted, 1)
    spec = _core.FrameSpec()
    spec.n, spec.m = W.shape[1], W.shape[0]
    with pytest.raises(ValueError, match="out must be a writeable, aligned, C-contiguous array"):
        _core.generate_frame(spec, 0, W.shape[0], shifted, 1)


@pytest.fixture
def cuda_without_device(monkeypatch):
    """An installed nearortho._cuda that sees no GPU."""
    import importlib.machinery
    import sys

    module = types.ModuleType("nearortho._cuda")
    module.__spec__ = importlib.machinery.ModuleSpec("nearortho._cuda", None)
    module.device_count = lambda: 0
    module.interference = lambda *args: pytest.fail("a backend without a device ran")
    monkeypatch.setitem(sys.modules, "nearortho._cuda", module)
    monkeypatch.setattr(_backend, "_STATES", {})
    yield module


def test_a_cuda_build_without_a_device_runs_auto_on_the_cpu_and_says_why_cuda_cannot(cuda_without_device):
    assert _backend.select("auto", "interference") is _core.interference
    with pytest.raises(RuntimeError, match=r"built but sees no GPU \(device_count\(\) is 0\)"):
        nearortho.interference(W, backend="cuda")


def test_nearortho_backend_replaces_auto_and_a_bad_value_names_the_variable(monkeypatch):
    monkeypatch.setenv("NEARORTHO_BACKEND", "cpu")
    for op in _backend.OPERATIONS:
        assert _backend.select("auto", op) is getattr(_core, op)
    monkeypatch.setenv("NEARORTHO_BACKEND", "gpu")
    with pytest.raises(ValueError, match="NEARORTHO_BACKEND must be one of 'auto', 'cpu', 'cuda'; got 'gpu'"):
        nearortho.interference(W)
    assert nearortho.interference(W, backend="cpu").pairs == len(W) * (len(W) - 1) // 2  # explicit wins


def test_a_process_forked_after_cuda_started_runs_on_the_cpu(monkeypatch):
    import os

    started = types.ModuleType("nearortho._cuda")  # the parent's working extension
    started.interference = lambda *args: pytest.fail("a forked child ran CUDA")
    monkeypatch.setattr(_backend, "_STATES", {os.getpid() + 1: (started, "")})
    assert _backend.select("auto", "interference") is _core.interference
    with pytest.raises(RuntimeError, match="cannot run in a forked child"):
        nearortho.interference(W, backend="cuda")


def test_files_go_to_a_cuda_backend_as_file_regions_it_streams_and_to_the_cpu_in_row_blocks(
        fake_cuda, monkeypatch, tmp_path):
    received = []

    def interference(W, B, options, progress, wide):  # the device streams file regions itself
        received.append((W, B, wide, options.device_bytes, options.block_rows))
        return _core.interference(W, B, options, progress, wide=wide)

    fake_cuda.interference = interference
    rng = np.random.default_rng(3)
    A, B = rng.standard_normal((300, 17)).astype(np.float32), rng.standard_normal((40, 17))  # B float64
    np.save(tmp_path / "a.npy", A)
    whole = nearortho.interference(tmp_path / "a.npy", B)
    (a, b, wide, device_bytes, block_rows), = received
    assert isinstance(a, tuple) and a[0] == str(tmp_path / "a.npy") and wide  # read as the wider dtype
    assert np.array_equal(b, B) and (device_bytes, block_rows) == (0, 0)
    assert whole.coherence == nearortho.interference(A, B, backend="cpu").coherence
    # below the least budget of the CPU's row blocks (2 threads): the device's budget
    streamed = nearortho.interference(tmp_path / "a.npy", memory=1_000_000, threads=2)
    assert received[-1][2:] == (False, 1_000_000, 0) and isinstance(received[-1][0], tuple)
    assert streamed.coherence == nearortho.interference(A, backend="cpu").coherence
    monkeypatch.setenv("NEARORTHO_BACKEND", "cpu")
    with pytest.raises(ValueError, match="memory must be at least 1829184 bytes"):  # on the CPU, host bytes
        nearortho.interference(tmp_path / "a.npy", memory=1_000_000, threads=2)
    nearortho.interference(tmp_path / "a.npy", memory=1_829_184, threads=2)  # row blocks of 144
    assert len(received) == 2


def test_host_arrays_go_to_a_cuda_backend_whole_with_memory_as_its_device_budget(fake_cuda, monkeypatch):
    """memory= below what the CPU would need for the whole frame: on the CUDA
    backend it is the device's budget (the backend streams the rows), not a
    reason to fall back to the CPU's row blocks."""
    received = []

    def interference(W, B, options, progress, wide):
        received.append((W, B, options.device_bytes, options.block_rows))
        return _core.interference(W, B, options, progress, wide=wide)

    fake_cuda.interference = interference
    A = np.random.default_rng(4).standard_normal((3000, 33))
    tiny = 1_000_000  # the CPU pass over A whole needs more: it takes row blocks of 720
    cpu = nearortho.interference(A, memory=tiny, threads=2, backend="cpu")
    assert received == [] and cpu._source[0][-1] == 720
    for backend in ("auto", "cuda"):
        on_gpu = nearortho.interference(A, A[:7], memory=tiny, threads=2, backend=backend, topk=1)
        W, B, device_bytes, block_rows = received.pop()
        assert W is A and np.array_equal(B, A[:7]) and (device_bytes, block_rows) == (tiny, 0)
        assert on_gpu.coherence == nearortho.interference(A, A[:7], backend="cpu").coherence
    nearortho.neighbors(A, 2)  # no memory given: the device's default budget
    assert received.pop()[2:] == (0, 0)
    stats = nearortho.interference(A, memory=tiny, threads=2)
    assert stats.coherence == cpu.coherence and received.pop()[2:] == (tiny, 0)
    assert stats.quantile(0.5, exact=True) == cpu.quantile(0.5, exact=True)
    assert received and all(r[2:] == (tiny, 0) for r in received)  # its passes keep the budget
    received.clear()
    with pytest.raises(ValueError, match="memory must be >= 1"):
        nearortho.interference(A, memory=0)
    with pytest.raises(TypeError, match="memory must be an integer"):
        nearortho.interference(A, memory="1GB")
    monkeypatch.setenv("NEARORTHO_BACKEND", "cpu")
    nearortho.interference(A, memory=tiny, threads=2)
    assert received == []


def test_a_bad_precision_names_the_argument_and_the_cpu_core_refuses_tensor_cores(monkeypatch):
    W32 = W.astype(np.float32)
    with pytest.raises(ValueError, match="precision must be None, 'tf32' or 'bf16', got 'fp16'"):
        nearortho.interference(W32, precision="fp16")
    with pytest.raises(TypeError, match="precision must be None or a string"):
        nearortho.interference(W32, precision=32)
    with pytest.raises(ValueError, match=r"precision='tf32' runs float32 rows on tensor cores; the rows are float64"):
        nearortho.interference(W, precision="tf32")
    with pytest.raises(ValueError, match="precision='bf16' needs the CUDA backend's tensor cores; backend is 'cpu'"):
        nearortho.interference(W32, precision="bf16", backend="cpu")
    monkeypatch.setenv("NEARORTHO_BACKEND", "cpu")
    with pytest.raises(ValueError, match="needs the CUDA backend's tensor cores"):
        nearortho.interference(W32, precision="tf32")
    options = _core.InterferenceOptions()
    options.precision = "tf32"
    with pytest.raises(ValueError, match="precision tf32 needs the CUDA backend's tensor cores"):
        _core.interference(W32, None, options)


@no_cuda
def test_precision_on_auto_without_a_gpu_computes_every_entry_in_float32():
    W32 = nearortho.frame(17, 300, seed=5)
    tensor, exact = nearortho.interference(W32, precision="tf32", topk=2), nearortho.interference(W32, topk=2)
    assert tensor.gram_error == 0 and tensor.coherence == exact.coherence and tensor.pair == exact.pair
    assert np.array_equal(tensor.hist, exact.hist) and np.array_equal(tensor.topk_index, exact.topk_index)


def test_neighbors_pairs_and_match_check_precision_like_interference():
    W32 = W.astype(np.float32)
    with pytest.raises(ValueError, match="precision must be None, 'tf32' or 'bf16'"):
        nearortho.neighbors(W32, 2, precision="fp8")
    with pytest.raises(ValueError, match="precision='tf32' needs the CUDA backend's tensor cores"):
        nearortho.neighbors(W32, 2, backend="cpu", precision="tf32")
    with pytest.raises(ValueError, match="runs float32 rows on tensor cores; the rows are float64"):
        nearortho.pairs(W, 0.5, precision="bf16")
    with pytest.raises(ValueError, match="precision must be None, 'tf32' or 'bf16'"):
        nearortho.match(W32, W32, precision="tf64")
