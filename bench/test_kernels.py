"""Small, fast cases of every kernel for pytest-benchmark (well under a second each):

    pytest bench/ --benchmark-only                       # saves bench/results/pytest/...json
    pytest bench/ --benchmark-only --benchmark-compare   # against the last saved run

Each case names its size; the ISA, BLAS and load average are in the saved JSON
(bench/conftest.py). The CPU cases run on the CPU backend (bench/harness.py sets
NEARORTHO_BACKEND=cpu); the cuda cases name backend="cuda" and skip without a
GPU. Not correctness tests: those are in tests/.
"""
from __future__ import annotations

import numpy as np
import pytest

import nearortho
from nearortho import _backend

THREADS = 2
on_gpu = pytest.mark.skipif(not _backend.cuda_available(), reason="needs nearortho._cuda and a GPU")


@pytest.mark.parametrize("kind", ["gaussian", "sign", "sparse", "orthogonal", "srht"])
def test_frame(benchmark, kind):
    n, m = 128, (4_000 if kind == "orthogonal" else 20_000)
    out = np.empty((m, n), np.float32)
    benchmark(nearortho.frame, n, m, kind, seed=0, out=out, threads=THREADS)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("n", [64, 256])
def test_interference(benchmark, n, dtype):
    W = nearortho.frame(n, 2048, seed=0, dtype=dtype)
    benchmark(nearortho.interference, W, thresholds=(0.1, 0.2), threads=THREADS)


def test_interference_topk(benchmark):
    W = nearortho.frame(128, 2048, seed=0)
    benchmark(nearortho.interference, W, topk=8, threads=THREADS)


def test_interference_cross(benchmark):
    A, B = nearortho.frame(128, 1500, seed=0), nearortho.frame(128, 1700, seed=1)
    benchmark(nearortho.interference, A, B, threads=THREADS)


@pytest.mark.parametrize("bins", [8, 1024])
def test_interference_coarse_histogram(benchmark, bins):
    # few bins: each lane counts into its own copy of the histogram
    W = nearortho.frame(64, 2048, seed=0)
    benchmark(nearortho.interference, W, per_row=False, bins=bins, threads=THREADS)


def test_surrogate_gradient(benchmark):
    W = nearortho.frame(256, 2048, seed=0)
    benchmark(nearortho.surrogate_gradient, W, 16, threads=THREADS)


@pytest.mark.parametrize("path", ["dense", "gram"])
def test_simulate(benchmark, path):
    W = nearortho.frame(128, 2048, seed=0)
    benchmark(nearortho.simulate, W, 8, trials=2000, path=path, threads=THREADS)


def test_optimize(benchmark):
    benchmark(nearortho.optimize, (16, 64), seed=0, max_iter=50, threads=THREADS)


def test_match(benchmark):
    A = nearortho.frame(64, 2000, seed=0)
    B = A[np.random.default_rng(1).permutation(len(A))] + 0.05 * nearortho.frame(64, 2000, seed=2)
    benchmark(nearortho.match, A, B, threads=THREADS)


@on_gpu
@pytest.mark.parametrize("precision", [None, "tf32"])
def test_interference_cuda(benchmark, precision):
    W = nearortho.frame(768, 16384, seed=0)
    benchmark(nearortho.interference, W, thresholds=(0.1, 0.2), backend="cuda", precision=precision)
