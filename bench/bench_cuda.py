"""Side-by-side benchmark of the CUDA backend on one GPU (issue 13).

    python bench/bench_cuda.py [--sizes 768x65536,2304x262144] [--repeat 3] [--topk 8]
                               [--json bench/results/cuda.json] [--profile] [--quick]

Needs nearortho built with NEARORTHO_CUDA=ON, a device, and torch with CUDA.
Rows, per (n, m), float32, rows of a Gaussian frame:
- sgemm: cuBLAS SGEMM (torch.mm, TF32 off) on a 16384 x n by n x 16384 product,
  the rate the library reaches at this n; the yardstick.
- nearortho: ``nearortho.interference(W, backend="cuda", bins=1024,
  thresholds=(0.1, 0.2))`` from a numpy array (the rows streamed to the device,
  copies overlapped with compute), per-row outputs on (the default), then off,
  then with ``topk``; then the same on tensor cores (``precision="tf32"`` and
  ``"bf16"``), whose exact fields are re-checked in float64; then with
  ``memory=`` a quarter of W's bytes plus 256 MiB, so W is taken in superblocks
  of about m/4 rows and the rest streamed past each (out of core); and with W
  already on the GPU (a torch tensor).
- exactness: for 256 sampled rows, each row's best partner and top-k against
  float64 (torch, the rows normalised as nearortho does), for the float32 and
  the tensor-core passes: the fraction equal, and the largest |row_max error|.
- torch: what a careful torch user writes with W already on the GPU: row blocks
  of 4096 against the rows after them (the triangle), entries on or below the
  diagonal zeroed, then abs, max/argmax over both axes (both sides' per-row
  maxima), histc (the zeroed entries taken out of bin 0), threshold counts and
  float64 sums; for top-k, blocks against all rows (topk needs every partner).
- surrogate_gradient: ``nearortho.surrogate_gradient(W, 8, s=0.3, backend="cuda")``
  from the numpy array (upload and the gradient's download included).
- simulate: ``nearortho.simulate(W, 32, trials=20000, backend="cuda")`` (the readout
  Monte Carlo; its rms_interference runs on the CPU, included).
GFLOP/s count m * m * n for every method but sgemm (its 2 * rows * cols * n), the
gradient (3 m^2 n: the Gram tiles and the two products with the weights) and
simulate (2 m n per trial).
"""
from __future__ import annotations

import argparse
import json
import pathlib
import statistics
import sys
import time

import numpy as np

try:
    import torch
except ImportError:  # --help still works; main() says what is missing
    torch = None

import nearortho

BINS = 1024
THRESHOLDS = (0.1, 0.2)
BLOCK = 4096
SIMULATE_TRIALS = 20000


def timed(fn, repeat):
    """Median and spread (min, max) of `repeat` timed calls after one warm-up."""
    fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return statistics.median(times), min(times), max(times)


def sgemm_rate(n, repeat):
    x = torch.randn(16384, n, device="cuda")
    y = torch.randn(16384, n, device="cuda")
    median, lo, hi = timed(lambda: torch.mm(x, y.T), repeat * 5)
    return 2 * 16384 * 16384 * n / median / 1e9, (median, lo, hi)


def torch_statistics(W):
    """The default statistics over pairs i < j, as a torch user computes them."""
    m = W.shape[0]
    best = torch.full((m,), -1.0, device=W.device)
    best_at = torch.full((m,), -1, device=W.device, dtype=torch.int64)
    hist = torch.zeros(BINS, device=W.device)
    above = torch.zeros(len(THRESHOLDS), device=W.device, dtype=torch.int64)
    total = torch.zeros(3, device=W.device, dtype=torch.float64)
    for i in range(0, m, BLOCK):
        b = min(BLOCK, m - i)
        G = W[i:i + b] @ W[i:].T
        G[:, :b].triu_(1)  # only pairs i < j
        a = G.abs()
        total += torch.stack([G.sum(dtype=torch.float64), a.sum(dtype=torch.float64),
                              (G.double() ** 2).sum()])
        hist += torch.histc(a, BINS, 0, 1)
        hist[0] -= b * (b + 1) // 2
        above += torch.stack([(a > t).sum() for t in THRESHOLDS])
        row, row_at = a.max(dim=1)
        col, col_at = a.max(dim=0)
        rows = slice(i, i + b)
        take = row > best[rows]
        best[rows] = torch.where(take, row, best[rows])
        best_at[rows] = torch.where(take, row_at + i, best_at[rows])
        take = col > best[i:]
        best[i:] = torch.where(take, col, best[i:])
        best_at[i:] = torch.where(take, col_at + i, best_at[i:])
    coherence = best.max()
    return coherence.item(), hist, total


def torch_topk(W, k):
    """Each row's k largest |g| partners (blocks against all rows, the diagonal out)."""
    m = W.shape[0]
    values = torch.empty((m, k), device=W.device)
    index = torch.empty((m, k), device=W.device, dtype=torch.int64)
    for i in range(0, m, BLOCK):
        b = min(BLOCK, m - i)
        a = (W[i:i + b] @ W.T).abs_()
        a[torch.arange(b, device=W.device), torch.arange(i, i + b, device=W.device)] = -1
        values[i:i + b], index[i:i + b] = a.topk(k, dim=1)
        torch.histc(a, BINS, 0, 1)
    return values, index


def normalised_as_nearortho(W):
    """The float32 rows nearortho's pass works on: sums of squares in float64 over k in
    order, each coordinate times 1 / sqrt of it, rounded to float32 (prepare_rows)."""
    X = W.astype(np.float64)
    sumsq = np.zeros(len(X))
    for column in X.T:
        sumsq = sumsq + column * column
    return (X * (1.0 / np.sqrt(sumsq))[:, None]).astype(np.float32)


def exactness(Wd, ours, k, sample=256):
    """Per sampled row, the best partner and the top-k in float64, against each pass."""
    X = normalised_as_nearortho(Wd.cpu().numpy())
    X = torch.from_numpy(X).to(Wd.device).double()
    rows = torch.randperm(X.shape[0], generator=torch.Generator().manual_seed(0))[:sample].to(X.device)
    A = (X[rows] @ X.T).abs_()
    A[torch.arange(sample, device=X.device), rows] = -1  # not a partner of itself
    best, best_at = A.max(dim=1)
    top = A.topk(k, dim=1).indices.cpu().numpy()
    best, best_at, picked = best.cpu().numpy(), best_at.cpu().numpy(), rows.cpu().numpy()
    out = {}
    for label, stats in ours.items():
        if stats.row_argmax is not None:
            out[label + ": argmax equal"] = float(np.mean(stats.row_argmax[picked] == best_at))
            out[label + ": max |row_max error|"] = float(np.abs(stats.row_max[picked] - best).max())
        if stats.topk_index is not None:
            out[label + ": topk equal"] = float(np.mean(stats.topk_index[picked] == top))
    coherence = ours["nearortho"].coherence
    for label, stats in ours.items():
        out[label + ": coherence - float32's"] = stats.coherence - coherence
        out[label + ": gram_error"] = stats.gram_error
    return out


def rechecked(W, precision):
    """How many pairs a default tensor-core pass re-checked in float64, and whether
    it ran again in float32 (the count is not part of InterferenceStats)."""
    from nearortho import _core, _cuda
    options = _core.InterferenceOptions()
    options.bins, options.thresholds, options.precision = BINS, list(THRESHOLDS), precision
    totals = _cuda.interference(W, None, options, None).totals
    return totals.rechecked, totals.tensor_fallback


def frame(n, m, seed=0):
    W = nearortho.frame(n, m, kind="gaussian", seed=seed, backend="cpu")
    return np.ascontiguousarray(W, dtype=np.float32)


def host_calls(k, nbytes):
    """(label, interference arguments) of the calls timed from a numpy array of nbytes."""
    return (("nearortho", {}), ("nearortho per_row=False", dict(per_row=False)),
            (f"nearortho topk={k}", dict(topk=k)), ("nearortho tf32", dict(precision="tf32")),
            ("nearortho tf32 per_row=False", dict(per_row=False, precision="tf32")),
            (f"nearortho tf32 topk={k}", dict(topk=k, precision="tf32")),
            ("nearortho bf16", dict(precision="bf16")), (f"nearortho bf16 topk={k}", dict(topk=k, precision="bf16")),
            ("nearortho memory=W/4 (superblocks)", dict(memory=nbytes // 4 + (256 << 20))))


DEVICE_CALLS = (("nearortho, W a CUDA tensor", {}), ("nearortho tf32, W a CUDA tensor", dict(precision="tf32")))


def run_size(n, m, repeat, k, profile, quick):
    """The table of one size; ``quick``: only the calls with W already on the GPU."""
    W = frame(n, m)
    Wd = torch.from_numpy(W).cuda()
    flops = m * m * n
    rows = []

    def row(method, t, **extra):
        median, lo, hi = t
        rows.append(dict(method=method, n=n, m=m, seconds=median, spread=[lo, hi],
                         gflops=(extra.pop("flops", flops)) / median / 1e9, **extra))
        print(f"  {method:28s} {median:9.4f} s [{lo:.4f}, {hi:.4f}]  {rows[-1]['gflops']:9.0f} GFLOP/s", flush=True)

    def calls(source, labelled):
        results = {}
        for label, kwargs in labelled:
            call = lambda kw=kwargs: nearortho.interference(source, bins=BINS, thresholds=THRESHOLDS,  # noqa: E731
                                                            backend="cuda", **kw)
            results[label] = call()
            row(label, timed(call, repeat))
        return results

    rate, t = sgemm_rate(n, repeat)
    row("sgemm 16384^2 (cuBLAS)", t, flops=2 * 16384 * 16384 * n)
    agree = {}
    if not quick:
        row("upload W (pageable)", timed(lambda: torch.from_numpy(W).cuda(), repeat), flops=0)
        ours = calls(W, host_calls(k, W.nbytes))
        gradient = lambda: nearortho.surrogate_gradient(W, 8, s=0.3, backend="cuda")  # noqa: E731
        row("surrogate_gradient p=8", timed(gradient, repeat), flops=3 * m * m * n)
        readouts = lambda: nearortho.simulate(W, 32, trials=SIMULATE_TRIALS, backend="cuda")  # noqa: E731
        row(f"simulate l=32, {SIMULATE_TRIALS} trials", timed(readouts, repeat), flops=2 * SIMULATE_TRIALS * m * n)
    calls(Wd, DEVICE_CALLS)
    if not quick:
        agree = agreement(W, Wd, ours, k, row, repeat)
    for r in rows:
        r["fraction_of_sgemm"] = r["gflops"] / rate if r["gflops"] else None
    for kwargs in (dict(), dict(per_row=False), dict(topk=k), dict(precision="tf32")) if profile else ():
        with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CUDA]) as prof:
            start = time.perf_counter()
            nearortho.interference(Wd, bins=BINS, thresholds=THRESHOLDS, backend="cuda", **kwargs)
            torch.cuda.synchronize()
            wall = time.perf_counter() - start
        print(kwargs, f"wall {wall:.4f} s", prof.key_averages().table(sort_by="cuda_time_total", row_limit=12),
              flush=True)
    return rows, agree


def agreement(W, Wd, ours, k, row, repeat):
    """The torch baselines' rows, and how nearortho's results agree with torch and float64."""
    coherence = torch_statistics(Wd)[0]
    row("torch blocks", timed(lambda: torch_statistics(Wd), repeat))
    index = torch_topk(Wd, k)[1]
    row(f"torch blocks topk={k}", timed(lambda: torch_topk(Wd, k), repeat), flops=2 * Wd.shape[0] ** 2 * Wd.shape[1])
    agree = dict(coherence_nearortho=ours["nearortho"].coherence, coherence_torch=coherence,
                 topk_index_equal=float(np.mean(ours[f"nearortho topk={k}"].topk_index == index.cpu().numpy())))
    agree.update(exactness(Wd, ours, k))
    for precision in ("tf32", "bf16"):
        agree[f"{precision}: pairs re-checked, fell back"] = rechecked(W, precision)
    for key, value in agree.items():
        print(f"  {key}: {value}", flush=True)
    return agree


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="768x65536,2304x262144")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--topk", type=int, default=8)
    # harness.RESULTS's directory, spelled out: importing harness would make the CPU the default backend
    parser.add_argument("--json", default=str(pathlib.Path(__file__).resolve().parent / "results" / "cuda.json"))
    parser.add_argument("--profile", action="store_true",
                        help="per size, the CUDA kernels and wall time of four calls with W on the GPU "
                             "(default, per_row=False, topk, tf32)")
    parser.add_argument("--quick", action="store_true",
                        help="only W already on the GPU, float32 and tf32 (for the largest sizes)")
    args = parser.parse_args()
    if torch is None or not torch.cuda.is_available():
        sys.exit("bench_cuda needs torch with CUDA and a GPU (the CPU-only torch==2.13.0 has no CUDA)")
    torch.backends.cuda.matmul.allow_tf32 = False
    device = torch.cuda.get_device_name()
    print(f"device {device}; torch {torch.__version__}; nearortho {nearortho.__version__}", flush=True)
    results = dict(device=device, torch=torch.__version__, build=nearortho.build_info(), sizes=[])
    for size in args.sizes.split(","):
        n, m = map(int, size.split("x"))
        print(f"(n, m) = ({n}, {m}):", flush=True)
        rows, agree = run_size(n, m, args.repeat, args.topk, args.profile, args.quick)
        results["sizes"].append(dict(n=n, m=m, rows=rows, agreement=agree))
    pathlib.Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    pathlib.Path(args.json).write_text(json.dumps(results, indent=1, default=str))


if __name__ == "__main__":
    main()
