"""Side-by-side benchmark of nearortho.interference against the BLAS yardstick and
the code a user would otherwise write (issues 3 and 9).

    python bench/bench_interference.py [--quick] [--no-scaling] [--sizes 64x16384,256x16384] [--threads 2] [--repeat 3]
                                       [--min-seconds 1]
                                       [--dtype float32] [--isa avx2,scalar] [--faiss-coretype Haswell]
                                       [--gemm-coretypes ,Haswell] [--json bench/results/interference.json] [--png ...]

Every case runs in a fresh subprocess so its peak memory (RSS above the inputs)
is its own, in the best configuration for that library, and is timed after one
untimed call; gemm's and nearortho's processes of one size are started one after
another and their timed calls then take turns, a pause before each, so the
machine's load falls on each alike; a size takes --repeat turns, or more (up to
15) until each of its gemm and nearortho rows has --min-seconds of timed calls
(the scaling table's single calls and the short cells at n = 64 varied most).
Rows:
gemm W @ W2.T (W2 a copy, so BLAS cannot take the syrk path; row blocks of 8192
into a preallocated output; sgemm or dgemm by --dtype), once per OpenBLAS kernel
in --gemm-coretypes (its own choice and, on an AVX-512 CPU, its Haswell kernel,
faster on a Zen 4 at every n measured), the fastest the yardstick; nearortho
with every reduction fused, once per ISA in --isa (NEARORTHO_MAX_ISA); a careful user's chunked numpy
(row blocks of 2048 against the rows after them into buffers allocated once, the
triangle sliced off, np.bincount on |G| for the histogram, max/argmax(axis) for
the per-row maxima);
torch on the CPU (the same loop with torch.mm, torch.histc and max(dim); if
importable; its MKL sgemm ran at 124 GFLOP/s against OpenBLAS's 177 on a Zen 3,
so the gemm row stays numpy's);
naive numpy (dense G, triangle mask, reduce; smaller size only) and faiss
IndexFlatIP (k=2 on [W; -W]: per-row max |g| only; smaller size only, if
importable). numpy runs with OPENBLAS_L2_SIZE unset, its chunked and naive rows
with the fastest gemm row's kernel; faiss's bundled older OpenBLAS needs
OPENBLAS_CORETYPE set (--faiss-coretype) or it falls back to an SSE-era kernel.
GFLOP/s count the m*m*n flops of the symmetric half for every method but gemm,
whose rate counts the 2*m*m*n flops it does; "fraction of BLAS" is nearortho's
GFLOP/s over the fastest gemm's, "same ISA" over the fastest gemm whose kernel uses
no wider vectors than the row's ISA (forced AVX2 against OpenBLAS's Haswell kernel:
what a CPU without AVX-512 would run). The isa/BLAS column names nearortho's ISA or the
OpenBLAS kernel a row ran (threadpoolctl). The machine (CPU, ISA,
BLAS and its kernel, load average before the run) is saved with the rows, and
each row has the load average from before its turns began. A PNG beside the JSON plots time
against m^2 n and the fraction of BLAS per ISA.
"""
from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

from harness import RESULTS, SETTLE_SECONDS, load_average, machine, readable_log_x

BINS = 1024
THRESHOLDS = (0.1, 0.2)
BLOCK = 2048
BLAS_ENV = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
MAX_ROUNDS = 15  # the most turns --min-seconds adds


@dataclasses.dataclass
class Case:
    method: str
    n: int
    m: int
    threads: int
    repeat: int
    dtype: str = "float32"
    isa: str = ""                      # nearortho's methods only: the NEARORTHO_MAX_ISA cap
    env: dict = dataclasses.field(default_factory=dict)  # set in the case's process
    options: dict = dataclasses.field(default_factory=dict)  # the method's own keywords (gradient: p)


def _frame(n, m, dtype):
    import nearortho
    return nearortho.frame(n, m, "gaussian", seed=0, dtype=dtype)  # unit rows, no temporaries


def run_gemm(W, threads):
    """W @ W2.T in row blocks of at most 8192 into one preallocated buffer: the
    full product's flops at gemm speed, without a 16 GiB output at m = 65536 or
    page faults inside the timing."""
    W2 = W.copy()
    block = min(len(W), 8192)
    out = np.empty((block, len(W)), W.dtype)
    out.fill(0.0)

    def go():
        for i in range(0, len(W), block):
            rows = W[i:i + block]
            np.matmul(rows, W2.T, out=out[:len(rows)])
    return go


def run_nearortho(W, threads):
    import nearortho
    return lambda: nearortho.interference(W, bins=BINS, thresholds=THRESHOLDS, threads=threads)


def run_gradient(W, threads, p=16):
    """One surrogate gradient pass (bench_gradient.py), scaled by the coherence as
    the optimiser scales it."""
    import nearortho
    s = nearortho.interference(W, per_row=False, bins=1).coherence
    return lambda: nearortho.surrogate_gradient(W, p, s=s, threads=threads)


def run_chunked(W, threads):
    """A careful user's numpy: each block of 2048 rows against itself and every later
    row, into buffers allocated once (fresh blocks of this size would come back as
    new pages from the OS, with their page faults, every block), the pairs j <= i of
    the diagonal block zeroed (and taken back out of bin 0), the same statistics as
    nearortho's default call."""
    m = len(W)
    size = min(m, BLOCK) * m
    G, A, S = (np.zeros(size, W.dtype) for _ in range(3))  # flat, so every block's view is contiguous
    bins = np.zeros(size, np.intp)
    lower = np.tril(np.ones((min(m, BLOCK),) * 2, bool))  # j <= i within a diagonal block

    def go():
        hist = np.zeros(BINS, np.int64)
        counts = np.zeros(len(THRESHOLDS), np.int64)
        row_max = np.full(m, -1.0, W.dtype)
        row_arg = np.full(m, -1, np.int64)
        row_sq = np.zeros(m)
        total = total_abs = 0.0
        for i0 in range(0, m, BLOCK):
            i1 = min(m, i0 + BLOCK)
            shape = (i1 - i0, m - i0)
            g, a, sq, b = (x[:shape[0] * shape[1]].reshape(shape) for x in (G, A, S, bins))
            np.matmul(W[i0:i1], W[i0:].T, out=g)
            diagonal = lower[:shape[0], :shape[0]]
            g[:, :shape[0]][diagonal] = 0.0
            np.abs(g, out=a)
            total += float(g.sum(dtype=np.float64))
            total_abs += float(a.sum(dtype=np.float64))
            np.multiply(a, BINS, out=sq)
            np.minimum(sq, BINS - 1, out=sq)
            b[...] = sq
            hist += np.bincount(b.ravel(), minlength=BINS)
            hist[0] -= shape[0] * (shape[0] + 1) // 2
            counts += [np.count_nonzero(a > t) for t in THRESHOLDS]
            np.multiply(g, g, out=sq)
            row_sq[i0:i1] += sq.sum(axis=1, dtype=np.float64)
            row_sq[i0:] += sq.sum(axis=0, dtype=np.float64)
            a[:, :shape[0]][diagonal] = -1.0
            for axis, rows in ((1, slice(i0, i1)), (0, slice(i0, m))):
                mx, arg = a.max(axis=axis), a.argmax(axis=axis) + i0
                better = mx > row_max[rows]
                row_max[rows] = np.where(better, mx, row_max[rows])
                row_arg[rows] = np.where(better, arg, row_arg[rows])
        best = int(np.argmax(row_max))
        return (row_max[best], best, row_arg[best]), total, total_abs, float(row_sq.sum()) / 2, hist, counts
    return go


def run_torch(W, threads):
    """What a careful torch user writes on the CPU: the numpy_chunked loop with
    torch.mm into buffers allocated once (W shared with numpy, no copy), the pairs
    j <= i of the diagonal block set to -1 so that torch.histc (which skips values
    outside its range) and the maxima pass over them, and torch's own threads."""
    import torch
    torch.set_num_threads(threads)
    Wt = torch.from_numpy(W)
    m = len(W)
    size = min(m, BLOCK) * m
    G, A, S = (torch.zeros(size, dtype=Wt.dtype) for _ in range(3))
    lower = torch.ones((min(m, BLOCK),) * 2, dtype=torch.bool).tril()

    def go():
        hist = torch.zeros(BINS, dtype=torch.int64)
        counts = torch.zeros(len(THRESHOLDS), dtype=torch.int64)
        row_max = torch.full((m,), -1.0, dtype=Wt.dtype)
        row_arg = torch.full((m,), -1, dtype=torch.int64)
        row_sq = torch.zeros(m, dtype=torch.float64)
        total = total_abs = 0.0
        for i0 in range(0, m, BLOCK):
            i1 = min(m, i0 + BLOCK)
            shape = (i1 - i0, m - i0)
            g, a, sq = (x[:shape[0] * shape[1]].view(shape) for x in (G, A, S))
            torch.mm(Wt[i0:i1], Wt[i0:].T, out=g)
            diagonal = lower[:shape[0], :shape[0]]
            g[:, :shape[0]].masked_fill_(diagonal, 0.0)
            torch.abs(g, out=a)
            total += float(g.sum(dtype=torch.float64))
            total_abs += float(a.sum(dtype=torch.float64))
            torch.mul(g, g, out=sq)
            row_sq[i0:i1] += sq.sum(dim=1, dtype=torch.float64)
            row_sq[i0:] += sq.sum(dim=0, dtype=torch.float64)
            a[:, :shape[0]].masked_fill_(diagonal, -1.0)
            # histc counts in the input's float32, exact while a bin gets under 2^24 pairs of one block; at
            # the sizes this script gives torch, a bin gets about 2 million at most
            hist += torch.histc(a, BINS, 0.0, 1.0).to(torch.int64)
            counts += torch.stack([torch.count_nonzero(a > t) for t in THRESHOLDS])
            for dim, rows in ((1, slice(i0, i1)), (0, slice(i0, m))):
                mx, arg = a.max(dim=dim)
                better = mx > row_max[rows]
                row_max[rows] = torch.where(better, mx, row_max[rows])
                row_arg[rows] = torch.where(better, arg + i0, row_arg[rows])
        best = int(torch.argmax(row_max))
        return (float(row_max[best]), best, int(row_arg[best])), total, total_abs, float(row_sq.sum()) / 2, hist, counts
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


METHODS = {"gemm": run_gemm, "nearortho": run_nearortho, "numpy_chunked": run_chunked, "torch_chunked": run_torch,
           "numpy_naive": run_naive, "faiss_flatip": run_faiss, "gradient": run_gradient}
OURS = ("nearortho", "gradient")  # nearortho's methods, measured against the fastest gemm
# flops per m^2 n: gemm's full product 2; the gradient pass's triangle and its
# weights multiplied back into both row blocks 3; every other method's triangle 1
FLOPS_PER_M2N = {"gemm": 2, "gradient": 3}


def _serve(case: Case, requests, reply) -> None:
    """The case's own process (see measure_size): one untimed call, then one
    timed call for each request, its time replied; when the requests end, the
    peak memory above the inputs, the ISA and the BLAS."""
    from threadpoolctl import threadpool_info, threadpool_limits
    W = _frame(case.n, case.m, case.dtype)
    with threadpool_limits(case.threads):
        base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # a method's own buffers count
        fn = METHODS[case.method](W, case.threads, **case.options)
        fn()  # untimed: a first call's page faults and BLAS start-up would weigh on --quick's single repeat
        reply("ready")
        for _ in requests:
            t0 = time.perf_counter()
            fn()
            reply(f"time {time.perf_counter() - t0!r}")
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        blas = [f"{p.get('internal_api')} {p.get('version')} {p.get('architecture')}" for p in threadpool_info()
                if p.get("user_api") == "blas"]
    import nearortho
    reply("done " + json.dumps({"peak_mib": (peak - base) / 1024, "isa": nearortho.build_info()["isa"],
                                "blas": blas}))


def _case_environment(case: Case) -> dict:
    """This environment with the case's settings: the BLAS variables unset unless
    the case sets them (OpenBLAS reads them once, when it loads)."""
    env = {k: v for k, v in os.environ.items() if k not in BLAS_ENV and k != "NEARORTHO_MAX_ISA"}
    env.update(case.env)
    if case.isa:
        env["NEARORTHO_MAX_ISA"] = case.isa
    return env


class _Server:
    """A case's process (this script, --serve), started and warmed up. Requests go
    to its stdin; replies come back on a pipe of their own, so nothing a library
    prints can mix with them (its stdout and stderr go to a log, shown if it fails)."""

    def __init__(self, case: Case):
        self.case = case
        self.log = tempfile.TemporaryFile("w+")
        read, write = os.pipe()
        try:
            self.proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--serve", str(write),
                                          json.dumps(dataclasses.asdict(case))], env=_case_environment(case),
                                         stdin=subprocess.PIPE, stdout=self.log, stderr=self.log, text=True,
                                         pass_fds=(write,))
        finally:
            os.close(write)  # the child's copy is the only one: its exit ends the replies
        self.replies = os.fdopen(read)

    def reply(self, kind: str) -> str:
        line = self.replies.readline()
        if not line.startswith(kind):
            self.failed()
        return line[len(kind):].strip()

    def timed_call(self) -> float:
        try:
            self.proc.stdin.write("go\n")
            self.proc.stdin.flush()
        except OSError:  # it died while idle (the OOM killer, say)
            self.failed()
        return float(self.reply("time "))

    def finish(self) -> dict:
        self.proc.stdin.close()
        out = json.loads(self.reply("done "))
        self.proc.wait()
        return out

    def failed(self):
        try:
            self.proc.wait(timeout=30)  # its traceback is written after the reply pipe closes
        except subprocess.TimeoutExpired:
            pass
        self.stop()
        self.log.seek(0)
        raise RuntimeError(f"{self.case.method} n={self.case.n} m={self.case.m} failed "
                           f"(exit status {self.proc.returncode}):\n{self.log.read()[-3000:]}")

    def stop(self):
        self.proc.kill()
        self.proc.wait()
        for f in (self.proc.stdin, self.replies):
            try:
                f.close()
            except OSError:  # a request left unsent in a broken pipe
                pass


def rounds_for(first: list, repeat: int, min_seconds: float) -> int:
    """How many turns a size's cases take: at least `repeat`, and enough that the
    fastest case's timed calls add up to min_seconds (judged by its first turn), at
    most MAX_ROUNDS. At n = 64 a call takes 0.15 s, and three of them put the
    fraction of BLAS anywhere from 0.74 to 0.86 from one run to the next."""
    shortest = min(first)
    needed = math.ceil(min_seconds / shortest) if shortest > 0 else MAX_ROUNDS
    return max(repeat, min(needed, MAX_ROUNDS))


def measure_size(cases: list, min_seconds: float = 0.0) -> list:
    """The cases of one size, each in a fresh process with its own environment (so
    its peak memory is its own, and each library runs in its best configuration),
    started and warmed up one after another; then their timed calls take turns, a
    pause before each, so that a change in the shared machine's load falls on each
    alike and their ratios hold (timed one case after another, the same build's
    fraction of sgemm at (64, 65536) read 0.77 in one run and 1.10 in another), for
    as many turns as rounds_for says. All of a size's processes are resident at
    once: pass only the cases whose ratios matter (see main)."""
    load = load_average()
    servers = []
    try:
        for case in cases:
            servers.append(_Server(case))
            servers[-1].reply("ready")
        times = [[] for _ in servers]

        def turn():
            for server, t in zip(servers, times):
                time.sleep(SETTLE_SECONDS)  # the previous library's threads go idle first
                t.append(server.timed_call())
        turn()
        for _ in range(rounds_for([t[0] for t in times], cases[0].repeat, min_seconds) - 1):
            turn()
        finished = [server.finish() for server in servers]
    finally:
        for server in servers:
            server.stop()
            server.log.close()
    rows = []
    for case, t, out in zip(cases, times, finished):
        median = statistics.median(t)
        flops = case.m * case.m * case.n * FLOPS_PER_M2N.get(case.method, 1)
        row = {k: v for k, v in dataclasses.asdict(case).items() if k != "isa"}
        kernel = out["blas"][0].split()[-1] if out["blas"] else ""  # e.g. SkylakeX, Haswell
        rows.append({**row, "isa": out["isa"] if case.method in OURS else "", "blas": out["blas"],
                     "blas_kernel": kernel,
                     "load_before": load, "calls": len(t), "median_s": median, "min_s": min(t), "max_s": max(t),
                     "gflops": flops / median / 1e9, "peak_mib": out["peak_mib"]})
    return rows


def default_gemm_coretypes() -> list:
    """OpenBLAS's own kernel choice and, on an AVX-512 CPU, its Haswell (AVX2)
    kernel too: on a Zen 4 (2 threads) Haswell's sgemm ran at 124-140 GFLOP/s at
    n = 64 against 106-117 for the SkylakeX kernel OpenBLAS picks."""
    import nearortho
    return ["", "Haswell"] if nearortho.build_info()["isa_detected"] == "avx512" else [""]


def row_tag(row: dict) -> str:
    """What a row ran: nearortho's ISA, or the OpenBLAS kernel (threadpoolctl)."""
    return row["isa"] or row["blas_kernel"]


# OpenBLAS's kernels with AVX-512 (the names threadpoolctl reports); its other x86
# kernels (Haswell, Zen, Sandybridge and older) use AVX2 or narrower vectors.
AVX512_KERNELS = {"skylakex", "cooperlake", "sapphirerapids"}
ISA_ORDER = ("scalar", "avx2", "avx512")


def kernel_isa(kernel: str):
    """The nearortho ISA a BLAS kernel's vectors are no wider than; None when the
    BLAS names no kernel (not OpenBLAS). Every kernel is wider than scalar."""
    if not kernel:
        return None
    return "avx512" if kernel.lower() in AVX512_KERNELS else "avx2"


def fastest_gemm(rows: list, isa: str = ""):
    """The gemm row with the highest rate (BLAS at its best), or None; with isa,
    among the rows whose OpenBLAS kernel uses no wider vectors than that ISA."""
    def within(r):
        if not isa:
            return True
        kernel = kernel_isa(r["blas_kernel"])
        return kernel is not None and isa in ISA_ORDER and ISA_ORDER.index(kernel) <= ISA_ORDER.index(isa)
    return max((r for r in rows if r["method"] == "gemm" and within(r)), key=lambda r: r["gflops"], default=None)


def compare(rows: list) -> None:
    """Adds to one size's rows of nearortho's methods their fraction of the fastest
    gemm's rate (the yardstick) and of the fastest gemm of their own SIMD level
    (what a CPU with only that level would run: forced AVX2 on an AVX-512 CPU
    against OpenBLAS's Haswell kernel, not its SkylakeX one), and to every other
    row its time over the first of them."""
    gemm = fastest_gemm(rows)
    ours = next((r for r in rows if r["method"] in OURS), None)
    for r in rows:
        if gemm and r["method"] in OURS:
            r["fraction_of_blas"] = r["gflops"] / gemm["gflops"]
            same_level = fastest_gemm(rows, r["isa"]) if r.get("isa") else None
            if same_level:
                r["fraction_of_isa_blas"] = r["gflops"] / same_level["gflops"]
        if ours and r["method"] not in OURS:
            r["time_over_nearortho"] = r["median_s"] / ours["median_s"]


def plot(results: list, path: str) -> None:
    """Time against m^2 n (log-log) per method and ISA, and nearortho's fraction of
    BLAS against m^2 n per ISA and n."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    series = {}
    for r in results:
        tag = row_tag(r)
        label = r["method"] + (f" ({tag})" if tag else "")
        series.setdefault(label, []).append((r["m"] ** 2 * r["n"], r["median_s"]))
    for label, points in sorted(series.items()):
        x, y = zip(*sorted(points))
        left.loglog(x, y, "o", label=label, ms=4)  # no lines: sizes of one m^2 n differ in n
    left.set_xlabel("m^2 n")
    left.set_ylabel("median time (s)")
    left.legend(fontsize=7)
    fractions = {}
    for r in results:
        if "fraction_of_blas" in r:
            fractions.setdefault((r["isa"], r["n"]), []).append((r["m"] ** 2 * r["n"], r["fraction_of_blas"]))
    for (isa, n), points in sorted(fractions.items()):
        x, y = zip(*sorted(points))
        right.semilogx(x, y, "o-", label=f"{isa}, n={n}", ms=4)
    right.axhline(0.85, color="grey", lw=0.8, ls="--")
    right.set_xlabel("m^2 n")
    right.set_ylabel("fraction of BLAS gemm rate")
    right.set_ylim(0, 1.1)
    right.legend(fontsize=7)
    readable_log_x(left, right)
    load = results[0]["load_before"] if results else []
    fig.suptitle(f"interference, {results[0]['dtype'] if results else ''}, load average before {load}", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--serve":
        with os.fdopen(int(sys.argv[2]), "w") as replies:
            _serve(Case(**json.loads(sys.argv[3])), sys.stdin, lambda line: print(line, file=replies, flush=True))
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes, one repeat, no scaling table")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--min-seconds", type=float, default=1.0,
                        help=f"more turns (up to {MAX_ROUNDS}) until each row's timed calls add up to this")
    parser.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    parser.add_argument("--isa", default="", help="comma-separated ISA caps for the nearortho rows (default: best)")
    parser.add_argument("--faiss-coretype", default="Haswell", help="OPENBLAS_CORETYPE for faiss's bundled OpenBLAS")
    parser.add_argument("--gemm-coretypes", default=None,
                        help="comma-separated OPENBLAS_CORETYPE values, one gemm row each, the fastest the yardstick "
                             "('' leaves it unset: OpenBLAS's own choice); default: '' and, on an AVX-512 CPU, "
                             "Haswell")
    parser.add_argument("--no-scaling", action="store_true", help="skip the scaling table over m and n")
    parser.add_argument("--sizes", default="", help="n x m pairs, comma separated (e.g. 64x16384,256x16384): "
                        "gemm and nearortho only, no scaling table")
    parser.add_argument("--json", default=os.path.join(RESULTS, "interference.json"))
    parser.add_argument("--png", default=None, help="default: the --json path with .png")
    args = parser.parse_args()
    have_faiss, have_torch = (importlib.util.find_spec(name) is not None for name in ("faiss", "torch"))
    isas = args.isa.split(",") if args.isa else [""]
    coretypes = default_gemm_coretypes() if args.gemm_coretypes is None else args.gemm_coretypes.split(",")
    repeat = 1 if args.quick else args.repeat
    min_seconds = 0.0 if args.quick else args.min_seconds
    sizes = [(256, 4096), (512, 8192)] if args.quick else [(512, 16384), (1024, 32768)]

    def per_size(n, m, methods, rep):
        out = []
        for meth in methods:
            if meth == "nearortho":
                out += [Case(meth, n, m, args.threads, rep, args.dtype, isa) for isa in isas]
            else:
                out += [Case(meth, n, m, args.threads, rep, args.dtype, env={"OPENBLAS_CORETYPE": c} if c else {})
                        for c in (coretypes if meth == "gemm" else [args.faiss_coretype] if meth == "faiss_flatip"
                                  else [""])]
        return out

    groups = []  # the cases of one size, timed in turns
    if args.sizes:
        for size in args.sizes.split(","):
            n, m = (int(x) for x in size.split("x"))
            groups.append(per_size(n, m, ["gemm", "nearortho"], repeat))
    for i, (n, m) in enumerate([] if args.sizes else sizes):
        methods = ["gemm", "nearortho", "numpy_chunked"] + (["torch_chunked"] if have_torch else [])
        if i == 0:
            methods += ["numpy_naive"] + (["faiss_flatip"] if have_faiss else [])
        groups.append(per_size(n, m, methods, repeat))
    if not (args.quick or args.no_scaling or args.sizes):
        for m in (8192, 16384, 32768, 65536):
            for n in (64, 256, 1024, 4096):
                if (n, m) not in sizes and m * m * n <= 2 ** 42:
                    groups.append(per_size(n, m, ["gemm", "nearortho"], 1))
    results = []
    info = machine()
    print(f"machine: {info['cpu']}, ISA {info['nearortho']['isa']}, load average {info['load_average']} "
          f"(other work on the machine skews timings)")
    print(f"{'method':<15}{'isa/BLAS':>9}{'n':>6}{'m':>7}{'median s':>10}{'spread s':>18}{'calls':>6}{'GFLOP/s':>9}"
          f"{'of BLAS':>9}{'same ISA':>9}{'ratio':>9}{'peak MiB':>10}{'load':>7}")
    for cases in groups:
        # gemm and nearortho in turns (the fraction of BLAS); the other baselines, whose
        # ratios are several-fold and whose buffers are large, one at a time
        rows = measure_size([c for c in cases if c.method in ("gemm", "nearortho")], min_seconds)
        fastest = fastest_gemm(rows)
        for case in cases:
            if case.method not in ("gemm", "nearortho"):
                if case.method.startswith("numpy") and fastest:  # numpy's BLAS with the faster kernel
                    case.env = dict(fastest["env"])
                rows += measure_size([case])
        compare(rows)
        for r in rows:
            frac = f"{r['fraction_of_blas']:.2f}" if "fraction_of_blas" in r else "-"
            frac_isa = f"{r['fraction_of_isa_blas']:.2f}" if "fraction_of_isa_blas" in r else "-"
            ratio = f"{r['time_over_nearortho']:.1f}x" if "time_over_nearortho" in r else "-"
            spread = f"[{r['min_s']:.3f}, {r['max_s']:.3f}]"
            tag = row_tag(r) or "-"
            print(f"{r['method']:<15}{tag:>9}{r['n']:>6}{r['m']:>7}{r['median_s']:>10.3f}{spread:>18}{r['calls']:>6}"
                  f"{r['gflops']:>9.1f}{frac:>9}{frac_isa:>9}{ratio:>9}{r['peak_mib']:>10.0f}{r['load_before'][0]:>7.1f}",
                  flush=True)
        results += rows
        os.makedirs(os.path.dirname(args.json) or ".", exist_ok=True)
        with open(args.json, "w") as f:  # after every size, so a cut-short run keeps its rows
            json.dump({"machine": info, "results": results}, f, indent=2)
    png = args.png or os.path.splitext(args.json)[0] + ".png"
    plot(results, png)
    print(f"wrote {args.json} and {png}")


if __name__ == "__main__":
    main()
