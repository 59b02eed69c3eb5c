"""``nearortho report``: every claim of the post beside measured values."""
from __future__ import annotations

import itertools

import click

from .output import progress


@click.command("report")
@click.option("--out", "out_dir", default="nearortho-report", show_default=True,
              type=click.Path(file_okay=False), help="Directory for index.html and results.json.")
@click.option("--quick", "size", flag_value="quick", help="Small sizes (seconds).")
@click.option("--full", "size", flag_value="full", help="Larger sizes (many minutes).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--quiet", is_flag=True, help="No progress bar.")
def report_command(out_dir, size, seed, quiet):
    """Measure the costs of superposition and write an HTML report with figures."""
    from ..report import run_report
    from ..report.sizes import step_count

    size = size or "default"
    steps = itertools.count(1)
    with progress(step_count(size), "report", quiet=quiet) as update:
        written = run_report(out_dir, size=size, seed=seed, progress=lambda message: update(next(steps), message))
    click.echo(f"wrote {written['html']} and {written['json']} in {written['seconds']:.0f} s")
