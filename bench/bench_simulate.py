"""Benchmark: nearortho.simulate against a batched numpy readout Monte Carlo.

Run: python bench/bench_simulate.py [--repeat 3] [--json out.json] [--quick]
Cases: the issue's (m=16384, n=512, l=32, 10,000 trials: the dense path) and one
with many more trials than features (the gram path). For each: median, min and
max of the repeats, the ratio numpy / nearortho, the dense-equivalent GFLOP/s
(2 trials m n / time), and the BLAS yardstick: numpy's X @ W.T alone for the same
trials. Writes the numbers and the machine's description as JSON.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os

import numpy as np

import nearortho as no
from harness import machine, measure


@dataclasses.dataclass
class Case:
    n: int = 512
    m: int = 16384
    l: int = 32
    trials: int = 10_000
    threads: int = 2
    batch: int = 1000  # numpy trials per batch
    bins: int = 256


CASES = (Case(), Case(m=4096, l=8, trials=20_000))


def numpy_simulate(W: np.ndarray, case: Case, seed: int, threshold: float = 0.5) -> dict:
    """The batched numpy implementation a user would write (same outputs as simulate)."""
    rng = np.random.default_rng(seed)
    m, l = case.m, case.l
    totals = dict(inactive_sum=0.0, inactive_sumsq=0.0, fp=0, fn=0, err_sum=0.0, err_sumsq=0.0,
                  hist=np.zeros(case.bins, dtype=np.int64))
    for begin in range(0, case.trials, case.batch):
        b = min(case.batch, case.trials - begin)
        idx = rng.integers(0, m, size=(b, l))
        while True:  # redraw the few rows with a repeated feature
            s = np.sort(idx, axis=1)
            bad = np.nonzero((s[:, 1:] == s[:, :-1]).any(axis=1))[0]
            if bad.size == 0:
                break
            idx[bad] = rng.integers(0, m, size=(bad.size, l))
        X = W[idx].sum(axis=1)
        R = X @ W.T
        active = np.zeros((b, m), dtype=bool)
        active[np.arange(b)[:, None], idx] = True
        inactive = R[~active]
        on = R[active]
        totals["inactive_sum"] += float(inactive.sum(dtype=np.float64))
        totals["inactive_sumsq"] += float(np.dot(inactive.astype(np.float64), inactive.astype(np.float64)))
        totals["fp"] += int(np.count_nonzero(inactive > threshold))
        totals["fn"] += int(np.count_nonzero(on <= threshold))
        err = on.astype(np.float64) - 1.0
        totals["err_sum"] += float(err.sum())
        totals["err_sumsq"] += float(err @ err)
        totals["hist"] += np.histogram(inactive, bins=case.bins, range=(-1.0, 1.0))[0]
    count = case.trials * (m - l)
    mean = totals["inactive_sum"] / count
    return dict(inactive_std=float(np.sqrt(totals["inactive_sumsq"] / count - mean * mean)),
                false_positive_rate=totals["fp"] / count)


def blas_yardstick(W: np.ndarray, case: Case) -> None:
    """numpy's readout product alone, batch by batch (what the dense path competes with)."""
    X = np.random.default_rng(0).standard_normal((case.batch, case.n)).astype(W.dtype)
    for begin in range(0, case.trials, case.batch):
        X[: min(case.batch, case.trials - begin)] @ W.T


def run_case(case: Case, repeat: int) -> dict:
    W = no.frame(case.n, case.m, seed=1)
    no.simulate(W, case.l, trials=64, threads=case.threads)  # warm up (first touch, rebuild check)
    ours = measure(lambda: no.simulate(W, case.l, trials=case.trials, threads=case.threads), repeat=repeat, warmup=0)
    theirs = measure(lambda: numpy_simulate(W, case, seed=0), repeat=repeat, warmup=0)
    blas = measure(lambda: blas_yardstick(W, case), repeat=repeat, warmup=0)
    stats = no.simulate(W, case.l, trials=case.trials, threads=case.threads)
    check = numpy_simulate(W, case, seed=0)
    flops = 2.0 * case.trials * case.m * case.n
    rows = []
    for name, t in (("nearortho.simulate", ours), ("numpy batched", theirs), ("numpy X @ W.T only", blas)):
        rows.append(dict(name=name, median_s=t.median, min_s=t.low, max_s=t.high, gflops=flops / t.median / 1e9))
    return dict(case=dataclasses.asdict(case), path=stats.path, results=rows,
                ratio=rows[1]["median_s"] / rows[0]["median_s"],
                fraction_of_blas=rows[2]["median_s"] / rows[0]["median_s"],
                inactive_std=dict(nearortho=stats.inactive_std, numpy=check["inactive_std"]),
                false_positive_rate=dict(nearortho=stats.false_positive_rate, numpy=check["false_positive_rate"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="a tenth of the trials")
    parser.add_argument("--threads", type=int, default=Case.threads,
                        help="nearortho threads (set OPENBLAS_NUM_THREADS to match for numpy)")
    parser.add_argument("--json", default="bench/results/simulate.json")
    args = parser.parse_args()
    reports = []
    for case in CASES:
        case = dataclasses.replace(case, threads=args.threads)
        if args.quick:
            case = dataclasses.replace(case, trials=case.trials // 10)
        r = run_case(case, args.repeat)
        reports.append(r)
        c = r["case"]
        print(f"\nsimulate n={c['n']} m={c['m']} l={c['l']} trials={c['trials']} threads={c['threads']} "
              f"(path: {r['path']})")
        print(f"{'implementation':22s} {'median s':>9s} {'min s':>8s} {'max s':>8s} {'GFLOP/s*':>9s}")
        for row in r["results"]:
            print(f"{row['name']:22s} {row['median_s']:9.3f} {row['min_s']:8.3f} {row['max_s']:8.3f} "
                  f"{row['gflops']:9.1f}")
        print(f"ratio numpy / nearortho: {r['ratio']:.2f}x (goal >= 10x); nearortho time vs numpy's product "
              f"alone: {r['fraction_of_blas']:.2f}x BLAS speed")
        print(f"inactive std {r['inactive_std']['nearortho']:.5f} (numpy {r['inactive_std']['numpy']:.5f}), "
              f"FP rate {r['false_positive_rate']['nearortho']:.5f} (numpy {r['false_positive_rate']['numpy']:.5f})")
    print("* dense-equivalent: 2 trials m n / time")
    os.makedirs(os.path.dirname(args.json) or ".", exist_ok=True)
    with open(args.json, "w") as f:
        json.dump(dict(cases=reports, machine=machine()), f, indent=2)


if __name__ == "__main__":
    main()
