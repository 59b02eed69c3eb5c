"""Top-k partner lists grown only for the rows that need more: the exact search
behind ``pairs`` and ``signed_max``. Tests: tests/test_pairs.py,
tests/test_features.py."""
from __future__ import annotations

import numpy as np

from .interference import _interference


def all_partners(W, other, threads, memory=None):
    """Every row's complete list against ``other`` (all p partners, best first),
    from the same kernel, so in the same arithmetic as any top-k list: [other;
    other] holds each partner twice, and a list of 2 p - 1 leaves out one entry
    only, a second copy (ties go to the smaller index)."""
    p = other.shape[0]
    other = other[:]  # a RowFile read whole: these lists hold every partner anyway
    stats = _interference(W, np.concatenate([other, other]), True, 1, (), 2 * p - 1, False, threads, 0, None, "k",
                          memory=memory)
    first = stats.topk_index < p
    return stats.topk_index[first].reshape(len(W), p), stats.topk_value[first].reshape(len(W), p)


def grown_lists(W, other, index, value, needs_more, threads, memory=None):
    """Flat (row, partner, g) lists, best first per row by |g| (ties by index),
    long enough that ``needs_more(rows, index, value)`` (2-D lists of those rows)
    is False for every row, or holding all partners.

    ``index`` / ``value`` are the rows' first lists (m x k, or None for k = 0).
    Rows are searched again against ``other`` with four times the length (W and
    other may be RowFiles: the rows searched again are read, ``other`` streamed); pass
    W itself as ``other`` for the pairs within W: a row's own entry (j == i, g
    about 1) is then in its new list, and ``needs_more`` and the caller skip it.
    """
    m, partners = W.shape[0], other.shape[0]
    k = 0 if index is None else index.shape[1]
    rows = np.repeat(np.arange(m), k)
    todo = np.flatnonzero(needs_more(np.arange(m), index, value)) if k else np.arange(m)
    index = np.zeros(0, np.int64) if index is None else index.ravel()
    value = np.zeros(0) if value is None else value.ravel()
    size = max(4 * k, 1)
    while len(todo):
        complete = size >= partners - 1
        if complete:
            idx, val = all_partners(W[todo], other, threads, memory)
        else:
            stats = _interference(W[todo], other, True, 1, (), size, False, threads, 0, None, "k", memory=memory)
            idx, val = stats.topk_index, stats.topk_value
        drop = np.isin(rows, todo)
        rows = np.concatenate([rows[~drop], np.repeat(todo, idx.shape[1])])
        index = np.concatenate([index[~drop], idx.ravel()])
        value = np.concatenate([value[~drop], val.ravel()])
        todo = np.zeros(0, np.int64) if complete else todo[needs_more(todo, idx, val)]
        size *= 4
    return rows, index, value
