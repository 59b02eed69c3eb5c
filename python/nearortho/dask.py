"""Interference statistics of a ``dask.array`` frame on a ``distributed`` cluster.

The pairs of rows are split into tasks over pairs of row blocks; each task runs
the compiled kernel on two blocks and returns a small mergeable result, so the
same code serves a laptop (a ``LocalCluster`` started for the call) and a
cluster (pass its ``Client``). Results equal ``nearortho.interference`` on the
whole frame: counts, maxima, pairs and histograms exactly, float64 sums to
rounding.
"""
from __future__ import annotations

import dataclasses
from functools import reduce

import numpy as np

from . import _validate as v
from .interference import InterferenceStats
from .interference import interference as _block_interference

_ROW_FIELDS = ("row_max", "row_argmax", "row_sumsq", "topk_index", "topk_value")


def interference(W, B=None, *, client=None, bins=1024, thresholds=(), topk=0, per_row=True,
                 threads=None) -> InterferenceStats:
    """``nearortho.interference`` of a row-chunked ``dask.array`` (cosines only).

    Parameters
    ----------
    W, B : dask.array.Array, shape (m, n) and (m2, n)
        Chunked along rows (columns are gathered into one chunk). Without ``B``:
        all pairs i < j of rows of W; with ``B``: all pairs (row of W, row of B).
    client : distributed.Client, optional
        Where the tasks run. Default: the current client if there is one, else a
        ``LocalCluster`` with one in-process worker for the duration of the call.
    bins, thresholds, topk, per_row, threads
        As in :func:`nearortho.interference`; ``threads`` is per task.
        Row chunks too small for ``topk`` partners are merged with a neighbour.

    Notes
    -----
    Without ``B``, per-row statistics need every row block paired with every
    other in both directions, so they double the work of the off-diagonal
    blocks; ``per_row=False, topk=0`` computes each pair once.
    """
    import dask
    import dask.array as da

    if not isinstance(W, da.Array) or (B is not None and not isinstance(B, da.Array)):
        raise TypeError("W and B must be dask arrays (use nearortho.interference for numpy arrays)")
    if W.ndim != 2 or (B is not None and B.ndim != 2):
        raise ValueError("W and B must be 2-dimensional (rows, n)")
    threads = None if threads is None else v.integer(threads, "threads", minimum=1)
    options = dict(bins=bins, thresholds=thresholds, topk=topk, threads=threads, normalize=True)
    topk = v.integer(topk, "topk", minimum=0)
    rows = _blocks(W, max(2, topk + 2))
    cols = rows if B is None else _blocks(B, topk + 1)
    task = dask.delayed(_pair, pure=True)
    scalar_tasks, row_tasks = [], []
    for i, (a, block_a) in enumerate(rows):
        row_tasks.append([])
        for j, (b, block_b) in enumerate(cols):
            symmetric_lower = B is None and j < i
            if symmetric_lower and not (per_row or topk):
                continue
            result = task(block_a, None if (B is None and i == j) else block_b, a, b,
                          per_row or bool(topk), options)
            row_tasks[-1].append(result)
            if not symmetric_lower:
                scalar_tasks.append(result)
    with _client(client) as running:
        computed_scalars, computed_rows = running.compute([scalar_tasks, row_tasks], sync=True)
    total = reduce(InterferenceStats.merge, computed_scalars)
    if not (per_row or topk):
        return total
    by_row = reduce(InterferenceStats.merge, (reduce(InterferenceStats.merge, r) for r in computed_rows))
    kept = {f: getattr(by_row, f) for f in _ROW_FIELDS}
    if not per_row:
        kept.update(row_max=None, row_argmax=None, row_sumsq=None)
    return dataclasses.replace(total, m=W.shape[0], row_offset=0, col_offset=0, **kept)


def _blocks(X, min_rows: int) -> list:
    """(first row, delayed numpy block) for each row chunk, after merging chunks
    smaller than ``min_rows`` with their neighbours (every block pair must hold
    pairs, and enough partners per row for top-k)."""
    sizes = []
    for size in X.chunks[0]:
        if sizes and sizes[-1] < min_rows:
            sizes[-1] += size
        else:
            sizes.append(size)
    if len(sizes) > 1 and sizes[-1] < min_rows:
        sizes[-2] += sizes.pop()
    X = X.rechunk({0: tuple(sizes), 1: -1})
    starts = np.concatenate([[0], np.cumsum(X.chunks[0])[:-1]])
    return list(zip((int(s) for s in starts), X.to_delayed().ravel()))


def _pair(block_a, block_b, a: int, b: int, per_row: bool, options: dict) -> InterferenceStats:
    if block_b is None:
        return _block_interference(block_a, per_row=per_row, row_offset=a, **options)
    return _block_interference(block_a, block_b, per_row=per_row, row_offset=a, col_offset=b, **options)


class _client:
    """The given client, the current one, or a temporary in-process LocalCluster."""

    def __init__(self, client):
        self.client, self.owned = client, None

    def __enter__(self):
        from distributed import Client, LocalCluster, default_client

        if self.client is not None:
            return self.client
        try:
            return default_client()
        except ValueError:
            cluster = LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                   dashboard_address=None)
            self.owned = Client(cluster)
            return self.owned

    def __exit__(self, *exc):
        if self.owned is not None:
            cluster = self.owned.cluster
            self.owned.close()
            cluster.close()
