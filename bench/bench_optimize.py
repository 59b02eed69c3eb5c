"""Optimised frames against random ones and the lower bounds (issue 10 goals).

    python bench/bench_optimize.py [--small] [--large] [--huge] [--threads 2] [--seconds-scale 1]

Small cases are packings whose optimum is known in closed form, so they are
also the entries of Sloane's table: equiangular tight frames, the simplex and
mutually unbiased bases meet a lower bound; m lines in the plane are optimal at
cos(pi/m). Each gets one run of 60 s with restarts from fresh seeds (the best
of a few seeds) and is met when within 0.1%. Large cases have targets and budgets from the issue:
(64, 256) <= 0.125 in 2 min, (128, 1024) <= 0.100 in 5 min, (256, 4096) <= 0.085
in 10 min, and with --huge (768, 16384) <= 0.09 in 30 min. Beside each: the
median coherence of a random frame of the same size, the Welch and the best
bound. Times depend on the machine's load, recorded with each row.
"""
from __future__ import annotations

import argparse
import math
import os

import nearortho
from harness import save, table

SMALL = [  # (n, m, optimal coherence, what meets it)
    (2, 5, math.cos(math.pi / 5), "5 lines in the plane"),
    (3, 6, 1 / math.sqrt(5), "icosahedron ETF"),
    (3, 7, 1 / math.sqrt(3), "cube axes + diagonals (orthoplex)"),
    (4, 5, 1 / 4, "simplex ETF"),
    (4, 12, 1 / 2, "3 real MUBs (orthoplex)"),
    (5, 10, 1 / 3, "conference ETF"),
    (6, 16, 1 / 3, "ETF"),
    (7, 14, 1 / math.sqrt(13), "conference ETF"),
    (7, 28, 1 / 3, "28 lines ETF"),
    (9, 18, 1 / math.sqrt(17), "conference ETF"),
    (13, 26, 1 / 5, "conference ETF"),
    (16, 144, 1 / 4, "Kerdock MUBs (Levenshtein)"),
]
LARGE = [(64, 256, 0.125, 120), (128, 1024, 0.100, 300), (256, 4096, 0.085, 600)]
HUGE = [(768, 16384, 0.09, 1800)]


def run(n, m, target, seconds, threads, restarts):
    result = nearortho.optimize((n, m), max_seconds=seconds, threads=threads, restarts=restarts)
    bounds = nearortho.bounds(n, m)
    return {"n": n, "m": m, "random": f"{nearortho.random_coherence(n, m):.4f}",
            "optimised": f"{result.coherence:.6f}", "target": f"{target:.6f}",
            "met": "yes" if result.coherence <= target * (1.001 if restarts else 1.0) else "no",
            "welch": f"{float(bounds.welch):.6f}", "best bound": f"{float(bounds.best):.6f} {bounds.best_name}",
            "seconds": f"{result.seconds:.1f}", "budget": seconds, "iterations": result.iterations,
            "stopped": result.stopped, "load": "%.1f" % os.getloadavg()[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--small", action="store_true", help="the closed-form packings")
    parser.add_argument("--large", action="store_true", help="(64, 256), (128, 1024), (256, 4096)")
    parser.add_argument("--huge", action="store_true", help="(768, 16384) for 30 minutes")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seconds-scale", type=float, default=1.0, help="multiply every budget (quick looks)")
    args = parser.parse_args()
    if not (args.small or args.large or args.huge):
        args.small = args.large = True
    rows = []
    cases = []
    if args.small:
        cases += [(n, m, c, 60, 1000) for n, m, c, _ in SMALL]
    if args.large:
        cases += [(n, m, c, s, 0) for n, m, c, s in LARGE]
    if args.huge:
        cases += [(n, m, c, s, 0) for n, m, c, s in HUGE]
    for n, m, target, seconds, restarts in cases:
        rows.append(run(n, m, target, seconds * args.seconds_scale, args.threads, restarts))
        print(table(rows[-1:], list(rows[-1])), flush=True)
    print()
    print(table(rows, list(rows[0])))
    print(f"isa {nearortho.build_info()['isa']}; wrote {save('optimize', rows)}")


if __name__ == "__main__":
    main()
