"""Noise through a chain of layers, with and without error correction (claim P7 of docs/claims.md)."""
from __future__ import annotations

import dataclasses

import numpy as np

from . import _validate as v
from ._result import Result
from .activations import AMPLITUDE_MAX, sample_activations
from .frame import KINDS, frame

CORRECTIONS = ("none", "threshold", "relu")
_BATCH = 256  # trials held at once: memory is batch * m float64


def layer_seed(seed: int, layer: int) -> int:
    """The frame seed of a layer: independent streams from (seed, layer)."""
    return int(np.random.SeedSequence([seed, layer]).generate_state(1, np.uint64)[0])


@dataclasses.dataclass(repr=False)
class Compound(Result):
    """Per-layer arrays (index 0 is the first readout), float64.

    ``noise_std``: std (ddof=1) of the readouts of features that are off in the input;
    ``error_rate``: (FP + FN) / (trials * m) of the threshold decoder r > threshold
    applied to that layer's readouts; ``signal``: mean over on features of r_k / a
    (1 = fully retained). ``predicted_noise`` = a sqrt(l / n) is the first layer's
    RMS prediction (C1, P2).
    """

    n: int
    m: int
    l: int
    layers: int
    correction: str
    bias: float
    trials: int
    noise_std: np.ndarray
    error_rate: np.ndarray
    signal: np.ndarray
    false_positive_rate: np.ndarray
    false_negative_rate: np.ndarray
    predicted_noise: float


def compound(n, m, *, layers, l, kind="gaussian", correction="none", bias=None, trials=200, seed=0,
             amplitude=1.0, threshold=0.5, dtype="float64") -> Compound:
    """Send l active features (amplitude a) through ``layers`` layers of independent frames.

    Layer j encodes its input features with its frame W_j (x = W_j^T f), reads out
    r = W_j x for all m features, and measures the readouts against the true (layer-0)
    activations. The next layer's input is the corrected readout:
    ``none``: f = r (every feature, with its noise, is re-encoded);
    ``threshold``: f = a * [r > bias] (bias defaults to a / 2);
    ``relu``: f = max(r - bias, 0) (bias defaults to 0).
    Frames come from ``frame(n, m, kind, seed=layer_seed(seed, j))`` and activations
    from ``sample_activations(m, l, seed=seed)``. Computed in numpy (dense products,
    float64 by default); sums are float64.

    Parameters
    ----------
    n, m : int >= 1
        Dimension and features of every layer's frame.
    layers : int in [1, 10000]
    l : int in [0, m]
        Active features of the input.
    kind : one of ``nearortho.KINDS``
        The random kind of the layers' frames.
    correction : {"none", "threshold", "relu"}
        What each layer does to its readouts before the next (above).
    bias : float, optional
        The correction's cut (default: a / 2 for threshold, 0 for relu).
    trials : int >= 2
    seed : int in [0, 2^64)
    amplitude : float > 0
        The active features' value a.
    threshold : float
        The decoder's cut on the readouts behind ``error_rate`` (absolute).
    dtype : float32 or float64
        Of the frames and products.
    """
    n = v.integer(n, "n", minimum=1)
    m = v.integer(m, "m", minimum=1)
    layers = v.integer(layers, "layers", minimum=1, maximum=10_000)
    l = v.integer(l, "l", minimum=0, maximum=m)
    if not isinstance(kind, str) or kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}; got {kind!r}")
    if correction not in CORRECTIONS:
        raise ValueError(f"correction must be one of {', '.join(CORRECTIONS)}; got {correction!r}")
    a = v.real(amplitude, "amplitude", low=0.0, low_open=True, high=AMPLITUDE_MAX)  # as simulate's
    threshold = v.real(threshold, "threshold")
    trials = v.integer(trials, "trials", minimum=2)
    seed = v.seed(seed)
    dtype = v.float_dtype(dtype)
    default_bias = a / 2 if correction == "threshold" else 0.0
    bias = default_bias if bias is None else v.real(bias, "bias")
    v.memory(layers * m * n * dtype.itemsize + 3 * _BATCH * m * dtype.itemsize,
             f"{layers} layers of {m} x {n} {dtype} frames")
    frames = [frame(n, m, kind, seed=layer_seed(seed, j), dtype=dtype) for j in range(layers)]
    indices, _ = sample_activations(m, l, trials=trials, seed=seed)
    sums = np.zeros((layers, 6))  # inactive sum, sumsq, count, signal sum, FP, FN
    for begin in range(0, trials, _BATCH):
        truth = np.zeros((min(_BATCH, trials - begin), m), dtype=dtype)
        for row, idx in enumerate(indices[begin:begin + truth.shape[0]]):
            truth[row, idx] = a
        on = truth > 0
        f = truth
        for j, W in enumerate(frames):
            r = (f @ W) @ W.T
            off = r[~on].astype(np.float64)
            sums[j] += (off.sum(), (off * off).sum(), off.size, (r[on] / a).sum(),
                        np.count_nonzero(off > threshold), np.count_nonzero(r[on] <= threshold))
            f = _correct(r, correction, bias, a)
    inactive, active = sums[:, 2], trials * l
    with np.errstate(invalid="ignore", divide="ignore"):  # l = m: no inactive feature, NaN noise
        mean = sums[:, 0] / inactive
        noise = np.sqrt(np.maximum(sums[:, 1] - inactive * mean * mean, 0.0) / (inactive - 1))
        false_positive_rate = sums[:, 4] / inactive
    return Compound(n=n, m=m, l=l, layers=layers, correction=correction, bias=bias, trials=trials,
                    noise_std=noise, error_rate=(sums[:, 4] + sums[:, 5]) / (trials * m),
                    signal=sums[:, 3] / active if active else np.full(layers, np.nan),
                    false_positive_rate=false_positive_rate,
                    false_negative_rate=sums[:, 5] / active if active else np.full(layers, np.nan),
                    predicted_noise=a * float(np.sqrt(l / n)))


def _correct(r: np.ndarray, correction: str, bias: float, a: float) -> np.ndarray:
    if correction == "threshold":
        return np.where(r > bias, a, 0.0).astype(r.dtype)
    if correction == "relu":
        return np.maximum(r - bias, 0.0)
    return r
