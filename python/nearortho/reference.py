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

from . import _validate as v

__all__ = ["welch_bound", "eps_jl", "inv_sqrt_n", "random_coherence", "beta_tail", "random_max_cdf",
           "random_mean_max"]

# Gauss-Legendre nodes and weights on [0, 1] for the mean-max integral's panels
_GL_NODES, _GL_WEIGHTS = np.polynomial.legendre.leggauss(16)
_GL_NODES, _GL_WEIGHTS = (_GL_NODES + 1.0) / 2.0, _GL_WEIGHTS / 2.0
_PANELS = 48
_LOG_TINY = math.log(1e-18)  # below this, a probability is 0 to double precision


def welch_bound(n, m):
    """Welch lower bound on the coherence of m unit vectors in R^n.

    sqrt((m - n) / (n (m - 1))) for m > n, and 0 for m <= n (orthonormal rows exist).
    n, m: whole numbers >= 1 (or arrays of them; ValueError/TypeError otherwise).
    """
    n, m = np.broadcast_arrays(v.integer_array(n, "n", 1), v.integer_array(m, "m", 1))
    with np.errstate(divide="ignore", invalid="ignore"):
        value = np.sqrt(np.maximum(m - n, 0.0) / (n * (m - 1.0)))
    return np.where(m > n, value, 0.0)[()]


def eps_jl(n, m):
    """The Johnson-Lindenstrauss distortion sqrt(8 ln(m) / n) of the post (claim P1);
    n, m whole numbers >= 1 (or arrays of them)."""
    n, m = v.integer_array(n, "n", 1), v.integer_array(m, "m", 1)
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
    if not (n >= 1.0 and pairs > 0.0):  # no dimension or no pair (m < 2): undefined
        return math.nan
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
    asymptotic Gumbel law runs about 5% high at n <= 256. NaN where there is no
    pair (m < 2, pairs <= 0) or n < 1; n, m and pairs must be finite real numbers
    (TypeError for other types, ValueError for NaN or Inf).
    """
    n, m = np.broadcast_arrays(v.real_array(n, "n"), v.real_array(m, "m"))
    p = m * (m - 1.0) / 2.0 if pairs is None else np.broadcast_to(v.real_array(pairs, "pairs"), n.shape)
    return np.vectorize(_random_coherence_scalar, otypes=[np.float64])(n, p)[()]


def _log_max_cdf(n: float, partners: float, t: float) -> float:
    """log P(max of ``partners`` independent |cosines| <= t)."""
    tail = _beta_tail_scalar(n, t)
    return -math.inf if tail >= 1.0 else partners * math.log1p(-tail)


def random_max_cdf(n, partners, t):
    """P(max_j |<u, v_j>| <= t) for ``partners`` independent uniform unit vectors v_j
    and u in R^n: (1 - beta_tail(n, t)) ** partners, exact.

    For row i of a random frame of m vectors, partners = m - 1 (the rows are
    independent, so given u_i its m - 1 cosines are too); against a second
    random frame of m2 vectors, partners = m2.
    """
    log_cdf = np.vectorize(_log_max_cdf, otypes=[np.float64])(n, partners, t)
    return np.exp(log_cdf)[()]


def _bisect(predicate, lo: float, hi: float) -> float:
    """The point in [lo, hi] where ``predicate`` turns from False to True."""
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        lo, hi = (lo, mid) if predicate(mid) else (mid, hi)
    return 0.5 * (lo + hi)


def _random_mean_max_scalar(n: float, partners: float) -> float:
    if n <= 1.0:
        return 1.0
    # E[max] = integral over [0, 1] of 1 - F(t). 1 - F is 1 (to double precision)
    # below a and 0 above b, so Gauss-Legendre panels cover [a, b] only.
    a = _bisect(lambda t: _log_max_cdf(n, partners, t) > _LOG_TINY, 0.0, 1.0)
    b = _bisect(lambda t: -_log_max_cdf(n, partners, t) < 1e-18, a, 1.0)
    edges = np.linspace(a, b, _PANELS + 1)
    t = (edges[:-1, None] + np.diff(edges)[:, None] * _GL_NODES).ravel()
    weights = np.repeat(np.diff(edges), len(_GL_NODES)) * np.tile(_GL_WEIGHTS, _PANELS)
    log_cdf = np.array([_log_max_cdf(n, partners, x) for x in t])
    return a + float(np.sum(weights * -np.expm1(log_cdf)))


def random_mean_max(n, partners):
    """Expected maximum |cosine| of a unit vector with ``partners`` independent uniform
    unit vectors in R^n: the exact expectation of the mean max cosine ("MMCS") of a
    random frame (partners = m - 1) or of one frame against another (partners = m2).

    The maximum of ``partners`` independent squared cosines, each Beta(1/2, (n-1)/2),
    integrated by Gauss-Legendre quadrature over the window where its CDF is
    neither 0 nor 1 to double precision: relative accuracy about 1e-12, 1e-7 at
    n = 2, where the density of |cos| is singular at 1 (tested against scipy's
    adaptive quadrature and the closed forms: |cos| is uniform at n = 3, so the
    mean max is partners / (partners + 1); at n = 2 with one partner it is 2/pi).
    """
    return np.vectorize(_random_mean_max_scalar, otypes=[np.float64])(n, partners)[()]
