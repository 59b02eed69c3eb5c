"""The frames :func:`nearortho.optimize` starts from: a given W0, a fresh random
frame, or (``kind="auto"``) the best structured frame with m rows at n, that
frame perturbed, and a Gaussian frame. Tests: tests/test_optimize.py.
"""
from __future__ import annotations

import numpy as np

from . import _core
from . import _validate as v
from .frame import KINDS, STRUCTURED_KINDS, frame, max_rows
from .interference import interference

__all__ = ["START_KINDS", "kerdock_sum", "starts"]

START_KINDS = KINDS + STRUCTURED_KINDS + ("auto",)

_FLOAT64_SIZE = 4096     # fresh frames with m * n up to this work in float64
_NOISE = 0.1             # radians (root mean square per row) a perturbed start moves from its frame


def starts(W0, kind, seed, dtype):
    """The first starts as (label, frame with unit rows, C-contiguous, in the
    working dtype), and the kind of the restarts (None for a given W0)."""
    v.seed(seed)  # checked with W0 too, which does not use it
    if not isinstance(kind, str):
        raise TypeError(f"kind must be a string, got {type(kind).__name__}")
    if kind not in START_KINDS:
        raise ValueError(f"kind must be one of {', '.join(START_KINDS)}; got {kind!r}")
    if isinstance(W0, (tuple, list)) and len(W0) == 2 and all(
            isinstance(x, (int, np.integer)) and not isinstance(x, bool) for x in W0):
        n = v.integer(W0[0], "n", minimum=1, maximum=_core.MAX_FRAME_DIMENSION)
        m = v.integer(W0[1], "m", minimum=2, maximum=2**40)
        dtype = v.float_dtype(dtype if dtype is not None else (np.float64 if m * n <= _FLOAT64_SIZE else np.float32))
        if kind in STRUCTURED_KINDS:  # one frame whatever the seed: restarts from it would repeat its run
            return [(kind, frame(n, m, kind, dtype=dtype))], "gaussian"
        if kind != "auto":
            return [(f"{kind} seed {seed}", frame(n, m, kind, seed=seed, dtype=dtype))], kind
        gaussian = frame(n, m, seed=seed, dtype=dtype)
        structured = _best_structured(n, m, dtype)
        if structured:
            label, S = structured[0]
            structured.append((f"{label} + noise seed {seed}", _perturbed(S, gaussian)))
        return structured + [(f"gaussian seed {seed}", gaussian)], "gaussian"
    W = v.directions(W0, "W0")
    if W.shape[0] < 2:
        raise ValueError(f"W0 needs at least 2 rows (pairs), got {W.shape[0]}")
    dtype = v.float_dtype(dtype) if dtype is not None else W.dtype
    return [("W0", _unit_rows(W).astype(dtype))], None


def _unit_rows(W: np.ndarray) -> np.ndarray:
    """W's (finite, nonzero) rows scaled to unit norm in float64, whatever their
    norms: each row is first scaled exactly by a power of two that brings its
    largest entry into [0.5, 1), so squaring neither overflows nor underflows."""
    _, exponent = np.frexp(np.abs(W).max(axis=1, keepdims=True).astype(np.float64))
    U = np.ldexp(W.astype(np.float64), -exponent)
    return U / np.linalg.norm(U, axis=1, keepdims=True)


def kerdock_sum(n, m, block, dtype="float64") -> np.ndarray:
    """The orthogonal direct sum of n / block Kerdock frames of R^block: m rows
    spread evenly over the blocks (the first m % (n / block) blocks get one more),
    each block's rows the first rows of ``frame(block, rows, "kerdock")``, so
    whole bases first. Rows of different blocks are orthogonal, so the coherence
    is that of the largest block: 1/sqrt(block) once a block holds more than one
    basis."""
    blocks = n // block
    if block * blocks != n or m > blocks * max_rows("kerdock", block):
        raise ValueError(f"{blocks} Kerdock frames of R^{block} do not make {m} rows in R^{n}")
    W = np.zeros((m, n), dtype=dtype)
    first = 0
    for b in range(blocks):
        rows = m // blocks + (b < m % blocks)
        W[first:first + rows, b * block:(b + 1) * block] = frame(block, rows, "kerdock", dtype=dtype)
        first += rows
    return W


def _best_structured(n, m, dtype):
    """[(label, frame)] for the structured start of lowest coherence with m rows
    at n, or []: a structured kind, or where none has m rows, the direct sum of
    Kerdock frames of the largest block that has (:func:`kerdock_sum`)."""
    kinds = [kind for kind in STRUCTURED_KINDS if _fits(kind, n, m)]
    frames = [(kind, frame(n, m, kind, dtype=dtype)) for kind in kinds]
    if len(frames) > 1:  # only small n has several (a pass each is cheap there)
        frames.sort(key=lambda f: interference(f[1], per_row=False, bins=1).coherence)
    if not frames:
        block = _kerdock_block(n, m)
        if block is not None:
            frames = [(f"kerdock sum {n // block}x{block}", kerdock_sum(n, m, block, dtype))]
    return frames[:1]


def _kerdock_block(n, m):
    """The largest power of 4 below n that divides n and whose Kerdock frames,
    n / block of them, have m rows; None if none does."""
    block = 4
    while block * 4 < n:
        block *= 4
    while block >= 4:
        if n % block == 0 and (n // block) * max_rows("kerdock", block) >= m:
            return block
        block //= 4
    return None


def _perturbed(S, directions):
    """S's rows moved about _NOISE radians towards the unit rows of ``directions``."""
    W = S + _NOISE * directions
    W /= np.linalg.norm(W, axis=1, keepdims=True)
    return W


def _fits(kind, n, m):
    try:
        return max_rows(kind, n) >= m
    except ValueError:  # no such construction at n
        return False
