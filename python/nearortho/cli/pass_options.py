"""Options of the interference pass that several commands share."""
from __future__ import annotations

import click

precision_option = click.option(
    "--precision", type=click.Choice(["tf32", "bf16"]), default=None,
    help="On a GPU (CUDA build): Gram tiles on tensor cores; coherence, maxima, top-k and pairs are re-checked "
         "in float64, the histogram and sums are within a bound (stats prints it: gram_error). Ignored on the CPU.")
