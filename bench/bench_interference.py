"""Side-by-side benchmark of nearortho.interference against the BLAS yardstick and
the code a user would otherwise write (issue 3).

    python bench/bench_interference.py [--quick] [--no-scaling] [--threads 2] [--repeat 3] [--json out.json]

Every case runs in a fresh subprocess so its peak memory (RSS above the inputs)
is its own. Rows: plain sgemm W @ W2.T (W2 a copy, so BLAS cannot take the syrk
path; row blocks of 8192 into a preallocated output), nearortho with every reduction fused, chunked numpy (row blocks of 2048,
upper half, same statistics), naive numpy (dense G, mask, reduce; smaller size
only) and faiss IndexFlatIP (k=2 on [W; -W], per-row max only; smaller size
only, if importable). GFLOP/s count m*m*n flops for the symmetric half (sgemm
does 2*m*m*n). Unset OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE for the BLAS numbers.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import multiprocessing as mp
import os
import resource
import statistics
import time

import numpy as np

from harness import machine

BINS = 1024
THRESHOLDS = (0.1, 0.2)
BLOCK = 2048


@dataclasses.dataclass
class Case:
    method: str
    n: int
    m: int
    threads: int
    repeat: int


def _frame(n, m):
    import nearortho
    return nearortho.frame(n, m, "gaussian", seed=0, dtype="float32")  # unit rows, no temporaries


def run_sgemm(W, threads):
    """W @ W2.T in row blocks of at most 8192 into one preallocated buffer: the
    full product's flops at gemm speed, without a 16 GiB output at m = 65536 or
    page faults inside the timing."""
    W2 = W.copy()
    block = min(len(W), 8192)
    out = np.empty((block, len(W)), np.float32)
    out.fill(0.0)

    def go():
        for i in range(0, len(W), block):
            rows = W[i:i + block]
            np.matmul(rows, W2.T, out=out[:len(rows)])
    return go


def run_nearortho(W, threads):
    import nearortho
    return lambda: nearortho.interference(W, bins=BINS, thresholds=THRESHOLDS, threads=threads)


def run_chunked(W, threads):
    """The careful user's code: row blocks of the upper half, same statistics."""
    def go():
        m = len(W)
        hist = np.zeros(BINS, np.int64)
        counts = np.zeros(len(THRESHOLDS), np.int64)
        row_max = np.full(m, -1.0, np.float32)
        row_arg = np.full(m, -1, np.int64)
        row_sq = np.zeros(m)
        total = total_abs = total_sq = 0.0
        best = (-1.0, -1, -1)
        for i0 in range(0, m, BLOCK):
            i1 = min(m, i0 + BLOCK)
            G = W[i0:i1] @ W[i0:].T
            G[:, :i1 - i0][np.tril(np.ones((i1 - i0, i1 - i0), bool))] = np.nan  # j <= i
            A = np.abs(G)
            valid = ~np.isnan(G)
            g = G[valid]
            a = np.abs(g)
            total += float(g.sum(dtype=np.float64))
            total_abs += float(a.sum(dtype=np.float64))
            total_sq += float(np.dot(g.astype(np.float64), g))
            hist += np.bincount(np.minimum((a * BINS).astype(np.int64), BINS - 1), minlength=BINS)
            counts += [int(np.count_nonzero(a > t)) for t in THRESHOLDS]
            A[~valid] = -1.0
            flat = int(np.argmax(A))
            r, c = divmod(flat, A.shape[1])
            if A[r, c] > best[0]:
                best = (float(A[r, c]), i0 + r, i0 + c)
            Z = np.where(valid, G, 0.0) ** 2
            for axis, offset, size in ((1, i0, i1 - i0), (0, i0, m - i0)):
                mx, arg = A.max(axis=axis), A.argmax(axis=axis) + i0  # columns and rows both start at i0
                idx = np.arange(offset, offset + size)
                better = mx > row_max[idx]
                row_max[idx[better]] = mx[better]
                row_arg[idx[better]] = arg[better]
                row_sq[idx] += Z.sum(axis=axis)
        return best, hist, counts
    return go


def run_naive(W, threads):
    def go():
        m = len(W)
        G = W @ W.T
        g = G[np.triu(np.ones((m, m), bool), 1)]
        a = np.abs(g)
        A = np.abs(G)
        np.fill_diagonal(A, -1.0)
        return (a.max(), g.sum(dtype=np.float64), np.histogram(a, BINS, (0.0, 1.0))[0],
                A.max(axis=1), A.argmax(axis=1), (G * G).sum(axis=1) - 1.0)
    return go


def run_faiss(W, threads):
    import faiss
    faiss.omp_set_num_threads(threads)

    def go():
        index = faiss.IndexFlatIP(W.shape[1])
        index.add(np.vstack([W, -W]))
        D, _ = index.search(W, 2)  # the first hit is the row itself
        return D[:, 1]
    return go


METHODS = {"sgemm": run_sgemm, "nearortho": run_nearortho, "numpy_chunked": run_chunked,
           "numpy_naive": run_naive, "faiss_flatip": run_faiss}


def _measure(case: Case, queue):
    from threadpoolctl import threadpool_limits
    W = _frame(case.n, case.m)
    with threadpool_limits(case.threads):
        fn = METHODS[case.method](W, case.threads)
        base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        times = []
        for _ in range(case.repeat):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    queue.put({"times": times, "peak_mib": (peak - base) / 1024})


def measure(case: Case) -> dict:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_measure, args=(case, queue))
    proc.start()
    out = queue.get()
    proc.join()
    times = out["times"]
    median = statistics.median(times)
    flops = case.m * case.m * case.n
    return {**dataclasses.asdict(case), "median_s": median, "min_s": min(times), "max_s": max(times),
            "gflops_half": flops / median / 1e9, "peak_mib": out["peak_mib"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes, one repeat, no scaling table")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-scaling", action="store_true", help="skip the scaling table over m and n")
    parser.add_argument("--json", default="bench/results/interference.json")
    args = parser.parse_args()
    try:
        import faiss  # noqa: F401
        have_faiss = True
    except ImportError:
        have_faiss = False
    repeat = 1 if args.quick else args.repeat
    sizes = [(256, 4096), (512, 8192)] if args.quick else [(512, 16384), (1024, 32768)]
    cases = []
    for i, (n, m) in enumerate(sizes):
        methods = ["sgemm", "nearortho", "numpy_chunked"]
        if i == 0:
            methods += ["numpy_naive"] + (["faiss_flatip"] if have_faiss else [])
        cases += [Case(meth, n, m, args.threads, repeat) for meth in methods]
    if not (args.quick or args.no_scaling):
        for m in (8192, 16384, 32768, 65536):
            for n in (64, 256, 1024):
                if (n, m) not in sizes:
                    cases += [Case("sgemm", n, m, args.threads, 1), Case("nearortho", n, m, args.threads, 1)]
    results = []
    info = machine()
    print(f"{'method':<15}{'n':>6}{'m':>7}{'median s':>10}{'spread s':>18}{'GFLOP/s':>9}"
          f"{'vs sgemm':>9}{'speedup':>9}{'peak MiB':>10}")
    for case in cases:
        r = measure(case)
        same = {x["method"]: x for x in results if x["n"] == case.n and x["m"] == case.m}
        if "sgemm" in same:
            r["fraction_of_sgemm"] = r["gflops_half"] / (2 * same["sgemm"]["gflops_half"])
        if "nearortho" in same and case.method != "nearortho":
            r["nearortho_speedup"] = r["median_s"] / same["nearortho"]["median_s"]
        results.append(r)
        frac = f"{r['fraction_of_sgemm']:.2f}" if "fraction_of_sgemm" in r else "-"
        speed = f"{r['nearortho_speedup']:.1f}x" if "nearortho_speedup" in r else "-"
        spread = f"[{r['min_s']:.3f}, {r['max_s']:.3f}]"
        print(f"{case.method:<15}{case.n:>6}{case.m:>7}{r['median_s']:>10.3f}{spread:>18}"
              f"{r['gflops_half']:>9.1f}{frac:>9}{speed:>9}{r['peak_mib']:>10.0f}", flush=True)
        os.makedirs(os.path.dirname(args.json) or ".", exist_ok=True)
        with open(args.json, "w") as f:  # after every case, so a cut-short run keeps its rows
            json.dump({"machine": info, "results": results}, f, indent=2)
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
