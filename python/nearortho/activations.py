"""Sparse activations for the readout Monte Carlo: amplitude specs, the sampler, explicit activations."""
from __future__ import annotations

import dataclasses
import math

import numpy as np

from . import _backend, _core
from . import _validate as v


@dataclasses.dataclass(frozen=True)
class Amplitude:
    """A parsed amplitude spec: kind in {boolean, uniform, levels}, largest value a, K levels."""

    kind: str
    a: float = 1.0
    levels: int = 1

    @property
    def mean_square(self) -> float:
        """E[a_k^2] of one active amplitude (signs do not matter)."""
        if self.kind == "boolean":
            return self.a**2
        if self.kind == "uniform":
            return self.a**2 / 3.0
        k = self.levels
        return self.a**2 * (k + 1) * (2 * k + 1) / (6.0 * k * k)


# Largest amplitude: a^2 times many features stays finite in float64.
AMPLITUDE_MAX = 1e150


def parse_amplitude(spec, name: str = "amplitude") -> Amplitude:
    """``"boolean"``, ``("boolean", a)``, ``("uniform", a)`` or ``("levels", K, a)``."""
    if isinstance(spec, str):
        spec = (spec,)
    if not isinstance(spec, tuple) or not spec or not isinstance(spec[0], str):
        raise TypeError(f'{name} must be "boolean", ("uniform", a) or ("levels", K, a); got {spec!r}')
    kind, args = spec[0], spec[1:]
    if kind == "boolean" and len(args) <= 1:
        return Amplitude("boolean", v.real(args[0], f"{name} a", low=0, low_open=True, high=AMPLITUDE_MAX) if args else 1.0)
    if kind == "uniform" and len(args) == 1:
        return Amplitude("uniform", v.real(args[0], f"{name} a", low=0, low_open=True, high=AMPLITUDE_MAX))
    if kind == "levels" and len(args) == 2:
        k = v.integer(args[0], f"{name} K", minimum=1, maximum=2**31 - 1)
        return Amplitude("levels", v.real(args[1], f"{name} a", low=0, low_open=True, high=AMPLITUDE_MAX), k)
    raise ValueError(f'{name} must be "boolean", ("boolean", a), ("uniform", a) or ("levels", K, a); got {spec!r}')


def csr_activations(activations, m: int):
    """(offset, index, value) from activations = (indices, values); rows sorted by index."""
    if not isinstance(activations, tuple) or len(activations) != 2:
        raise TypeError("activations must be a tuple (indices, values)")
    indices, values = activations
    rows = [np.asarray(r) for r in indices] if not isinstance(indices, np.ndarray) else list(indices)
    if not rows:
        raise ValueError("activations must hold at least one trial")
    try:
        given = [np.asarray(r) for r in values]
        vals = [np.asarray(r, dtype=np.float64) for r in given]
    except (TypeError, ValueError) as error:
        raise TypeError(f"activations: values must be real numbers ({error})") from None
    if any(r.dtype == np.bool_ for r in given):  # a False would be an active feature of amplitude 0
        raise TypeError("activations: values must be real numbers, got bool")
    if len(vals) != len(rows):
        raise ValueError("activations: indices and values must have the same number of trials")
    offset, index, value = [0], [], []
    for t, (r, a) in enumerate(zip(rows, vals)):
        if r.ndim != 1 or a.shape != r.shape:
            raise ValueError(f"activations: trial {t} indices and values must be 1-D of equal length")
        if r.size and not np.issubdtype(r.dtype, np.integer):
            raise TypeError(f"activations: indices must be integers, got {r.dtype}")
        r = r.astype(np.int64)
        if r.size and (r.min() < 0 or r.max() >= m):
            raise ValueError(f"activations: trial {t} has an index outside [0, {m})")
        order = np.argsort(r, kind="stable")
        r, a = r[order], a[order]
        if np.any(np.diff(r) == 0):
            raise ValueError(f"activations: trial {t} repeats an index")
        if not np.isfinite(a).all():
            raise ValueError(f"activations: trial {t} has a non-finite value")
        index.append(r)
        value.append(a)
        offset.append(offset[-1] + r.size)
    return (np.asarray(offset, dtype=np.int64), np.concatenate(index).astype(np.int64),
            np.concatenate(value).astype(np.float64))


# Active features sampled per core call: Ctrl-C is handled between calls.
_SAMPLE_ACTIVE = 1 << 22


def activation_spec(m: int, l: int, p: float, amp: Amplitude, signed: bool, seed: int) -> _core.ActivationSpec:
    """The core's spec of trials with m features, l active (or each with probability p >= 0)."""
    spec = _core.ActivationSpec()
    spec.m, spec.l, spec.p, spec.seed = m, l, p, seed
    spec.kind, spec.amplitude, spec.levels = getattr(_core.AmplitudeKind, amp.kind), amp.a, amp.levels
    spec.signed_amplitudes = v.boolean(signed, "signed")
    return spec


def sample_activations(m, l=None, *, trials, amplitude="boolean", signed=False, seed=0, p=None, backend="auto"):
    """The activations ``simulate`` draws for trials 0..trials-1: ``(indices, values)``, two lists
    with one array per trial (the form ``simulate(activations=...)`` and ``readouts`` take).

    ``m`` features (int >= 1); per trial exactly ``l`` of them active (distinct,
    uniformly chosen), or with ``p`` each independently with probability p (not
    both); ``amplitude``, ``signed`` and ``seed`` as in :func:`nearortho.simulate`:
    trial t is a function of (seed, t) only.
    ``backend`` (see docs/backends.md) only says where they are drawn: they are the same.

    Raises MemoryError (need and available) before sampling when the lists would not fit.
    """
    m = v.integer(m, "m", minimum=1)
    trials = v.integer(trials, "trials", minimum=1)
    l, p = count_spec(l, p, m)
    amp = parse_amplitude(amplitude)
    spec = activation_spec(m, l, p, amp, signed, v.seed(seed))
    sample = _backend.select(backend, "sample_activations")
    active = l if p < 0 else p * m
    # int64 index and float64 value per active feature (twice while a block is copied),
    # per trial two array views and their list slots, and for exactly l features
    # Floyd's mark of one byte per feature (cpp/src/activations.cpp)
    floyd_marks = m if p < 0 and l > 0 else 0
    v.memory(int(trials * (active * 16 + 240) + 32 * min(trials * active, _SAMPLE_ACTIVE)) + floyd_marks,
             f"the activations of {trials} trials of {active:g} active features")
    step = max(1, _SAMPLE_ACTIVE // max(1, math.ceil(active)))
    indices, values = [], []
    for begin in range(0, trials, step):
        end = min(trials, begin + step)
        block = sample(spec, begin, end)
        offset, index, value = block.offset, block.index, block.value
        indices += [index[offset[t]:offset[t + 1]] for t in range(end - begin)]
        values += [value[offset[t]:offset[t + 1]] for t in range(end - begin)]
    return indices, values


def count_spec(l, p, m: int) -> tuple[int, float]:
    """(l, -1) for exactly l active features, or (0, p) for Bernoulli(p) features."""
    if p is not None:
        if l is not None:
            raise ValueError("give either l or p, not both")
        return 0, v.real(p, "p", low=0.0, high=1.0)
    if l is None:
        raise ValueError("l is required (or p, or activations)")
    return v.integer(l, "l", minimum=0, maximum=m), -1.0
