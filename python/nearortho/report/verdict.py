"""Verdicts: what a claim says, what was measured, and whether the numbers bear it out.

Every verdict is computed by a pure function of a section's results dict (the
``judge`` of each section), so results.json alone reproduces it and a test can
flip it with made-up numbers. Three outcomes, one rule for claims that predict
a number (``by_factor``):

- holds: measured within the claim's tolerance of the prediction;
- holds in order of magnitude: off by at most 10x (the post's own standard:
  "approximately correct, to one order of magnitude");
- fails: off by more than 10x, or a qualitative claim the numbers contradict.

and a fourth, not measured, where the results cannot decide (every count at a search
cap, a single m where a trend in m is claimed): the reason says why.
"""
from __future__ import annotations

import dataclasses

HOLDS, ORDER, FAILS = "holds", "holds in order of magnitude", "fails"
UNMEASURED = "not measured"
ORDER_OF_MAGNITUDE = 10.0
TOLERANCE = 0.25        # "holds" for a hand-waved formula: within 25% of the measurement
EXACT_TOLERANCE = 0.05  # for a closed form (C1): the estimates here are within ~1% of it


@dataclasses.dataclass(frozen=True)
class Verdict:
    """One line of the summary table.

    ``factor`` is how far the prediction is from the measurement (>= 1, the worst
    case over the measured sizes), or None for a claim judged by its direction, a
    bound the measurements keep, or one not measured.
    """

    claim: str          # "P1", "C1 (capacity)", ...: the id used in docs/claims.md
    statement: str      # the claim in one line of plain words
    formula: str
    measured: str
    predicted: str
    status: str         # HOLDS, ORDER, FAILS or UNMEASURED
    factor: float | None
    reason: str

    @property
    def label(self) -> str:
        """The verdict in words, with the factor: "fails (off by 25x)"."""
        if self.factor is None:
            return self.status
        if self.status == HOLDS:
            return f"{self.status} (within {100 * (self.factor - 1):.1f}%)"
        return f"{self.status} (off by {format_factor(self.factor)})"

    def to_dict(self) -> dict:
        return dict(dataclasses.asdict(self), label=self.label)


def format_factor(factor: float) -> str:
    return f"{factor:.2g}x" if factor < 10 else f"{factor:.0f}x"


def worst_factor(measured, predicted) -> float:
    """The largest of max(measured / predicted, predicted / measured) over pairs (>= 1)."""
    ratios = [m / p for m, p in zip(measured, predicted, strict=True)]
    if not ratios or any(not r > 0 for r in ratios):
        return float("inf")
    return max(max(r, 1 / r) for r in ratios)


def side(measured, predicted) -> str:
    """Where the prediction sits: "below every measurement", "above every measurement" or "on both sides"."""
    pairs = list(zip(measured, predicted, strict=True))
    if all(p < m for m, p in pairs):
        return "below every measurement"
    if all(p > m for m, p in pairs):
        return "above every measurement"
    return "on both sides of the measurements"


def by_factor(factor: float, tolerance: float) -> str:
    """HOLDS within 1 + tolerance, ORDER within 10x, else FAILS."""
    if factor <= 1 + tolerance:
        return HOLDS
    return ORDER if factor <= ORDER_OF_MAGNITUDE else FAILS


def by_truth(ok: bool) -> str:
    """For claims about a direction or a shape: HOLDS or FAILS."""
    return HOLDS if ok else FAILS


def span(values, digits: int = 3) -> str:
    """"0.998 to 1.007", or one number when all agree at that precision."""
    whole = all(float(x).is_integer() for x in values)
    low, high = (_number(x, digits, whole) for x in (min(values), max(values)))
    return low if low == high else f"{low} to {high}"


def _number(x: float, digits: int, whole: bool) -> str:
    """x to ``digits`` significant digits, keeping trailing zeros (1.000), no exponent above 1."""
    if whole or abs(x) >= 10 ** digits:
        return f"{x:.0f}"
    return f"{x:#.{digits}g}".rstrip(".")


_ORDER = {"P": 0, "C": 1}


def summary_order(verdict: Verdict) -> tuple:
    """The post's claims first (P1..P8), then the comments' corrections (C1..), then others."""
    head = verdict.claim.split()[0]
    digits = "".join(ch for ch in head if ch.isdigit())
    return (_ORDER.get(head[:1], 2), head[:1], int(digits) if digits else 0)
