"""Plain float64 numpy oracle for nearortho.interference: the dense Gram matrix."""
from __future__ import annotations

import numpy as np


def gram(W, B=None, normalize=True):
    """float64 Gram matrix of the rows (cosines if normalize) and the pair mask."""
    X = np.asarray(W, dtype=np.float64)
    Y = X if B is None else np.asarray(B, dtype=np.float64)
    if normalize:
        X = X / np.linalg.norm(X, axis=1, keepdims=True)
        Y = X if B is None else Y / np.linalg.norm(Y, axis=1, keepdims=True)
    G = X @ Y.T
    if B is None:
        mask = np.triu(np.ones(G.shape, dtype=bool), 1)
    else:
        mask = np.ones(G.shape, dtype=bool)
    return G, mask


def tolerance(W, B, normalize, dtype):
    """Bound on |g_computed - g_float64|: 4 n eps |w_i| |w_j| in the working dtype."""
    eps = float(np.finfo(dtype).eps) / 2
    n = np.asarray(W).shape[1]
    if normalize:
        scale = 1.0
    else:
        norms = np.linalg.norm(np.asarray(W, dtype=np.float64), axis=1)
        other = norms if B is None else np.linalg.norm(np.asarray(B, dtype=np.float64), axis=1)
        scale = norms.max() * other.max()
    return 4.0 * (n + 2) * eps * scale


def near(values, edges, tol):
    """How many values lie within tol of any of the edges."""
    values = np.asarray(values, dtype=np.float64).ravel()
    edges = np.asarray(edges, dtype=np.float64).ravel()
    if values.size == 0 or edges.size == 0:
        return 0
    idx = np.searchsorted(edges, values)
    lo = np.abs(values - edges[np.clip(idx - 1, 0, edges.size - 1)])
    hi = np.abs(values - edges[np.clip(idx, 0, edges.size - 1)])
    return int(np.count_nonzero(np.minimum(lo, hi) <= tol))


def partner_values(G, mask, symmetric):
    """|g| of each row against its partners (j != i), with -inf elsewhere."""
    A = np.abs(G).copy()
    if symmetric:
        full = mask | mask.T
        A[~full] = -np.inf
    return A
