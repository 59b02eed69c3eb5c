"""What a section of the report is: a small unit that measures, judges, and explains.

A section is one module in this package ending in ``SECTION = Section(...)``; the
ordered list in ``sections.py`` is the only other place that names it. Its
``measure`` returns a JSON-able results dict; everything else (verdicts, tables,
figure, method text) is a function of that dict alone, so results.json reproduces
the whole page and the verdicts can be tested with made-up numbers.
"""
from __future__ import annotations

import dataclasses
import functools
from typing import Callable

from .sizes import Sizes
from .sweep import interference_sweep


@dataclasses.dataclass(frozen=True)
class Table:
    """Rows of a section: ``key`` (indices into ``rows``) are shown, all rows folded below."""

    columns: list
    rows: list
    key: list


@dataclasses.dataclass(frozen=True)
class Section:
    key: str                                 # anchor in index.html and key in results.json
    title: str
    claim: str                               # the post's words, quoted or paraphrased (plain text)
    measure: Callable[["Context"], dict]     # runs the measurements
    judge: Callable[[dict], list]            # results -> [Verdict], pure
    method: Callable[[dict], str]            # results -> what was measured and how (plain text)
    table: Callable[[dict], Table]           # results -> Table
    draw: Callable[[dict, object], None]     # (results, matplotlib Figure) -> draws the one figure
    notes: Callable[[dict], str] | None = None  # results -> extra explanation (plain text)


class Context:
    """What every section's ``measure`` gets: sizes, seed, a progress callback, and
    measurements that several sections share (computed once, on first use)."""

    def __init__(self, sizes: Sizes, seed: int, tick: Callable[[str], None]):
        self.sizes, self.seed, self.tick = sizes, seed, tick

    @functools.cached_property
    def interference_sweep(self) -> list:
        """RMS and coherence of every frame kind over the (n, m) grid of ``sizes``."""
        return interference_sweep(self.sizes, self.seed, self.tick)
