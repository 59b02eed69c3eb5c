"""``nearortho optimize``: lower the coherence of a frame and save it as .npy,
with live progress (coherence beside the best lower bound)."""
from __future__ import annotations

import sys

import click

from .npy_output import check_npy_path, npy_output
from .output import emit, progress
from .source import KEY_HELP, PATH, layout_option, load_file


@click.command("optimize")
@click.option("--n", "n", type=int, default=None, help="Dimension (with --m; or give --init).")
@click.option("--m", "m", type=int, default=None, help="Number of unit vectors.")
@click.option("--init", "init", type=PATH, default=None,
              help="Start from the frame in this file (.npy, .npz, .safetensors, .pt) or SAE directory.")
@click.option("--key", default=None, help=KEY_HELP)
@layout_option
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the random start.")
@click.option("--kind", default="gaussian", show_default=True,
              help="Kind of the start (a frame kind, or auto: the best structured frame at (n, m) too).")
@click.option("--dtype", type=click.Choice(["float32", "float64"]), default=None,
              help="Default: float64 when m * n <= 4096, else float32 (or the --init file's).")
@click.option("--objective", type=click.Choice(["coherence", "frame_potential"]), default="coherence",
              show_default=True)
@click.option("--seconds", "max_seconds", type=float, default=60.0, show_default=True,
              help="Wall-clock budget, checked after each step (4-8 s a step at n = 768, m = 16384 on 2 cores).")
@click.option("--max-iter", type=int, default=None, help="Most gradient steps.")
@click.option("--restarts", type=int, default=0, show_default=True,
              help="With --n/--m: after a start converges, start again from the seeds after --seed while the "
                   "budget lasts, keeping the best frame (small packings have many local minima).")
@click.option("--threads", type=int, default=None, help="Default: OMP_NUM_THREADS or all CPUs.")
@click.option("--out", type=click.Path(dir_okay=False), required=True, help="Output .npy file.")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON only (NaN and infinities as null).")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def optimize_command(n, m, init, key, layout, seed, kind, dtype, objective, max_seconds, max_iter, restarts, threads, out,
                     as_json, quiet):
    """Optimise m unit vectors in R^n for low coherence and write the best frame to OUT.

    \b
    Printed (a table, or JSON with --json):
      out, n, m, objective   the file written and what was lowered
      coherence, pair        max |cosine| of the frame written, and its rows
      best_bound, best_bound_name, welch
                             the largest lower bound on the coherence (welch,
                             orthoplex or levenshtein: nearortho.bounds) and Welch's
      gap                    coherence / best_bound - 1 (m <= n: the coherence)
      iterations, seconds    steps taken over all starts, and their time
      stopped                max_iter, max_seconds, converged, bound (reached
                             best_bound) or interrupted (Ctrl-C: the best frame so
                             far is written, exit status 130)
      start, starts          the start the frame descends from, and how many ran
    """
    from ..optimize import OptimizeInterrupted, optimize

    check_npy_path(out)
    if (init is None) == (n is None or m is None):
        raise ValueError("give either --n and --m, or --init (not both)")
    if init is not None:  # the file is the start: the options that choose a fresh one would be ignored
        context = click.get_current_context()
        given = [f"--{name}" for name in ("kind", "seed", "restarts")
                 if context.get_parameter_source(name) != click.core.ParameterSource.DEFAULT]
        if given:
            raise ValueError(f"{' and '.join(given)} choose{'s' if len(given) == 1 else ''} a fresh start (--n and "
                             f"--m); with --init the start is the file")
    start = load_file(init, key, layout, directions=True) if init is not None else (n, m)
    with progress(max_seconds, "optimising", quiet=quiet) as update:
        def report(state):
            update(min(state.seconds, max_seconds),
                   f"coherence {state.coherence:.6f} (best bound {state.best_bound:.6f}), {state.stage}, "
                   f"step {state.iteration}")
        try:
            result = optimize(start, kind=kind, seed=seed, dtype=dtype, objective=objective, max_seconds=max_seconds,
                              max_iter=max_iter, restarts=restarts, threads=threads, progress=report)
        except OptimizeInterrupted as interrupt:  # Ctrl-C: keep the best frame so far, then exit as SIGINT does
            result = interrupt.result
    with npy_output(out, result.frame.shape, result.frame.dtype) as target:
        target[...] = result.frame
    record = {"out": out, "n": result.n, "m": result.m, "objective": objective, "coherence": result.coherence,
              "pair": result.pair, "best_bound": result.best_bound,
              "best_bound_name": str(result.bounds.best_name), "welch": float(result.bounds.welch),
              "gap": result.gap, "iterations": result.iterations, "seconds": result.seconds,
              "stopped": result.stopped, "start": result.start, "starts": len(result.starts)}
    interrupted = result.stopped == "interrupted"
    emit(record, as_json=as_json,
         title=f"{'interrupted: best frame so far' if interrupted else 'optimised frame'} written to {out}")
    if interrupted:
        sys.exit(130)
