"""Benchmark: nearortho.simulate against a batched numpy readout Monte Carlo.

Run: python bench/bench_simulate.py [--repeat 3] [--json out.json] [--png out.png] [--quick] [--isa avx2,scalar]
Cases: the issue's (m=16384, n=512, l=32, 10,000 trials: the dense path) and one
with many more trials than features (the gram path). For each: median, min and
max of the repeats, the ratio numpy / nearortho, the dense-equivalent GFLOP/s
(2 trials m n / time), and the BLAS yardstick: numpy's X @ W.T alone for the same
trials; nearortho once per ISA in --isa. The implementations run in turns, repeat
by repeat, so a change in the machine's load falls on each alike. Each case runs
in a process of its own, with OPENBLAS_L2_SIZE unset and numpy's OpenBLAS on the
kernel whose product ran fastest in a probe (its own choice and, on an AVX-512
CPU, its Haswell kernel, 10% faster for the dense case's product on a Zen 4).
Writes the numbers, the machine (ISA, BLAS, load average before the run) as
JSON and a PNG of time against trials m n and the fraction of BLAS per ISA.
"""
from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import sys

import numpy as np

import nearortho as no
from bench_interference import BLAS_ENV, default_gemm_coretypes
from harness import RESULTS, isolated, load_average, machine, measure_in_turns, readable_log_x


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


def blas_yardstick(W: np.ndarray, case: Case, out: np.ndarray) -> None:
    """numpy's readout product alone, batch by batch (what the dense path competes
    with), into ``out`` (batch, m), allocated once: a fresh product of this size
    comes back from the OS as new pages, whose faults are not BLAS's speed."""
    X = np.random.default_rng(0).standard_normal((case.batch, case.n)).astype(W.dtype)
    for begin in range(0, case.trials, case.batch):
        rows = min(case.batch, case.trials - begin)
        np.matmul(X[:rows], W.T, out=out[:rows])


@contextlib.contextmanager
def blas_kernel(coretype: str):
    """The processes started inside run with OPENBLAS_CORETYPE = coretype ('': unset,
    OpenBLAS's own choice) and OPENBLAS_L2_SIZE unset (OpenBLAS reads them when it loads)."""
    saved = {name: os.environ.pop(name) for name in BLAS_ENV if name in os.environ}
    if coretype:
        os.environ["OPENBLAS_CORETYPE"] = coretype
    try:
        yield
    finally:
        os.environ.pop("OPENBLAS_CORETYPE", None)
        os.environ.update(saved)


def blas_kernel_name() -> str:
    from threadpoolctl import threadpool_info
    return next((p.get("architecture") or "" for p in threadpool_info() if p.get("user_api") == "blas"), "")


def _probe_yardstick(case: Case, queue) -> None:
    """In a process of its own: the BLAS kernel and the fastest of three yardstick runs."""
    import time

    W = no.frame(case.n, case.m, seed=1)
    product = np.zeros((case.batch, case.m), W.dtype)
    blas_yardstick(W, case, product)  # untimed: first touch, BLAS start-up
    times = []
    for _ in range(3):
        start = time.perf_counter()
        blas_yardstick(W, case, product)
        times.append(time.perf_counter() - start)
    queue.put((blas_kernel_name(), min(times)))


def fastest_kernel(case: Case) -> tuple:
    """The OPENBLAS_CORETYPE ('' for OpenBLAS's own choice) under which numpy's
    product for the case ran fastest, and each one's probe: (kernel, seconds)."""
    probes = {}
    for coretype in default_gemm_coretypes():
        with blas_kernel(coretype):
            probes[coretype] = isolated(_probe_yardstick, case)
    return min(probes, key=lambda c: probes[c][1]), probes


def _run_case_in_process(case: Case, repeat: int, isas: list, queue) -> None:
    queue.put({**run_case(case, repeat, isas), "blas_kernel": blas_kernel_name()})


def run_case(case: Case, repeat: int, isas: list) -> dict:
    W = no.frame(case.n, case.m, seed=1)
    load = load_average()
    no.simulate(W, case.l, trials=64, threads=case.threads)  # warm up (first touch, rebuild check)
    product = np.zeros((case.batch, case.m), W.dtype)  # the yardstick's output, its pages touched

    def ours_with(isa):  # nearortho capped at one ISA, restored after each call
        def run():
            previous = no.set_max_isa(isa)
            try:
                no.simulate(W, case.l, trials=case.trials, threads=case.threads)
            finally:
                no.set_max_isa(previous)
        return run

    names = {}
    for isa in isas:
        previous = no.set_max_isa(isa)
        names[no.build_info()["isa"]] = isa
        no.set_max_isa(previous)
    timed = measure_in_turns({**{name: ours_with(isa) for name, isa in names.items()},
                              "numpy batched": lambda: numpy_simulate(W, case, seed=0),
                              "numpy X @ W.T only": lambda: blas_yardstick(W, case, product)}, repeat=repeat,
                             warmup=0)
    ours = {name: timed[name] for name in names}
    theirs, blas = timed["numpy batched"], timed["numpy X @ W.T only"]
    stats = no.simulate(W, case.l, trials=case.trials, threads=case.threads)
    check = numpy_simulate(W, case, seed=0)
    flops = 2.0 * case.trials * case.m * case.n
    rows = []
    timed = [(f"nearortho.simulate ({isa})", t) for isa, t in ours.items()]
    for name, t in timed + [("numpy batched", theirs), ("numpy X @ W.T only", blas)]:
        rows.append(dict(name=name, median_s=t.median, min_s=t.low, max_s=t.high, gflops=flops / t.median / 1e9))
    best = rows[0]
    return dict(case=dataclasses.asdict(case), path=stats.path, results=rows, load_before=load,
                ratio=theirs.median / best["median_s"],
                fraction_of_blas={isa: blas.median / t.median for isa, t in ours.items()},
                inactive_std=dict(nearortho=stats.inactive_std, numpy=check["inactive_std"]),
                false_positive_rate=dict(nearortho=stats.false_positive_rate, numpy=check["false_positive_rate"]))


def plot(reports: list, path: str) -> None:
    """Time against trials m n (log-log) per implementation, and nearortho's fraction
    of BLAS per ISA."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    size = [r["case"]["trials"] * r["case"]["m"] * r["case"]["n"] for r in reports]
    for name in [row["name"] for row in reports[0]["results"]]:
        left.loglog(size, [next(x["median_s"] for x in r["results"] if x["name"] == name) for r in reports],
                    "o", label=name)
    left.set_xlabel("trials m n")
    left.set_ylabel("median time (s)")
    left.legend(fontsize=7)
    for isa in reports[0]["fraction_of_blas"]:
        right.semilogx(size, [r["fraction_of_blas"][isa] for r in reports], "o", label=isa)
    for s, r in zip(size, reports):
        right.annotate(r["path"], (s, r["fraction_of_blas"][next(iter(r["fraction_of_blas"]))]), fontsize=7)
    right.axhline(0.85, color="grey", lw=0.8, ls="--")
    right.set_xlabel("trials m n")
    right.set_ylabel("fraction of BLAS (X @ W.T alone)")
    right.legend(fontsize=7)
    readable_log_x(left, right)
    fig.suptitle(f"simulate, load average before {reports[0]['load_before']}", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="a tenth of the trials")
    parser.add_argument("--threads", type=int, default=Case.threads,
                        help="nearortho threads (set OPENBLAS_NUM_THREADS to match for numpy)")
    parser.add_argument("--isa", default="", help="comma-separated ISA caps for nearortho (default: the best)")
    parser.add_argument("--json", default=os.path.join(RESULTS, "simulate.json"))
    parser.add_argument("--png", default=None, help="default: the --json path with .png")
    args = parser.parse_args()
    isas = args.isa.split(",") if args.isa else [no.build_info()["isa"]]
    info = machine()
    print(f"machine: {info['cpu']}, ISA {info['nearortho']['isa']}, load average {info['load_average']} "
          f"(other work on the machine skews timings)")
    reports = []
    for case in CASES:
        case = dataclasses.replace(case, threads=args.threads)
        if args.quick:
            case = dataclasses.replace(case, trials=case.trials // 10)
        coretype, probes = fastest_kernel(case)
        with blas_kernel(coretype):
            r = isolated(_run_case_in_process, case, args.repeat, isas)
        r["blas_probes"] = {kernel: seconds for kernel, seconds in probes.values()}
        reports.append(r)
        c = r["case"]
        probed = ", ".join(f"{kernel} {seconds:.3f} s" for kernel, seconds in probes.values())
        print(f"\nsimulate n={c['n']} m={c['m']} l={c['l']} trials={c['trials']} threads={c['threads']} "
              f"(path: {r['path']}); numpy's BLAS kernel {r['blas_kernel']} (its product alone: {probed})")
        print(f"{'implementation':22s} {'median s':>9s} {'min s':>8s} {'max s':>8s} {'GFLOP/s*':>9s}")
        for row in r["results"]:
            print(f"{row['name']:22s} {row['median_s']:9.3f} {row['min_s']:8.3f} {row['max_s']:8.3f} "
                  f"{row['gflops']:9.1f}")
        fractions = ", ".join(f"{isa} {f:.2f}" for isa, f in r["fraction_of_blas"].items())
        print(f"ratio numpy / nearortho: {r['ratio']:.2f}x; fraction of BLAS speed (numpy's product "
              f"alone over nearortho): {fractions}; load average before {r['load_before']}")
        print(f"inactive std {r['inactive_std']['nearortho']:.5f} (numpy {r['inactive_std']['numpy']:.5f}), "
              f"FP rate {r['false_positive_rate']['nearortho']:.5f} (numpy {r['false_positive_rate']['numpy']:.5f})")
    print("* dense-equivalent: 2 trials m n / time")
    os.makedirs(os.path.dirname(args.json) or ".", exist_ok=True)
    with open(args.json, "w") as f:
        json.dump(dict(cases=reports, machine=info), f, indent=2)
    png = args.png or os.path.splitext(args.json)[0] + ".png"
    plot(reports, png)
    print(f"wrote {args.json} and {png}")


if __name__ == "__main__":
    main()
