"""Gaussian frame generation against numpy, in one run.

Run: ``python bench/bench_frame.py [--quick]`` (OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE
do not matter here: no BLAS call is timed). Baselines: the numpy code users write
(standard_normal then row normalisation, into fresh memory) and numpy at its best
(two Generators on two threads, into existing memory). Each speedup is against
numpy writing into the same kind of memory: fresh or existing.
"""
from __future__ import annotations

import argparse
import threading

import numpy as np

import nearortho
from harness import load_average, measure, save, table


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
    rows = table_rows(timings, n, m)
    print(f"ISA {nearortho.build_info()['isa']}, load average {load_average()} (other work skews timings)")
    print(table(rows, ["case", "median_s", "spread_s", "GB_per_s", "speedup_vs_numpy"]))
    print("saved", save("frame", rows))


def table_rows(timings: dict, n: int, m: int) -> list:
    """One row per case; each speedup against numpy writing to the same kind of
    memory (fresh pages cost first touches that existing ones do not)."""
    numpy = {"fresh": timings["numpy user code, fresh memory"].median,
             "existing": timings["numpy 2 generators x 2 threads, existing memory"].median}
    return [{"case": name, "n": n, "m": m, "median_s": round(t.median, 4), "spread_s": t.spread,
             "GB_per_s": round(m * n * 4 / 1e9 / t.median, 2),
             "speedup_vs_numpy": round(numpy["fresh" if "fresh" in name else "existing"] / t.median, 2)}
            for name, t in timings.items()]


if __name__ == "__main__":
    main()
