"""Every formula of the post "Some costs of superposition" (P1-P6) and of the first comment's
correction (C1) for given n, m, l, a, beside each other; the claims are listed in docs/claims.md."""
from __future__ import annotations

import dataclasses

import numpy as np

from . import _validate as v
from ._result import Result
from .bounds import bounds
from .reference import eps_jl, random_coherence

_FIELDS = ("eps_jl", "eps_rms", "noise_jl", "noise_rms", "l_max_jl", "l_max_rms", "m_max",
           "levels_jl", "levels_rms", "welch", "best_bound", "best_bound_name", "random_coherence")


@dataclasses.dataclass(repr=False)
class Theory(Result):
    """The quantities of docs/claims.md, broadcast over the inputs (numpy arrays, 0-d for scalars).

    The l-dependent fields (noise_*, m_max, levels_*) are None when ``l`` was not given.
    """

    n: np.ndarray
    m: np.ndarray
    l: np.ndarray | None
    amplitude: np.ndarray
    eps_jl: np.ndarray
    eps_rms: np.ndarray
    noise_jl: np.ndarray | None
    noise_rms: np.ndarray | None
    l_max_jl: np.ndarray
    l_max_rms: np.ndarray
    m_max: np.ndarray | None
    levels_jl: np.ndarray | None
    levels_rms: np.ndarray | None
    welch: np.ndarray
    best_bound: np.ndarray
    best_bound_name: np.ndarray
    random_coherence: np.ndarray

    def records(self) -> list[dict]:
        """One dict per broadcast element (pandas-friendly: ``pandas.DataFrame(t.records())``)."""
        columns = {k: val for k, val in self.to_dict().items() if val is not None}
        flat = {k: np.ravel(val) for k, val in columns.items()}
        size = len(next(iter(flat.values())))
        return [{k: col[i].item() for k, col in flat.items()} for i in range(size)]


def theory(n, m, l=None, amplitude=1.0) -> Theory:
    """Evaluate the formulas of "Some costs of superposition" (Linda Linsefors, 2024) and the
    comments' corrections; docs/claims.md says what each claim is and where it is stated.

    Parameters
    ----------
    n : int or array of int >= 1
        Dimension (neurons).
    m : int or array of int >= 2
        Number of features.
    l : int or array of int in [1, m], optional
        Simultaneously active features.
    amplitude : float or array > 0
        Largest activation amplitude a (scales the noise; levels are a / noise, so a cancels).

    Returns
    -------
    Theory
        Broadcast over (n, m, l, amplitude); the inputs come back as int64 (amplitude float64),
        ``best_bound_name`` as strings, the rest float64:
        ``eps_jl = sqrt(8 ln m / n)`` (P1), ``eps_rms = 1 / sqrt(n)`` (C1),
        ``noise_* = a * eps_* * sqrt(l)`` (P2, P5), ``l_max_* = 1 / eps_*^2`` (P3; rms: n),
        ``m_max = exp(n / (8 l))`` (P4; inf when it overflows float64),
        ``levels_* = 1 / (eps_* sqrt(l))`` (P5), ``welch = sqrt((m - n) / (n (m - 1)))``
        (0 when m <= n), ``best_bound`` and ``best_bound_name``: the largest applicable lower
        bound on the coherence (:func:`nearortho.bounds`), ``random_coherence``: the median
        coherence of m random unit vectors in R^n, the t solving exp(-C(m, 2) P(Beta(1/2, (n-1)/2) > t^2)) = 1/2.
    """
    n = v.integer_array(n, "n", 1)
    m = v.integer_array(m, "m", 2)
    if isinstance(amplitude, (bool, np.bool_)):
        raise TypeError(f"amplitude must be real number(s), got {type(amplitude).__name__}")
    a = v.real_array(amplitude, "amplitude")
    if not (a > 0).all():
        raise ValueError(f"amplitude must be finite and > 0, got {amplitude!r}")
    ls = None if l is None else v.integer_array(l, "l", 1)
    shape = np.broadcast_shapes(n.shape, m.shape, a.shape, () if ls is None else ls.shape)
    if ls is not None and np.any(ls > m):
        l_bad, m_bad = (np.broadcast_to(x, shape)[np.broadcast_to(ls > m, shape)][0] for x in (ls, m))
        raise ValueError(f"l must be <= m (l active features among m), got l = {l_bad:.0f} with m = {m_bad:.0f}")
    n, m, a = (np.broadcast_to(x, shape) for x in (n, m, a))
    e_jl = np.asarray(eps_jl(n, m), dtype=np.float64)
    e_rms = 1.0 / np.sqrt(n)
    best = bounds(n, m)
    out = dict(n=n.astype(np.int64), m=m.astype(np.int64), l=None, amplitude=a, eps_jl=e_jl, eps_rms=e_rms,
               noise_jl=None, noise_rms=None, l_max_jl=1.0 / e_jl**2, l_max_rms=1.0 / e_rms**2, m_max=None,
               levels_jl=None, levels_rms=None,
               welch=best.welch, best_bound=best.best, best_bound_name=best.best_name,
               random_coherence=np.asarray(random_coherence(n, m), dtype=np.float64))
    if ls is not None:
        ls = np.broadcast_to(ls, shape)
        root = np.sqrt(ls)
        with np.errstate(over="ignore"):
            m_max = np.exp(n / (8.0 * ls))
        out.update(l=ls.astype(np.int64), noise_jl=a * e_jl * root, noise_rms=a * e_rms * root, m_max=m_max,
                   levels_jl=1.0 / (e_jl * root), levels_rms=1.0 / (e_rms * root))
    return Theory(**out)
