"""Near-orthogonal frames: m unit vectors in R^n, generated in the compiled core."""
from __future__ import annotations

import math

import numpy as np

from . import _backend, _core
from . import _validate as v

KINDS = _core.FRAME_KINDS  # random: any (n, m), a frame per seed
STRUCTURED_KINDS = _core.STRUCTURED_FRAME_KINDS  # fixed constructions for some (n, m)

# Rows per call into the core: Ctrl-C is handled between calls, so a call stays short.
_CHUNK_ELEMENTS = 1 << 24


def default_sparsity(n: int) -> int:
    """Nonzeros per row of a ``sparse`` frame when ``s`` is not given: ceil(sqrt(n))."""
    return min(n, math.isqrt(n - 1) + 1) if n > 1 else 1


def max_rows(kind: str, n) -> int | None:
    """The most rows ``kind`` has at dimension n (None for the random kinds, which have no limit).

    Raises ValueError naming the supported dimensions when a structured kind has none at n.
    """
    _check_kind(kind)
    n = v.integer(n, "n", minimum=1, maximum=_core.MAX_FRAME_DIMENSION)
    return _core.structured_max_rows(getattr(_core.FrameKind, kind), n) if kind in STRUCTURED_KINDS else None


def _check_kind(kind) -> None:
    if not isinstance(kind, str):
        raise TypeError(f"kind must be a string, got {type(kind).__name__}")
    if kind not in KINDS + STRUCTURED_KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS + STRUCTURED_KINDS)}; got {kind!r}")


def frame(n, m, kind="gaussian", *, seed=0, dtype="float32", rows=None, threads=None, out=None, backend="auto",
          **kind_options) -> np.ndarray:
    """Generate a frame of ``m`` unit vectors in R^n as the rows of an (m, n) array.

    Parameters
    ----------
    n, m : int
        Dimension and number of rows (both >= 1).
    kind : {"gaussian", "sign", "sparse", "orthogonal", "srht", "kerdock", "simplex", "conference", "lines28"}
        ``gaussian``: N(0, I) rows, normalised. ``sign``: entries +-1/sqrt(n).
        ``sparse``: exactly ``s`` nonzeros of +-1/sqrt(s) per row at uniformly
        random positions (option ``s``, default ceil(sqrt(n))). ``orthogonal``:
        rows [g n, (g + 1) n) form an independent Haar-random orthonormal basis
        (so m <= n gives orthonormal rows; the last basis may be partial).
        ``srht``: with N the smallest power of two >= n, each group of N rows is
        the Hadamard matrix H_N times random signs, restricted to a random set of
        n coordinates, scaled by 1/sqrt(n) (entries +-1/sqrt(n); an orthonormal
        basis when n is a power of two).

        Structured kinds (fixed constructions; m may be anything up to the
        construction's size, the rows being its first m; other (n, m) raise a
        ValueError that names the supported sizes; see :func:`max_rows`):
        ``kerdock``: for n = 2^r, orthonormal bases of n rows each: the standard
        basis, the Sylvester-Hadamard basis, then (r even, n = 4^k) the bases of
        a Kerdock set of quadratic forms over GF(2): n/2 + 1 mutually unbiased
        bases, m <= n (n/2 + 1), every |g| between bases exactly 1/sqrt(n) (at
        m = n (n/2 + 1) the Levenshtein bound: an optimal packing). For odd r no
        three real MUBs exist (n is not a square), so m <= 2n.
        ``simplex``: m <= n + 1, the regular simplex (an equiangular tight
        frame at m = n + 1, every |g| = 1/n).
        ``conference``: n with 2n - 1 = q a prime power = 1 mod 4 (n = 3, 5, 7,
        9, 13, 15, ...), m <= 2n: the equiangular tight frame of the Paley
        conference matrix of order 2n, every |g| = 1/sqrt(2n - 1).
        ``lines28``: n = 7, m <= 28: the 28 equiangular lines in R^7 (as many as
        the Gerzon limit n(n+1)/2 allows), every |g| = 1/3.
        Entries of kerdock frames are 0, 1 and +-1/sqrt(n), exact for n = 4^k.
    seed : int in [0, 2^64)
        Row i is a pure function of (kind, dtype, seed, i) through Philox4x32-10:
        the same bits for any ``threads``, any ``rows`` block, and any ISA. (Gaussian
        rows in float64 come from their own Box-Muller draws, so they are not the
        float32 rows widened; the other kinds agree across dtypes to rounding.)
        The structured kinds do not use the seed: every seed gives the same frame.
    dtype : float32 or float64
    rows : slice, optional
        The block ``rows.start:rows.stop`` of the frame (no step).
    threads : int, optional
        Threads to use; default follows OpenMP (OMP_NUM_THREADS, else all CPUs).
    out : ndarray, optional
        A C-contiguous, aligned array of the right shape and dtype to write into.
    backend : {"auto", "cpu", "cuda"}
        Where the rows are generated (see docs/backends.md); the rows are the same.

    Returns
    -------
    ndarray of shape (rows, n), C-contiguous, rows of unit norm (to rounding).
    """
    n = v.integer(n, "n", minimum=1, maximum=_core.MAX_FRAME_DIMENSION)
    m = v.integer(m, "m", minimum=1, maximum=2**62)
    _check_kind(kind)
    spec = _core.FrameSpec()
    spec.n, spec.m, spec.kind = n, m, getattr(_core.FrameKind, kind)
    spec.sparsity = _kind_options(kind, n, kind_options)
    _core.validate_frame(spec)  # the sizes a structured kind has (ValueError)
    spec.seed = v.seed(seed)
    generate = _backend.select(backend, "generate_frame")
    dtype = v.float_dtype(dtype)
    start, stop = v.row_slice(rows, m)
    nthreads = v.threads(threads)
    shape = (stop - start, n)
    group = _core.frame_group_rows(spec)
    step = max(group, (_CHUNK_ELEMENTS // n) // group * group)
    work = _work_bytes(kind, n, start, stop, step, v.resolved_threads(nthreads))
    output = shape[0] * n * dtype.itemsize if out is None else 0
    v.memory(output + work, f"a {shape[0]} x {n} {kind} {dtype} frame"
             + (" (generate it in blocks with rows=, or into a file with out=)" if output > work else ""))
    if out is None:
        out = np.empty(shape, dtype=dtype)
    elif not isinstance(out, np.ndarray):
        raise TypeError(f"out must be a numpy array, got {type(out).__name__}")
    elif out.shape != shape or out.dtype != dtype:
        raise ValueError(f"out must have shape {shape} and dtype {dtype}, got {out.shape} {out.dtype}")
    elif not (out.flags.c_contiguous and out.flags.writeable and out.flags.aligned):
        raise ValueError("out must be a writeable, aligned, C-contiguous array")
    lo = start
    while lo < stop:
        hi = min(stop, (lo // group) * group + step)
        generate(spec, lo, hi, out[lo - start:hi - start], nthreads)
        lo = hi
    return out


def _work_bytes(kind: str, n: int, start: int, stop: int, step: int, threads: int) -> int:
    """Memory the core holds besides the output (cpp/src/frame.cpp). orthogonal: each
    basis being built (up to one per thread) holds its prefix of rows rounded up to a
    block of ORTHOGONAL_BLOCK (64), twice (rows and a column-packed copy), and a block's
    coefficients per row, all float64. srht: a permutation of the padded size N and n signed values."""
    if stop == start:
        return 0
    if kind == "orthogonal":
        bases = (stop - 1) // n - start // n + 1
        deepest = n if bases > 1 else (stop - 1) % n + 1
        block = _core.ORTHOGONAL_BLOCK
        built = min(n, -(-deepest // block) * block)
        return min(threads, bases, step // n) * 8 * built * (2 * n + block)
    if kind == "srht":
        return 8 * (1 << (n - 1).bit_length()) + 8 * n
    return 0


def _kind_options(kind: str, n: int, options: dict) -> int:
    """Validate the kind-specific options; returns the sparsity (0 unless sparse)."""
    allowed = {"sparse": {"s"}}.get(kind, set())
    unknown = set(options) - allowed
    if unknown:
        raise TypeError(f"unknown option(s) for kind {kind!r}: {', '.join(sorted(unknown))}")
    if kind != "sparse":
        return 0
    s = options.get("s")
    return default_sparsity(n) if s is None else v.integer(s, "s", minimum=1, maximum=n)
