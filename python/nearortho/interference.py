"""Interference statistics of a frame, from one fused pass over the pairs of rows.

The compiled core never holds the m x m Gram matrix: it tiles the upper triangle
of W W^T (or all of A B^T), reduces each tile while it is in cache, and merges
the threads' partial results.
"""
from __future__ import annotations

import dataclasses
import math
import warnings
from typing import Optional

import numpy as np

from . import _backend, _blocks, _core
from . import _order_statistic
from . import _validate as v
from . import reference
from ._result import Result
from .bounds import bounds
from .device_matrix import DeviceMatrix, on_device
from .row_file import RowFile

__all__ = ["InterferenceStats", "interference", "neighbors"]


@dataclasses.dataclass(repr=False, eq=False)
class InterferenceStats(Result):
    """Interference statistics over a set of pairs of rows (see :func:`interference`).

    Scalar fields: ``pairs``, the float64 sums ``sum``, ``sum_abs``, ``sum_sq``
    of g, |g| and g^2, ``coherence`` (max |g|) and its ``pair`` (i, j). ``hist``
    counts |g| in equal bins on ``hist_range``; ``count_above[t]`` counts
    |g| > t. Per row of W (``per_row=True``): ``row_max`` (max_j |g_ij|),
    ``row_argmax`` (that j), ``row_signed_max`` (max_j g_ij, SAEBench's signed
    "max cosine") and ``row_signed_argmax``, ``row_sumsq`` (sum_j g_ij^2,
    j != i); with ``topk=k``: ``topk_index`` and ``topk_value`` (signed g),
    shape (m, k), best first. Ties go to the smaller j. With B, the same for
    each row of B against the rows of W, from the same pass: ``col_max``,
    ``col_argmax``, ``col_signed_max``, ``col_signed_argmax``, ``col_sumsq``,
    ``col_topk_index``, ``col_topk_value`` (None without B). Indices are
    global: partners of W's rows shifted by ``col_offset``, partners of B's
    rows by ``row_offset``.

    ``gram_error`` is 0 when every Gram entry was computed in the working dtype;
    with ``precision="tf32"``/``"bf16"`` it bounds the error of the entries behind
    the sums, histogram and ``count_above`` (the exact fields are re-checked).

    A result from :func:`interference` keeps a reference to its (converted)
    inputs so that ``quantile(q, exact=True)`` can recompute; ``merge`` drops it.
    """

    n: int
    m: int
    m2: Optional[int]
    normalize: bool
    pairs: int
    sum: float
    sum_abs: float
    sum_sq: float
    coherence: float
    pair: tuple
    hist: np.ndarray
    hist_range: tuple
    count_above: dict
    row_max: Optional[np.ndarray] = None
    row_argmax: Optional[np.ndarray] = None
    row_sumsq: Optional[np.ndarray] = None
    topk_index: Optional[np.ndarray] = None
    topk_value: Optional[np.ndarray] = None
    row_signed_max: Optional[np.ndarray] = None
    row_signed_argmax: Optional[np.ndarray] = None
    col_max: Optional[np.ndarray] = None
    col_argmax: Optional[np.ndarray] = None
    col_sumsq: Optional[np.ndarray] = None
    col_topk_index: Optional[np.ndarray] = None
    col_topk_value: Optional[np.ndarray] = None
    col_signed_max: Optional[np.ndarray] = None
    col_signed_argmax: Optional[np.ndarray] = None
    row_offset: int = 0
    col_offset: int = 0
    gram_error: float = 0.0
    # (_run's arguments, its option fields) for the passes of quantile(exact=True)
    _source: Optional[tuple] = dataclasses.field(default=None, repr=False)
    # a merge dropped the per-row arrays of rows whose partners are among these pairs
    _dropped_partners: bool = dataclasses.field(default=False, repr=False)

    # measured summaries
    @property
    def mean(self) -> float:
        return self.sum / self.pairs

    @property
    def mean_abs(self) -> float:
        return self.sum_abs / self.pairs

    @property
    def mean_sq(self) -> float:
        return self.sum_sq / self.pairs

    @property
    def rms(self) -> float:
        return math.sqrt(self.mean_sq)

    @property
    def mmcs(self) -> float:
        """Mean max cosine similarity: the mean of ``row_max`` (the interpretability
        name for comparing two dictionaries W and B)."""
        if self.row_max is None:
            raise ValueError("mmcs needs per-row statistics; call interference(..., per_row=True)")
        return float(np.mean(self.row_max))

    @property
    def capacity(self) -> np.ndarray:
        """Per-feature capacity of Scherlis et al. (2022), g_ii^2 / sum_j g_ij^2, of the
        frame with its rows normalised: 1 / (1 + ``row_sumsq``), 1 for a feature
        orthogonal to all others, 1/2 for one of two identical features. It sums to
        at most n (the rank of W), the bound a frame reaches when it is tight.
        Scherlis et al. define it on the raw rows, where a feature's capacity also
        depends on the other rows' norms; here every row has norm 1."""
        if self.row_sumsq is None:
            raise ValueError("capacity needs per-row statistics; call interference(..., per_row=True)")
        if not self.normalize or self.m2 is not None:
            raise ValueError("capacity is defined for cosines (normalize=True) among the rows of one frame")
        return 1.0 / (1.0 + self.row_sumsq)

    # references for the same (n, number of vectors)
    @property
    def partners(self) -> int:
        """Partners per row: m - 1, or m2 with B."""
        return self.m - 1 if self.m2 is None else self.m2

    @property
    def random_mmcs(self) -> float:
        """Expected ``mmcs`` of a random frame of the same size (rows uniform on the
        sphere): the mean over rows of the maximum of ``partners`` independent |cos|."""
        return float(reference.random_mean_max(self.n, self.partners))

    @property
    def vectors(self) -> int:
        """Distinct vectors the pairs are drawn from: m, or m + m2 with B."""
        return self.m if self.m2 is None else self.m + self.m2

    @property
    def welch(self) -> float:
        """Welch's lower bound on the coherence; NaN for A against B (see ``best_bound``)."""
        return float(reference.welch_bound(self.n, self.m)) if self.m2 is None else math.nan

    @property
    def best_bound(self) -> float:
        """The largest applicable lower bound on the coherence (:func:`nearortho.bounds`).

        NaN for A against B: no bound holds there, since two frames can be mutually
        orthogonal however many vectors they hold (the bounds constrain pairs within one).
        """
        return float(bounds(self.n, self.m).best) if self.m2 is None else math.nan

    @property
    def best_bound_name(self) -> str:
        """Which bound ``best_bound`` is; "none" for A against B."""
        return str(bounds(self.n, self.m).best_name) if self.m2 is None else "none"

    @property
    def eps_jl(self) -> float:
        return float(reference.eps_jl(self.n, self.vectors))

    @property
    def inv_sqrt_n(self) -> float:
        return float(reference.inv_sqrt_n(self.n))

    @property
    def random_coherence(self) -> float:
        """Median coherence of the same number of pairs of random unit vectors."""
        return float(reference.random_coherence(self.n, self.vectors, pairs=self.pairs))

    # histogram quantiles
    def _rank(self, q) -> int:
        q = v.real(q, "q", low=0.0, high=1.0)
        return min(self.pairs, max(1, math.ceil(q * self.pairs)))

    def _bin_of_rank(self, rank: int, hist: np.ndarray, skipped: int = 0) -> int:
        return int(np.searchsorted(np.cumsum(hist), rank - skipped))

    def quantile_interval(self, q) -> tuple:
        """Bounds (lo, hi) on the q-quantile of |g| read from the histogram.

        The q-quantile is the order statistic of rank ceil(q * pairs) (numpy's
        ``inverted_cdf``). hi - lo is one bin width (widened by ``gram_error`` on
        each side after a tensor-core pass); with ``normalize=True`` a cosine
        rounded above 1 sits in the last bin.
        """
        b = self._bin_of_rank(self._rank(q), self.hist)
        lo, hi = self.hist_range
        width = (hi - lo) / len(self.hist)
        return max(0.0, lo + b * width - self.gram_error), lo + (b + 1) * width + self.gram_error

    def quantile(self, q, exact: bool = False) -> float:
        """The q-quantile of |g| over the pairs.

        ``exact=False``: the middle of its histogram bin, within half a bin width
        (plus ``gram_error`` after a tensor-core pass).
        ``exact=True``: recomputes the pairs (one more pass, or a few when a bin
        holds more than 4M values, at most about 70 when millions of pairs tie at
        one value) and returns the exact order statistic of rank
        ceil(q * pairs), as the working dtype computes g.
        """
        if not v.boolean(exact, "exact"):
            lo, hi = self.quantile_interval(q)
            return 0.5 * (lo + hi)
        if self._source is None:
            raise ValueError("exact quantiles need the inputs: not available after merge()")
        lo, hi = self.quantile_interval(q)

        def count_pass(lo, hi, bins, collect):
            args, fields = self._source
            return _run(*args, **fields, bins=bins, per_row=False, hist_lo=lo, hist_hi=hi, refine=True,
                        collect_lo=lo if collect else 0.0, collect_hi=hi if collect else -1.0,
                        collect_cap=_order_statistic.COLLECT_CAP).totals

        return _order_statistic.order_statistic(count_pass, self._rank(q), self.pairs, lo, hi,
                                                _blocks.dtype_of(*self._source[0][:2]))

    # combining
    def merge(self, other: "InterferenceStats") -> "InterferenceStats":
        """Combine results over disjoint sets of pairs.

        Counts, histogram, maxima and top-k combine exactly (ties by index as in a
        single pass); the float64 sums add. Per-row arrays combine elementwise when
        both results cover the same rows (``row_offset`` and ``m`` equal), and are
        concatenated when the rows of ``other`` directly follow; otherwise, or
        when only one side has them, they are dropped. The ``col_*`` arrays of
        the rows of B do the same by ``col_offset`` and ``m2``.

        A row's arrays hold its partners among the pairs of its own result. Once
        a merge has dropped arrays (say the ``col_*`` of ``interference(W[:k],
        W[k:], col_offset=k)`` merged with ``interference(W[:k])``), the partners
        those rows have in these pairs are known nowhere, so arrays concatenated
        later (``interference(W[k:], row_offset=k)``'s) would miss them: they are
        dropped instead, and the per-row arrays are None, never incomplete.
        """
        if not isinstance(other, InterferenceStats):
            raise TypeError(f"other must be InterferenceStats, got {type(other).__name__}")
        for field in ("n", "normalize", "hist_range"):
            if getattr(self, field) != getattr(other, field):
                raise ValueError(f"other must have the same {field}: {getattr(self, field)} != {getattr(other, field)}")
        if len(self.hist) != len(other.hist) or set(self.count_above) != set(other.count_above):
            raise ValueError("other must have the same bins and thresholds")
        pairs = np.array([self.pair, other.pair])
        best = _best_first(np.array([self.coherence, other.coherence]), pairs[:, 0], pairs[:, 1])[0]
        merged = dataclasses.replace(
            self, pairs=self.pairs + other.pairs, sum=self.sum + other.sum,
            sum_abs=self.sum_abs + other.sum_abs, sum_sq=self.sum_sq + other.sum_sq,
            coherence=(self.coherence, other.coherence)[best], pair=tuple(int(x) for x in pairs[best]),
            hist=self.hist + other.hist,
            count_above={t: c + other.count_above[t] for t, c in self.count_above.items()},
            gram_error=max(self.gram_error, other.gram_error), _source=None)
        same_rows = self.row_offset == other.row_offset and self.m == other.m
        follows = other.row_offset == self.row_offset + self.m
        same_cols = self.col_offset == other.col_offset and self.m2 == other.m2
        cols_follow = self.m2 is not None and other.col_offset == self.col_offset + self.m2
        precedes = self.row_offset == other.row_offset + other.m
        cols_precede = other.m2 is not None and self.col_offset == other.col_offset + other.m2
        if (precedes or cols_precede) and not (follows or cols_follow):
            return other.merge(self)  # the same result, with the blocks in order
        merged.m2 = None if self.m2 is None or other.m2 is None else (
            self.m2 + other.m2 if same_rows else self.m2)
        if follows and not same_rows:
            merged.m = self.m + other.m
        _merge_side(merged, self, other, _ROW_SIDE, same_rows, follows)
        _merge_side(merged, self, other, _COL_SIDE, same_cols, cols_follow)
        merged._dropped_partners = self._dropped_partners or other._dropped_partners or any(
            getattr(merged, name) is None and (getattr(self, name) is not None or getattr(other, name) is not None)
            for name in PER_ROW_FIELDS)
        concatenated = [(_ROW_SIDE, follows and not same_rows), (_COL_SIDE, cols_follow and not same_cols)]
        for side, joined in concatenated:
            if joined and merged._dropped_partners:  # they could miss partners in the dropped rows' pairs
                for name in dataclasses.astuple(side):
                    setattr(merged, name, None)
        return merged

    def to_dict(self) -> dict:
        """Every field and reference value as JSON-serialisable Python types."""
        def plain(x):
            return x.tolist() if isinstance(x, np.ndarray) else x
        out = {f.name: plain(getattr(self, f.name)) for f in dataclasses.fields(self) if not f.name.startswith("_")}
        out["pair"] = list(self.pair)
        out["hist_range"] = list(self.hist_range)
        out["count_above"] = {repr(t): int(c) for t, c in self.count_above.items()}
        for name in ("mean", "mean_abs", "mean_sq", "rms", "welch", "best_bound", "best_bound_name", "eps_jl",
                     "inv_sqrt_n", "random_coherence"):
            out[name] = getattr(self, name)
        if self.row_max is not None:
            out["mmcs"] = self.mmcs
            out["random_mmcs"] = self.random_mmcs
        if self.row_sumsq is not None and self.normalize and self.m2 is None:
            out["total_capacity"] = float(self.capacity.sum())
        return out

    def __repr__(self) -> str:
        shape = f"m={self.m}" if self.m2 is None else f"m={self.m} x m2={self.m2}"
        lines = [
            f"InterferenceStats(n={self.n}, {shape}, pairs={self.pairs}, normalize={self.normalize})",
            f"  coherence  {self.coherence:.6g} at pair {self.pair}",
            f"  mean       {self.mean:.6g}   mean|g| {self.mean_abs:.6g}   rms {self.rms:.6g}",
        ]
        if self.normalize:  # values for unit vectors: beside raw inner products they compare unlike things
            lines.append(f"  references welch {self.welch:.6g}   best bound {self.best_bound:.6g} "
                         f"({self.best_bound_name})   random frame {self.random_coherence:.6g}   "
                         f"1/sqrt(n) {self.inv_sqrt_n:.6g}   eps_JL {self.eps_jl:.6g}")
        lines.append(f"  histogram  {len(self.hist)} bins on [{self.hist_range[0]:.6g}, {self.hist_range[1]:.6g}]")
        if self.count_above:
            lines.append("  |g| > t    " + "   ".join(f"{t:g}: {c}" for t, c in self.count_above.items()))
        if self.row_max is not None:
            lines.append(f"  per row    mean max (MMCS) {self.mmcs:.6g}"
                         + (f"   random frame {self.random_mmcs:.6g}" if self.normalize else ""))
        if self.topk_index is not None:
            lines.append(f"  top-k      k={self.topk_index.shape[1]}")
        return "\n".join(lines)


@dataclasses.dataclass(frozen=True)
class _Side:
    """Names of the per-row fields of one side (the rows of W, or of B)."""

    max: str
    argmax: str
    signed_max: str
    signed_argmax: str
    sumsq: str
    topk_index: str
    topk_value: str

    def per_row(self):
        return (self.max, self.argmax, self.signed_max, self.signed_argmax, self.sumsq)


_ROW_SIDE = _Side("row_max", "row_argmax", "row_signed_max", "row_signed_argmax", "row_sumsq", "topk_index",
                  "topk_value")
_COL_SIDE = _Side("col_max", "col_argmax", "col_signed_max", "col_signed_argmax", "col_sumsq", "col_topk_index",
                  "col_topk_value")
PER_ROW_FIELDS = dataclasses.astuple(_ROW_SIDE) + dataclasses.astuple(_COL_SIDE)  # both sides' per-row fields


def _merge_side(merged, a, b, side: _Side, same: bool, follows: bool) -> None:
    """The per-row fields of one side of ``a.merge(b)``: elementwise over the same
    rows, concatenated when b's rows follow a's, else dropped."""
    get = lambda x, name: getattr(x, name)  # noqa: E731
    have_rows = all(get(x, side.max) is not None for x in (a, b))
    have_topk = all(get(x, side.topk_index) is not None for x in (a, b)) and (
        get(a, side.topk_index).shape[1] == get(b, side.topk_index).shape[1])
    if not (same or follows):
        have_rows = have_topk = False
    if follows and not same:
        for name in side.per_row():
            setattr(merged, name, np.concatenate([get(a, name), get(b, name)]) if have_rows else None)
        for name in (side.topk_index, side.topk_value):
            setattr(merged, name, np.concatenate([get(a, name), get(b, name)]) if have_topk else None)
        return
    if have_rows:
        for value, index, key in ((side.max, side.argmax, np.abs), (side.signed_max, side.signed_argmax, None)):
            best, at = _best_of(get(a, value)[:, None], get(a, index)[:, None], get(b, value)[:, None],
                                get(b, index)[:, None], key)
            setattr(merged, value, best[:, 0])
            setattr(merged, index, at[:, 0])
        setattr(merged, side.sumsq, get(a, side.sumsq) + get(b, side.sumsq))
    else:
        for name in side.per_row():
            setattr(merged, name, None)
    if have_topk:
        value, index = _best_of(get(a, side.topk_value), get(a, side.topk_index), get(b, side.topk_value),
                                get(b, side.topk_index), np.abs)
        setattr(merged, side.topk_value, value)
        setattr(merged, side.topk_index, index)
    else:
        setattr(merged, side.topk_index, None)
        setattr(merged, side.topk_value, None)


def _best_first(magnitude, *index):
    """Order of candidates along the last axis, best first: larger magnitude (|g|,
    or g for the signed maxima), then the smaller index (lexicographically over the
    ``index`` arrays), empty slots (index -1) last. The core's rule
    (cpp/include/nearortho/ranking.hpp) for the coherence pair, per-row maxima and
    top-k."""
    keys = [np.where(i < 0, np.iinfo(np.int64).max, i) for i in reversed(index)]
    return np.lexsort((*keys, -np.asarray(magnitude)), axis=-1)


def _best_of(value, index, value2, index2, key=None):
    """Per row, the best k of two (rows, k) candidate lists, ranked by ``key(value)``
    (None: the value itself)."""
    value, index = np.concatenate([value, value2], axis=1), np.concatenate([index, index2], axis=1)
    order = _best_first(value if key is None else key(value), index)[:, :value2.shape[1]]
    return np.take_along_axis(value, order, axis=1), np.take_along_axis(index, order, axis=1)


def _run(W, B, normalize, threads, backend, block_rows, progress=None, **fields) -> _core.InterferenceResult:
    """One pass on ``backend`` with the core's options: ``fields`` (by their names in
    InterferenceOptions) over its defaults. Row blocks (``block_rows`` > 0) run on
    the CPU backend. The CUDA backend streams arrays and files from host memory
    to the device (within ``device_bytes``) and reads GPU memory in place; a file
    beside GPU memory is read whole first."""
    options = _core.InterferenceOptions()
    options.normalize, options.threads, options.block_rows = normalize, threads, block_rows
    for name, value in fields.items():
        setattr(options, name, value)
    device = isinstance(W, DeviceMatrix) or isinstance(B, DeviceMatrix)
    run = _backend.select(backend, "interference") if block_rows == 0 else _core.interference
    if run is _core.interference:
        options.precision = ""  # the CPU computes every entry in the working dtype
        if device:
            raise ValueError(f"W or B is in GPU memory, which only the CUDA backend reads "
                             f"({_backend.cuda_unavailable_reason() or 'backend is cpu'}); copy it to the host "
                             f"(.cpu()) for the CPU backend")
    wide = _blocks.dtype_of(W, B)  # files are read as it

    def spec(x):  # what the backend reads
        if isinstance(x, DeviceMatrix):
            return x._spec()
        if isinstance(x, RowFile):
            return x[:].astype(wide, copy=False) if device else x._spec()
        return x

    return run(spec(W), spec(B), options, progress, wide=wide == np.float64)


def interference(W, B=None, *, normalize=True, bins=1024, thresholds=(), topk=0, per_row=True,
                 threads=None, row_offset=0, col_offset=None, progress=None, backend="auto",
                 memory=None, precision=None) -> InterferenceStats:
    """Interference statistics over all pairs i < j of rows of ``W``, or all pairs
    (i in W, j in B), in one fused multithreaded pass.

    Parameters
    ----------
    W : array-like, shape (m, n), a path or a RowFile
        float32 or float64 (float16/bfloat16 are upcast to float32). Numpy arrays,
        memory-mapped ``.npy`` files, ``__array__`` objects (CPU torch tensors) and
        DLPack producers are read in place when C-contiguous and native-endian,
        otherwise copied once. With ``B`` of another dtype both use the wider.
        Arrays in GPU memory (torch CUDA tensors, CuPy arrays: anything with
        ``__cuda_array_interface__``; C-contiguous float32 or float64) are read
        there by the CUDA backend, never through the host; the CPU backend
        refuses them.
        A path (``.npy``, ``.safetensors`` or an SAE directory; see
        :func:`nearortho.open_rows`) or a ``RowFile`` is read block by block with
        ``pread``, never loaded whole: larger than memory is fine, and a file
        truncated or rewritten during the pass raises OSError naming it.
    B : array-like, shape (m2, n), optional
        Second frame: all m * m2 pairs; per-row statistics over the rows of W and,
        from the same pass, over the rows of B (the ``col_*`` fields).
    normalize : bool
        True: g_ij is the cosine of rows i and j (rows are normalised once, in
        float64, then rounded to the working dtype); zero rows are an error.
        False: the raw inner product; the histogram then spans [0, |w|_(1) |w|_(2)]
        (the two largest row norms, the Cauchy-Schwarz bound), see ``hist_range``.
    bins : int in [1, 2^24]
        Histogram bins of |g| on [0, 1] (cosines) or the range above; each
        thread keeps its own int64 histogram.
    thresholds : sequence of float >= 0
        ``count_above[t]`` counts pairs with |g| > t (exactly, in the working dtype).
    topk : int
        Partners per row to keep (largest |g|, ties by smaller index); must be
        below the number of partners (m - 1, or m2).
    per_row : bool
        Keep ``row_max``, ``row_argmax``, ``row_signed_max``,
        ``row_signed_argmax`` and ``row_sumsq`` (and their ``col_*`` twins with B).
    threads : int, optional
        Default: what OpenMP would use.
    row_offset, col_offset : int
        Added to every row / partner index in the result, so that results over
        blocks of a larger frame carry global indices and merge; the shifted
        indices must fit in int64. ``col_offset``
        defaults to ``row_offset`` without B and to 0 with B.
    progress : callable(done, total), optional
        Called with the tiles started and the total about every 50 ms, and once
        with (total, total) at the end; an exception it raises stops the pass.
    backend : {"auto", "cpu", "cuda"}
        Where the pass runs (see docs/backends.md); exact fields agree across backends.
    memory : int, optional
        Bytes the pass may use besides its inputs (default: half of what is
        available, see Notes). When the packed copies of W and B do not fit, the
        pass packs blocks of rows two at a time and walks the pairs of blocks;
        results are the same (every exact field bitwise, sums to rounding). Too
        small for two blocks of 144 rows: ValueError.
        On the CUDA backend, for rows in host memory (arrays, files): bytes of *device* memory
        the pass may use (default, and at most: the free device memory less a
        margin). The rows are streamed to the device in blocks of 4096 while
        earlier tiles are computed; when they do not fit, W is taken a
        superblock of blocks at a time and the blocks it pairs with are streamed
        past it (every pair still computed once, same results). Too small for one
        block of W, two of the rows it pairs with, the per-row outputs and two
        4096 x 4096 workspaces: ValueError stating the least. The tensor-core
        precisions keep every row on the device (ValueError when they do not fit),
        and their re-check buffers (40 MiB or more) and cuBLAS's workspace come
        on top of ``memory``. Bad rows are reported when their block is uploaded,
        possibly after earlier tiles ran.
    precision : {None, "tf32", "bf16"}
        None: every Gram entry in the working dtype. "tf32" or "bf16" (float32
        rows, CUDA backend): the Gram tiles come from tensor cores, several times
        faster. Each entry h is then within ``gram_error`` (a bound stated in the
        result: about 2^-9 + n 2^-22 for tf32, 2^-7 + n 2^-22 for bf16, times the
        row norms) of g, the dot product in float64. The exact fields (coherence
        and pair, per-row maxima and their partners, top-k) are re-checked: every
        pair within 2 ``gram_error`` of a running best is recomputed in float64, so
        those fields are exact for the float32 rows, to float64 rounding (closer
        than a float32 pass). Sums, histogram and ``count_above`` carry the bound;
        ``quantile(exact=True)`` recomputes in float32. Frames with too many
        near-equal maxima (equiangular ones) overflow the re-check's buffer: the
        pass then runs again in float32, with a RuntimeWarning (so do top-k lists
        too long for it, and more pairs above a threshold than it holds). On
        the CPU (``backend="auto"`` without a GPU) precision is ignored: every entry is computed
        in the working dtype.

    Returns
    -------
    InterferenceStats

    Notes
    -----
    Numeric contract. g is a dot product in the working dtype (float32 for
    float32 input), accumulated over k = 0..n-1 in order (one fused multiply-add
    per k on AVX2/AVX-512; the x86 scalar fallback rounds product and sum
    separately): on a given ISA its bits do not depend on threads or tiling, so
    coherence, pair, histogram, counts, per-row max/argmax and top-k are exactly
    reproducible for any ``threads``; across ISAs they agree within rounding.
    Ties go to the smallest (i, j) lexicographically (smallest partner per row).
    Sums accumulate in float64 (g^2 of float32 g is exact); they depend on the
    thread count only through the order of float64 additions (relative 1e-12).
    The sum of g (and the mean) is taken in float64 from the packed rows, one
    coordinate at a time (sum_j u_jk times the running sum of u_ik over i < j),
    not by adding the rounded g: its error is bounded like that of a float64 sum
    of the pairs' products.
    Compared with float64 arithmetic on the same rows, float32 g is within about
    n * 2^-24 * |w_i| |w_j|. Extra memory: one packed (normalised) copy of W
    and of B in the working dtype, rows padded to a multiple of 16 (float32) or
    8 (float64) and n to an odd length, or, when those exceed ``memory``, two
    packed blocks of rows (a multiple of 144 rows each); plus 8 bytes per row
    (sums of squares), per thread one 144 x 144 tile, a copy of 144 rows, the histogram, 288 *
    (topk + 2) candidates and, for files, a read buffer of about 1 MiB; per-row
    outputs are O((m + m2) * (topk + 1)). With blocks, the pass packs about
    (m / block)^2 / 2 blocks, reading a file that often. When even the
    smallest blocks exceed what is available, MemoryError (need and available)
    before allocating. The GIL is released for the whole pass; Ctrl-C raises
    KeyboardInterrupt after at most about 50 ms plus one tile of work.
    """
    return _interference(W, B, normalize, bins, thresholds, topk, per_row, threads, row_offset,
                         col_offset, "topk", progress, backend, memory=memory, precision=precision)


def _interference(W, B, normalize, bins, thresholds, topk, per_row, threads, row_offset,
                  col_offset, topk_name, progress=None, backend="auto", *, columns=True, complete=False,
                  memory=None, precision=None, **pair_options):
    """interference() after its name for topk. ``columns=False``: no per-row outputs
    for the rows of B; ``complete=True`` allows topk = all partners (complete lists).
    With ``pair_threshold``, ``pair_signed`` and ``pair_cap`` (see
    :func:`nearortho.pairs`) also returns the pairs collected in the pass:
    (stats, (count, i, j, g))."""
    _backend.check(backend)
    W = _input_matrix(W, "W")
    if progress is not None and not callable(progress):
        raise TypeError(f"progress must be callable, got {type(progress).__name__}")
    if B is not None:
        B = _input_matrix(B, "B")
        if B.shape[1] != W.shape[1]:
            raise ValueError(f"B must have n = {W.shape[1]} columns like W, got shape {B.shape}")
        wide = _blocks.dtype_of(W, B)  # arrays are converted; files are read as it
        W, B = (x if isinstance(x, RowFile) else x.astype(wide, copy=False) for x in (W, B))
    elif W.shape[0] < 2:
        raise ValueError(f"W needs at least 2 rows for pairs, got shape {W.shape}")
    normalize = v.boolean(normalize, "normalize")
    bins = v.integer(bins, "bins", minimum=1, maximum=_core.INTERFERENCE_MAX_BINS)  # one histogram per thread
    thr = v.thresholds(thresholds)
    m, n = W.shape
    partners = m - 1 if B is None else B.shape[0]
    topk = v.integer(topk, topk_name, minimum=0)
    if topk >= partners + complete:
        raise ValueError(f"{topk_name} must be < {partners}, the number of partners per row, got {topk}")
    per_row = v.boolean(per_row, "per_row")
    nthreads = v.threads(threads)
    # global indices are int64: the largest, offset + rows - 1, must fit
    row_offset = v.integer(row_offset, "row_offset", minimum=0, maximum=2**63 - m)
    col_offset = (row_offset if B is None else 0) if col_offset is None else v.integer(
        col_offset, "col_offset", minimum=0, maximum=2**63 - partners - (B is None))
    dtype = _blocks.dtype_of(W, B)
    tensor_precision = _tensor_precision(precision, backend, dtype)
    itemsize = dtype.itemsize
    threads_used = v.resolved_threads(nthreads)
    pairs = m * (m - 1) // 2 if B is None else m * B.shape[0]
    max_pairs = pair_options.get("pair_cap", 0)
    if "pair_cap" in pair_options:  # no pass keeps more pairs than there are (and the core's cap is an int64)
        pair_options["pair_cap"] = min(max_pairs, pairs)
    device = isinstance(W, DeviceMatrix) or isinstance(B, DeviceMatrix)  # host memory holds only the results
    streamed = not device and _streamed_to_gpu(backend)  # then memory counts device bytes
    fixed = _fixed_bytes(m, 0 if B is None else B.shape[0], 0 if device or streamed else n, itemsize, bins, topk,
                         threads_used, max(0, pair_options.get("pair_cap", 0)))
    what = f"the interference pass over a {m} x {n} {W.dtype} frame"
    if topk:  # the per-row lists grow with it: name it beside the need
        what += f" with {topk_name} = {topk} partners per row"
    if pair_options.get("pair_cap", 0) > 0:  # the budget holds every pair that may be kept
        kept = pair_options["pair_cap"]
        what += f", keeping up to {kept} pairs of 72 bytes" + (
            f" (max_pairs = {max_pairs})" if kept == max_pairs else f" (all the pairs; max_pairs = {max_pairs})")
    block_rows = 0 if device or streamed else _blocks.plan(W, B, n, itemsize, fixed, memory, threads_used, what)
    if device or streamed:  # host memory holds the results, and for streamed rows the staging buffers
        v.memory(fixed + (_GPU_STAGING_BYTES if streamed else 0), what)
    device_bytes = 0 if not streamed or memory is None else v.integer(memory, "memory", minimum=1)
    out = _run(W, B, normalize, nthreads, backend, block_rows, bins=bins, thresholds=list(thr), topk=topk,
               per_row=bool(per_row), progress=progress, columns=columns, precision=tensor_precision,
               device_bytes=device_bytes, **pair_options)
    t = out.totals
    if t.tensor_fallback:
        warnings.warn(f"precision={precision!r}: too many pairs to re-check (near-equal maxima as in equiangular "
                      f"frames, long top-k lists, or many pairs near the threshold), so the pass ran again in "
                      f"float32", RuntimeWarning, stacklevel=3)

    def side(arrays, names, offset, wanted):  # one side's per-row fields, partners shifted by offset
        if not wanted:
            return {}
        shift = lambda idx: np.where(idx >= 0, idx + offset, idx)  # noqa: E731
        fields = {}
        if per_row:
            fields.update({names.max: arrays.max, names.argmax: shift(arrays.argmax),
                           names.signed_max: arrays.signed_max, names.signed_argmax: shift(arrays.signed_argmax),
                           names.sumsq: arrays.sumsq})
        if topk:
            fields.update({names.topk_index: shift(arrays.topk_index), names.topk_value: arrays.topk_value})
        return fields

    stats = InterferenceStats(
        n=n, m=m, m2=None if B is None else B.shape[0], normalize=normalize, pairs=pairs,
        sum=t.sum, sum_abs=t.sum_abs, sum_sq=t.sum_sq, coherence=t.max_abs,
        pair=(t.max_i + row_offset, t.max_j + col_offset),
        hist=t.hist, hist_range=(t.hist_lo, t.hist_hi),
        count_above=dict(zip(thr, (int(c) for c in t.count_above))),
        **side(out.rows, _ROW_SIDE, col_offset, True),
        **side(out.cols, _COL_SIDE, row_offset, B is not None and columns),
        row_offset=row_offset, col_offset=col_offset, gram_error=t.gram_error,
        _source=((W, B, normalize, nthreads, backend, block_rows), dict(device_bytes=device_bytes)))
    if "pair_threshold" not in pair_options:
        return stats
    return stats, (t.pair_count, t.pair_i + row_offset, t.pair_j + col_offset, t.pair_g)


# Page-locked buffers the CUDA backend stages host rows in (cpp/cuda/host_uploader.hpp:
# 8 of 4 MiB) and its tile plan, generously
_GPU_STAGING_BYTES = 64 << 20


def _streamed_to_gpu(backend: str) -> bool:
    """Whether the pass runs on the CUDA backend, which streams rows in host memory
    (arrays, files) to the device block by block."""
    return _backend.select(backend, "interference") is not _core.interference


def _input_matrix(value, name: str):
    """An input of the pass: a DeviceMatrix for arrays in GPU memory, else as _blocks.matrix gives it."""
    if isinstance(value, DeviceMatrix):
        return value
    return DeviceMatrix(value, name) if on_device(value) else _blocks.matrix(value, name)


def _tensor_precision(precision, backend: str, dtype: np.dtype) -> str:
    """``precision`` validated, as InterferenceOptions takes it ("" for None)."""
    if precision is None:
        return ""
    if not isinstance(precision, str):
        raise TypeError(f"precision must be None or a string, got {type(precision).__name__}")
    if precision not in ("tf32", "bf16"):
        raise ValueError(f"precision must be None, 'tf32' or 'bf16', got {precision!r}")
    if dtype != np.float32:
        raise ValueError(f"precision={precision!r} runs float32 rows on tensor cores; the rows are {dtype}")
    if backend == "cpu" or (backend == "auto" and _backend._default_backend() == "cpu"):
        raise ValueError(f"precision={precision!r} needs the CUDA backend's tensor cores; backend is 'cpu'")
    return precision


def _fixed_bytes(m: int, m2: int, n: int, itemsize: int, bins: int, topk: int, threads: int,
                 pair_cap: int = 0) -> int:
    """Memory of one pass (cpp/src/interference.cpp) besides its packed blocks and
    read buffers (_blocks.plan adds those): the rows' sums of squares, the per-row
    outputs of both sides, per thread a histogram of int64 counts, a tile x tile block
    (INTERFERENCE_TILE, 144), a copy of a tile's rows of length ``n`` (0 when the pass
    runs on a GPU, which has no such copy) and 2 x tile candidate lists (top-k, the
    maxima of |g| and of g), and the pairs collected (24 bytes each, held up to three
    times while the threads' lists are joined and handed to numpy)."""
    tile = _core.INTERFERENCE_TILE
    rows = 8 * (m + m2) + (m + m2) * (40 + 16 * topk)
    per_thread = (8 * bins + tile * tile * itemsize + tile * n * itemsize + 2 * tile * (topk + 2) * (2 * itemsize + 8)
                  + 4096)
    return rows + threads * per_thread + 72 * pair_cap


def neighbors(W, k, B=None, *, both=False, threads=None, backend="auto", memory=None, precision=None):
    """The k rows of ``B`` (default: the other rows of ``W``) with the largest |cosine|
    to each row of W.

    Returns ``(indices, cosines)``, int64 and float64 arrays of shape (m, k), best
    first, ties by smaller index; cosines are signed. Same pass and contract as
    :func:`interference` with ``topk=k`` (``threads``, ``backend`` and ``precision`` too: the lists
    stay exact on tensor cores; W and B may be files, read in blocks within
    ``memory``, or arrays in GPU memory). With ``B`` and ``both=True``, the same
    pass also finds the k rows of W nearest each row of B and returns
    ``((indices, cosines), (b_indices, b_cosines))``, the second pair of shape
    (m2, k) (then k must also be below m).
    """
    k = v.integer(k, "k", minimum=1)
    both = v.boolean(both, "both")
    if both and B is None:
        raise ValueError("both=True needs B (without B the lists of W already cover both sides)")
    if both:  # checked before the pass; W converted or opened once, _interference takes it as it is
        W = _input_matrix(W, "W")
        if k >= W.shape[0]:
            raise ValueError(f"k must be < {W.shape[0]}, the rows of W (partners of each row of B), got {k}")
    stats = _interference(W, B, True, 1, (), k, False, threads, 0, None, "k", backend=backend, memory=memory,
                          precision=precision)
    if not both:
        return stats.topk_index, stats.topk_value
    return (stats.topk_index, stats.topk_value), (stats.col_topk_index, stats.col_topk_value)
