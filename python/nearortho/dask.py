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
import re
from functools import reduce

import numpy as np

from . import _validate as v
from .interference import _COL_SIDE, _ROW_SIDE, PER_ROW_FIELDS, InterferenceStats
from .interference import interference as _block_interference

# the per-row fields of each side, in the same order: how each side's names map to the other's
_SIDES = [dataclasses.astuple(side) for side in (_ROW_SIDE, _COL_SIDE)]


def interference(W, B=None, *, client=None, bins=1024, thresholds=(), topk=0, per_row=True,
                 threads=None) -> InterferenceStats:
    """``nearortho.interference`` of a row-chunked ``dask.array`` (cosines only).

    Parameters
    ----------
    W, B : dask.array.Array, shape (m, n) and (m2, n)
        Chunked along rows, with known chunk sizes (columns are gathered into one
        chunk). Without ``B``:
        all pairs i < j of rows of W; with ``B``: all pairs (row of W, row of B).
    client : distributed.Client, optional
        Where the tasks run. Default: the current client if there is one, else a
        ``LocalCluster`` with one in-process worker for the duration of the call.
    bins, thresholds, topk, per_row, threads
        As in :func:`nearortho.interference`; ``threads`` is per task.
        Row chunks too small for ``topk`` partners are merged with a neighbour.

    Notes
    -----
    Each pair of row blocks runs once: its pass gives the per-row statistics of
    both blocks (without ``B``) or of the rows of W and of B (the ``col_*``
    fields, with ``B``). The results are merged on the workers two at a time, into
    one running total per row block (of W, and of B), so a block pair's per-row
    arrays are released soon after it runs and the client receives O(m + m2)
    per-row values.
    """
    try:
        import dask
        import dask.array as da
        import distributed  # noqa: F401 - the tasks run on a distributed Client (a LocalCluster by default)
    except ImportError as error:
        raise ImportError(f'nearortho.dask needs dask and distributed: pip install "nearortho[dask]" ({error})') \
            from error

    if not isinstance(W, da.Array) or (B is not None and not isinstance(B, da.Array)):
        raise TypeError("W and B must be dask arrays (use nearortho.interference for numpy arrays)")
    if W.ndim != 2 or (B is not None and B.ndim != 2):
        raise ValueError("W and B must be 2-dimensional (rows, n)")
    for name, X in (("W", W), ("B", B)):  # what every block's pass would refuse, before any task runs
        if X is not None and X.dtype not in (np.float16, np.float32, np.float64):
            raise TypeError(f"{name} must have a float16, float32 or float64 dtype, got {X.dtype}")
        if X is not None and np.isnan(X.shape).any():  # the block pairs are planned from the chunk sizes
            raise ValueError(f"{name} has unknown chunk sizes (shape {X.shape}, e.g. after boolean indexing): "
                             f"call {name}.compute_chunk_sizes() first")
    if B is not None and B.shape[1] != W.shape[1]:
        raise ValueError(f"B must have n = {W.shape[1]} columns like W, got shape {B.shape}")
    if B is None and W.shape[0] < 2:
        raise ValueError(f"W needs at least 2 rows for pairs, got shape {W.shape}")
    v.integer(bins, "bins", minimum=1, maximum=1 << 24)
    v.thresholds(thresholds)
    v.boolean(per_row, "per_row")
    threads = None if threads is None else v.integer(threads, "threads", minimum=1)
    options = dict(bins=bins, thresholds=thresholds, topk=topk, threads=threads, normalize=True)
    topk = v.integer(topk, "topk", minimum=0)
    rows = _blocks(W, max(2, topk + 2))
    cols = rows if B is None else _blocks(B, topk + 1)
    task = dask.delayed(_pair, pure=True)
    from_b = dask.delayed(_seen_from_b, pure=True)
    results, upper = [], {}  # results[i][j]: block i's rows against block j
    for i, (a, block_a) in enumerate(rows):
        results.append([])
        for j, (b, block_b) in enumerate(cols):
            if B is None and j < i:  # block i's rows against block j: the other side of task (j, i)
                results[-1].append(from_b(upper[j, i]))
                continue
            upper[i, j] = task(block_a, None if (B is None and i == j) else block_b, a, b,
                               per_row or bool(topk), options, "W" if B is None else "B")
            results[-1].append(upper[i, j])
    # merged on the workers: the client receives one result per row block (and per block of B),
    # O(m) per-row values, not one block pair's per-row arrays for each of the (m / chunk)^2 tasks
    merge = dask.delayed(_merge, pure=True)

    def chain(parts, kept):  # merged one at a time, so each block pair's result is released soon
        total = merge(None, parts[0], kept)
        for part in parts[1:]:
            total = merge(total, part, kept)
        return total

    scalar_parts = [chain([upper[i, j] for j in range(len(cols)) if (i, j) in upper], ()) for i in range(len(rows))]
    side_parts = []
    if per_row or topk:
        side_parts = [chain(row, _SIDES[0]) for row in results]
        if B is not None:  # each block of B's rows, against every block of W
            side_parts += [chain([row[j] for row in results], _SIDES[1]) for j in range(len(cols))]
    with _client(client) as running:
        computed_scalars, computed_sides = running.compute([scalar_parts, side_parts], sync=True)
    total = reduce(InterferenceStats.merge, computed_scalars)
    if not (per_row or topk):
        return total
    by_row = reduce(InterferenceStats.merge, computed_sides[:len(rows)])
    kept = {f: getattr(by_row, f) for f in _SIDES[0]}
    if B is not None:
        by_col = reduce(InterferenceStats.merge, computed_sides[len(rows):])
        kept.update({f: getattr(by_col, f) for f in _SIDES[1]})
    if not per_row:
        kept.update({name: None for side in (_ROW_SIDE, _COL_SIDE) for name in side.per_row()})
    return dataclasses.replace(total, m=W.shape[0], row_offset=0, col_offset=0, **kept)


def _merge(total, result: InterferenceStats, kept: tuple) -> InterferenceStats:
    """``total`` (None at first) merged with ``result``, keeping only the per-row fields
    named in ``kept`` (those of other blocks would be dropped by the merge anyway)."""
    result = dataclasses.replace(result, **dict.fromkeys(f for f in PER_ROW_FIELDS if f not in kept))
    return result if total is None else total.merge(result)


def _seen_from_b(stats: InterferenceStats) -> InterferenceStats:
    """A block pair's result with its two sides swapped: the per-row fields of the
    second block (``col_*``) become those of the rows, so they merge with that
    block's other results. Only its per-row fields are used."""
    swapped = dict(zip(_SIDES[0], (getattr(stats, f) for f in _SIDES[1])))
    swapped.update(zip(_SIDES[1], (getattr(stats, f) for f in _SIDES[0])))
    return dataclasses.replace(stats, m=stats.m2, m2=stats.m, row_offset=stats.col_offset,
                               col_offset=stats.row_offset, _source=None, **swapped)


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
    if len(sizes) > 1 and sizes[-1] < min_rows:  # the last chunk joins the one before it
        last = sizes.pop()
        sizes[-1] += last
    X = X.rechunk({0: tuple(sizes), 1: -1})
    starts = np.concatenate([[0], np.cumsum(X.chunks[0])[:-1]])
    return list(zip((int(s) for s in starts), X.to_delayed().ravel()))


def _pair(block_a, block_b, a: int, b: int, per_row: bool, options: dict, b_name: str) -> InterferenceStats:
    try:
        if block_b is None:
            return _block_interference(block_a, per_row=per_row, row_offset=a, **options)
        return _block_interference(block_a, block_b, per_row=per_row, row_offset=a, col_offset=b, **options)
    except ValueError as error:  # a bad row, named by the core as row k of "W" or "B": the blocks' names
        raise ValueError(_global_row(str(error), a, b, b_name)) from None


def _global_row(message: str, a: int, b: int, b_name: str) -> str:
    """A block pass's message about row k of its first ("W") or second ("B") block,
    with the frame's name and row number instead (the second block is B's, or W's
    own rows without B)."""
    match = re.match(r"(W|B)\b(.*?\(row )(\d+)", message)
    if match is None:
        return message
    name, offset = ("W", a) if match.group(1) == "W" else (b_name, b)
    return f"{name}{match.group(2)}{offset + int(match.group(3))}{message[match.end():]}"


class _client:
    """The given client, the current one, or a temporary in-process LocalCluster."""

    def __init__(self, client):
        self.client, self.owned = client, None

    def __enter__(self):
        from distributed import Client, LocalCluster, default_client

        if self.client is not None:
            if not isinstance(self.client, Client):
                raise TypeError(f"client must be a distributed.Client, got {type(self.client).__name__}")
            return self.client
        try:
            return default_client()
        except ValueError:
            # the scheduler's web server on a free local port: None means 8787, which a running
            # dashboard often holds (a "Port 8787 is already in use" warning for every call)
            cluster = LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                   dashboard_address="127.0.0.1:0")
            self.owned = Client(cluster)
            return self.owned

    def __exit__(self, *exc):
        if self.owned is not None:
            cluster = self.owned.cluster
            self.owned.close()
            cluster.close()
