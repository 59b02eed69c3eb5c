"""``nearortho report``: every claim of the post beside measured values."""
from __future__ import annotations

import itertools

import click

from .output import progress


@click.command("report")
@click.option("--out", "out_dir", default="nearortho-report", show_default=True,
              type=click.Path(file_okay=False), help="Directory for index.html and results.json.")
@click.option("--quick", is_flag=True, help="Small sizes (seconds; for smoke tests).")
@click.option("--full", is_flag=True, help="Larger sizes and more trials (many minutes).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--quiet", is_flag=True, help="No progress bar.")
def report_command(out_dir, quick, full, seed, quiet):
    """Measure the claims of the post "Some costs of superposition" (Linda Linsefors,
    LessWrong and the AI Alignment Forum, March 2024) and of its comments, and write an
    HTML report with a verdict for each (about a minute on two cores).

    The claims, where the post states them, and what measures each: docs/claims.md
    in the nearortho repository.
    """
    from ..report import run_report
    from ..report.sizes import step_count

    if quick and full:
        raise click.UsageError("--quick and --full are mutually exclusive")
    size = "quick" if quick else "full" if full else "default"
    steps = itertools.count(1)
    with progress(step_count(size), "report", quiet=quiet) as update:
        written = run_report(out_dir, size=size, seed=seed, progress=lambda message: update(next(steps), message))
    click.echo(f"wrote {written['html']} and {written['json']} in {written['seconds']:.0f} s")
