"""One surrogate gradient pass against the BLAS yardstick, side by side (issues 9 and 10).

    python bench/bench_gradient.py [--sizes 768x16384,256x4096] [--threads 2] [--repeat 3] [--min-seconds 1]
                                   [--p 16] [--isa avx512,avx2] [--gemm-coretypes ,Haswell] [--json ...]

A pass computes the Gram tiles of the upper triangle (m^2 n flops) and multiplies
their weights back into both tiles' row blocks (2 m^2 n flops): 3 m^2 n flops in
all, the fewest a Gram-weighted gradient can take. The yardstick is numpy's
sgemm W @ W2.T (W2 a copy, so BLAS cannot take the syrk path; 2 m^2 n flops, into
a preallocated output in row blocks of 8192), once per OpenBLAS kernel in
--gemm-coretypes (its own choice and, on an AVX-512 CPU, its Haswell kernel).
The cases run as bench_interference.py runs them: each in a process of its own,
the BLAS variables unset unless the case sets them, timed after one untimed
call, the calls of a size taking turns (more of them, up to 15, until each row
has --min-seconds of calls). Reported per row: median and spread, GFLOP/s (the
pass counted at its 3 m^2 n flops), the ISA or BLAS kernel it ran, and for the
pass (once per ISA in --isa) its rate as a fraction of the fastest gemm's ("of
BLAS") and of the fastest gemm whose kernel uses no wider vectors than its ISA
("same ISA"), and the load average before the size's turns.
"""
from __future__ import annotations

import argparse
import json
import os

from bench_interference import Case, compare, default_gemm_coretypes, measure_size, row_tag
from harness import RESULTS, machine, table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="768x16384,256x4096", help="n x m pairs, comma separated")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--min-seconds", type=float, default=1.0,
                        help="more turns (up to 15) until each row's timed calls add up to this")
    parser.add_argument("--p", type=int, default=16, help="power of the surrogate")
    parser.add_argument("--isa", default="", help="comma-separated ISA caps for the gradient rows (default: best)")
    parser.add_argument("--gemm-coretypes", default=None,
                        help="comma-separated OPENBLAS_CORETYPE values, one gemm row each ('' leaves it unset); "
                             "default: '' and, on an AVX-512 CPU, Haswell")
    parser.add_argument("--json", default=os.path.join(RESULTS, "gradient.json"))
    args = parser.parse_args()
    isas = args.isa.split(",") if args.isa else [""]
    coretypes = default_gemm_coretypes() if args.gemm_coretypes is None else args.gemm_coretypes.split(",")

    info = machine()
    print(f"machine: {info['cpu']}, ISA {info['nearortho']['isa']}, load average {info['load_average']}")
    results = []
    for size in args.sizes.split(","):
        n, m = (int(x) for x in size.split("x"))
        cases = [Case("gemm", n, m, args.threads, args.repeat, env={"OPENBLAS_CORETYPE": c} if c else {})
                 for c in coretypes]
        cases += [Case("gradient", n, m, args.threads, args.repeat, isa=isa, options={"p": args.p}) for isa in isas]
        rows = measure_size(cases, args.min_seconds)
        compare(rows)
        shown = [{"method": r["method"], "isa/BLAS": row_tag(r), "n": n, "m": m,
                  "median s": f"{r['median_s']:.3f}", "spread s": f"{r['min_s']:.3f}..{r['max_s']:.3f}",
                  "calls": r["calls"], "GFLOP/s": f"{r['gflops']:.1f}",
                  "of BLAS": f"{r['fraction_of_blas']:.2f}" if "fraction_of_blas" in r else "-",
                  "same ISA": f"{r['fraction_of_isa_blas']:.2f}" if "fraction_of_isa_blas" in r else "-",
                  "load before": r["load_before"][0] if r["load_before"] else "-"} for r in rows]
        print(table(shown, list(shown[0])), flush=True)
        results += rows
        os.makedirs(os.path.dirname(args.json) or ".", exist_ok=True)
        with open(args.json, "w") as f:  # after every size, so a cut-short run keeps its rows
            json.dump({"machine": info, "results": results}, f, indent=2)
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
