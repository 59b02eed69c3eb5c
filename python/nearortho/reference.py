"""Reference values that sit beside measured interference: Welch bound, eps_JL,
1/sqrt(n), and the median coherence of a random frame.

Every function broadcasts over numpy arrays of n and m and returns float64 (a
numpy scalar for scalar input). scipy is not needed: the Beta tail is the
regularised incomplete beta function computed here by its continued fraction
(tested against ``scipy.special.betainc``).
"""
from __future__ import annotations

import math

import numpy as np

__all__ = ["welch_bound", "eps_jl", "inv_sqrt_n", "random_coherence", "beta_tail"]


def welch_bound(n, m):
    """Welch lower bound on the coherence of m unit vectors in R^n.

    sqrt((m - n) / (n (m - 1))) for m > n, and 0 for m <= n (orthonormal rows exist).
    """
    n, m = np.broadcast_arrays(np.asarray(n, dtype=np.float64), np.asarray(m, dtype=np.float64))
    with np.errstate(divide="ignore", invalid="ignore"):
        value = np.sqrt(np.maximum(m - n, 0.0) / (n * (m - 1.0)))
    return np.where(m > n, value, 0.0)[()]


def eps_jl(n, m):
    """The Johnson-Lindenstrauss distortion sqrt(8 ln(m) / n) of the post (claim P1)."""
    n, m = np.asarray(n, dtype=np.float64), np.asarray(m, dtype=np.float64)
    return np.sqrt(8.0 * np.log(m) / n)[()]


def inv_sqrt_n(n):
    """RMS cosine of two independent uniform unit vectors in R^n: exactly 1/sqrt(n)."""
    return (1.0 / np.sqrt(np.asarray(n, dtype=np.float64)))[()]


def _continued_fraction(a: float, b: float, x: float) -> float:
    """Lentz's evaluation of the continued fraction of I_x(a, b) (Numerical Recipes 6.4)."""
    tiny = 1e-300
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for i in range(1, 10000):
        m2 = 2 * i
        aa = i * (b - i) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        h *= d * c
        aa = -(a + i) * (qab + i) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-15:
            break
    return h


def _betainc(a: float, b: float, x: float) -> float:
    """Regularised incomplete beta I_x(a, b), relative accuracy about 1e-14 in both tails."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = (math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
                 + a * math.log(x) + b * math.log1p(-x))
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _continued_fraction(a, b, x) / a
    return 1.0 - math.exp(log_front) * _continued_fraction(b, a, 1.0 - x) / b


def _beta_tail_scalar(n: float, t: float) -> float:
    if n <= 1.0:
        return 1.0 if t < 1.0 else 0.0  # in R^1 every cosine is +-1
    # P(Beta(1/2, (n-1)/2) > t^2) = I_{1 - t^2}((n - 1)/2, 1/2), computed directly so
    # that small tails keep their relative accuracy
    return _betainc((n - 1.0) / 2.0, 0.5, 1.0 - t * t)


def beta_tail(n, t):
    """P(|<u, v>| > t) for independent uniform unit vectors u, v in R^n.

    <u, v>^2 follows Beta(1/2, (n - 1)/2), so this is P(Beta(1/2, (n-1)/2) > t^2).
    """
    return np.vectorize(_beta_tail_scalar, otypes=[np.float64])(n, t)[()]


def _random_coherence_scalar(n: float, pairs: float) -> float:
    if n <= 1.0:
        return 1.0
    target = math.log(2.0) / pairs  # exp(-pairs * tail(t)) = 1/2
    if target >= 1.0:
        return 0.0
    lo, hi = 0.0, 1.0
    for _ in range(60):  # bisection to double precision; tail decreases in t
        mid = 0.5 * (lo + hi)
        if _beta_tail_scalar(n, mid) > target:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def random_coherence(n, m, pairs=None):
    """Median coherence (max |cosine| over pairs) of m independent uniform unit vectors in R^n.

    Solves exp(-P * beta_tail(n, t)) = 1/2 for t, with P = C(m, 2) pairs (or
    ``pairs`` if given, e.g. m1 * m2 for two independent frames). Treating the
    pairs as independent tracks Monte Carlo within about 1%; Cai and Jiang's
    asymptotic Gumbel law runs about 5% high at n <= 256.
    """
    n, m = np.broadcast_arrays(np.asarray(n, dtype=np.float64), np.asarray(m, dtype=np.float64))
    p = m * (m - 1.0) / 2.0 if pairs is None else np.broadcast_to(np.asarray(pairs, dtype=np.float64), n.shape)
    return np.vectorize(_random_coherence_scalar, otypes=[np.float64])(n, p)[()]
