"""The surrogate gradient's dense float64 oracle (tests/test_gradient.py, and the
CUDA backend's tests in tests/test_cuda.py)."""
import numpy as np


def unit_rows(m, n, seed, dtype=np.float64):
    W = np.random.default_rng(seed).standard_normal((m, n))
    return (W / np.linalg.norm(W, axis=1, keepdims=True)).astype(dtype)


def oracle(W, p, t, s):
    """F, dF/dW and the coherence with its pair, from the dense Gram in float64."""
    W = W.astype(np.float64)
    G = W @ W.T
    upper = np.triu(np.ones(G.shape, bool), 1)
    d = np.where(upper, np.maximum(np.abs(G) - t, 0) / s, 0)
    C = p * d ** (p - 1) * np.sign(G) / s
    absg = np.where(upper, np.abs(G), -1)
    pair = np.unravel_index(np.argmax(absg), absg.shape)
    return (d ** p).sum(), (C + C.T) @ W, absg[pair], tuple(int(x) for x in pair)
