"""How many features can be active at once (P3, C1, C3), and how many amplitude levels survive (P5, P6)."""
from __future__ import annotations

import dataclasses
import math

import numpy as np

from . import _backend
from . import _validate as v
from ._result import Result
from .activations import parse_amplitude
from .frame import frame
from .simulate import rms_backend, rms_interference, simulate
from .theory import theory

_K_MAX = 1 << 20


def _z(confidence: float) -> float:
    """Two-sided normal quantile for a confidence level (scipy-free: bisection on erf)."""
    lo, hi = 0.0, 40.0
    for _ in range(200):
        mid = (lo + hi) / 2
        if math.erf(mid / math.sqrt(2)) < confidence:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def _frame_argument(W, seed: int) -> np.ndarray:
    """W itself (an array, or nested sequences of rows), or sizes (n, m, kind), a
    tuple or list -> frame(n, m, kind, seed=seed)."""
    if isinstance(W, (tuple, list)) and not any(isinstance(x, (tuple, list, np.ndarray)) for x in W):
        if len(W) != 3:
            raise ValueError("W as sizes must be (n, m, kind)")
        n, m, kind = W
        return frame(n, m, kind, seed=seed)
    return v.frame_array(W)


def largest_passing(ok, lo: int, hi: int) -> int:
    """Largest x in [lo, hi] with ok(x) below the first failure, given ok(lo).

    Doubles x up from lo until ok fails, then bisects between the last success and
    that failure. ok need only be monotone (true, then false) up to its first
    failure: an error rate that falls under the target again at larger x (a
    structured frame with all of its features on) does not count.
    """
    good, probe = lo, max(1, 2 * lo)
    while good < hi:
        probe = min(probe, hi)
        if not ok(probe):
            break
        good, probe = probe, 2 * probe
    else:
        return good
    bad = probe
    while bad - good > 1:
        mid = (good + bad) // 2
        if ok(mid):
            good = mid
        else:
            bad = mid
    return good


METRICS = ("error", "balanced", "false_negative", "false_positive")


@dataclasses.dataclass(repr=False)
class Capacity(Result):
    """Largest l whose threshold-decoder error rate (the chosen ``metric``) stays <= the target.

    ``l_max`` uses the point estimates; ``l_max_ci = (low, high)`` uses the upper and
    the lower confidence bound of the rate instead (normal approximation), so the
    true l_max lies in it at about the stated confidence, if the rate grows with l.
    ``evaluated`` maps every l tried to (rate, its standard error).
    ``false_positive_rate`` and ``false_negative_rate`` are the two rates at l_max
    (NaN without inactive or active features). The theory columns are P3 (JL) and C1:
    ``l_max_jl = n / (8 ln m)`` and ``l_max_rms = n`` are where the noise eps sqrt(l) reaches
    the signal (SNR 1), not a decoder's limit at ``target``: with Gaussian noise sqrt(l / n),
    a threshold t errs on a fraction e of the m >> l inactive features near
    l = n (t / z)^2, z the normal quantile of 1 - e (0.046 n at t = 0.5, e = 0.01).
    """

    n: int
    m: int
    metric: str
    target: float
    confidence: float
    trials: int
    l_max: int
    l_max_ci: tuple
    evaluated: dict
    false_positive_rate: float
    false_negative_rate: float
    l_max_jl: float
    l_max_rms: float


def capacity(W, *, error_rate=0.01, decoder="threshold", trials=200, seed=0, threshold=0.5,
             amplitude="boolean", signed=False, confidence=0.95, threads=None, metric="error",
             backend="auto") -> Capacity:
    """Largest number l of simultaneously active features the frame supports.

    The rate at l comes from ``simulate(W, l, ...)`` with the threshold decoder; ``metric``
    chooses which:

    - ``"error"``: (false positives + false negatives) / (trials * m), the per-feature
      error over active and inactive features together. With few active features the
      inactive ones dominate it: when active amplitudes sit below the threshold, it
      can report an l at which every active feature is missed.
    - ``"false_negative"``: missed active features / active features (FN rate).
    - ``"false_positive"``: inactive features read as on / inactive features (FP rate).
    - ``"balanced"``: the mean of the two, so neither kind of error can hide behind
      the other (a decoder that misses every active feature scores 0.5).

    The standard error is the one from per-trial error counts for ``"error"``; for
    the others it is sqrt(r (1 - r) / trials), an upper bound (each trial's rate lies
    in [0, 1] and trials are independent). l is found by doubling from l = 1 until the
    rate exceeds the target, then bisection: the largest l below the first crossing
    (where the rate falls again at large l, as for mutually unbiased bases with all
    features on, that does not count); every l uses the same seed (common random numbers), so the
    estimates vary smoothly with l.

    Parameters
    ----------
    W : array (m, n), or sizes (n, m, kind) as a tuple or list
        The frame, or the arguments of ``frame`` (generated with ``seed``).
    error_rate : float in (0, 1)
        Target per-feature error rate.
    decoder : "threshold"
        The decoder (threshold at ``threshold``; |r| with ``signed``).
    trials : int >= 2
        Trials per evaluated l (the confidence interval narrows like 1 / sqrt(trials)).
    seed : int in [0, 2^64)
        Seed of the trials (the same for every l), and of the frame when W is (n, m, kind).
    threshold : float
        The decoder's cut on the readout, absolute (as in :func:`nearortho.simulate`).
    amplitude : "boolean" | ("boolean", a) | ("uniform", a) | ("levels", K, a)
        Amplitudes of the active features, as in :func:`nearortho.simulate`.
    signed : bool
        Random signs on the amplitudes; the decoder then cuts |r|.
    confidence : float in (0, 1)
        Level of ``l_max_ci``.
    threads : int, optional
        Threads of each simulation; default follows OpenMP.
    metric : {"error", "balanced", "false_negative", "false_positive"}
        The rate held to ``error_rate`` (see above).
    backend : {"auto", "cpu", "cuda"}
        Where the simulations run (see docs/backends.md).
    """
    _backend.check(backend)
    if not isinstance(metric, str) or metric not in METRICS:
        raise ValueError(f"metric must be one of {', '.join(METRICS)}; got {metric!r}")
    target = v.probability(error_rate, "error_rate")
    confidence = v.probability(confidence, "confidence")
    if decoder != "threshold":
        raise ValueError(f'decoder must be "threshold", got {decoder!r}')
    trials = v.integer(trials, "trials", minimum=2)
    seed = v.seed(seed)
    parse_amplitude(amplitude)
    W = _frame_argument(W, seed)
    m, n = W.shape
    rms = rms_interference(W, threads=threads, backend=rms_backend(backend))
    cache: dict[int, tuple[float, float]] = {}
    rates: dict[int, tuple[float, float]] = {}  # (FP rate, FN rate)

    def rate(l: int) -> tuple[float, float]:
        if l not in cache:
            s = simulate(W, l, trials=trials, amplitude=amplitude, threshold=threshold, signed=signed, seed=seed,
                         threads=threads, backend=backend, _rms=rms)
            rates[l] = (s.false_positive_rate, s.false_negative_rate)
            cache[l] = _metric(s, metric, trials)
        return cache[l]

    z = _z(confidence)
    point = largest_passing(lambda l: rate(l)[0] <= target, 0, m)
    low = largest_passing(lambda l: rate(l)[0] + z * rate(l)[1] <= target, 0, m)
    high = largest_passing(lambda l: rate(l)[0] - z * rate(l)[1] <= target, 0, m)
    t = theory(n, max(m, 2)) if n >= 1 else None
    rate(point)  # l_max's two rates (the search need not have simulated it)
    return Capacity(n=n, m=m, metric=metric, target=target, confidence=confidence, trials=trials, l_max=point,
                    l_max_ci=(min(low, point), max(high, point)), evaluated=dict(sorted(cache.items())),
                    false_positive_rate=rates[point][0], false_negative_rate=rates[point][1],
                    l_max_jl=float(t.l_max_jl), l_max_rms=float(t.l_max_rms))


def _metric(s, metric: str, trials: int) -> tuple[float, float]:
    """(rate, standard error) of one simulate result; a rate with nothing to count
    (no active or no inactive feature) is 0."""
    if metric == "error":
        return s.error_rate, s.error_rate_se
    fp, fn = (0.0 if math.isnan(r) else r for r in (s.false_positive_rate, s.false_negative_rate))
    r = {"balanced": (fp + fn) / 2, "false_negative": fn, "false_positive": fp}[metric]
    return r, math.sqrt(r * (1 - r) / trials)


@dataclasses.dataclass(repr=False)
class Levels(Result):
    """Largest K whose nearest-level decoder errs on at most ``target`` of active features.

    ``level_error_rate`` is measured at K, ``next_error_rate`` at K + 1 (above the
    target, unless K hit ``k_max``). ``levels_jl`` and ``levels_rms`` are P5's
    predictions 1 / (eps sqrt(l)) with eps_JL and eps_RMS = 1/sqrt(n); ``levels_measured``
    uses the frame's own RMS interference in place of eps.
    """

    n: int
    m: int
    l: int
    target: float
    trials: int
    levels: int
    level_error_rate: float
    next_error_rate: float | None
    levels_jl: float
    levels_rms: float
    levels_measured: float


def levels(W, l, *, error_rate=0.01, amplitude=1.0, trials=200, seed=0, signed=False, k_max=4096,
           threads=None, backend="auto") -> Levels:
    """Number K of equally spaced amplitude levels {a j / K, j = 1..K} a decoder tells apart.

    Each trial activates ``l`` features with amplitudes drawn uniformly from the K
    levels; the nearest-level decoder rounds each active readout r_k to the nearest
    level (ties away from zero; with ``signed`` it also reads the sign from r_k).
    The level error rate is the fraction of active features decoded to a wrong
    level. K is found by doubling then bisection up to ``k_max``, assuming the rate
    grows with K (the spacing a / K shrinks). K = 1 never errs when unsigned; when
    signed, K = 1 with ``level_error_rate`` above the target means not even the sign
    is read reliably.

    Parameters
    ----------
    W : array (m, n), or sizes (n, m, kind) as a tuple or list
        The frame, or the arguments of ``frame`` (generated with ``seed``).
    l : int in [1, m]
        Active features per trial.
    error_rate : float in (0, 1)
        Target level error rate.
    amplitude : float > 0
        The largest level a (levels a j / K); not an amplitude spec as in ``simulate``.
    trials : int >= 1
        Trials per evaluated K.
    seed : int in [0, 2^64)
        Seed of the trials (the same for every K), and of the frame when W is (n, m, kind).
    signed : bool
        Random signs on the amplitudes, read back from r_k.
    k_max : int in [1, 2^20]
        Largest K tried.
    threads : int, optional
        Threads of each simulation; default follows OpenMP.
    backend : {"auto", "cpu", "cuda"}
        Where the simulations run (see docs/backends.md).
    """
    _backend.check(backend)
    target = v.probability(error_rate, "error_rate")
    a = v.real(amplitude, "amplitude", low=0.0, low_open=True)
    trials = v.integer(trials, "trials", minimum=1)
    k_max = v.integer(k_max, "k_max", minimum=1, maximum=_K_MAX)
    seed = v.seed(seed)
    W = _frame_argument(W, seed)
    m, n = W.shape
    l = v.integer(l, "l", minimum=1, maximum=m)
    rms = rms_interference(W, threads=threads, backend=rms_backend(backend))
    cache: dict[int, float] = {}

    def rate(k: int) -> float:
        if k not in cache:
            s = simulate(W, l, trials=trials, amplitude=("levels", k, a), signed=signed, seed=seed,
                         threads=threads, backend=backend, _rms=rms)
            cache[k] = s.level_error_rate
        return cache[k]

    k = largest_passing(lambda kk: rate(kk) <= target, 1, k_max) if rate(1) <= target else 1
    t = theory(n, max(m, 2), l)
    return Levels(n=n, m=m, l=l, target=target, trials=trials, levels=k, level_error_rate=rate(k),
                  next_error_rate=rate(k + 1) if k < k_max else None,
                  levels_jl=float(t.levels_jl), levels_rms=float(t.levels_rms),
                  levels_measured=1.0 / (rms * math.sqrt(l)) if rms > 0 else math.inf)
