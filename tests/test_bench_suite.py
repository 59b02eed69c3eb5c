"""The pytest-benchmark suite of bench/ as the README runs it: a run saved, then
compared against (pytest-benchmark comes with the bench extra; skipped without it)."""
import json
import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_benchmark_compare_against_a_run_on_another_machine_state(tmp_path):
    pytest.importorskip("pytest_benchmark")
    args = [sys.executable, "-m", "pytest", str(ROOT / "bench" / "test_kernels.py"), "-k", "test_optimize",
            "--benchmark-only", "--benchmark-storage=saved", "--benchmark-max-time=0.01", "-q"]
    for threads, extra in (("1", []), ("2", ["--benchmark-compare"])):  # machine_info records OMP_NUM_THREADS
        env = dict(os.environ, OMP_NUM_THREADS=threads)
        done = subprocess.run(args + extra, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "machine_info is different" in done.stdout + done.stderr  # shown as a warning


def test_interference_cases_are_timed_after_an_untimed_call(monkeypatch):
    # --quick times one repeat: a cold first call (page faults of a baseline's fresh blocks)
    # made numpy's chunked code 1.75x slower than it runs
    monkeypatch.syspath_prepend(str(ROOT / "bench"))
    bench = __import__("bench_interference")
    calls, replies = [], []
    monkeypatch.setitem(bench.METHODS, "gemm", lambda W, threads: lambda: calls.append(W.shape))
    bench._serve(bench.Case("gemm", n=8, m=20, threads=1, repeat=2), ["go\n"] * 2, replies.append)
    assert calls == [(20, 8)] * 3 and replies[0] == "ready" and len(replies) == 4
    assert all(r.startswith("time ") and float(r[5:]) >= 0 for r in replies[1:3])
    assert replies[3].startswith("done ") and "peak_mib" in json.loads(replies[3][5:])


def test_interference_cases_take_turns_in_processes_of_their_own(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "bench"))
    bench = __import__("bench_interference")
    monkeypatch.setattr(bench, "SETTLE_SECONDS", 0.0)
    rows = bench.measure_size([bench.Case(method, n=8, m=20, threads=1, repeat=2) for method in ("gemm", "nearortho")])
    assert [r["method"] for r in rows] == ["gemm", "nearortho"] and rows[1]["isa"]
    assert all(0 < r["min_s"] <= r["median_s"] <= r["max_s"] and r["peak_mib"] >= 0 and r["calls"] == 2 for r in rows)
    with pytest.raises(RuntimeError, match="(?s)nosuch n=8 m=20 failed .*KeyError"):  # the child's traceback
        bench.measure_size([bench.Case("gemm", n=8, m=20, threads=1, repeat=1),
                            bench.Case("nosuch", n=8, m=20, threads=1, repeat=1)])


def test_interference_turns_add_up_to_the_minimum_time(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "bench"))
    bench = __import__("bench_interference")
    assert bench.rounds_for([0.15, 0.25], 3, 1.0) == 7    # the fastest case's calls reach 1 s
    assert bench.rounds_for([2.0, 3.0], 3, 1.0) == 3      # long calls: the repeat count
    assert bench.rounds_for([1e-4], 1, 1.0) == bench.MAX_ROUNDS
    assert bench.rounds_for([0.0], 2, 1.0) == bench.MAX_ROUNDS and bench.rounds_for([0.1], 2, 0.0) == 2
    monkeypatch.setattr(bench, "SETTLE_SECONDS", 0.0)
    rows = bench.measure_size([bench.Case("gemm", n=8, m=20, threads=1, repeat=1)], min_seconds=60.0)
    assert rows[0]["calls"] == bench.MAX_ROUNDS


def test_interference_yardstick_is_the_fastest_gemm(monkeypatch):
    # On a Zen 4 at n = 64, OpenBLAS's Haswell sgemm beat the SkylakeX kernel it picks
    # (124-140 against 106-117 GFLOP/s): a fraction of the slower one flattered nearortho
    monkeypatch.syspath_prepend(str(ROOT / "bench"))
    bench = __import__("bench_interference")
    rows = [{"method": "gemm", "gflops": 110.0, "median_s": 2.0}, {"method": "gemm", "gflops": 140.0, "median_s": 1.5},
            {"method": "nearortho", "gflops": 112.0, "median_s": 1.0}, {"method": "numpy_chunked", "gflops": 9.0,
                                                                          "median_s": 4.0}]
    bench.compare(rows)
    assert rows[2]["fraction_of_blas"] == pytest.approx(0.8)
    assert [r.get("time_over_nearortho") for r in rows] == [2.0, 1.5, None, 4.0]


def test_interference_same_isa_yardstick_is_the_fastest_gemm_of_that_level(monkeypatch):
    # forced AVX2 on an AVX-512 CPU: an AVX2 CPU would run OpenBLAS's Haswell kernel
    # (or an older, narrower one, if faster); no gemm kernel is as narrow as scalar,
    # and a BLAS that names no kernel is nobody's level
    monkeypatch.syspath_prepend(str(ROOT / "bench"))
    bench = __import__("bench_interference")
    for narrower, expected in ((70.0, 0.9), (90.0, 0.8)):
        gemm = [("SkylakeX", 100.0), ("Haswell", 80.0), ("Sandybridge", narrower), ("", 120.0)]
        rows = [{"method": "gemm", "blas_kernel": k, "gflops": g, "median_s": 1.0, "isa": ""} for k, g in gemm]
        rows += [{"method": "nearortho", "isa": isa, "gflops": 72.0, "median_s": 1.0}
                 for isa in ("avx512", "avx2", "scalar")]
        bench.compare(rows)
        assert [r["fraction_of_blas"] for r in rows[4:]] == pytest.approx([0.6] * 3)
        assert rows[4]["fraction_of_isa_blas"] == pytest.approx(0.72)
        assert rows[5]["fraction_of_isa_blas"] == pytest.approx(expected)
        assert "fraction_of_isa_blas" not in rows[6]


def test_a_gemm_case_runs_the_openblas_kernel_it_names(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "bench"))
    bench = __import__("bench_interference")
    monkeypatch.setattr(bench, "SETTLE_SECONDS", 0.0)
    rows = bench.measure_size([bench.Case("gemm", n=8, m=20, threads=1, repeat=1, env={"OPENBLAS_CORETYPE": c})
                               for c in ("Haswell", "Sandybridge")])
    kernels = [r["blas_kernel"].lower() for r in rows]
    if not all(kernels):
        pytest.skip("numpy's BLAS does not report its kernel (not OpenBLAS)")
    assert kernels == ["haswell", "sandybridge"]


def test_frame_speedups_compare_like_memory_with_like(monkeypatch):
    # nearortho into existing memory was divided into numpy's time into fresh memory,
    # whose first touches it did not pay (issue 9's "21x")
    monkeypatch.syspath_prepend(str(ROOT / "bench"))
    bench = __import__("bench_frame")
    from harness import Timing

    seconds = {"numpy user code, fresh memory": 8.0, "numpy 2 generators x 2 threads, existing memory": 4.0,
               "nearortho, fresh memory": 2.0, "nearortho 2 threads, existing memory": 1.0}
    rows = bench.table_rows({name: Timing(t, t, t, 1) for name, t in seconds.items()}, n=256, m=1000)
    speedup = {row["case"]: row["speedup_vs_numpy"] for row in rows}
    assert speedup == {"numpy user code, fresh memory": 1.0, "numpy 2 generators x 2 threads, existing memory": 1.0,
                       "nearortho, fresh memory": 4.0, "nearortho 2 threads, existing memory": 4.0}
    assert rows[0]["GB_per_s"] == round(256 * 1000 * 4 / 1e9 / 8.0, 2)


def test_chunked_numpy_baseline_reuses_its_buffers_and_is_right(monkeypatch):
    # the baseline allocated three fresh (2048, m) blocks per block of rows: pages the OS
    # handed back anew each time, 20-30% of its time, which flattered nearortho
    import tracemalloc

    import numpy as np

    import nearortho

    monkeypatch.syspath_prepend(str(ROOT / "bench"))
    bench = __import__("bench_interference")
    W = nearortho.frame(5, 2100, seed=3)  # two blocks, the second a short one
    go = bench.run_chunked(W, 1)
    tracemalloc.start()
    (coherence, i, j), total, total_abs, sum_sq, hist, counts = go()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    block = bench.BLOCK * len(W) * W.itemsize  # one block of rows of the Gram matrix
    assert peak < 2 * block  # numpy's argmax(axis=0) copies one (it was 8 blocks)
    _assert_default_statistics(bench, W, coherence, i, j, total, total_abs, sum_sq, hist, counts)


def test_torch_baseline_is_right(monkeypatch):
    pytest.importorskip("torch")
    import nearortho

    monkeypatch.syspath_prepend(str(ROOT / "bench"))
    bench = __import__("bench_interference")
    W = nearortho.frame(5, 2100, seed=3)  # two blocks, the second a short one
    (coherence, i, j), total, total_abs, sum_sq, hist, counts = bench.run_torch(W, 1)()
    _assert_default_statistics(bench, W, coherence, i, j, total, total_abs, sum_sq, hist.numpy(), counts.numpy())


def _assert_default_statistics(bench, W, coherence, i, j, total, total_abs, sum_sq, hist, counts):
    """A baseline's statistics over the pairs i < j against numpy in float64."""
    import numpy as np

    G = W.astype(np.float64) @ W.astype(np.float64).T
    upper = G[np.triu_indices(len(W), 1)]
    # float32 products move a pair across a bin edge now and then (70 of 2.2 million here)
    moved = abs(hist - np.histogram(np.abs(upper), bench.BINS, (0, 1))[0]).sum()
    assert hist.sum() == len(upper) and moved <= 1e-4 * len(upper)
    assert (i, j) == np.unravel_index(np.argmax(np.abs(np.triu(G, 1))), G.shape)
    assert coherence == pytest.approx(np.abs(upper).max(), rel=1e-6)
    assert total == pytest.approx(upper.sum(), abs=1e-3) and total_abs == pytest.approx(np.abs(upper).sum(), rel=1e-6)
    assert sum_sq == pytest.approx((upper ** 2).sum(), rel=1e-6)
    assert list(counts) == [np.count_nonzero(np.abs(upper) > t) for t in bench.THRESHOLDS]


def test_the_simulate_yardstick_writes_into_one_product(monkeypatch):
    # X @ W.T into a fresh (batch, m) block per batch: page faults timed as BLAS's speed
    import tracemalloc

    import numpy as np

    import nearortho

    monkeypatch.syspath_prepend(str(ROOT / "bench"))
    bench = __import__("bench_simulate")
    case = bench.Case(n=16, m=3000, trials=2500, batch=1000)
    W = nearortho.frame(case.n, case.m, seed=1)
    out = np.zeros((case.batch, case.m), W.dtype)
    tracemalloc.start()
    bench.blas_yardstick(W, case, out)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < out.nbytes / 4  # the random X only
    X = np.random.default_rng(0).standard_normal((case.batch, case.n)).astype(W.dtype)
    np.testing.assert_allclose(out[:500], X[:500] @ W.T, rtol=1e-5, atol=1e-5)  # the last, short batch


def test_the_simulate_yardstick_runs_on_the_fastest_openblas_kernel(monkeypatch):
    # it ran numpy's own choice only (SkylakeX on a Zen 4), whose product was 10%
    # slower than the Haswell kernel's: the fraction of BLAS read 0.97 for 0.85
    monkeypatch.syspath_prepend(str(ROOT / "bench"))
    bench = __import__("bench_simulate")
    monkeypatch.setenv("OPENBLAS_L2_SIZE", "512")
    monkeypatch.setenv("OPENBLAS_CORETYPE", "Zen")
    case = bench.Case(n=16, m=300, l=2, trials=200, batch=100)
    with bench.blas_kernel("Sandybridge"):  # a case's process: this kernel, the L2 size OpenBLAS's own
        assert os.environ["OPENBLAS_CORETYPE"] == "Sandybridge" and "OPENBLAS_L2_SIZE" not in os.environ
        kernel, seconds = bench.isolated(bench._probe_yardstick, case)
    assert (os.environ["OPENBLAS_CORETYPE"], os.environ["OPENBLAS_L2_SIZE"]) == ("Zen", "512")  # restored
    if not kernel:
        pytest.skip("numpy's BLAS does not report its kernel (not OpenBLAS)")
    assert kernel.lower() == "sandybridge" and seconds > 0
    probes = {"": ("SkylakeX", 0.93), "Haswell": ("Haswell", 0.84)}
    monkeypatch.setattr(bench, "default_gemm_coretypes", lambda: list(probes))
    monkeypatch.setattr(bench, "isolated", lambda target, case: probes[os.environ.get("OPENBLAS_CORETYPE", "")])
    assert bench.fastest_kernel(case) == ("Haswell", probes)


def test_the_gradient_benchmark_times_the_pass_in_turns_with_gemm_at_its_flops(monkeypatch, tmp_path):
    # it timed sgemm's calls, then the pass's, in one process: a change in the
    # shared machine's load between them fell on one side only
    import nearortho

    monkeypatch.syspath_prepend(str(ROOT / "bench"))
    bench = __import__("bench_gradient")
    monkeypatch.setattr(__import__("bench_interference"), "SETTLE_SECONDS", 0.0)
    out = tmp_path / "gradient.json"
    monkeypatch.setattr(sys, "argv", ["bench_gradient.py", "--sizes", "8x300", "--threads", "1", "--repeat", "2",
                                      "--min-seconds", "0", "--gemm-coretypes", "", "--p", "4", "--json", str(out)])
    bench.main()
    gemm, grad = json.loads(out.read_text())["results"]
    assert (gemm["method"], grad["method"]) == ("gemm", "gradient") and grad["options"] == {"p": 4}
    assert grad["isa"] == nearortho.build_info()["isa"] and gemm["calls"] == grad["calls"] == 2
    assert grad["gflops"] == pytest.approx(3 * 300 ** 2 * 8 / grad["median_s"] / 1e9)  # 3 m^2 n flops a pass
    assert gemm["gflops"] == pytest.approx(2 * 300 ** 2 * 8 / gemm["median_s"] / 1e9)
    assert grad["fraction_of_blas"] == pytest.approx(gemm["median_s"] / grad["median_s"] * 1.5)
