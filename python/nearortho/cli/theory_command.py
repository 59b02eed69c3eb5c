"""``nearortho theory``: the post's formulas and the comments' corrections."""
from __future__ import annotations

import click
import numpy as np

from .output import emit_rows


def _numbers(text: str, name: str, kind=int):
    try:
        return np.array([kind(part) for part in text.split(",")])
    except ValueError:
        raise ValueError(f"{name} must be a comma-separated list of numbers, got {text!r}") from None


@click.command("theory")
@click.option("--n", "n", required=True, help="Dimension(s), e.g. 256 or 64,256,1024.")
@click.option("--m", "m", required=True, help="Number(s) of features.")
@click.option("--l", "l", default=None, help="Active feature count(s).")
@click.option("--amplitude", type=float, default=1.0, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON only (NaN and infinities as null).")
def theory_command(n, m, l, amplitude, as_json):
    """Evaluate the post's formulas P1-P6 and the correction C1 (broadcast over
    comma-separated values). The claims: docs/claims.md in the nearortho repository."""
    from ..theory import theory

    l_values = None if l is None else _numbers(l, "--l")
    result = theory(_numbers(n, "--n"), _numbers(m, "--m"), l_values, amplitude)
    emit_rows(result.records(), as_json=as_json, title="theory")
