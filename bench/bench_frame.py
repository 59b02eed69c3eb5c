"""Gaussian frame generation against numpy, in one run.

Run: ``python bench/bench_frame.py [--quick]`` (OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE
do not matter here: no BLAS call is timed). Baselines: the numpy code users write
(standard_normal then row normalisation, into fresh memory) and numpy at its best
(two Generators on two threads, into existing memory).
"""
from __future__ import annotations

import argparse
import threading

import numpy as np

import nearortho
from harness import measure, save, table


def numpy_user(n, m, seed):
    W = np.random.default_rng(seed).standard_normal((m, n), dtype=np.float32)
    W /= np.linalg.norm(W, axis=1, keepdims=True)
    return W


def numpy_two_threads(out, seed):
    def work(part, rng):
        rng.standard_normal(out=part, dtype=np.float32)
        part /= np.linalg.norm(part, axis=1, keepdims=True)

    halves = np.array_split(out, 2)
    rngs = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2)]
    workers = [threading.Thread(target=work, args=(h, r)) for h, r in zip(halves, rngs)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="m = 100,000 instead of 1,000,000")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    n, m = 256, (100_000 if args.quick else 1_000_000)
    gigabytes = m * n * 4 / 1e9
    out = np.empty((m, n), np.float32)
    out.fill(0)  # touch the pages once so "existing memory" excludes first-touch cost
    cases = {
        "numpy user code, fresh memory": lambda: numpy_user(n, m, 0),
        "numpy 2 generators x 2 threads, existing memory": lambda: numpy_two_threads(out, 0),
        "nearortho, fresh memory": lambda: nearortho.frame(n, m, seed=0),
        "nearortho 1 thread, existing memory": lambda: nearortho.frame(n, m, seed=0, out=out, threads=1),
        "nearortho 2 threads, existing memory": lambda: nearortho.frame(n, m, seed=0, out=out, threads=2),
    }
    timings = {name: measure(fn, repeat=args.repeat) for name, fn in cases.items()}
    base = timings["numpy user code, fresh memory"].median
    rows = [{"case": name, "n": n, "m": m, "median_s": round(t.median, 4), "spread_s": t.spread,
             "GB_per_s": round(gigabytes / t.median, 2), "speedup_vs_numpy_user": round(base / t.median, 2)}
            for name, t in timings.items()]
    print(table(rows, ["case", "median_s", "spread_s", "GB_per_s", "speedup_vs_numpy_user"]))
    print("saved", save("frame", rows))


if __name__ == "__main__":
    main()
