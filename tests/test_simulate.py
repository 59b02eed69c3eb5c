"""simulate(), readouts(), sample_activations(): numpy float64 oracles and closed forms."""
import importlib
import math

import numpy as np
import pytest

import nearortho as no
from nearortho.simulate import histogram_quantiles, rms_interference


def random_activations(rng, m, trials, max_l, signed=True):
    indices, values = [], []
    for _ in range(trials):
        l = int(rng.integers(0, max_l + 1))
        indices.append(rng.choice(m, size=l, replace=False))
        v = rng.uniform(0.1, 2.0, size=l)
        values.append(v * rng.choice([-1.0, 1.0], size=l) if signed else v)
    return indices, values


def oracle_readouts(W, indices, values):
    W = np.asarray(W, dtype=np.float64)
    X = np.zeros((len(indices), W.shape[1]))
    for t, (idx, val) in enumerate(zip(indices, values)):
        X[t] = val @ W[idx]
    return X @ W.T


def oracle_stats(W, indices, values, threshold, signed):
    """Every ReadoutStats number from the dense float64 readouts."""
    R = oracle_readouts(W, indices, values)
    on = np.zeros(R.shape, dtype=bool)
    A = np.zeros(R.shape)
    for t, (idx, val) in enumerate(zip(indices, values)):
        on[t, idx] = True
        A[t, idx] = val
    decoded = (np.abs(R) if signed else R) > threshold
    errors_per_trial = (decoded & ~on).sum(1) + (~decoded & on).sum(1)
    return dict(R=R, inactive=R[~on], active_error=(R - A)[on], fp=(decoded & ~on).sum(), fn=(~decoded & on).sum(),
                errors_per_trial=errors_per_trial, amp_sq=(A[on] ** 2))


@pytest.mark.parametrize("path", ["dense", "gram"])
@pytest.mark.parametrize("m, n", [(2, 1), (37, 13), (100, 7), (5, 64), (193, 33), (400, 3), (40, 2100)])
def test_readouts_equal_float64_oracle(m, n, path):  # n = 2100: the k blocks of 1024 and a remainder
    rng = np.random.default_rng(m * 1000 + n)
    W = rng.standard_normal((m, n))
    indices, values = random_activations(rng, m, 45, min(m, 6))
    got = no.readouts(W, (indices, values), path=path)
    assert got.shape == (45, m)
    np.testing.assert_allclose(got, oracle_readouts(W, indices, values), rtol=1e-12, atol=1e-12)
    got32 = no.readouts(W.astype(np.float32), (indices, values), path=path)
    np.testing.assert_allclose(got32, oracle_readouts(W.astype(np.float32), indices, values), rtol=0, atol=2e-4 * n)


def test_readout_of_inactive_feature_is_sum_of_gram_entries():
    rng = np.random.default_rng(3)
    W = no.frame(24, 90, seed=5, dtype="float64")
    G = W @ W.T
    idx, val = rng.choice(90, 6, replace=False), rng.uniform(0.2, 1.0, 6)
    r = no.readouts(W, ([idx], [val]))[0]
    for i in set(range(90)) - set(idx):
        assert r[i] == pytest.approx(float(np.sum(val * G[i, idx])), abs=1e-13)


@pytest.mark.parametrize("path", ["dense", "gram"])
@pytest.mark.parametrize("signed", [False, True])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_stats_equal_oracle_with_explicit_activations(signed, dtype, path):
    rng = np.random.default_rng(11)
    m, n, trials = 131, 29, 77
    W = rng.standard_normal((m, n)).astype(dtype) / math.sqrt(n)
    indices, values = random_activations(rng, m, trials, 9, signed=signed)
    s = no.simulate(W, activations=(indices, values), threshold=0.3, signed=signed, bins=64, hist_range=(-1.5, 1.5),
                    path=path)
    o = oracle_stats(W, indices, values, 0.3, signed)
    tol = 1e-12 if dtype == "float64" else 1e-5
    assert s.trials == trials and s.m == m and s.n == n
    assert s.inactive_mean == pytest.approx(o["inactive"].mean(), abs=tol)
    assert s.inactive_std == pytest.approx(o["inactive"].std(ddof=1), rel=tol)
    assert s.active_error_mean == pytest.approx(o["active_error"].mean(), abs=tol)
    assert s.active_error_std == pytest.approx(o["active_error"].std(ddof=1), rel=tol)
    assert s.false_positive_rate == pytest.approx(o["fp"] / o["inactive"].size, rel=1e-12)
    assert s.false_negative_rate == pytest.approx(o["fn"] / o["active_error"].size, rel=1e-12)
    assert s.error_rate == pytest.approx((o["fp"] + o["fn"]) / (trials * m), rel=1e-12)
    e = o["errors_per_trial"] / m
    assert s.error_rate_se == pytest.approx(e.std(ddof=1) / math.sqrt(trials), rel=1e-9)
    assert s.snr == pytest.approx(math.sqrt(o["amp_sq"].mean()) / o["inactive"].std(ddof=1), rel=max(tol, 1e-9))
    counts, _ = np.histogram(o["inactive"], bins=64, range=(-1.5, 1.5))
    np.testing.assert_array_equal(s.histogram[1:-1], counts)
    assert s.histogram[0] == np.sum(o["inactive"] < -1.5) and s.histogram[-1] == np.sum(o["inactive"] > 1.5)
    assert s.level_error_rate is None
    with_levels = no.simulate(W, activations=(indices, values), amplitude=("levels", 4, 1.0), path=path)
    assert with_levels.level_error_rate is None


def test_sampled_path_equals_oracle_on_the_same_activations():
    W = no.frame(40, 300, seed=2, dtype="float64")
    for amplitude in ["boolean", ("uniform", 2.0), ("levels", 5, 1.5)]:
        s = no.simulate(W, 7, trials=90, amplitude=amplitude, seed=9, signed=True)
        indices, values = no.sample_activations(300, 7, trials=90, amplitude=amplitude, seed=9, signed=True)
        o = oracle_stats(W, indices, values, 0.5, True)
        assert s.inactive_std == pytest.approx(o["inactive"].std(ddof=1), rel=1e-12)
        assert s.false_positive_rate == pytest.approx(o["fp"] / o["inactive"].size, rel=1e-12)
        assert s.active_error_std == pytest.approx(o["active_error"].std(ddof=1), rel=1e-12)


def test_level_decoder_equals_oracle():
    W = no.frame(64, 500, seed=4, dtype="float64")
    K, a = 6, 2.0
    s = no.simulate(W, 10, trials=60, amplitude=("levels", K, a), seed=1)
    indices, values = no.sample_activations(500, 10, trials=60, amplitude=("levels", K, a), seed=1)
    R = oracle_readouts(W, indices, values)
    wrong = total = 0
    for t, (idx, val) in enumerate(zip(indices, values)):
        guess = np.clip(np.floor(R[t, idx] * K / a + 0.5), 1, K)  # no exact .5 ties in random data
        wrong += np.count_nonzero(guess != np.round(val * K / a))
        total += len(idx)
    assert s.level_error_rate == pytest.approx(wrong / total, rel=1e-12)
    assert 0 < s.level_error_rate < 1


def test_sampler_draws_distinct_uniform_features_and_stated_amplitudes():
    m, l, trials = 50, 20, 2000
    indices, values = no.sample_activations(m, l, trials=trials, seed=3)
    counts = np.zeros(m)
    for idx, val in zip(indices, values):
        assert len(idx) == l and len(np.unique(idx)) == l and np.all(np.diff(idx) > 0)
        np.testing.assert_array_equal(val, 1.0)
        counts[idx] += 1
    expected = trials * l / m  # 800, binomial std ~ 22: 6 sigma band
    assert np.all(np.abs(counts - expected) < 6 * math.sqrt(expected * (1 - l / m)))
    _, values = no.sample_activations(m, l, trials=200, amplitude=("uniform", 3.0), seed=3, signed=True)
    v = np.concatenate(values)
    assert np.all(np.abs(v) <= 3.0) and np.all(v != 0)
    assert np.mean(v > 0) == pytest.approx(0.5, abs=0.03)
    assert np.mean(np.abs(v)) == pytest.approx(1.5, abs=0.05)
    _, values = no.sample_activations(m, l, trials=200, amplitude=("levels", 4, 2.0), seed=3)
    assert set(np.unique(np.concatenate(values))) == {0.5, 1.0, 1.5, 2.0}


def test_bernoulli_activations_do_not_depend_on_threads():
    W = no.frame(20, 5000, seed=2)
    one = no.simulate(W, p=0.002, trials=700, seed=3, threads=1)
    two = no.simulate(W, p=0.002, trials=700, seed=3, threads=2)
    assert one.inactive_std == two.inactive_std and one.l == two.l
    np.testing.assert_array_equal(one.histogram, two.histogram)
    indices, _ = no.sample_activations(5000, p=0.002, trials=700, seed=3)
    assert one.l == pytest.approx(np.mean([len(i) for i in indices]), rel=1e-12)


def test_bernoulli_activations():
    indices, _ = no.sample_activations(400, p=0.05, trials=500, seed=8)
    sizes = np.array([len(i) for i in indices])
    assert sizes.mean() == pytest.approx(20, abs=0.6)  # se of the mean ~0.2
    assert all(np.all(np.diff(i) > 0) for i in indices)
    assert [len(i) for i in no.sample_activations(30, p=1.0, trials=3)[0]] == [30, 30, 30]
    assert [len(i) for i in no.sample_activations(30, p=0.0, trials=3)[0]] == [0, 0, 0]
    s = no.simulate(no.frame(32, 400, seed=1), p=0.05, trials=300)
    assert s.l == pytest.approx(20, abs=1)


def test_gaussian_noise_std_matches_sqrt_l_over_n():
    n, m, l = 64, 1000, 8
    s = no.simulate(no.frame(n, m, seed=7), l, trials=400, seed=1)
    # ~400k nearly independent inactive readouts: the std is known to ~0.2%; the
    # frame's own RMS interference differs from 1/sqrt(n) by ~0.5%: a 2% band.
    assert s.inactive_std == pytest.approx(math.sqrt(l / n), rel=0.02)
    assert s.predicted_std_rms == pytest.approx(s.inactive_std, rel=0.02)
    assert s.predicted_std_jl == pytest.approx(math.sqrt(l * 8 * math.log(m) / n), rel=1e-6)
    assert abs(s.inactive_mean) < 0.01
    q = s.inactive_quantiles
    sigma = math.sqrt(l / n)
    assert q[0.5] == pytest.approx(0.0, abs=0.02)
    assert q[0.9] == pytest.approx(1.2816 * sigma, rel=0.05)


def test_noise_grows_like_sqrt_l():
    W = no.frame(256, 2048, seed=3)
    ls = [1, 2, 4, 8, 16, 32, 64]
    stds = [no.simulate(W, l, trials=40, seed=l).inactive_std for l in ls]
    slope = np.polyfit(np.log(ls), np.log(stds), 1)[0]
    assert 0.45 <= slope <= 0.55


def test_orthogonal_frame_has_no_noise():
    s = no.simulate(np.eye(48), 48, trials=10)
    assert s.inactive_std != s.inactive_std  # no inactive readouts at l = m: nan
    assert s.active_error_std == 0.0 and s.error_rate == 0.0
    s = no.simulate(np.eye(48), 20, trials=50, amplitude=("uniform", 1.0), threshold=0.0)
    assert s.inactive_std == 0.0 and s.inactive_mean == 0.0 and s.false_positive_rate == 0.0
    assert s.active_error_std == 0.0 and s.false_negative_rate == 0.0
    W = no.frame(40, 40, "orthogonal", dtype="float64", seed=2)
    s = no.simulate(W, 13, trials=20)
    assert s.inactive_std < 1e-14 and s.rms_interference < 1e-14


@pytest.mark.parametrize("path", ["dense", "gram"])
def test_thread_count_does_not_change_results(path):
    W = no.frame(70, 1100, seed=5)
    kwargs = dict(trials=150, amplitude=("uniform", 1.0), seed=12, signed=True, path=path)
    one = no.simulate(W, 9, threads=1, **kwargs).to_dict()
    two = no.simulate(W, 9, threads=2, **kwargs).to_dict()
    three = no.simulate(W, 9, threads=3, **kwargs).to_dict()
    for key in one:
        if isinstance(one[key], np.ndarray):
            np.testing.assert_array_equal(one[key], two[key])
            np.testing.assert_array_equal(one[key], three[key])
        else:
            assert one[key] == two[key] == three[key], key
    other = no.simulate(W, 9, threads=2, **{**kwargs, "seed": 13})
    assert other.inactive_std != one["inactive_std"]


@pytest.mark.parametrize("isa", ["scalar", "avx2"])
def test_each_isa_matches_the_oracle(isa):
    if isa not in no.build_info()["isa_built"].split(",") or isa == "avx2" and no.build_info()["isa_detected"] == "scalar":
        pytest.skip(f"{isa} not available here")
    rng = np.random.default_rng(1)
    W = rng.standard_normal((67, 19)).astype(np.float32)
    indices, values = random_activations(rng, 67, 20, 5)
    old = no.set_max_isa(isa)
    try:
        got = no.readouts(W, (indices, values))
    finally:
        no.set_max_isa(old)
    np.testing.assert_allclose(got, oracle_readouts(W, indices, values), atol=1e-4)


@pytest.mark.usefixtures("cpu_backend")  # the CPU core's paths, batches and calls
def test_auto_path_takes_gram_for_many_trials_and_agrees_with_dense():
    W = no.frame(48, 200, seed=3)
    auto = no.simulate(W, 5, trials=3000, seed=4, amplitude=("levels", 3, 1.0))
    gram = no.simulate(W, 5, trials=3000, seed=4, amplitude=("levels", 3, 1.0), path="gram")
    dense = no.simulate(W, 5, trials=3000, seed=4, amplitude=("levels", 3, 1.0), path="dense")
    assert auto.path == gram.path == "gram" and dense.path == "dense"
    assert auto.inactive_std == gram.inactive_std  # same path, same bits
    assert gram.inactive_std == pytest.approx(dense.inactive_std, rel=1e-5)
    assert gram.inactive_mean == pytest.approx(dense.inactive_mean, abs=1e-6)
    # counts can differ only where a readout sits within float32 rounding of a cut
    assert gram.false_positive_rate == pytest.approx(dense.false_positive_rate, abs=1e-5)
    assert gram.level_error_rate == pytest.approx(dense.level_error_rate, abs=1e-4)


def test_non_contiguous_frame_is_copied():
    W = no.frame(30, 200, seed=1, dtype="float64")
    base = no.simulate(W, 4, trials=20)
    wide = np.zeros((200, 60))
    wide[:, ::2] = W
    assert no.simulate(wide[:, ::2], 4, trials=20).inactive_std == base.inactive_std


def test_histogram_quantiles_reads_bins():
    edges = np.linspace(0, 4, 5)
    hist = np.array([0, 10, 10, 10, 10, 0])
    q = histogram_quantiles(hist, edges, (0.25, 0.5, 0.125))
    assert q[0.25] == pytest.approx(1.0) and q[0.5] == pytest.approx(2.0) and q[0.125] == pytest.approx(0.5)


def test_repr_and_to_dict():
    s = no.simulate(no.frame(16, 64), 2, trials=4)
    assert "inactive_std" in repr(s) and "predicted_std_jl" in s.to_dict()


W_SMALL = np.eye(8)


@pytest.mark.parametrize("args, kwargs, error, match", [
    ((W_SMALL, 9), dict(trials=5), ValueError, "l"),
    ((W_SMALL, -1), dict(trials=5), ValueError, "l"),
    ((W_SMALL, 2), dict(trials=0), ValueError, "trials"),
    ((W_SMALL, 2), dict(), ValueError, "trials"),
    ((W_SMALL, None), dict(trials=3), ValueError, "l"),
    ((W_SMALL, 2.0), dict(trials=3), TypeError, "l"),
    ((W_SMALL, 2), dict(trials=3, p=0.1), ValueError, "l or p"),
    ((W_SMALL, None), dict(trials=3, p=1.5), ValueError, "p"),
    ((W_SMALL, 2), dict(trials=3, amplitude="gaussian"), ValueError, "amplitude"),
    ((W_SMALL, 2), dict(trials=3, amplitude=("uniform",)), ValueError, "amplitude"),
    ((W_SMALL, 2), dict(trials=3, amplitude=("uniform", -1.0)), ValueError, "amplitude"),
    ((W_SMALL, 2), dict(trials=3, amplitude=("levels", 0, 1.0)), ValueError, "amplitude"),
    ((W_SMALL, 2), dict(trials=3, amplitude=1.0), TypeError, "amplitude"),
    ((W_SMALL, 2), dict(trials=3, threshold=float("nan")), ValueError, "threshold"),
    ((W_SMALL, 2), dict(trials=3, threads=0), ValueError, "threads"),
    ((W_SMALL, 2), dict(trials=3, hist_range=(1.0, -1.0)), ValueError, "hist_range"),
    ((np.eye(8, dtype=np.int64), 2), dict(trials=3), TypeError, "W"),
    ((np.ones(8), 2), dict(trials=3), ValueError, "W"),
    ((np.zeros((0, 4)), 0), dict(trials=3), ValueError, "W"),
    ((np.full((4, 4), np.nan), 1), dict(trials=3), ValueError, "W"),
    (("not an array", 1), dict(trials=3), TypeError, "W"),
    ((W_SMALL, None), dict(activations=([[1, 1]], [[1.0, 1.0]])), ValueError, "repeats"),
    ((W_SMALL, None), dict(activations=([[8]], [[1.0]])), ValueError, "outside"),
    ((W_SMALL, None), dict(activations=([[1]], [[np.inf]])), ValueError, "non-finite"),
    ((W_SMALL, None), dict(activations=([[1]], [[1.0]]), trials=2), ValueError, "trials"),
    ((W_SMALL, 1), dict(activations=([[1]], [[1.0]])), ValueError, "activations"),
    ((W_SMALL, None), dict(activations=[[1]]), TypeError, "activations"),
    ((W_SMALL, 2), dict(trials=3, path="fast"), ValueError, "path"),
    ((W_SMALL, None), dict(trials=3, p=0.5, path="gram"), ValueError, "gram"),
])
def test_bad_inputs(args, kwargs, error, match):
    with pytest.raises(error, match=match):
        no.simulate(*args, **kwargs)


@pytest.mark.parametrize("m, n", [(2, 1), (3, 5), (65, 17), (200, 33), (97, 96)])
def test_rms_interference_equals_oracle(m, n):
    rng = np.random.default_rng(m + n)
    W = rng.standard_normal((m, n))
    G = W @ W.T
    upper = G[np.triu_indices(m, 1)]
    assert rms_interference(W) == pytest.approx(math.sqrt(np.mean(upper**2)), rel=1e-12)
    assert rms_interference(W.astype(np.float32)) == pytest.approx(math.sqrt(np.mean(upper**2)), rel=1e-5)


def test_rms_interference_estimate_for_large_m():
    W = no.frame(12, 3000, seed=3, dtype="float64")
    G = W @ W.T
    exact = math.sqrt(np.mean(G[np.triu_indices(3000, 1)] ** 2))
    assert rms_interference(W) == pytest.approx(exact, rel=0.01)


@pytest.mark.usefixtures("cpu_backend")  # the CPU core's paths, batches and calls
def test_ctrl_c_interrupts_inside_a_batch(monkeypatch):
    import _thread
    import threading

    # Judged by the batches done, not by seconds: batches as large as the memory
    # caps allow (here 65520 trials, about 7e10 multiply-adds, seconds), and
    # the interrupt sent 0.3 s into the first core call, so only a poll inside the
    # batch can end it before it reports.
    simulate_module = importlib.import_module("nearortho.simulate")
    monkeypatch.setattr(simulate_module, "_BATCH_MACS", 1 << 50)
    core = importlib.import_module("nearortho._core")
    real, calls = core.simulate_readout, []
    timer = threading.Timer(0.3, _thread.interrupt_main)

    def first_call_interrupted(*args):
        if not calls:
            timer.start()
        calls.append(args[4] - args[3])  # trials in this call
        return real(*args)

    monkeypatch.setattr(core, "simulate_readout", first_call_interrupted)
    W = no.frame(256, 4096, seed=1)
    batches = []
    try:
        with pytest.raises(KeyboardInterrupt):
            no.simulate(W, 8, trials=10_000_000, path="dense", threads=1, progress=lambda done, total: batches.append(done))
    finally:
        timer.cancel()
    assert batches == [] and len(calls) == 1 and calls[0] > 60000


@pytest.mark.usefixtures("cpu_backend")  # the CPU core's paths, batches and calls
def test_progress_reports_every_batch_up_to_the_total(monkeypatch):
    simulate_module = importlib.import_module("nearortho.simulate")

    monkeypatch.setattr(simulate_module, "_BATCH_MACS", 1 << 22)  # several batches at a small size
    W = no.frame(64, 4096, seed=1)
    seen = []
    result = no.simulate(W, 4, trials=3000, seed=2, path="dense", progress=lambda done, total: seen.append((done, total)))
    assert seen[-1] == (3000, 3000) and len(seen) > 1
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    assert result.inactive_std == no.simulate(W, 4, trials=3000, seed=2, path="dense").inactive_std
    with pytest.raises(TypeError, match="progress must be callable"):
        no.simulate(W, 4, trials=3, progress=3)


def test_no_noise_estimate_gives_nan_snr_not_infinity():
    W = no.frame(16, 64, seed=3, dtype=np.float64)
    result = no.simulate(W, 63, trials=1, seed=1)  # one inactive readout: no std
    assert math.isnan(result.inactive_std) and math.isnan(result.snr)


def test_no_active_feature_gives_nan_snr_not_infinity():
    # l = 0: no signal, and x = 0 reads out exactly 0 everywhere; signal / noise is 0 / 0
    result = no.simulate(no.frame(16, 64, seed=3), 0, trials=5, seed=1)
    assert result.inactive_std == 0.0 and math.isnan(result.snr)


def test_bool_activation_values_are_refused_as_amplitudes_are():
    # a False beside an active index read as amplitude 0: an "active" feature with no signal,
    # counted as missed; True is refused too, as amplitude=("boolean", True) and l=True are
    W = no.frame(16, 64, seed=3)
    for values in ([np.array([True, False])], np.array([[True, True]])):
        with pytest.raises(TypeError, match="^activations: values must be real numbers, got bool"):
            no.simulate(W, activations=([np.array([0, 1])], values))
    assert no.simulate(W, activations=([np.array([0, 1])], [np.array([1, 1])])).l == 2  # integers are numbers


def test_huge_amplitudes_are_rejected():
    W = no.frame(8, 20, seed=3)
    with pytest.raises(ValueError, match="amplitude a must be <="):
        no.simulate(W, 2, trials=5, amplitude=("uniform", 1e300))


def test_memory_mapped_frames_are_read_in_place(tmp_path):
    W = no.frame(32, 300, seed=4)
    np.save(tmp_path / "w.npy", W)
    mapped = np.load(tmp_path / "w.npy", mmap_mode="r")
    assert no.simulate(mapped, 3, trials=50, seed=2).inactive_std == no.simulate(W, 3, trials=50, seed=2).inactive_std
    bad = np.lib.format.open_memmap(tmp_path / "bad.npy", mode="w+", dtype=np.float32, shape=(300, 32))
    bad[:] = W
    bad[299, 31] = np.inf
    with pytest.raises(ValueError, match="finite"):
        no.simulate(bad, 3, trials=5)


def test_calls_into_the_core_stay_small_for_tiny_frames():
    simulate_module = importlib.import_module("nearortho.simulate")
    for path in ("dense", "gram"):
        _, batch = simulate_module._plan(16, 8, 2, 10**9, path, sampled_p=False, active=2)
        assert batch <= 1 << 16


def test_calls_into_the_core_hold_a_bounded_number_of_active_features():
    # p = 1 on 8192 features once held 32760 x 8192 activations (5 GiB) in one call
    simulate_module = importlib.import_module("nearortho.simulate")
    for sampled_p, path in ((True, "dense"), (False, "dense"), (False, "gram")):
        _, batch = simulate_module._plan(8192, 64, 8192, 32760, path, sampled_p=sampled_p, active=8192)
        assert batch * 8192 <= simulate_module._ACTIVE_MAX


@pytest.mark.parametrize("isa", ["scalar", "avx2"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_inactive_reduction_at_tile_and_vector_edges(isa, dtype):
    """Active features on vector and tile edges (tiles of 96 features, vectors of 2 to
    16), several in one vector, and in the tail past the last whole vector: the
    vectorised reduction of inactive readouts leaves out exactly those."""
    if isa not in no.build_info()["isa_built"].split(",") or isa == "avx2" and no.build_info()["isa_detected"] == "scalar":
        pytest.skip(f"{isa} not available here")
    rng = np.random.default_rng(21)
    m, n = 205, 9
    W = (rng.standard_normal((m, n)) / math.sqrt(n)).astype(dtype)
    edges = np.array([0, 1, 2, 7, 8, 15, 95, 96, 97, 191, 192, 199, 200, 203, 204])
    indices = [edges, edges[::2], np.array([204]), np.array([], dtype=np.int64), np.arange(190, 205)]
    values = [rng.uniform(0.5, 1.5, len(i)) * rng.choice([-1.0, 1.0], len(i)) for i in indices]
    old = no.set_max_isa(isa)
    try:
        s = no.simulate(W, activations=(indices, values), threshold=0.4, signed=True, bins=40, hist_range=(-0.8, 0.8),
                        path="dense", threads=2)
    finally:
        no.set_max_isa(old)
    o = oracle_stats(W, indices, values, 0.4, True)
    counts, _ = np.histogram(o["inactive"], bins=40, range=(-0.8, 0.8))
    np.testing.assert_array_equal(s.histogram[1:-1], counts)
    assert s.histogram[0] == np.sum(o["inactive"] < -0.8) and s.histogram[-1] == np.sum(o["inactive"] > 0.8)
    assert s.histogram.sum() == o["inactive"].size
    assert s.false_positive_rate * o["inactive"].size == pytest.approx(o["fp"], abs=1e-9)
    tol = 1e-12 if dtype == "float64" else 1e-5
    assert s.inactive_mean == pytest.approx(o["inactive"].mean(), abs=tol)
    assert s.inactive_std == pytest.approx(o["inactive"].std(ddof=1), rel=tol)


def test_dense_path_across_several_w_chunks():
    """W larger than one packed chunk (4 MiB: 512 rows of n = 1024 in float64), so the
    chunks alternate between the two halves of the packed buffer: readouts equal the
    oracle, and the statistics do not depend on the thread count."""
    rng = np.random.default_rng(8)
    m, n = 1250, 1024
    W = rng.standard_normal((m, n)) / math.sqrt(n)
    indices, values = random_activations(rng, m, 13, 40)
    np.testing.assert_allclose(no.readouts(W, (indices, values), path="dense", threads=2),
                               oracle_readouts(W, indices, values), rtol=1e-12, atol=1e-12)
    runs = [no.simulate(W, activations=(indices, values), path="dense", threads=t).to_dict() for t in (1, 2, 3)]
    for key in runs[0]:
        for other in runs[1:]:
            np.testing.assert_array_equal(runs[0][key], other[key])
