"""One-to-one matching of the features of two dictionaries without the dense
|A| x |B| cosine matrix, with a certificate of optimality.

Candidates come from the fused top-k pass (``neighbors``): each feature of the
smaller dictionary keeps its k best partners, and k grows for the features
that need it. A sparse assignment solver (SciPy's LAPJVsp) finds the best
matching among the candidates. A dual solution of the full assignment LP then
bounds what any pair left out could add: every pair outside row i's list has
a weight at most tau_i, the smallest weight row i kept, so dual values with
u_i + v_j >= tau_i for all such pairs prove that no matching using them is
better. When the bound does not close, the result says by how much the total
may fall short of the optimum.
"""
from __future__ import annotations

import dataclasses
import math

import numpy as np

from . import _blocks
from . import _validate as v
from ._lists import all_partners
from ._result import Result
from .interference import neighbors
from .row_file import RowFile

__all__ = ["Match", "match"]

THRESHOLDS = (0.5, 0.7, 0.9)
# slack allowed in the dual constraints: weights are float64 copies of cosines,
# and the duals are sums along alternating paths of their differences
_TOL = 1e-12


@dataclasses.dataclass(repr=False)
class Match(Result):
    """A one-to-one matching of rows of A to rows of B (see :func:`match`).

    ``a_index[t]`` is matched to ``b_index[t]`` with signed cosine ``cosine[t]``
    (sorted by ``a_index``); ``unmatched_a`` / ``unmatched_b`` list the rest.
    ``total`` is the matched weight (sum of |cos|, or cos when ``signed``),
    ``mean`` its mean over the pairs, ``fraction_above[t]`` the fraction of
    pairs with weight > t. ``upper_bound`` is a dual bound on the best total
    any matching can reach; ``gap = upper_bound - total``; ``certified`` is
    True when the gap is zero within float rounding (the matching is optimal
    for the cosines as computed). ``k`` is the largest candidate list used,
    ``candidates`` the number of candidate pairs.
    """

    a_index: np.ndarray
    b_index: np.ndarray
    cosine: np.ndarray
    unmatched_a: np.ndarray
    unmatched_b: np.ndarray
    signed: bool
    total: float
    mean: float
    fraction_above: dict
    upper_bound: float
    gap: float
    certified: bool
    k: int
    candidates: int


@dataclasses.dataclass
class _Candidates:
    """Candidate pairs (row of the smaller side, column of the larger) as flat
    arrays, and per row the weight bound tau for every pair left out."""

    rows: np.ndarray
    cols: np.ndarray
    weight: np.ndarray
    cosine: np.ndarray
    tau: np.ndarray
    k: np.ndarray
    partners: int

    @classmethod
    def empty(cls, m: int, partners: int) -> "_Candidates":
        none = np.zeros(0, np.int64)
        return cls(none, none, np.zeros(0), np.zeros(0), np.full(m, -np.inf), np.zeros(m, np.int64), partners)

    def replace_rows(self, which: np.ndarray, index: np.ndarray, cosine: np.ndarray, signed: bool) -> None:
        keep = ~np.isin(self.rows, which)
        k = index.shape[1]
        weight = _weight(cosine, signed)
        self.rows = np.concatenate([self.rows[keep], np.repeat(which, k)])
        self.cols = np.concatenate([self.cols[keep], index.ravel()])
        self.cosine = np.concatenate([self.cosine[keep], cosine.ravel()])
        self.weight = np.concatenate([self.weight[keep], weight.ravel()])
        # a top-k list is sorted by |cos|: pairs left out weigh at most its last
        self.tau[which] = -np.inf if k == self.partners else np.abs(cosine[:, -1])
        self.k[which] = k


def _weight(cosine, signed):
    return cosine if signed else np.abs(cosine)


def match(A, B, *, signed=False, k=8, max_rounds=6, threads=None, memory=None) -> Match:
    """Match the rows (features) of ``A`` one-to-one to the rows of ``B`` so that the
    total |cosine| (``signed=True``: cosine) of the matched pairs is largest.

    Parameters
    ----------
    A, B : array-like, shapes (ma, n) and (mb, n)
        Dictionaries with features as rows (see :func:`nearortho.load`); any
        sizes: min(ma, mb) pairs are matched, the rest of the larger is unmatched.
    signed : bool
        Maximise the sum of signed cosines instead of |cos| (a feature and its
        negation then count as opposites).
    k : int >= 1
        Candidate partners per feature of the smaller dictionary at first; grown
        (times 4, up to all partners) for features whose bound does not close,
        at most ``max_rounds`` times.
    threads : int, optional
        Threads for the top-k passes.
    memory : int, optional
        Budget of each top-k pass, as for :func:`nearortho.interference`; A and B
        may be paths or RowFiles, read in blocks.

    Returns
    -------
    Match

    Notes
    -----
    The dense matrix is never formed: one fused top-k pass over all pairs costs
    about as much as ``A @ B.T`` (2 ma mb n flops), later rounds only cover the
    rows that grow; memory is O((ma + mb) k). Weights are the cosines as the
    kernel computes them (float32 for float32 input); optimality is certified
    for those weights. With ``signed=True`` the lists are still ranked by |cos|,
    which keeps the bound valid but can certify less often. Needs SciPy
    (``pip install "nearortho[match]"``).
    """
    try:
        from scipy.sparse import csr_matrix
        from scipy.sparse.csgraph import min_weight_full_bipartite_matching
    except ImportError as error:
        raise ImportError('nearortho.match needs scipy: pip install "nearortho[match]"') from error
    A, B = (_directions(x, name) for x, name in ((A, "A"), (B, "B")))
    if A.shape[1] != B.shape[1]:
        raise ValueError(f"B must have n = {A.shape[1]} columns like A, got shape {B.shape}")
    if not isinstance(signed, (bool, np.bool_)):
        raise TypeError(f"signed must be a bool, got {type(signed).__name__}")
    k = v.integer(k, "k", minimum=1)
    max_rounds = v.integer(max_rounds, "max_rounds", minimum=0)
    swapped = A.shape[0] > B.shape[0]
    rows_side, cols_side = (B, A) if swapped else (A, B)  # rows: the smaller side, all matched
    m, mc = rows_side.shape[0], cols_side.shape[0]

    def lists(which, size):
        rows = rows_side[which] if len(which) < m else rows_side
        if size >= mc - 1:  # beyond what a top-k list can hold
            return all_partners(rows, cols_side, threads, memory)
        return neighbors(rows, size, cols_side, threads=threads, memory=memory)

    everyone = np.arange(m)
    cand = _Candidates.empty(m, mc)
    cand.replace_rows(everyone, *lists(everyone, k), signed)
    rounds = 0
    while True:
        matched = _solve(cand, m, mc, csr_matrix, min_weight_full_bipartite_matching)
        if matched is None:  # Hall's condition fails among the candidates: widen the rows left out
            grow = _deficient_rows(cand, m, mc, csr_matrix)
        else:
            bound, grow = _certificate(cand, matched, m, mc)
            if len(grow) == 0 or rounds == max_rounds:
                break
            rounds += 1
        grow = grow[cand.k[grow] < mc]  # complete lists always admit a full matching
        if len(grow) == 0:
            break
        cand.replace_rows(grow, *lists(grow, int(cand.k[grow].max()) * 4), signed)
    return _result(cand, matched, bound, swapped, m, mc, signed)


def _directions(x, name):
    """Files stay files (the pass finds NaN/Inf and zero rows as it reads them,
    naming the file); arrays are checked here."""
    x = _blocks.matrix(x, name)
    return x if isinstance(x, RowFile) else v.directions(x, name)


def _graph(cand, m, mc, csr_matrix):
    # LAPJVsp ignores zero weights (no edge), so shift every weight by 2 > max |cos|:
    # every full matching has m edges, and the shift changes all their totals alike
    return csr_matrix((cand.weight + 2.0, (cand.rows, cand.cols)), shape=(m, mc))


def _deficient_rows(cand, m, mc, csr_matrix):
    """The rows that block a full matching of the candidate graph: those reachable
    from a row left out of a maximum-cardinality matching by alternating paths
    (candidate column, then the row matched to it). Together they have fewer
    candidate columns than rows (Hall's condition), so all of them grow."""
    from scipy.sparse.csgraph import maximum_bipartite_matching

    graph = _graph(cand, m, mc, csr_matrix)
    col_of_row = maximum_bipartite_matching(graph, perm_type="column")
    row_of_col = np.full(mc, -1, np.int64)
    matched = col_of_row >= 0
    row_of_col[col_of_row[matched]] = np.flatnonzero(matched)
    seen = ~matched
    frontier = np.flatnonzero(seen)
    while len(frontier):
        reached = row_of_col[np.unique(graph[frontier].indices)]
        frontier = np.unique(reached[reached >= 0])
        frontier = frontier[~seen[frontier]]
        seen[frontier] = True
    return np.flatnonzero(seen)


def _solve(cand, m, mc, csr_matrix, solver):
    """Edge index of each row's matched candidate, or None if no full matching exists."""
    order = np.lexsort((cand.cols, cand.rows))
    for name in ("rows", "cols", "weight", "cosine"):
        setattr(cand, name, getattr(cand, name)[order])
    try:
        row, col = solver(_graph(cand, m, mc, csr_matrix), maximize=True)
    except ValueError:
        return None
    key = cand.rows.astype(np.int64) * mc + cand.cols  # sorted, one per candidate pair
    return np.searchsorted(key, row.astype(np.int64) * mc + col)


def _certificate(cand, edge, m, mc):
    """An upper bound on the best total and the rows whose bound does not close.

    Dual of the assignment LP (rows = 1, columns <= 1): u_i + v_j >= w_ij for all
    pairs, v >= 0; any feasible (u, v) bounds every matching by sum u + sum v.
    Complementary slackness on the matched pairs fixes u_i = w_i,M(i) - v_M(i);
    v is then the longest-path solution of v_j >= v_M(i) + w_ij - w_i,M(i) over the
    candidates (Bellman-Ford rounds, vectorised), which exists because the
    matching is optimal among the candidates. Pairs left out of row i weigh at
    most tau_i, so they need u_i + v_j >= tau_i: where that fails, u_i is raised
    to tau_i - min(v) and the row is returned to grow its list.
    """
    matched_col = cand.cols[edge]
    matched_w = cand.weight[edge]
    delta = cand.weight - matched_w[cand.rows]
    src = matched_col[cand.rows]
    order = np.argsort(cand.cols, kind="stable")
    dst, src, delta = cand.cols[order], src[order], delta[order]
    targets, starts = np.unique(dst, return_index=True)
    col_v = np.zeros(mc)
    for _ in range(mc + 1):
        best = np.maximum.reduceat(col_v[src] + delta, starts)
        raised = best > col_v[targets] + _TOL
        if not raised.any():
            break
        col_v[targets[raised]] = best[raised]
    else:  # a cycle gains: the matching is not optimal among the candidates, no bound
        return math.inf, np.zeros(0, np.int64)
    u = matched_w - col_v[matched_col]
    free_v = col_v.sum() - col_v[matched_col].sum()  # zero at an optimum among the candidates
    short = cand.tau - u - col_v.min()
    grow = np.flatnonzero(short > _TOL)
    bound = float(matched_w.sum() + free_v + np.maximum(short, 0.0).sum())
    return bound, grow


def _result(cand, edge, bound, swapped, m, mc, signed) -> Match:
    rows, cols = np.arange(m), cand.cols[edge]
    cosine, weight = cand.cosine[edge], cand.weight[edge]
    a, b = (cols, rows) if swapped else (rows, cols)
    order = np.argsort(a)
    a, b, cosine, weight = a[order], b[order], cosine[order], weight[order]
    free = np.setdiff1d(np.arange(mc), cols)
    total = float(weight.sum())
    gap = max(0.0, bound - total)
    return Match(
        a_index=a, b_index=b, cosine=cosine,
        unmatched_a=free if swapped else np.zeros(0, np.int64),
        unmatched_b=np.zeros(0, np.int64) if swapped else free,
        signed=bool(signed), total=total, mean=total / m,
        fraction_above={t: float(np.mean(weight > t)) for t in THRESHOLDS},
        upper_bound=max(bound, total), gap=gap, certified=gap <= 1e-9 * max(1.0, total),
        k=int(cand.k.max()), candidates=len(cand.rows))
