"""Every pair of features above a cosine threshold (near-duplicates, feature
splitting, absorption), exactly, without the m x m Gram matrix.

One fused pass counts the pairs (exactly, in the working dtype) and collects
them while they number at most ``max_pairs``, so memory is O(max_pairs) and no
second pass is needed, whether the pairs fit or not. Tests: tests/test_pairs.py.
"""
from __future__ import annotations

import numpy as np

from . import _validate as v
from .interference import _interference

__all__ = ["pairs"]


def pairs(W, threshold, B=None, *, signed=False, max_pairs=10_000_000, threads=None, memory=None, precision=None,
          progress=None):
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
        pairs there are (the pass counts them all, and keeps none then).
    threads : int, optional
    memory : int, optional
        The pass's budget, as for :func:`nearortho.interference`; it must also hold
        72 bytes for each pair that may be kept: ``max_pairs``, or all the pairs
        there are when fewer (720 MB by default once there are 10^7 pairs).
    precision : {None, "tf32", "bf16"}
        As for :func:`nearortho.interference`: the Gram on a GPU's tensor cores;
        every pair within ``gram_error`` of the threshold is recomputed in
        float64, so the set is exact in float64 and g is the float64 cosine of
        the float32 rows.
    progress : callable(done, total), optional
        As for :func:`nearortho.interference`: tiles done of the pass, about every
        50 ms; an exception it raises stops the pass.

    Returns
    -------
    (i, j, g) : int64, int64 and float64 arrays
        Sorted by |g| (signed: g) from the largest, ties by (i, j). g is the
        cosine as the kernel computes it (float32 for float32 input), and the
        set of pairs is exact in that arithmetic. Extra memory: the pass's
        (see :func:`nearortho.interference`) and about 72 bytes per pair kept.
    """
    threshold = v.real(threshold, "threshold", low=0.0, high=1.0, low_open=True)
    signed = v.boolean(signed, "signed")
    max_pairs = v.integer(max_pairs, "max_pairs", minimum=0)
    _, (count, i, j, g) = _interference(W, B, True, 1, (), 0, False, threads, 0, None, "k", progress, memory=memory,
                                        precision=precision, pair_threshold=threshold, pair_signed=bool(signed),
                                        pair_cap=max_pairs)
    if count > max_pairs:
        what = "cos" if signed else "|cos|"
        raise ValueError(f"{count} pairs have {what} >= {threshold}, more than max_pairs = {max_pairs}; "
                         "raise max_pairs or the threshold")
    order = np.lexsort((j, i, -(g if signed else np.abs(g))))
    return i[order], j[order], g[order]
