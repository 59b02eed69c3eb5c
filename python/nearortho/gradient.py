"""Gradient of a pair surrogate of the coherence, from one fused pass in the core.

F(W) = sum over pairs i < j of (max(|g_ij| - t, 0) / s)^p with g_ij = <w_i, w_j>
the raw inner products of the rows as given. With p = 2, t = 0, s = 1 it is the
frame potential sum g_ij^2; a large p makes it a smooth stand-in for the largest
|g|; t > 0 only counts the pairs above t. The core computes the Gram tiles of
the upper triangle, turns each into weights and multiplies them straight back
into both tiles' rows' gradients: memory O(m n), never O(m^2).
"""
from __future__ import annotations

import dataclasses

import numpy as np

from . import _backend, _core
from . import _validate as v
from ._result import Result

__all__ = ["SurrogateGradient", "surrogate_gradient"]

MAX_POWER = 1 << 16


@dataclasses.dataclass(repr=False, eq=False)
class SurrogateGradient(Result):
    """``value`` F (a float64 sum), ``gradient`` dF/dW (same shape and dtype as W),
    and from the same pass the ``coherence`` max_{i<j} |g_ij| with its ``pair``."""

    value: float
    gradient: np.ndarray
    coherence: float
    pair: tuple


def surrogate_gradient(W, p=2, *, t=0.0, s=1.0, threads=None, backend="auto") -> SurrogateGradient:
    """F(W) = sum_{i<j} (max(|g_ij| - t, 0) / s)^p and its gradient in one pass.

    Parameters
    ----------
    W : array (m, n), float32 or float64, finite, m >= 2
        Rows as given (not normalised): g_ij = <w_i, w_j>.
    p : int in [2, 65536]
        Power. Row i's gradient is sum_{j != i} p d_ij^(p-1) sign(g_ij) / s w_j
        with d_ij = max(|g_ij| - t, 0) / s.
    t : float >= 0
        Threshold: pairs with |g| <= t add nothing.
    s : float > 0
        Scale. Choose it near the largest |g| - t so that high powers stay in
        range: terms with d^p below the dtype's smallest normal number are
        dropped, and d^p beyond its largest value makes ``value`` infinite.
    threads : int, optional
    backend : {"auto", "cpu", "cuda"}
        Where the pass runs (see docs/backends.md).

    Notes
    -----
    The gradient is accumulated in W's dtype, each element over its partners in
    a fixed order, so its bits do not depend on ``threads``; they can differ
    across instruction sets (fused multiply-add) within the dtype's rounding.
    The float64 ``value`` sums per-tile sums in a fixed order.
    """
    W = v.frame_array(W, "W")
    if W.shape[0] < 2:
        raise ValueError(f"W needs at least 2 rows for pairs, got {W.shape[0]}")
    v.products_fit(W, "W")
    options = surrogate_options(p, t, s, v.threads(threads))
    gradient = _backend.select(backend, "surrogate_gradient", work=gradient_work(W.shape))
    grad = np.empty_like(W)
    totals = gradient(W, options, grad)
    return SurrogateGradient(totals.value, grad, totals.max_abs, (totals.max_i, totals.max_j))


def gradient_work(shape) -> int:
    """Multiply-adds of one gradient pass over an (m, n) frame: 3 m^2 n / 2."""
    m, n = shape
    return 3 * m * m * n // 2


def surrogate_options(p, t, s, threads: int) -> _core.SurrogateOptions:
    """The core's options for F with power p, threshold t and scale s (validated here)
    and ``threads`` as ``_validate.threads`` returns it."""
    options = _core.SurrogateOptions()
    options.p = v.integer(p, "p", minimum=2, maximum=MAX_POWER)
    options.t = v.real(t, "t", low=0.0)
    options.s = v.real(s, "s", low=0.0, low_open=True)
    options.threads = threads
    return options
