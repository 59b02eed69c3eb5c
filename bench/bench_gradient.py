"""One surrogate gradient pass against the BLAS yardstick, side by side (issue 10).

    python bench/bench_gradient.py [--sizes 768x16384,256x4096] [--threads 2] [--repeat 3] [--p 16]

A pass computes the Gram tiles of the upper triangle (m^2 n flops) and multiplies
their weights back into both tiles' row blocks (2 m^2 n flops): 3 m^2 n flops in
all, the fewest a Gram-weighted gradient can take. The yardstick is numpy's
sgemm W @ W2.T (W2 a copy, so BLAS cannot take the syrk path; 2 m^2 n flops, into
a preallocated output in row blocks of 8192). Reported: median and spread of
each, GFLOP/s (the pass counted at its 3 m^2 n flops), the pass's rate as a
fraction of sgemm's, and the time ratio (a pass against one W @ W.T). Unset
OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE for the BLAS numbers; the load average before
each size is recorded because the machine may be shared.
"""
from __future__ import annotations

import argparse
import os

import nearortho
from bench_interference import run_gemm
from harness import machine, measure, save, table, without_blas_overrides


def main() -> None:
    without_blas_overrides()
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="768x16384,256x4096", help="n x m pairs, comma separated")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--p", type=int, default=16, help="power of the surrogate")
    args = parser.parse_args()
    from threadpoolctl import threadpool_limits

    rows = []
    for size in args.sizes.split(","):
        n, m = (int(x) for x in size.split("x"))
        W = nearortho.frame(n, m, seed=0, dtype="float32")
        s = nearortho.interference(W, per_row=False, bins=1).coherence
        load = "%.1f %.1f %.1f" % os.getloadavg()  # before the timings, which add to it
        with threadpool_limits(args.threads):
            blas = measure(run_gemm(W, args.threads), repeat=args.repeat)
        grad = measure(lambda: nearortho.surrogate_gradient(W, args.p, s=s, threads=args.threads),
                       repeat=args.repeat)
        blas_rate = 2 * m * m * n / blas.median / 1e9
        pass_rate = 3 * m * m * n / grad.median / 1e9
        for name, timing, rate in (("sgemm W @ W.T", blas, blas_rate), ("gradient pass", grad, pass_rate)):
            rows.append({"method": name, "n": n, "m": m, "threads": args.threads, "median_s": f"{timing.median:.3f}",
                         "spread_s": timing.spread, "GFLOP/s": f"{rate:.1f}",
                         "rate/sgemm": f"{rate / blas_rate:.2f}",
                         "time/sgemm": f"{timing.median / blas.median:.2f}",
                         "load_before": load})
        print(table(rows[-2:], list(rows[-1])), flush=True)
    info = machine()
    print(f"isa {info['nearortho']['isa']}, blas {info.get('blas')}")
    print(f"wrote {save('gradient', rows)}")


if __name__ == "__main__":
    main()
