"""One row per feature of a dictionary: what interpretability work keeps per
feature (norm, nearest partner, interference received, capacity, top-k)."""
from __future__ import annotations

import numpy as np

from . import _validate as v
from ._lists import grown_lists
from .interference import InterferenceStats, _interference
from .row_file import RowFile

__all__ = ["row_norms", "feature_table", "signed_max"]


def row_norms(W) -> np.ndarray:
    """Euclidean norm of each row, in float64, read block by block (a memory-mapped
    W or a RowFile is never loaded whole)."""
    W = W if isinstance(W, RowFile) else np.asarray(W)
    step = max(1, (1 << 22) // max(1, W.shape[1]))
    out = np.empty(W.shape[0])
    for start in range(0, W.shape[0], step):
        block = np.asarray(W[start:start + step], dtype=np.float64)
        out[start:start + step] = np.sqrt(np.einsum("ij,ij->i", block, block))
    return out


def signed_max(W, B=None, *, k=8, threads=None):
    """Each row's largest signed cosine with another row (of ``B`` if given) and
    that partner: SAEBench's per-feature "max cosine similarity".

    Returns ``(value, partner)``, float64 and int64 arrays of length m; ties go
    to the smaller partner. Exact in the kernel's arithmetic: from each row's
    top-k list by |g|, whose largest positive g is the answer once it reaches
    the list's last |g| (no partner left out can beat it); the rows where it
    does not (every close partner is opposite) are searched again with longer
    lists, up to all partners.
    """
    k = v.integer(k, "k", minimum=1)
    W = v.float_matrix(W, "W")
    symmetric = B is None
    partners = W.shape[0] - 1 if symmetric else v.float_matrix(B, "B").shape[0]
    if symmetric and partners < 1:
        raise ValueError(f"W needs at least 2 rows for pairs, got shape {W.shape}")
    stats = _interference(W, B, True, 1, (), min(k, partners - 1), False, threads, 0, None, "k")
    return _signed_max_from_lists(stats, threads)


def _signed_max_from_lists(stats: InterferenceStats, threads):
    """``signed_max`` from the top-k lists of ``stats`` (of interference(W[, B]))."""
    W, B = stats._source[0], stats._source[1]
    symmetric = B is None

    def others(rows, idx, val):  # g of the partners, the row itself masked out
        return np.where(symmetric & (idx == rows[:, None]), -np.inf, val)

    def needs_more(rows, idx, val):
        return ~(others(rows, idx, val).max(axis=1) >= np.abs(val[:, -1]))

    rows, index, value = grown_lists(W, W if symmetric else B, stats.topk_index, stats.topk_value, needs_more,
                                     threads)
    if symmetric:
        value = np.where(index == rows, -np.inf, value)
    best = np.lexsort((index, -value, rows))  # per row: largest g, then smallest partner
    first = best[np.r_[True, rows[best][1:] != rows[best][:-1]]]
    return value[first], index[first]


def feature_table(W, stats: InterferenceStats) -> dict:
    """Columns (name -> array of length m) for the rows of ``W``, from ``stats`` of
    ``interference(W, per_row=True)`` (with ``topk`` for the partner lists).

    ``max_abs_cos`` and ``partner``: the largest |cos| with another row and that
    row; ``max_cos`` and ``max_cos_partner``: the largest signed cosine (see
    :func:`signed_max`; from the top-k lists, so with ``topk`` it costs no
    further pass over most rows); ``sum_sq_cos``: sum over j != i of cos^2;
    ``capacity``: 1 / (1 + sum_sq_cos) (Scherlis et al. 2022); ``topk_partner``
    / ``topk_cos``: the partner lists, best first, signed cosines.
    """
    if stats.row_max is None:
        raise ValueError("feature_table needs per-row statistics; call interference(..., per_row=True)")
    columns = {"index": np.arange(stats.m) + stats.row_offset, "norm": row_norms(W),
               "max_abs_cos": stats.row_max, "partner": stats.row_argmax}
    if stats.normalize and stats._source is not None:
        source, threads = stats._source, stats._source[3] or None
        value, partner = (_signed_max_from_lists(stats, threads) if stats.topk_index is not None
                          else signed_max(source[0], source[1], threads=threads))
        columns["max_cos"], columns["max_cos_partner"] = value, partner + stats.col_offset
    columns["sum_sq_cos"] = stats.row_sumsq
    if stats.normalize and stats.m2 is None:
        columns["capacity"] = stats.capacity
    if stats.topk_index is not None:
        columns["topk_partner"] = stats.topk_index
        columns["topk_cos"] = stats.topk_value
    return columns
