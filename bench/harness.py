"""Shared benchmark harness: the same timer for baseline and candidate, medians
with spread, and a JSON record that names the machine it ran on."""
from __future__ import annotations

import json
import os
import statistics
import sys
import time
from dataclasses import asdict, dataclass

import nearortho
from nearortho.report.system import cpu_model

# These benchmarks measure the CPU core (bench_cuda.py measures the GPU): "auto"
# would take a GPU where nearortho._cuda sees one. Case subprocesses inherit it.
os.environ.setdefault("NEARORTHO_BACKEND", "cpu")


@dataclass
class Timing:
    median: float
    low: float
    high: float
    repeats: int

    @property
    def spread(self) -> str:
        return f"{self.low:.3g}..{self.high:.3g}"


def measure(fn, *, repeat: int = 5, warmup: int = 1, setup=None) -> Timing:
    """Median wall time of ``fn()`` over ``repeat`` runs (``setup()`` untimed before each)."""
    for _ in range(warmup):
        if setup:
            setup()
        fn()
    times = []
    for _ in range(repeat):
        if setup:
            setup()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return Timing(statistics.median(times), min(times), max(times), repeat)


# A pause before each call timed in turns: numpy's OpenBLAS keeps its threads
# spinning for about 2^28 cycles after a call (0.07-0.13 s), so a call that follows
# at once shares the cores with them (on a 2-core Zen 4, nearortho at (64, 16384)
# took 0.198 s straight after a gemm and 0.142 s after a pause).
SETTLE_SECONDS = 0.3


def measure_in_turns(fns: dict, *, repeat: int = 5, warmup: int = 1) -> dict:
    """measure() for several callables run in turns (a, b, c, a, b, c, ...), so that a
    change in the load of a shared machine falls on each alike and their ratios hold.
    Returns a Timing per name."""
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    times = {name: [] for name in fns}
    for _ in range(repeat):
        for name, fn in fns.items():
            time.sleep(SETTLE_SECONDS)
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: Timing(statistics.median(t), min(t), max(t), repeat) for name, t in times.items()}


def isolated(target, *args):
    """``target(*args, queue)`` in a fresh spawned process (so its peak memory is
    its own); returns what it put on the queue."""
    import multiprocessing as mp

    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=target, args=(*args, queue))
    proc.start()
    out = queue.get()
    proc.join()
    return out


def without_blas_overrides() -> None:
    """Runs this script again without OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE when they
    are set, so numpy's OpenBLAS picks its own best kernel (it reads them once, when
    it loads). Call first thing in main()."""
    names = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
    if any(n in os.environ for n in names):
        env = {k: v for k, v in os.environ.items() if k not in names}
        os.execve(sys.executable, [sys.executable, *sys.argv], env)


def load_average() -> list:
    """The machine's 1, 5 and 15 minute load averages (other work skews timings)."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except (AttributeError, OSError):
        return []


def machine() -> dict:
    """CPU, cores, the ISA nearortho picked, numpy's BLAS with its kernel and threads, and
    the load average before the run."""
    info = {"cpu": cpu_model(), "cpus": os.cpu_count(), "nearortho": nearortho.build_info(),
            "load_average": load_average(),
            "env": {k: os.environ.get(k) for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OMP_NUM_THREADS",
                                                   "NEARORTHO_MAX_ISA")}}
    try:
        from threadpoolctl import threadpool_info
        info["blas"] = [{k: pool.get(k) for k in ("internal_api", "version", "num_threads", "architecture")}
                        for pool in threadpool_info()]
    except ImportError:  # numpy's build configuration still names the BLAS
        import numpy as np

        blas = np.show_config(mode="dicts").get("Build Dependencies", {}).get("blas", {})
        info["blas"] = f"{blas.get('name')} {blas.get('version')} (threadpoolctl not installed)"
    return info


# bench/results beside this file, from whichever directory a script is run
RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")


def save(name: str, rows: list, directory: str | None = None) -> str:
    """Write the rows and the machine description to ``directory/name.json`` (default RESULTS)."""
    directory = directory or RESULTS
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, f"{name}.json")
    with open(path, "w") as handle:
        json.dump({"machine": machine(), "rows": [asdict(r) if hasattr(r, "__dataclass_fields__") else r
                                                  for r in rows]}, handle, indent=2, default=str)
    return path


def readable_log_x(*axes) -> None:
    """Tilts and shrinks the x labels of log axes: over a decade or so matplotlib
    labels the minor ticks too (2, 3, 4, 6 x 10^10), and they ran into each other."""
    for ax in axes:
        ax.tick_params(axis="x", which="both", labelrotation=35, labelsize=7)


def table(rows: list, columns: list) -> str:
    """A plain fixed-width table of dicts."""
    cells = [[str(row.get(c, "")) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths)) for r in cells]
    return "\n".join(lines)
