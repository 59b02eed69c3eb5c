"""Streaming a dictionary larger than memory (issue 11, part 6).

    python bench/bench_streaming.py [--n 768] [--m 1000000] [--budget-mib 256,1024] [--seconds 180]
                                    [--compare-m 65536] [--threads 2] [--repeat 1] [--dir /tmp/nearortho_stream]

Two measurements, each case in a fresh spawned process:

1. Peak extra memory against the ``memory=`` budget at (m, n) float32 read from a
   ``.npy`` file with ``interference(path, topk=..., memory=budget)``: the RSS
   high-water mark (VmHWM) above the process's RSS before the call, after a
   small warm-up call (the file is read with pread, so the page cache does not
   count). The full pass at m = 10^6 takes
   over an hour on 2 cores, so a progress callback cancels it after ``--seconds``;
   the measured rate (tiles per second after the first block pair started) gives
   an extrapolated full time, reported as extrapolated. The time at another n is
   extrapolated from the flop count, 2 n flops per pair.
2. Streamed against in-memory time at (compare_m, n): the same pass on the array
   in memory (packed whole) and on the file with a budget small enough to force
   several blocks.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import time

import numpy as np

from harness import RESULTS, isolated, load_average, machine, without_blas_overrides


def warm_up(threads: int) -> float:
    """Starts the thread pool and loads what a first call loads; returns the RSS after."""
    import nearortho

    nearortho.interference(np.random.default_rng(0).standard_normal((300, 8)), topk=4, threads=threads)
    return rss_mib()


def rss_mib() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * resource.getpagesize() / 2**20


def peak_rss_mib() -> float:
    """This process's RSS high-water mark (VmHWM: unlike ru_maxrss it does not keep
    what the parent held when it forked this process)."""
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def write_frame(path: str, n: int, m: int) -> None:
    """A gaussian frame written to .npy in row blocks (never whole in memory)."""
    import nearortho

    if os.path.exists(path) and np.load(path, mmap_mode="r").shape == (m, n):
        print(f"reusing {path} (delete it, or pass another --dir, to write it anew)", flush=True)
        return
    out = np.lib.format.open_memmap(path + ".tmp", mode="w+", dtype=np.float32, shape=(m, n))
    step = 65536
    for start in range(0, m, step):
        out[start:start + step] = nearortho.frame(n, m, "gaussian", seed=1, rows=slice(start, min(m, start + step)))
    out.flush()
    del out
    os.replace(path + ".tmp", path)


def cancelled_run(path: str, budget: int, seconds: float, threads: int, queue) -> None:
    import nearortho

    base = warm_up(threads)
    marks = []
    start = time.perf_counter()

    class Enough(Exception):
        pass

    def progress(done, total):
        marks.append((time.perf_counter() - start, done, total))
        if time.perf_counter() - start > seconds:
            raise Enough

    try:
        nearortho.interference(path, topk=4, threads=threads, memory=budget, progress=progress)
        finished = True
    except Enough:
        finished = False
    peak = peak_rss_mib()
    queue.put({"base_mib": base, "peak_extra_mib": peak - base, "marks": marks, "finished": finished})


def timed_run(source: str, budget, threads: int, repeat: int, queue) -> None:
    import nearortho

    W = np.load(source) if budget is None else source  # in memory: the array; streamed: the path
    base = warm_up(threads)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        stats = nearortho.interference(W, topk=4, threads=threads, memory=budget)
        times.append(time.perf_counter() - start)
    peak = peak_rss_mib()
    queue.put({"times": times, "peak_extra_mib": peak - base, "coherence": stats.coherence,
               "pair": stats.pair})


def rate(marks: list) -> tuple[float, float]:
    """Tiles per second over the reports after the first tile started, and the
    time to that first tile (the pre-pass reading every row, the first block packed)."""
    started = [(t, done) for t, done, _ in marks if done > 0]
    if len(started) < 2:
        return float("nan"), float("nan")
    (t0, d0), (t1, d1) = started[0], started[-1]
    return (d1 - d0) / (t1 - t0), t0


def main() -> None:
    without_blas_overrides()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=768)
    parser.add_argument("--m", type=int, default=1_000_000)
    parser.add_argument("--budget-mib", default="256,1024")
    parser.add_argument("--seconds", type=float, default=180)
    parser.add_argument("--compare-m", type=int, default=65536)
    parser.add_argument("--compare-budget-mib", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--dir", default="/tmp/nearortho_stream")
    parser.add_argument("--json", default=os.path.join(RESULTS, "streaming.json"))
    args = parser.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    record = {"machine": machine(), "streaming": [], "compare": []}
    print(f"load average {load_average()}  isa {record['machine']['nearortho']['isa']}", flush=True)

    big = os.path.join(args.dir, f"frame_{args.m}x{args.n}.npy")
    write_frame(big, args.n, args.m)
    tiles = -(-args.m // 144)
    total_tiles = tiles * (tiles + 1) // 2
    for mib in (int(x) for x in args.budget_mib.split(",")):
        load = load_average()
        out = isolated(cancelled_run, big, mib << 20, args.seconds, args.threads)
        tiles_per_s, first = rate(out["marks"])
        full_s = first + total_tiles / tiles_per_s
        flops = 2.0 * 144 * 144 * args.n * tiles_per_s
        row = {"m": args.m, "n": args.n, "budget_mib": mib, "file_mib": os.path.getsize(big) / 2**20,
               "peak_extra_mib": round(out["peak_extra_mib"], 1), "first_tile_s": round(first, 1),
               "tiles_per_s": round(tiles_per_s, 1), "gflops": round(flops / 1e9, 1),
               "extrapolated_full_s": round(full_s), "extrapolated_full_s_n4096": round(full_s * 4096 / args.n),
               "ran_s": round(out["marks"][-1][0], 1), "load_before": load, "load_after": load_average()}
        record["streaming"].append(row)
        print(json.dumps(row), flush=True)

    small = os.path.join(args.dir, f"frame_{args.compare_m}x{args.n}.npy")
    write_frame(small, args.n, args.compare_m)
    for label, budget in (("in memory", None), ("streamed", args.compare_budget_mib << 20)):
        load = load_average()
        out = isolated(timed_run, small, budget, args.threads, args.repeat)
        row = {"case": label, "m": args.compare_m, "n": args.n, "budget_mib": budget and budget >> 20,
               "times_s": [round(t, 2) for t in out["times"]], "peak_extra_mib": round(out["peak_extra_mib"], 1),
               "coherence": out["coherence"], "pair": out["pair"], "load_before": load, "load_after": load_average()}
        record["compare"].append(row)
        print(json.dumps(row, default=str), flush=True)
    os.makedirs(os.path.dirname(args.json), exist_ok=True)
    with open(args.json, "w") as handle:
        json.dump(record, handle, indent=2, default=str)


if __name__ == "__main__":
    main()
