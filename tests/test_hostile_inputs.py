"""Hostile arguments found by the input audit: each gets a clear exception naming
the argument (or, where the input is valid, the float64 oracle's answer)."""
import numpy as np
import pytest

import nearortho


def _unit_rows(n, m, seed):
    W = np.random.default_rng(seed).standard_normal((m, n))
    return W / np.linalg.norm(W, axis=1, keepdims=True)


@pytest.mark.parametrize("scale", [1e200, 1e-160, 1e-200])
@pytest.mark.parametrize("call", [
    lambda W: nearortho.interference(W),
    lambda W: nearortho.neighbors(W, 2),
    lambda W: nearortho.pairs(W, 0.5),
    lambda W: nearortho.signed_max(W),
])
def test_float64_rows_whose_squared_norm_leaves_the_range_are_refused(call, scale):
    # |w|^2 overflows (1e400) or underflows (1e-320, 1e-400) float64: normalising
    # gave all-zero cosines, inexact ones, or a false "zero row"
    W = _unit_rows(9, 13, 0)
    W[5] *= scale
    with pytest.raises(ValueError, match=r"W has a row whose squared norm overflows or underflows float64 \(row 5"):
        call(W)


def test_float64_rows_near_the_range_edges_match_the_oracle():
    W = _unit_rows(9, 13, 1)
    scaled = W * np.where(np.arange(13) % 2, 1e150, 1e-150)[:, None]
    G = W @ W.T
    upper = np.abs(G[np.triu_indices(13, 1)])
    stats = nearortho.interference(scaled)
    assert stats.coherence == pytest.approx(upper.max(), rel=1e-12)
    assert stats.sum_sq == pytest.approx(np.sum(upper ** 2), rel=1e-12)


def test_b_rows_out_of_range_name_b():
    W, B = _unit_rows(9, 13, 2), _unit_rows(9, 4, 3) * 1e-170
    with pytest.raises(ValueError, match="B has a row whose squared norm"):
        nearortho.interference(W, B)


@pytest.mark.parametrize("function", [nearortho.welch_bound, nearortho.eps_jl])
@pytest.mark.parametrize("n, m, error, name", [
    (0, 40, ValueError, "n"), (-1, 40, ValueError, "n"), (1.5, 40, ValueError, "n"),
    (float("nan"), 40, ValueError, "n"), ("16", 40, TypeError, "n"), (None, 40, TypeError, "n"),
    (16, 0, ValueError, "m"), (16, float("inf"), ValueError, "m"), (16, "40", TypeError, "m"),
])
def test_reference_bounds_refuse_what_is_not_a_size(function, n, m, error, name):
    # welch_bound once gave inf for n = 0, 0.0 for n = None or NaN, and read "16" as 16
    with pytest.raises(error, match=rf"^{name} must"):
        function(n, m)


def test_reference_values_at_valid_sizes_follow_their_formulas():
    assert nearortho.welch_bound(16, 40) == pytest.approx(np.sqrt(24 / (16 * 39)), rel=1e-15)
    assert nearortho.welch_bound(16, 1) == 0.0
    assert nearortho.eps_jl(16, 1) == 0.0
    assert nearortho.eps_jl(np.array([16, 64]), 40) == pytest.approx(np.sqrt(8 * np.log(40) / np.array([16, 64])))


@pytest.mark.parametrize("args, error, name", [
    (("16", 40), TypeError, "n"), ((16, None), TypeError, "m"), ((16, 40, "x"), TypeError, "pairs"),
    ((float("nan"), 40), ValueError, "n"), ((16, 40, float("inf")), ValueError, "pairs"),
])
def test_random_coherence_refuses_what_is_not_a_number(args, error, name):
    with pytest.raises(error, match=rf"^{name} must"):
        nearortho.random_coherence(*args)


def test_theory_amplitude_that_is_not_a_number_is_named():
    with pytest.raises(TypeError, match="^amplitude must"):
        nearortho.theory(16, 40, 2, "x")


@pytest.mark.parametrize("call", [
    lambda: nearortho.interference(_unit_rows(4, 5, 0), thresholds=[10**400]),
    lambda: nearortho.pairs(_unit_rows(4, 5, 0), 10**400),
    lambda: nearortho.surrogate_gradient(_unit_rows(4, 5, 0), s=10**400),
])
def test_python_ints_beyond_float64_are_a_value_error_not_an_overflow_error(call):
    with pytest.raises(ValueError, match="must be finite, got an integer of 1329 bits"):
        call()


@pytest.mark.parametrize("signed", ["no", None, 1, [True]])
@pytest.mark.parametrize("call", [
    lambda signed: nearortho.simulate(_unit_rows(8, 12, 0), 2, trials=4, signed=signed),
    lambda signed: nearortho.capacity(_unit_rows(8, 12, 0), trials=4, signed=signed),
    lambda signed: nearortho.levels(_unit_rows(8, 12, 0), 2, trials=4, signed=signed),
    lambda signed: nearortho.sample_activations(12, 2, trials=4, signed=signed),
])
def test_signed_must_be_a_bool(call, signed):
    # it was read by truthiness: signed="no" drew signed amplitudes
    with pytest.raises(TypeError, match="^signed must be a bool"):
        call(signed)


@pytest.mark.parametrize("dtype, scale", [(np.float32, 1e30), (np.float32, 1e-39), (np.float64, 1e200),
                                          (np.float64, 1e-200)])
def test_optimize_starts_from_w0_rows_of_any_norm(dtype, scale):
    # W0's rows were normalised in its own dtype: 1e30 (float32) overflowed into
    # "W contains NaN or Inf", 1e-39 gave "s must be > 0", 1e200 "W has a zero row"
    W = _unit_rows(6, 10, 4)
    start = (W * scale).astype(dtype)
    result = nearortho.optimize(start, max_iter=0)
    np.testing.assert_allclose(result.frame, W, rtol=1e-5 if dtype == np.float32 else 1e-12, atol=1e-6)


@pytest.mark.parametrize("kwargs, error, name", [
    ({"seed": -1}, ValueError, "seed"), ({"seed": "3"}, TypeError, "seed"),
    ({"kind": "bogus"}, ValueError, "kind"), ({"kind": None}, TypeError, "kind"),
])
def test_optimize_checks_kind_and_seed_with_w0_too(kwargs, error, name):
    with pytest.raises(error, match=f"^{name} must"):
        nearortho.optimize(_unit_rows(6, 10, 4), max_iter=0, **kwargs)


@pytest.mark.parametrize("max_pairs", [10_000_000, 10**9, 2**64])
def test_pairs_memory_check_counts_the_pairs_there_are_not_max_pairs(monkeypatch, max_pairs):
    # 72 bytes per max_pairs were counted: the default (10^7) asked for 720 MB on a
    # 13-row frame, 10^9 for 67 GiB, whatever the frame
    from nearortho import _validate
    monkeypatch.setattr(_validate, "available_memory", lambda: 200 << 20)
    W = _unit_rows(5, 13, 6)
    i, j, g = nearortho.pairs(W, 0.5, max_pairs=max_pairs)
    G = W @ W.T
    want_i, want_j = np.nonzero(np.triu(np.abs(G) >= 0.5, 1))
    assert sorted(zip(i.tolist(), j.tolist())) == sorted(zip(want_i.tolist(), want_j.tolist()))
    np.testing.assert_allclose(g, G[i, j], rtol=1e-5)


def _bad_npy_files(tmp_path):
    good = tmp_path / "good.npy"
    np.save(good, np.ones((6, 3), np.float32))
    (tmp_path / "empty.npy").write_bytes(b"")
    (tmp_path / "cut.npy").write_bytes(good.read_bytes()[:100])  # inside the header
    np.save(tmp_path / "objects.npy", np.array([[1, "a"]], dtype=object), allow_pickle=True)
    return [tmp_path / name for name in ("empty.npy", "cut.npy", "objects.npy")]


def test_load_names_an_empty_truncated_or_object_npy(tmp_path):
    # an empty file raised a bare EOFError (the CLI printed "Aborted!"), a cut
    # header and an object array a ValueError without the file's name
    for path in _bad_npy_files(tmp_path):
        with pytest.raises(ValueError, match=rf"^{path} is not a .npy array of numbers"):
            nearortho.load(path)


def test_cli_simulate_on_an_empty_npy_is_one_error_line(tmp_path):
    from click.testing import CliRunner
    from nearortho.cli.main import cli
    for path in _bad_npy_files(tmp_path):
        result = CliRunner().invoke(cli, ["simulate", str(path), "--l", "1", "--trials", "2"])
        assert result.exit_code == 1, result.output
        assert result.stderr.strip() == result.stderr.strip().splitlines()[0]
        assert result.stderr.startswith(f"error: {path} is not a .npy array of numbers"), result.stderr


@pytest.mark.parametrize("path", [3, None, ["w.npy"]])
def test_load_and_open_rows_name_a_path_of_the_wrong_type(path):
    for function in (nearortho.load, nearortho.open_rows):
        with pytest.raises(TypeError, match="^path must be a str or os.PathLike"):
            function(path)


@pytest.mark.skipif(__import__("os").name != "posix", reason="needs POSIX signals")
def test_readouts_stop_on_ctrl_c():
    # readout_values polled nothing: Ctrl-C waited for the whole product (minutes)
    from isolated import assert_succeeds
    from test_interrupts import _INTERRUPT
    assert_succeeds(_INTERRUPT + """
    W = nearortho.frame(1024, 16000, seed=1)
    acts = nearortho.sample_activations(16000, 8, trials=2000, seed=2)
    part = tuple(x[:125] for x in acts)
    start = time.perf_counter()
    nearortho.readouts(W, part, backend="cpu")
    whole = 16 * (time.perf_counter() - start)
    seconds = interrupted(lambda: nearortho.readouts(W, acts, backend="cpu"))
    assert seconds < whole / 2, (seconds, whole)
    """, timeout=120)


def test_readouts_refuse_an_output_larger_than_memory(monkeypatch):
    from nearortho import _validate
    monkeypatch.setattr(_validate, "available_memory", lambda: 1000)
    acts = ([np.array([0, 1])] * 20, [np.ones(2)] * 20)
    with pytest.raises(MemoryError, match="the readouts of 20 trials of 12 features"):
        nearortho.readouts(_unit_rows(8, 12, 0), acts)


def test_a_copy_of_the_input_larger_than_memory_is_refused_naming_it(monkeypatch, tmp_path):
    from nearortho import _validate
    W = _unit_rows(8, 300, 0).astype(np.float32)

    def mapped(name, array):  # a .npy file's rows, copied to memory unless C-contiguous native float32/64
        np.save(tmp_path / name, array)
        return np.load(tmp_path / name, mmap_mode="r")

    copied = [W[:, ::2], np.asfortranarray(W), W.astype(np.float16), W.astype(">f4"),
              mapped("c.npy", W)[:, ::2], mapped("f.npy", np.asfortranarray(W)),
              mapped("half.npy", W.astype(np.float16)), mapped("big.npy", W.astype(">f4"))]
    monkeypatch.setattr(_validate, "available_memory", lambda: 1000)
    for given in copied:
        with pytest.raises(MemoryError, match=r"the C-contiguous float32 copy of W \(shape \(300, [48]\)"):
            nearortho.interference(given)
    _validate.float_matrix(mapped("in_place.npy", W), "W")  # read in place: nothing to refuse


@pytest.mark.parametrize("call", [lambda: nearortho.frame(4, 3, dtype=None), lambda: nearortho.compound(
    4, 6, layers=1, l=1, trials=2, dtype=None)])
def test_dtype_none_is_refused_not_float64(call):
    # np.dtype(None) is float64: frame(dtype=None) silently gave float64 rows
    with pytest.raises(TypeError, match="^dtype must be float32 or float64, got None"):
        call()


@pytest.mark.parametrize("kind", [None, 1, ["sign"]])
def test_frame_kind_of_the_wrong_type_is_a_type_error(kind):
    for call in (lambda: nearortho.frame(4, 3, kind), lambda: nearortho.frame_max_rows(kind, 4)):
        with pytest.raises(TypeError, match="^kind must be a string"):
            call()


def test_simulate_hist_range_whose_width_overflows_is_refused():
    # (-1e308, 1e308): the bin width overflowed and every quantile came back NaN
    with pytest.raises(ValueError, match="^hist_range must have lo < hi and hi - lo finite"):
        nearortho.simulate(_unit_rows(8, 12, 0), 2, trials=4, hist_range=(-1e308, 1e308))


def test_activation_values_that_are_not_numbers_are_named():
    with pytest.raises(TypeError, match="^activations: values must be real numbers"):
        nearortho.simulate(_unit_rows(8, 12, 0), activations=([np.array([0])], [np.array(["a"])]))


def test_quantile_exact_must_be_a_bool():
    stats = nearortho.interference(_unit_rows(8, 12, 0))
    with pytest.raises(TypeError, match="^exact must be a bool"):
        stats.quantile(0.5, exact="no")


@pytest.mark.parametrize("dtype, scale", [(np.float32, 1e30), (np.float64, 1e200)])
@pytest.mark.parametrize("call, what", [
    (lambda W: nearortho.simulate(W, 2, trials=4), "its readouts"),
    (lambda W: nearortho.simulate(W, p=0.2, trials=4), "its readouts"),
    (lambda W: nearortho.capacity(W, trials=4), "its readouts"),
    (lambda W: nearortho.surrogate_gradient(W), "their inner products"),
    (lambda W: nearortho.readouts(W, ([np.array([0, 1]), np.array([], int)], [np.ones(2), np.ones(0)])),
     "its readouts"),
])
def test_raw_products_that_overflow_are_refused(call, what, dtype, scale):
    # rows used as given: readouts overflowed into NaN statistics, the gradient
    # pass into coherence = inf, where interference(normalize=False) refuses them
    W = (_unit_rows(8, 12, 0) * scale).astype(dtype)
    with pytest.raises(ValueError, match=f"^W has rows so long that {what} overflow {np.dtype(dtype).name}"):
        call(W)


def test_raw_products_in_range_match_the_oracle():
    W = _unit_rows(8, 12, 0) * 1e15  # products 1e30: fine in float32
    result = nearortho.surrogate_gradient(W.astype(np.float32), s=1e30)
    G = np.abs(W @ W.T)[np.triu_indices(12, 1)]
    assert result.coherence == pytest.approx(G.max(), rel=1e-5)
    readout = nearortho.readouts(W, ([np.array([3])], [np.array([1.0])]))
    np.testing.assert_allclose(readout[0], W @ W[3], rtol=1e-12)


def test_theory_refuses_more_active_features_than_features():
    with pytest.raises(ValueError, match="^l must be <= m"):
        nearortho.theory(16, 40, 41)
    with pytest.raises(ValueError, match="^l must be <= m"):
        nearortho.theory(16, [40, 100], [8, 101])
    assert nearortho.theory(16, 40, 40).l == 40


def test_sample_activations_counts_floyds_mark_of_one_byte_per_feature(monkeypatch):
    # m = 10^18 with l = 2 passed the memory check and died in the core with "std::bad_alloc"
    from nearortho import _validate
    monkeypatch.setattr(_validate, "available_memory", lambda: 1 << 30)
    with pytest.raises(MemoryError, match="^the activations of 3 trials of 2 active features"):
        nearortho.sample_activations(2**40, 2, trials=3)
    indices, _ = nearortho.sample_activations(2**20, 2, trials=3)
    assert all(len(i) == 2 for i in indices)


def test_compound_amplitude_is_bounded_as_simulate_s():
    # amplitude=1e308 squared overflowed: noise_std came back NaN
    with pytest.raises(ValueError, match="^amplitude must be <= 1e"):
        nearortho.compound(8, 12, layers=1, l=2, trials=4, amplitude=1e308)
    with pytest.raises(ValueError, match="amplitude a must be <= 1e"):
        nearortho.simulate(_unit_rows(8, 12, 0), 2, trials=4, amplitude=("boolean", 1e308))


def _misaligned(a):
    """a's values in memory one byte past an aligned address, as np.frombuffer or
    np.memmap at an odd offset give them (C-contiguous, but not aligned)."""
    out = np.zeros(a.nbytes + 1, np.uint8)[1:].view(a.dtype).reshape(a.shape)
    out[...] = a
    assert out.flags.c_contiguous and not out.flags.aligned
    return out


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_misaligned_arrays_are_copied_and_match_the_oracle(dtype):
    rng = np.random.default_rng(11)
    W = rng.standard_normal((37, 19)).astype(dtype)
    X = W.astype(np.float64)
    G = X @ X.T
    U = X / np.linalg.norm(X, axis=1, keepdims=True)
    C = np.abs(U @ U.T)[np.triu_indices(37, 1)]
    tol = 1e-5 if dtype == np.float32 else 1e-12
    assert nearortho.interference(_misaligned(W)).coherence == pytest.approx(C.max(), rel=tol)
    grad = nearortho.surrogate_gradient(_misaligned(W))  # F = sum_{i<j} g_ij^2
    off = G - np.diag(np.diag(G))
    assert grad.value == pytest.approx(np.sum(np.triu(G, 1) ** 2), rel=tol)
    np.testing.assert_allclose(grad.gradient, 2 * off @ X, rtol=tol * 10, atol=tol * 10 * np.abs(2 * off @ X).max())
    indices, values = [np.array([1, 5, 30]), np.array([0, 36])], [np.array([1.0, -2.0, 0.5]), np.array([3.0, 1.0])]
    x = np.zeros((2, 37))
    for t in range(2):
        x[t, indices[t]] = values[t]
    expected = x @ X @ X.T
    np.testing.assert_allclose(nearortho.readouts(_misaligned(W), (indices, values)), expected,
                               rtol=tol * 10, atol=tol * 10 * np.abs(expected).max())


def test_frame_into_a_misaligned_out_is_refused():
    out = _misaligned(np.zeros((5, 4), np.float32))
    with pytest.raises(ValueError, match="out must be a writeable, aligned, C-contiguous array"):
        nearortho.frame(4, 5, out=out)
