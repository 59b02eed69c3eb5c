"""The pytest-benchmark suite of bench/ as the README runs it: a run saved, then
compared against (pytest-benchmark comes with the bench extra; skipped without it)."""
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
    calls = []
    monkeypatch.setitem(bench.METHODS, "gemm", lambda W, threads: lambda: calls.append(W.shape))
    out = bench._measure(bench.Case("gemm", n=8, m=20, threads=1, repeat=2))
    assert len(out["times"]) == 2 and calls == [(20, 8)] * 3


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
