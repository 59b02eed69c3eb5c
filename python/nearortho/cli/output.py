"""How the CLI prints: a rich table for people, bare JSON with --json, and a
progress bar on stderr only when stderr is a terminal and --quiet is off."""
from __future__ import annotations

import json
import numbers
import sys
from contextlib import contextmanager

import click
import numpy as np

from .._result import plain


def _text(value) -> str:
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, float) or isinstance(value, np.floating):
        return f"{value:.6g}"
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, (list, tuple, np.ndarray)) and len(value) > 8:
        return f"[{' x '.join(map(str, _shape(value)))} values]"  # top-k: m x k, not m values
    return str(plain(value))


def _shape(value) -> tuple:
    try:
        return np.shape(value)
    except ValueError:  # ragged lists
        return (len(value),)


def emit(record: dict, *, as_json: bool, title: str) -> None:
    """Print one record: JSON only, or a two-column table."""
    if as_json:
        click.echo(json.dumps(plain(record), allow_nan=False))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, show_header=True)
    table.add_column("quantity")
    table.add_column("value", justify="right")
    for key, value in record.items():
        table.add_row(str(key), _text(value))
    Console().print(table)


def emit_rows(rows: list, *, as_json: bool, title: str) -> None:
    """Print records with the same keys: a JSON list, or a table with one row per
    quantity and one column per record (records have many fields, and are few)."""
    if as_json:
        click.echo(json.dumps(plain(rows), allow_nan=False))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    table.add_column("quantity")
    for _ in rows:
        table.add_column("", justify="right")
    for key in rows[0]:
        table.add_row(str(key), *(_text(row[key]) for row in rows))
    Console().print(table)


@contextmanager
def progress(total: int, description: str, *, quiet: bool):
    """Yields update(completed, message=None) that moves a bar on stderr; a no-op
    with --quiet or when stderr is not a terminal."""
    if quiet or not sys.stderr.isatty():
        yield lambda completed, message=None: None
        return
    from rich.console import Console
    from rich.progress import Progress

    with Progress(console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(description, total=total)
        yield lambda completed, message=None: bar.update(task, completed=completed,
                                                          description=message or description)
