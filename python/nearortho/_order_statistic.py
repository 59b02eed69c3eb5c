"""The exact order statistic of |g| over the pairs (``InterferenceStats.quantile(q, exact=True)``).

Each pass of the core over the pairs counts exactly the values below, inside and
above a bracket [lo, hi], bins the inside on equal widths and returns the inside
values unless there are more than a cap of them. The search narrows the bracket
to the bin holding the rank until the values fit under the cap. Ties are the
hard case (a sign frame has millions of pairs with one value): a bracket then
never empties, so the search stops as soon as every bin of the bracket holds at
most one value of the working dtype (a few passes), one pass settles ties at
exactly zero (sparse frames), and brackets too narrow for the core to bin
(subnormal widths) are bisected on the dtype's values, one count per pass. So
the number of passes is bounded by the dtype's exponent range: about 3 (float32)
or 6 (float64) in practice, at most about 150 for millions of ties below 1e-300.
"""
from __future__ import annotations

import numpy as np

COLLECT_CAP = 1 << 22  # values a pass may return; more and the bracket narrows
BINS = 4096  # bins of a narrowing pass (whatever the user's histogram had)


def order_statistic(count_pass, rank: int, pairs: int, lo: float, hi: float, dtype) -> float:
    """The rank-th smallest |g| (1-based) of ``pairs`` values of ``dtype``, starting from a
    bracket [lo, hi] that should hold it. ``count_pass(lo, hi, bins, collect)`` runs one
    refining pass of the core and returns its InterferenceTotals."""
    dtype = np.dtype(dtype)
    while _binnable(lo, hi, dtype):
        out = count_pass(lo, hi, BINS, True)
        below, inside = out.below, int(out.hist.sum())
        if not below < rank <= below + inside:
            # the value was one bin over (rounding at a bin edge): widen
            lo, hi = max(0.0, lo - (hi - lo)), hi + (hi - lo)
            continue
        if not out.collect_overflow:
            return float(np.sort(out.collected)[rank - below - 1])
        b = int(np.searchsorted(np.cumsum(out.hist), rank - below))
        if lo == 0 and b == 0 and _at_most(count_pass, 0, pairs, dtype) >= rank:
            return 0.0
        single = _only_value_in_bin(lo, hi, b, dtype)
        if single is not None:
            return single
        width = (hi - lo) / BINS
        lo, hi = lo + b * width, lo + (b + 1) * width
    return _bisect(count_pass, rank, pairs, lo, hi, dtype)


def _binnable(lo: float, hi: float, dtype: np.dtype) -> bool:
    """Whether the core bins [lo, hi] as asked (it needs BINS / (hi - lo) finite in dtype)."""
    return hi > lo and BINS / (hi - lo) < np.finfo(dtype).max / 2


def _bits(value: float, dtype: np.dtype, up: bool) -> int:
    """The bit pattern of the smallest dtype value >= value (up) or largest <= value.
    Bit patterns of non-negative floats are ordered like their values."""
    rounded = np.asarray(value).astype(dtype)
    if up and float(rounded) < value:
        rounded = np.nextafter(rounded, dtype.type(np.inf))
    elif not up and float(rounded) > value:
        rounded = np.nextafter(rounded, dtype.type(0))
    return int(rounded.view(_int_type(dtype)))


def _int_type(dtype: np.dtype):
    return np.int32 if dtype.itemsize == 4 else np.int64


def _value(bits: int, dtype: np.dtype) -> float:
    return float(np.asarray(bits, dtype=_int_type(dtype)).view(dtype))


def _only_value_in_bin(lo: float, hi: float, b: int, dtype: np.dtype):
    """The value of dtype in bin b of [lo, hi] when every bin holds at most one value
    of dtype (binned as the core does), else None."""
    first, last = _bits(lo, dtype, up=True), _bits(hi, dtype, up=False)
    if last - first >= BINS:
        return None
    values = np.arange(first, last + 1, dtype=_int_type(dtype)).view(dtype).astype(np.float64)
    bins = np.minimum(((values - lo) * (BINS / (hi - lo))).astype(np.int64), BINS - 1)
    if np.any(np.diff(bins) == 0):
        return None
    match = values[bins == b]
    return float(match[0]) if match.size else None


def _at_most(count_pass, bits: int, pairs: int, dtype: np.dtype) -> int:
    """#{|g| <= v} for the dtype value v with these bits, as #{|g| < the next value}."""
    if bits >= _bits(float(np.finfo(dtype).max), dtype, up=False):
        return pairs
    t = _value(bits + 1, dtype)
    return count_pass(t, 2 * t + 1, 1, False).below


def _bisect(count_pass, rank: int, pairs: int, lo: float, hi: float, dtype: np.dtype) -> float:
    """Bisection on the values of dtype in [lo, hi] (or all of them, if the rank is not
    inside): the smallest v with #{|g| <= v} >= rank."""
    top = _bits(float(np.finfo(dtype).max), dtype, up=False)

    def at_most(bits: int) -> int:
        return _at_most(count_pass, bits, pairs, dtype)

    a, c = _bits(max(lo, 0.0), dtype, up=True), min(_bits(hi, dtype, up=False), top)
    if a > 0 and at_most(a - 1) >= rank:
        a = 0
    if at_most(c) < rank:
        c = top
    while a < c:
        mid = (a + c) // 2
        if at_most(mid) >= rank:
            c = mid
        else:
            a = mid + 1
    return _value(a, dtype)
