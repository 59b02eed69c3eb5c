"""Lower bounds on the coherence of m unit vectors in R^n (real line packings).

The coherence max_{i<j} |<w_i, w_j>| of unit vectors is a property of the lines they span,
so these are the bounds on packing m lines through the origin of R^n:

- Welch: mu^2 >= (m - n) / (n (m - 1)) for m > n (0 for m <= n: orthonormal rows).
  Welch (1974); it is also Conway, Hardin and Sloane's *simplex bound* (1996, "Packing
  lines, planes, etc.", Exp. Math. 5): the lines' projectors P_i = w_i w_i^T, less I/n,
  lie on a sphere of squared radius (n - 1)/n in the n(n+1)/2 - 1 dimensional space of
  traceless symmetric matrices, with <P_i - I/n, P_j - I/n> = g_ij^2 - 1/n, and Rankin's
  simplex bound on that sphere (max inner product >= -radius^2 / (m - 1)) is the Welch
  bound, term for term. So there is no separate simplex field: ``welch`` is that bound.
  Equality needs an equiangular tight frame, which needs m <= the Gerzon limit.
- Orthoplex: mu >= 1/sqrt(n) for m > n(n+1)/2. Rankin's orthoplex bound (more than
  dim + 1 points on a sphere have a pair with inner product >= 0) on the same sphere
  (Conway, Hardin and Sloane 1996).
- Levenshtein: mu^2 >= (3m - n^2 - 2n) / ((n + 2)(m - n)) for m > n(n+1)/2. Levenshtein's
  linear-programming bound for real projective space (Levenshtein 1982; stated for frames
  by Haas, Hammen and Mixon 2017, "The Levenstein bound for packings in projective
  spaces"). It equals the orthoplex bound exactly at m = n(n+2)/2 (where real mutually
  unbiased bases from Kerdock sets meet it) and exceeds it beyond.
- Gerzon: a real equiangular set (every |g_ij| equal) has at most n(n+1)/2 lines
  (Lemmens and Seidel 1973, after Gerzon), so the Welch bound is not attained above it.

Not included: the Bukh-Cox bound (2018), which beats Welch for m slightly above n.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from . import _validate as v
from ._result import Result
from .reference import welch_bound

__all__ = ["Bounds", "bounds", "BOUND_NAMES"]

# the names ``best_name`` takes, weakest to strongest
BOUND_NAMES = ("welch", "orthoplex", "levenshtein")
_MAX_N = 2**31 - 1


@dataclasses.dataclass(repr=False)
class Bounds(Result):
    """Coherence lower bounds, broadcast over (n, m): numpy arrays (0-d for scalar input).

    ``orthoplex`` and ``levenshtein`` are NaN where they do not apply (m <= n(n+1)/2).
    ``gerzon`` is n(n+1)/2, the most lines a real equiangular set in R^n can hold.
    ``best`` is the largest applicable bound and ``best_name`` says which one it is:
    Welch for m <= n(n+1)/2, orthoplex for n(n+1)/2 < m <= n(n+2)/2 (where it is >= the
    Levenshtein bound), Levenshtein beyond. The choice is made on the integers, so a tie
    (m = n(n+2)/2) names the orthoplex bound whatever the rounding of the two values.
    """

    n: np.ndarray
    m: np.ndarray
    welch: np.ndarray
    orthoplex: np.ndarray
    levenshtein: np.ndarray
    gerzon: np.ndarray
    best: np.ndarray
    best_name: np.ndarray


def bounds(n, m) -> Bounds:
    """Lower bounds on the coherence of m unit vectors in R^n (see the module docstring).

    Parameters
    ----------
    n : int or array of int >= 1
    m : int or array of int >= 2

    Returns
    -------
    Bounds
        Every field broadcast to the shape of (n, m); values float64.
    """
    n = v.integer_array(n, "n", 1)
    m = v.integer_array(m, "m", 2)
    if (n > _MAX_N).any():
        raise ValueError(f"n must be <= {_MAX_N} (2^31 - 1), got max {n.max():.0f}")
    n, m = np.broadcast_arrays(n, m)
    # the applicability tests on exact integers: n(n + 2) fits int64 for n < 2^31
    n_int, m_int = n.astype(np.int64), m.astype(np.int64)
    beyond_gerzon = 2 * m_int > n_int * (n_int + 1)
    beyond_kerdock = 2 * m_int > n_int * (n_int + 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        orthoplex = np.where(beyond_gerzon, 1.0 / np.sqrt(n), np.nan)
        levenshtein = np.where(beyond_gerzon,
                               np.sqrt((3.0 * m - n * n - 2.0 * n) / ((n + 2.0) * (m - n))), np.nan)
    welch = np.asarray(welch_bound(n, m), dtype=np.float64)
    best = np.where(beyond_kerdock, levenshtein, np.where(beyond_gerzon, orthoplex, welch))
    name_index = beyond_gerzon.astype(np.int64) + beyond_kerdock.astype(np.int64)
    return Bounds(n=n.astype(np.int64), m=m.astype(np.int64), welch=welch, orthoplex=orthoplex,
                  levenshtein=levenshtein, gerzon=n_int * (n_int + 1) // 2, best=best,
                  best_name=np.asarray(np.asarray(BOUND_NAMES)[name_index]))
