"""Side-by-side benchmark of what SAE researchers compute on decoders (issue 11).

    python bench/bench_dictionary.py [--n 768] [--m 16384] [--match-m 16384] [--dense-m 2048,4096]
                                     [--match-pairs related,random] [--pairs-threshold 0.125]
                                     [--only METHOD,...]
                                     [--threads 2] [--repeat 3] [--json bench/results/dictionary.json]

Per-feature max |cos| of one (m, n) dictionary: nearortho.interference (one
fused pass, per-row statistics) against the SAEBench-style torch loop
(normalise, then chunks of 100 rows: chunk @ W.T, mask the diagonal, max of
|cos|; numpy when torch is missing) and the same loop with chunks of 4096.
Matching of two dictionaries: nearortho.match against the dense Hungarian
method (float64 |A B^T|, then scipy's linear_sum_assignment) where that fits,
on two kinds of pairs: "related" (B a permuted copy of A plus noise, like
two seeds of one SAE) and "random" (independent frames: the hard case for the
candidate lists). Near-duplicate pairs: nearortho.pairs of one dictionary
above --pairs-threshold (0.125 at n = 768 is about 3.5 standard deviations
of a random cosine: some 35 partners per row). Every case runs in a fresh subprocess; peak MiB is its
RSS high-water mark above the inputs. The script reruns itself without
OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE so numpy's BLAS picks its best kernel.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import resource
import statistics
import time

import numpy as np

from harness import RESULTS, isolated, load_average, machine, without_blas_overrides


@dataclasses.dataclass
class Case:
    method: str
    n: int
    m: int
    pair: str
    threads: int
    repeat: int
    threshold: float = 0.0  # pairs only


def _dictionaries(case: Case):
    import nearortho

    A = nearortho.frame(case.n, case.m, "gaussian", seed=0)
    if case.pair == "random":
        return A, nearortho.frame(case.n, case.m, "gaussian", seed=1)
    rng = np.random.default_rng(2)
    noise = rng.standard_normal((case.m, case.n), np.float32) * np.float32(0.5 / np.sqrt(case.n))
    return A, A[rng.permutation(case.m)] + noise  # float32, like A


def max_cos_nearortho(A, B, threads):
    import nearortho

    return lambda: nearortho.interference(A, per_row=True, threads=threads).row_max


def _max_cos_loop(chunk):
    def method(A, B, threads):
        try:
            import torch
        except ImportError:
            torch = None
        if torch is None:
            W = A / np.linalg.norm(A, axis=1, keepdims=True)

            def go():
                out = np.empty(len(W), np.float32)
                for i in range(0, len(W), chunk):
                    sims = np.abs(W[i:i + chunk] @ W.T)
                    rows = np.arange(len(sims))
                    sims[rows, rows + i] = -1.0
                    out[i:i + chunk] = sims.max(axis=1)
                return out
            return go
        torch.set_num_threads(threads)
        W = torch.nn.functional.normalize(torch.from_numpy(A), dim=1)

        def go():
            out = torch.empty(len(W))
            with torch.no_grad():
                for i in range(0, len(W), chunk):
                    sims = (W[i:i + chunk] @ W.T).abs_()
                    rows = torch.arange(len(sims))
                    sims[rows, rows + i] = -1.0
                    out[i:i + chunk] = sims.max(dim=1).values
            return out
        return go
    return method


def match_nearortho(A, B, threads):
    import scipy.sparse.csgraph  # noqa: F401 - imported before the clock starts

    import nearortho

    def go():
        result = nearortho.match(A, B, threads=threads)
        return {"certified": result.certified, "gap": result.gap, "k": result.k, "mean": result.mean,
                "candidates": result.candidates}
    return go


def pairs_nearortho(A, B, threads, threshold):
    import nearortho

    def go():
        i, _, _ = nearortho.pairs(A, threshold, max_pairs=1 << 28, threads=threads)
        return {"pairs": len(i)}
    return go


def match_dense(A, B, threads):
    from scipy.optimize import linear_sum_assignment

    def go():
        unit = lambda X: X / np.linalg.norm(X, axis=1, keepdims=True)  # noqa: E731
        weight = np.abs(unit(A.astype(np.float64)) @ unit(B.astype(np.float64)).T)
        rows, cols = linear_sum_assignment(weight, maximize=True)
        return {"mean": float(weight[rows, cols].mean())}
    return go


METHODS = {"maxcos_nearortho": max_cos_nearortho, "maxcos_loop_100": _max_cos_loop(100),
           "maxcos_loop_4096": _max_cos_loop(4096), "match_nearortho": match_nearortho,
           "match_dense_hungarian": match_dense, "pairs_nearortho": pairs_nearortho}


def _rss_mib() -> float:
    with open("/proc/self/status") as handle:
        return next(int(line.split()[1]) for line in handle if line.startswith("VmRSS")) / 1024


def _measure(case: Case, queue):
    from threadpoolctl import threadpool_limits

    A, B = _dictionaries(case)
    with threadpool_limits(case.threads):
        extra = (case.threshold,) if case.method == "pairs_nearortho" else ()
        fn = METHODS[case.method](A, B, case.threads, *extra)
        base = _rss_mib()
        times, info = [], None
        for _ in range(case.repeat):
            t0 = time.perf_counter()
            info = fn()
            times.append(time.perf_counter() - t0)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    queue.put({"times": times, "peak_mib": peak - base, "info": info if isinstance(info, dict) else None})


def measure(case: Case) -> dict:
    out = isolated(_measure, case)
    times = out["times"]
    return {**dataclasses.asdict(case), "median_s": statistics.median(times), "min_s": min(times),
            "max_s": max(times), "peak_mib": out["peak_mib"], **(out["info"] or {}),
            "gflops": 2.0 * case.m * case.m * case.n / statistics.median(times) / 1e9}


def main() -> None:
    without_blas_overrides()
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=768)
    parser.add_argument("--m", type=int, default=16384, help="rows for the per-feature max cosine")
    parser.add_argument("--match-m", type=int, default=16384, help="rows of each dictionary for match")
    parser.add_argument("--dense-m", default="2048,4096", help="sizes where the dense Hungarian also runs")
    parser.add_argument("--match-pairs", default="related,random", help="kinds of pairs matched at --match-m")
    parser.add_argument("--pairs-threshold", type=float, default=0.125)
    parser.add_argument("--only", default="", help="run only these methods (comma-separated)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", default=os.path.join(RESULTS, "dictionary.json"))
    args = parser.parse_args()
    cases = [Case(method, args.n, args.m, "-", args.threads, args.repeat)
             for method in ("maxcos_nearortho", "maxcos_loop_4096", "maxcos_loop_100")]
    for m in [int(x) for x in args.dense_m.split(",") if x]:
        for pair in ("related", "random"):
            cases += [Case("match_nearortho", args.n, m, pair, args.threads, args.repeat),
                      Case("match_dense_hungarian", args.n, m, pair, args.threads, 1)]
    cases += [Case("match_nearortho", args.n, args.match_m, pair, args.threads, 1)
              for pair in args.match_pairs.split(",")]
    cases.append(Case("pairs_nearortho", args.n, args.m, "-", args.threads, 1, args.pairs_threshold))
    if args.only:
        cases = [c for c in cases if c.method in args.only.split(",")]
    info = machine()
    info["load_average"] = load_average()
    print(f"load average {info['load_average']}, ISA {info['nearortho']['isa']}")
    print(f"{'method':<23}{'n':>5}{'m':>7}{'pair':>9}{'median s':>10}{'spread s':>18}{'GFLOP/s':>9}"
          f"{'ratio':>8}{'peak MiB':>10}  notes")
    results = []
    for case in cases:
        r = measure(case)
        base = next((x for x in results if x["method"].split("_")[0] == case.method.split("_")[0]
                     and x["method"].endswith("nearortho") and x["m"] == case.m and x["pair"] == case.pair), None)
        r["time_vs_nearortho"] = r["median_s"] / base["median_s"] if base else None
        results.append(r)
        ratio = f"{r['time_vs_nearortho']:.1f}x" if r["time_vs_nearortho"] else "-"
        notes = {key: r[key] for key in ("certified", "gap", "k", "mean", "candidates", "pairs") if key in r}
        spread = f"[{r['min_s']:.2f}, {r['max_s']:.2f}]"
        print(f"{case.method:<23}{case.n:>5}{case.m:>7}{case.pair:>9}{r['median_s']:>10.2f}{spread:>18}"
              f"{r['gflops']:>9.1f}{ratio:>8}{r['peak_mib']:>10.0f}  {notes}", flush=True)
        os.makedirs(os.path.dirname(args.json) or ".", exist_ok=True)
        with open(args.json, "w") as handle:  # after every case, so a cut-short run keeps its rows
            json.dump({"machine": info, "results": results}, handle, indent=2, default=str)
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
