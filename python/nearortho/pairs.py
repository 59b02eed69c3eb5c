"""Every pair of features above a cosine threshold (near-duplicates, feature
splitting, absorption), exactly, without the m x m Gram matrix.

One fused pass counts the pairs (exactly, in the working dtype) and keeps each
row's top-k partners; a row whose k-th partner still reaches the threshold may
have more, so only those rows are searched again (``_lists.grown_lists``)
until every row's list ends below the threshold. Memory: O(m k + max_pairs).
"""
from __future__ import annotations

import numpy as np

from . import _blocks
from . import _validate as v
from ._lists import grown_lists
from .interference import _interference

__all__ = ["pairs"]


def pairs(W, threshold, B=None, *, signed=False, max_pairs=10_000_000, k=8, threads=None, memory=None):
    """Every pair i < j of rows of ``W`` (or every (i in W, j in B)) whose cosine
    g has |g| >= ``threshold`` (``signed=True``: g >= threshold).

    Parameters
    ----------
    W, B : array-like, shapes (m, n) and (m2, n), paths or RowFiles
        As for :func:`nearortho.interference` (files are read in blocks within
        ``memory``, as there).
    threshold : float in (0, 1]
    signed : bool
        Keep g >= threshold only (near-duplicates, not near-opposites).
    max_pairs : int
        The most pairs to return; more raise a ``ValueError`` that says how many
        pairs there are (counted first, before any is collected).
    k : int >= 1
        Partners per row kept by the first pass.

    Returns
    -------
    (i, j, g) : int64, int64 and float64 arrays
        Sorted by |g| (signed: g) from the largest, ties by (i, j). g is the
        cosine as the kernel computes it (float32 for float32 input), so the
        set of pairs is exact in that arithmetic.
    """
    threshold = v.real(threshold, "threshold", low=0.0, high=1.0, low_open=True)
    if not isinstance(signed, (bool, np.bool_)):
        raise TypeError(f"signed must be a bool, got {type(signed).__name__}")
    max_pairs = v.integer(max_pairs, "max_pairs", minimum=0)
    k = v.integer(k, "k", minimum=1)
    W = _blocks.matrix(W, "W")
    symmetric = B is None
    B = None if symmetric else _blocks.matrix(B, "B")
    partners = W.shape[0] - 1 if symmetric else B.shape[0]
    # |g| > the largest double below threshold: the core rounds that down to its
    # dtype, so it counts |g| >= threshold exactly
    below = float(np.nextafter(threshold, 0.0))
    first = _interference(W, B, True, 1, (below,), min(k, max(partners - 1, 0)), False, threads, 0, None,
                          "k", memory=memory)
    count = first.count_above[below]
    if count > max_pairs:
        raise ValueError(f"{count} pairs have |cos| >= {threshold}, more than max_pairs = {max_pairs}; "
                         "raise max_pairs or the threshold")
    if count == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
    W, B = first._source[0], first._source[1]  # converted once
    other = W if symmetric else B
    rows, index, value = grown_lists(W, other, first.topk_index, first.topk_value,
                                     lambda rows, idx, val: np.abs(val[:, -1]) >= threshold, threads, memory)
    keep = np.abs(value) >= threshold
    if symmetric:
        keep &= index > rows
    i, j, g = rows[keep], index[keep], value[keep]
    if len(i) != count:  # every list ends below the threshold, so none can be missing
        raise RuntimeError(f"found {len(i)} pairs, but the pass counted {count}")  # pragma: no cover
    if signed:
        positive = g >= threshold
        i, j, g = i[positive], j[positive], g[positive]
    order = np.lexsort((j, i, -(g if signed else np.abs(g))))
    return i[order], j[order], g[order]
