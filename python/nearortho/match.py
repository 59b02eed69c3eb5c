"""One-to-one matching of the features of two dictionaries without the dense
|A| x |B| cosine matrix, with a certificate of optimality.

Candidates come from one fused top-k pass in both directions: each feature of
the smaller dictionary keeps its k best partners in the larger, and each
feature of the larger its k best in the smaller; k grows (in passes over only
those features) for the features of the smaller side that need it. A sparse
assignment solver (SciPy's LAPJVsp) finds the best matching among the
candidates. A dual solution of the full assignment LP then bounds what any
pair left out could add: a pair (i, j) in neither list weighs at most
min(tau_i, sigma_j), the last |cos| that row i's and column j's lists kept, so
dual values with u_i + v_j >= min(tau_i, sigma_j) for all pairs prove that no
matching using a pair left out is better. When the bound does not close, the
result says by how much the total may fall short of the optimum.
"""
from __future__ import annotations

import dataclasses
import math

import numpy as np

from . import _blocks
from . import _validate as v
from ._result import Result
from .interference import _interference
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
class _Pairs:
    """Candidate pairs (row of the smaller side, column of the larger) as flat arrays."""

    rows: np.ndarray
    cols: np.ndarray
    cosine: np.ndarray

    @classmethod
    def from_lists(cls, index: np.ndarray, cosine: np.ndarray, owners: np.ndarray, by_column: bool) -> "_Pairs":
        """The entries of top-k lists (index -1: past the partners there are)."""
        own = np.repeat(owners, index.shape[1])
        index, cosine = index.ravel(), cosine.ravel()
        real = index >= 0
        own, index, cosine = own[real], index[real], cosine[real]
        return cls(index, own, cosine) if by_column else cls(own, index, cosine)


@dataclasses.dataclass
class _Candidates:
    """The candidate pairs: those of the rows' lists (replaced when a row's list
    grows) and of the columns' lists (from the first pass); and the weight bound
    for every pair left out: tau per row (its list's last |cos|, -inf when it holds
    all partners), sigma per column (likewise)."""

    by_row: _Pairs
    by_col: _Pairs
    tau: np.ndarray
    sigma: np.ndarray
    k: np.ndarray  # length of each row's list
    partners: int

    def replace_rows(self, which: np.ndarray, index: np.ndarray, cosine: np.ndarray) -> None:
        keep = ~np.isin(self.by_row.rows, which)
        new = _Pairs.from_lists(index, cosine, which, by_column=False)
        self.by_row = _Pairs(*(np.concatenate([getattr(self.by_row, f)[keep], getattr(new, f)])
                               for f in ("rows", "cols", "cosine")))
        self.tau[which] = _bound(index, cosine, self.partners)
        self.k[which] = index.shape[1]

    def merged(self, signed: bool) -> "_Graph":
        """Both lists' pairs once each, sorted by (row, column)."""
        rows, cols, cosine = (np.concatenate([getattr(self.by_row, f), getattr(self.by_col, f)])
                              for f in ("rows", "cols", "cosine"))
        key = rows.astype(np.int64) * self.partners + cols
        key, first = np.unique(key, return_index=True)
        return _Graph(rows[first], cols[first], _weight(cosine[first], signed), cosine[first], key)


@dataclasses.dataclass
class _Graph:
    rows: np.ndarray
    cols: np.ndarray
    weight: np.ndarray
    cosine: np.ndarray
    key: np.ndarray  # row * partners + col, sorted


def _bound(index, cosine, partners):
    """Per list, the most a pair left out of it can weigh: its last |cos|, or -inf
    when it holds every partner (k = partners, or entries -1 past them)."""
    complete = (index.shape[1] >= partners) | (index[:, -1] < 0)
    return np.where(complete, -np.inf, np.abs(cosine[:, -1]))


def _weight(cosine, signed):
    return cosine if signed else np.abs(cosine)


def match(A, B, *, signed=False, k=8, max_rounds=6, threads=None, memory=None, precision=None,
          progress=None) -> Match:
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
        Candidate partners per feature of each dictionary in the first pass; grown
        (times 4, up to all partners) for features of the smaller one whose bound
        does not close, at most ``max_rounds`` times.
    threads : int, optional
        Threads for the top-k passes.
    memory : int, optional
        Budget of each top-k pass, as for :func:`nearortho.interference`; A and B
        may be paths or RowFiles, read in blocks.
    precision : {None, "tf32", "bf16"}
        The top-k passes on a GPU's tensor cores, as for
        :func:`nearortho.interference`: the lists are re-checked, so the weights
        are then the float64 cosines of the float32 rows.
    progress : callable(done, total), optional
        As for :func:`nearortho.interference`, in each top-k pass: the first, then
        each round's (which starts again from 0, with its own total).

    Returns
    -------
    Match

    Notes
    -----
    The dense matrix is never formed: one fused top-k pass over all pairs, which
    keeps the lists of both sides, costs about as much as ``A @ B.T`` (2 ma mb n
    flops); later rounds only cover the rows that grow; memory is O((ma + mb) k). Weights are the cosines as the
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
    signed = v.boolean(signed, "signed")
    k = v.integer(k, "k", minimum=1)
    max_rounds = v.integer(max_rounds, "max_rounds", minimum=0)
    swapped = A.shape[0] > B.shape[0]
    rows_side, cols_side = (B, A) if swapped else (A, B)  # rows: the smaller side, all matched
    m, mc = rows_side.shape[0], cols_side.shape[0]

    # one pass: each row's k best columns and each column's k best rows
    first = _interference(rows_side, cols_side, True, 1, (), min(k, mc), False, threads, 0, None, "k", progress,
                          memory=memory, complete=True, precision=precision)
    everyone = np.arange(m)
    by_col = _Pairs.from_lists(first.col_topk_index, first.col_topk_value, np.arange(mc), by_column=True)
    cand = _Candidates(_Pairs.from_lists(first.topk_index, first.topk_value, everyone, by_column=False), by_col,
                       _bound(first.topk_index, first.topk_value, mc),
                       _bound(first.col_topk_index, first.col_topk_value, m),
                       np.full(m, first.topk_index.shape[1]), mc)
    rounds = 0
    while True:
        graph = cand.merged(signed)
        matched = _solve(graph, m, mc, csr_matrix, min_weight_full_bipartite_matching)
        if matched is None:  # Hall's condition fails among the candidates: widen the rows left out
            grow = _deficient_rows(graph, m, mc, csr_matrix)
        else:
            bound, grow = _certificate(graph, matched, cand.tau, cand.sigma, mc)
            if len(grow) == 0 or rounds == max_rounds:
                break
            rounds += 1
        grow = grow[cand.k[grow] < mc]  # complete lists always admit a full matching
        if len(grow) == 0:
            break
        size = min(int(cand.k[grow].max()) * 4, mc)
        again = _interference(rows_side[grow], cols_side, True, 1, (), size, False, threads, 0, None, "k", progress,
                              memory=memory, columns=False, complete=True,  # the rows that grow, their lists only
                              precision=precision)
        cand.replace_rows(grow, again.topk_index, again.topk_value)
    return _result(graph, matched, bound, swapped, m, mc, signed, int(cand.k.max()))


def _directions(x, name):
    """Files stay files (the pass finds NaN/Inf and zero rows as it reads them,
    naming the file); arrays are checked here."""
    x = _blocks.matrix(x, name)
    return x if isinstance(x, RowFile) else v.directions(x, name)


def _graph(graph, m, mc, csr_matrix):
    # LAPJVsp ignores zero weights (no edge), so shift every weight by 2 > max |cos|:
    # every full matching has m edges, and the shift changes all their totals alike
    return csr_matrix((graph.weight + 2.0, (graph.rows, graph.cols)), shape=(m, mc))


def _deficient_rows(graph, m, mc, csr_matrix):
    """The rows that block a full matching of the candidate graph: those reachable
    from a row left out of a maximum-cardinality matching by alternating paths
    (candidate column, then the row matched to it). Together they have fewer
    candidate columns than rows (Hall's condition), so all of them grow."""
    from scipy.sparse.csgraph import maximum_bipartite_matching

    graph = _graph(graph, m, mc, csr_matrix)
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


def _solve(graph, m, mc, csr_matrix, solver):
    """Edge index of each row's matched candidate, or None if no full matching exists."""
    try:
        row, col = solver(_graph(graph, m, mc, csr_matrix), maximize=True)
    except ValueError:
        return None
    return np.searchsorted(graph.key, row.astype(np.int64) * mc + col)


def _certificate(graph, edge, tau, sigma, mc):
    """An upper bound on the best total and the rows whose bound does not close.

    Dual of the assignment LP (rows = 1, columns <= 1): u_i + v_j >= w_ij for all
    pairs, v >= 0; any feasible (u, v) bounds every matching by sum u + sum v.
    Complementary slackness on the matched pairs fixes u_i = w_i,M(i) - v_M(i);
    v is then the longest-path solution of v_j >= v_M(i) + w_ij - w_i,M(i) over the
    candidates (Bellman-Ford rounds, vectorised), which exists because the
    matching is optimal among the candidates. A pair left out of both lists weighs
    at most min(tau_i, sigma_j), so it needs u_i + v_j >= min(tau_i, sigma_j);
    asking this of every pair only over-constrains those in a list. Where it
    fails for some j, u_i is raised by the shortfall and the row is returned to
    grow its list.
    """
    matched_col = graph.cols[edge]
    matched_w = graph.weight[edge]
    delta = graph.weight - matched_w[graph.rows]
    src = matched_col[graph.rows]
    order = np.argsort(graph.cols, kind="stable")
    dst, src, delta = graph.cols[order], src[order], delta[order]
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
    short = _left_out_need(tau, sigma, col_v) - u
    grow = np.flatnonzero(short > _TOL)
    bound = float(matched_w.sum() + free_v + np.maximum(short, 0.0).sum())
    return bound, grow


def _left_out_need(tau, sigma, col_v):
    """Per row i, max over columns j of min(tau_i, sigma_j) - v_j: with the columns
    sorted by sigma, those below tau_i give their own sigma_j - v_j (a prefix
    maximum), the others tau_i - v_j (tau_i minus a suffix minimum of v)."""
    order = np.argsort(sigma, kind="stable")
    sig, v = sigma[order], col_v[order]
    prefix = np.maximum.accumulate(sig - v)
    suffix = np.minimum.accumulate(v[::-1])[::-1]
    at = np.searchsorted(sig, tau, side="left")  # columns [0, at) have sigma < tau
    below = np.where(at > 0, prefix[np.maximum(at - 1, 0)], -np.inf)
    above = np.where(at < len(sig), tau - suffix[np.minimum(at, len(sig) - 1)], -np.inf)
    return np.maximum(below, above)


def _result(graph, edge, bound, swapped, m, mc, signed, k) -> Match:
    rows, cols = np.arange(m), graph.cols[edge]
    cosine, weight = graph.cosine[edge], graph.weight[edge]
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
        k=k, candidates=len(graph.rows))
