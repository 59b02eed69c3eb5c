"""One row per feature of a dictionary: what interpretability work keeps per
feature (norm, nearest partner, interference received, capacity, top-k)."""
from __future__ import annotations

import numpy as np

from .interference import InterferenceStats, _interference
from .row_file import RowFile

__all__ = ["row_norms", "feature_table", "signed_max"]


def row_norms(W) -> np.ndarray:
    """Euclidean norm of each row, in float64, read block by block (a memory-mapped
    W or a RowFile is never loaded whole)."""
    W = W if isinstance(W, RowFile) else np.asarray(W)
    # blocks of 2^16 values, 512 KiB in float64, which malloc reuses: blocks of 2^22
    # (32 MiB) came back from the OS as fresh pages each time, 13 ms of a call's
    # checks at (16384, 512) float32 against 6.6 ms
    step = max(1, (1 << 16) // max(1, W.shape[1]))
    out = np.empty(W.shape[0])
    for start in range(0, W.shape[0], step):
        block = np.asarray(W[start:start + step], dtype=np.float64)
        out[start:start + step] = np.sqrt(np.einsum("ij,ij->i", block, block))
    return out


def signed_max(W, B=None, *, threads=None):
    """Each row of ``W``'s largest signed cosine with another row (of ``B`` if given) and
    that partner: SAEBench's per-feature "max cosine similarity". ``W`` and ``B``
    as for :func:`nearortho.interference` (arrays, paths or RowFiles); ``threads``:
    default follows OpenMP.

    Returns ``(value, partner)``, float64 and int64 arrays of length m; ties go
    to the smaller partner. One fused pass (``row_signed_max`` of
    :func:`nearortho.interference`), exact in the kernel's arithmetic.
    """
    stats = _interference(W, B, True, 1, (), 0, True, threads, 0, None, "k", columns=False)
    return stats.row_signed_max, stats.row_signed_argmax


def feature_table(W, stats: InterferenceStats) -> dict:
    """Columns (name -> array of length m) for the rows of ``W``, from ``stats`` of
    ``interference(W, per_row=True)`` (with ``topk`` for the partner lists).

    ``max_abs_cos`` and ``partner``: the largest |cos| with another row and that
    row; ``max_cos`` and ``max_cos_partner``: the largest signed cosine and its
    row (see :func:`signed_max`), from the same pass; ``sum_sq_cos``: sum over j != i of cos^2;
    ``capacity``: 1 / (1 + sum_sq_cos) (Scherlis et al. 2022); ``topk_partner``
    / ``topk_cos``: the partner lists, best first, signed cosines.
    """
    if stats.row_max is None:
        raise ValueError("feature_table needs per-row statistics; call interference(..., per_row=True)")
    columns = {"index": np.arange(stats.m) + stats.row_offset, "norm": row_norms(W),
               "max_abs_cos": stats.row_max, "partner": stats.row_argmax}
    if stats.normalize:
        columns["max_cos"], columns["max_cos_partner"] = stats.row_signed_max, stats.row_signed_argmax
    columns["sum_sq_cos"] = stats.row_sumsq
    if stats.normalize and stats.m2 is None:
        columns["capacity"] = stats.capacity
    if stats.topk_index is not None:
        columns["topk_partner"] = stats.topk_index
        columns["topk_cos"] = stats.topk_value
    return columns
