"""Monte Carlo readout of superposed sparse activations through a frame (claims P2, P3, P5 of docs/claims.md)."""
from __future__ import annotations

import dataclasses
import math

import numpy as np

from . import _backend, _core
from . import _validate as v
from ._result import Result
from .activations import Amplitude, activation_spec, count_spec, csr_activations, parse_amplitude
from .reference import eps_jl

# Multiply-adds per call into the core: Ctrl-C is handled between calls, and the
# batch boundaries (hence the float64 sums' order) depend only on m, n, l and the path.
_BATCH_MACS = 1 << 34
_TRIALS_PER_CALL = 1 << 16
# Trials per CUDA call: their readouts (2 m n flops each) take far longer than the
# call's upload of W (m n numbers), so progress is reported every 2^18 trials there
_DEVICE_TRIALS_PER_CALL = 1 << 18
_BATCH_ALIGN = _core.READOUT_TRIALS_PER_ITEM
_GRAM_MACS_MAX = 1 << 35  # W W^T per call on the gram path: keeps a call to a few seconds
_ACTIVE_MAX = 1 << 22  # active features held per call (20 bytes each)
_GRAM_COLUMNS = _core.READOUT_GRAM_COLUMNS  # columns of W W^T the core holds at once
_GRAM_BYTES_MAX = 1 << 30
PATHS = ("auto", "dense", "gram")
_RMS_ROWS = 2048  # rows whose pairs give rms_interference (all rows when m is smaller)
QUANTILES = (0.001, 0.01, 0.1, 0.5, 0.9, 0.99, 0.999)


def rms_backend(backend: str) -> str:
    """The backend of the noise prediction inside a simulation on ``backend``: its
    ``pair_sumsq`` has no CUDA kernel, and its 2048 rows take milliseconds on the CPU."""
    return "auto" if backend == "cuda" else backend


def rms_interference(W: np.ndarray, *, threads=None, backend="auto") -> float:
    """RMS of the raw inner products <w_i, w_j> over pairs i < j (rows as given).

    Exact (in the core, float64 sums) when m <= 2048; above, over all pairs among
    2048 rows drawn without replacement with a fixed seed: an unbiased estimate
    whose relative error is about 1e-3 on random frames. Cost min(m, 2048)^2 n / 2.
    """
    W = v.frame_array(W)
    m = W.shape[0]
    if m < 2:
        return 0.0
    if m > _RMS_ROWS:
        W = W[np.sort(np.random.default_rng(0).choice(m, _RMS_ROWS, replace=False))]
    s = W.shape[0]
    return math.sqrt(_backend.select(backend, "pair_sumsq")(W, v.threads(threads)) / (s * (s - 1) / 2))


@dataclasses.dataclass(repr=False)
class ReadoutStats(Result):
    """Statistics of r = W x over the trials of a readout Monte Carlo.

    Readouts r_i of inactive features are noise; on active features the error is
    r_k - a_k. The threshold decoder says feature i is on when r_i > threshold
    (|r_i| > threshold when signed). Rates:
    ``false_positive_rate`` = FP / inactive readouts, ``false_negative_rate`` =
    FN / active readouts, ``error_rate`` = (FP + FN) / (trials * m) (per-feature
    error over active and inactive features), ``error_rate_se`` its standard error
    from the spread of per-trial error counts (trials are independent; features
    within a trial are not). ``level_error_rate``: fraction of active features whose
    nearest level in {a j / K} (ties away from zero) differs from the true one
    (amplitude ("levels", K, a) only, else None). ``snr`` = sqrt(mean a_k^2) /
    inactive_std. ``predicted_std_rms`` = sqrt(l E[a^2]) * rms_interference and
    ``predicted_std_jl`` = sqrt(l E[a^2]) * eps_JL(n, m) are P2's predictions
    (``rms_interference``: see the function of that name). ``path``: how the
    readouts were computed ("dense" or "gram", see ``simulate``).
    Means and stds are pooled over all readouts of that kind (std with ddof=1).
    """

    m: int
    n: int
    l: float
    trials: int
    inactive_mean: float
    inactive_std: float
    inactive_quantiles: dict
    histogram: np.ndarray
    bin_edges: np.ndarray
    active_error_mean: float
    active_error_std: float
    false_positive_rate: float
    false_negative_rate: float
    error_rate: float
    error_rate_se: float
    level_error_rate: float | None
    snr: float
    rms_interference: float
    predicted_std_rms: float
    predicted_std_jl: float
    path: str


def readouts(W, activations, *, threads=None, path="dense", backend="auto") -> np.ndarray:
    """The raw readouts r = W x, one row per trial (float64, shape (trials, m)).

    ``activations = (indices, values)``: per trial, distinct feature indices and their
    amplitudes. x is accumulated in float64 and rounded to W's dtype; each r_i is a
    dot product in W's dtype (FMA where the CPU has it), so it agrees with a float64
    oracle to about n * eps(dtype) * |w_i| |x|. ``path="gram"`` computes the same
    readouts as sum_k a_k <w_i, w_k> from columns of W W^T (see ``simulate``).
    ``threads``: default follows OpenMP (the readouts do not depend on it).
    ``backend``: see docs/backends.md. Ctrl-C raises KeyboardInterrupt within about
    50 ms plus one tile of work; MemoryError before the call when the result would
    not fit.
    """
    W = v.frame_array(W)
    if path not in ("dense", "gram"):
        raise ValueError(f'path must be "dense" or "gram", got {path!r}')
    offsets, indices, values = csr_activations(activations, W.shape[0])
    trials = len(offsets) - 1
    v.products_fit(W, "W", _largest_trial_sum(offsets, indices, values), "its readouts")
    v.memory(8 * trials * W.shape[0], f"the readouts of {trials} trials of {W.shape[0]} features (float64)")
    given = _core.Activations(offsets, indices, values)
    return _backend.select(backend, "readout_values")(W, given, getattr(_core.ReadoutPath, path), v.threads(threads))


def _largest_trial_sum(offsets, indices, values) -> float:
    """The largest sum of |amplitudes| of a trial of explicit activations (CSR)."""
    running = np.concatenate([[0.0], np.cumsum(np.abs(values))])
    return float(np.max(running[offsets[1:]] - running[offsets[:-1]]))


def simulate(W, l=None, *, trials=None, amplitude="boolean", threshold=0.5, signed=False, seed=0,
             threads=None, activations=None, p=None, bins=256, hist_range=None, path="auto", progress=None,
             backend="auto", _rms=None) -> ReadoutStats:
    """Monte Carlo of reading sparse superposed features out of a frame.

    Each trial activates exactly ``l`` distinct features chosen uniformly (Floyd's
    algorithm), or with ``p`` each feature independently with probability p, or the
    caller's ``activations``; amplitudes follow ``amplitude``; with ``signed`` each gets
    an independent random sign. It encodes x = sum_k a_k w_k (float64, rounded to W's
    dtype), reads out r = W x for all m features, and reduces the readouts on the fly
    (nothing of size trials x m is stored).

    Numeric contract: each readout is a dot product in W's dtype, one multiply-add
    chain in index order (fused where the CPU has FMA), so it matches a float64
    oracle to about n * eps(dtype) * |w_i| |x|; all sums are float64, per trial and
    then over trials in order; counts are exact. The work runs in the compiled core
    without the GIL, in batches of about 2^34 multiply-adds; Ctrl-C is honoured
    between batches (well under a second apart on one core of a recent CPU).

    Parameters
    ----------
    W : array (m, n), float32 or float64
        The frame; rows are used as given (not normalised). Non-contiguous input is copied.
    l : int in [0, m]
        Active features per trial (not with ``p`` or ``activations``).
    trials : int >= 1
        Number of trials: required (no default), unless ``activations`` are given, which set it.
    amplitude : "boolean" | ("boolean", a) | ("uniform", a) | ("levels", K, a)
        a; U(0, a]; or a * j / K with j uniform in 1..K.
    threshold : float
        The threshold decoder's cut on r, absolute: it does not scale with the amplitude a
        (0.5 is half of the default a = 1; pass a / 2 for half of another a).
    seed : int
        Trial t's activations are a function of (seed, t) only (Philox): results do
        not depend on ``threads`` -- they are bit-identical for any thread count on
        one machine and ISA (``nearortho.set_max_isa`` changes roundings only).
    threads : int, optional
        Threads to use; default follows OpenMP.
    progress : callable(done, total), optional
        Called with the trials done so far after each batch of trials.
    activations : (indices, values), optional
        Explicit activations, one entry per trial (for tests against an oracle):
        distinct indices in [0, m) (any order) and finite signed amplitudes. Then
        ``amplitude`` only sets the default histogram range, and no level decoding
        runs (``level_error_rate`` is None).
    bins, hist_range : histogram of inactive readouts on ``bins`` equal bins of
        ``hist_range`` (default +-max(a, 8 x the predicted noise std)); ``histogram``
        has bins + 2 entries: the underflow count first, then the bins, then the
        overflow count (``bin_edges`` has the bins + 1 edges).
    path : {"auto", "dense", "gram"}
        ``dense`` reads out r = W x (m n multiply-adds per trial); ``gram`` computes
        columns of W W^T once per batch of trials and sums l of them per trial (m^2 n
        per batch plus l m per trial; not with ``p``; holds m x 192 entries of W W^T,
        at most 1 GiB). ``auto`` takes gram when that is under half the dense cost
        and W W^T costs at most 2^35 multiply-adds. The paths round differently
        (agreement to float tolerance); the choice depends only on m, n, l and
        trials, never on ``threads``. The dense path also holds a packed copy of W's
        rows (all of W when it fits in 4 MiB, else two blocks of 4 MiB: one is read
        while the next is packed) and the batch's x vectors.
    backend : {"auto", "cpu", "cuda"}
        Where the readouts run (see docs/backends.md). The CUDA backend reads out
        every trial by the dense path (``path`` is ignored there) and uploads W
        once per 2^18 trials; ``progress`` is called after each such batch.

    Returns
    -------
    ReadoutStats (see its docstring for every definition).
    """
    W = v.frame_array(W)
    m, n = W.shape
    if progress is not None and not callable(progress):
        raise TypeError(f"progress must be callable, got {type(progress).__name__}")
    threshold = v.real(threshold, "threshold")
    signed = v.boolean(signed, "signed")
    nthreads = v.threads(threads)
    bins = v.integer(bins, "bins", minimum=1, maximum=1 << 24)
    amp = parse_amplitude(amplitude)
    given = None
    if activations is not None:
        if l is not None or p is not None:
            raise ValueError("activations replace l and p: give only one of them")
        given = csr_activations(activations, m)
        count = len(given[0]) - 1
        if trials is not None and v.integer(trials, "trials", minimum=1) != count:
            raise ValueError(f"trials ({trials}) must match the activations' {count} trials")
        trials, l_count, prob = count, 0, -1.0
        mean_l = given[1].size / trials
        mean_square = float(np.mean(given[2] ** 2)) if given[2].size else 0.0
    else:
        if trials is None:
            raise ValueError("trials is required")
        trials = v.integer(trials, "trials", minimum=1)
        l_count, prob = count_spec(l, p, m)
        mean_l = l_count if prob < 0 else prob * m
        mean_square = amp.mean_square
    # a readout is at most max|w|^2 times the sum of the |amplitudes| of a trial
    v.products_fit(W, "W", amp.a * (l_count if prob < 0 else m) if given is None else _largest_trial_sum(*given),
                   "its readouts")
    rms = rms_interference(W, threads=threads, backend=rms_backend(backend)) if _rms is None else _rms  # capacity/levels reuse it across calls
    scale = math.sqrt(mean_l * mean_square)
    lo, hi = _hist_range(hist_range, amp.a * max(1.0, 8.0 * scale * rms / max(amp.a, 1e-300)))
    most = l_count if given is None else int(np.max(np.diff(given[0])))
    path, batch = _plan(m, n, most, trials, path, sampled_p=prob >= 0, active=mean_l if given is None else most)
    v.memory(_call_bytes(m, n, W.dtype.itemsize, min(batch, trials), mean_l if given is None else most, bins, path,
                         v.resolved_threads(nthreads), prob >= 0),
             f"simulating {min(batch, trials)} trials at a time on a {m} x {n} frame")
    readout = _core.ReadoutSpec()
    readout.threshold, readout.signed_decoder, readout.hist_lo, readout.hist_hi, readout.bins = (
        threshold, bool(signed), lo, hi, bins)
    spec = activation_spec(m, l_count, prob, amp, signed, v.seed(seed))
    simulate_readout = _backend.select(backend, "simulate_readout", work=trials * m * n)
    if simulate_readout is not _core.simulate_readout:  # the CUDA backend: dense, and each call uploads W
        path, batch = "dense", max(batch, _DEVICE_TRIALS_PER_CALL)
    totals = _run(simulate_readout, W, given, spec, readout, trials, path, batch, nthreads, progress)
    edges = np.linspace(lo, hi, bins + 1)
    decoded = amp if given is None else Amplitude("boolean", amp.a)  # levels decode sampled trials only
    return _stats(totals, m, n, trials, decoded, edges, rms, scale, path)


def _hist_range(hist_range, default: float):
    if hist_range is None:
        return -default, default
    if not isinstance(hist_range, tuple) or len(hist_range) != 2:
        raise TypeError("hist_range must be a tuple (lo, hi)")
    lo, hi = v.real(hist_range[0], "hist_range[0]"), v.real(hist_range[1], "hist_range[1]")
    if not lo < hi or not np.isfinite(hi - lo):  # the bins' width must be a float64
        raise ValueError(f"hist_range must have lo < hi and hi - lo finite, got {hist_range}")
    return lo, hi


def _plan(m: int, n: int, l: int, trials: int, path, sampled_p: bool, active: float) -> tuple[str, int]:
    """(path, trials per core call) from the sizes alone (``active``: mean active features per trial)."""
    if path not in PATHS:
        raise ValueError(f"path must be one of {', '.join(PATHS)}; got {path!r}")
    # per call: about _BATCH_MACS of work, at most _TRIALS_PER_CALL trials (each
    # holds an x vector and a record) and _ACTIVE_MAX active features, so calls
    # stay short and small
    held = _ACTIVE_MAX // max(1, math.ceil(active))
    dense_batch = max(_BATCH_ALIGN, min(_BATCH_MACS // (m * n), _TRIALS_PER_CALL, held) // _BATCH_ALIGN * _BATCH_ALIGN)
    if path == "dense" or (path == "auto" and sampled_p):
        return "dense", dense_batch
    if sampled_p:
        raise ValueError('path="gram" needs exactly l active features (not p)')
    if path == "gram" and m * _GRAM_COLUMNS * 8 > _GRAM_BYTES_MAX:
        raise ValueError(f'path="gram" holds m x {_GRAM_COLUMNS} Gram entries: m = {m} exceeds the '
                         f"{_GRAM_BYTES_MAX >> 30} GiB limit; use the dense path")
    gram_batch = max(_BATCH_ALIGN, min(_BATCH_MACS // max(1, 2 * l * m), held, _TRIALS_PER_CALL))
    calls = -(-trials // gram_batch)
    gram_cost = calls * m * m * n + 2 * trials * l * m
    if path == "gram" or (gram_cost < trials * m * n / 2 and m * m * n <= _GRAM_MACS_MAX):
        return "gram", gram_batch
    return "dense", dense_batch


def _call_bytes(m: int, n: int, itemsize: int, batch: int, active: float, bins: int, path: str, threads: int,
                sampled_p: bool) -> int:
    """Memory of one core call (cpp/src/readout_passes.hpp, cpp/src/simulate.cpp) and of
    rms_interference before it: the batch's activations (index, value, level: 20 bytes
    each) and per-trial sums; dense: the trials' x vectors and packed W (whole, or two
    chunks of up to 4 MiB);
    gram: a packed W and 192 of its W W^T columns; per thread a histogram, a mark per
    feature, an x vector, a product tile (and m indices and values with p)."""
    tile = _core.READOUT_TILE_ROWS
    pad = lambda rows: -(-rows // tile) * tile  # noqa: E731 - panels and tiles
    activations = math.ceil(batch * active * 1.01 + 1024) * 20 + batch * 112
    if path == "dense":
        packed_w = pad(m) * n * itemsize
        products = pad(batch) * n * itemsize + (packed_w if packed_w <= _core.READOUT_CHUNK_BYTES
                                                else 2 * _core.READOUT_CHUNK_BYTES)
    else:
        products = pad(m) * (n + _GRAM_COLUMNS) * itemsize + _GRAM_COLUMNS * n * itemsize
    per_thread = 8 * (bins + 2) + m + 8 * n + (16 * m if sampled_p else 0) + _BATCH_ALIGN * tile * itemsize
    rms = 3 * min(m, _RMS_ROWS) * n * itemsize
    return activations + products + threads * per_thread + rms


def _run(simulate_readout, W, given, spec, readout, trials, path, batch, nthreads, progress) -> _core.ReadoutTotals:
    """Core calls over fixed batches of trials, merged in batch order."""
    total = None
    path = getattr(_core.ReadoutPath, path)
    for begin in range(0, trials, batch):
        end = min(trials, begin + batch)
        block = None
        if given is not None:
            offset, index, value = given
            block = _core.Activations(offset[begin:end + 1] - offset[begin], index[offset[begin]:offset[end]],
                                      value[offset[begin]:offset[end]])
        part = simulate_readout(W, spec, readout, begin, end, path, nthreads, block)
        if total is None:
            total = part
        else:
            total += part
        if progress is not None:
            progress(end, trials)
    return total


def _stats(t: _core.ReadoutTotals, m, n, trials, amp: Amplitude, edges, rms: float, scale: float,
           path: str) -> ReadoutStats:
    inactive, active = t.inactive, t.active
    i_mean = t.inactive_sum / inactive if inactive else math.nan
    i_std = _std(t.inactive_sum, t.inactive_sumsq, inactive)
    errors = t.false_positives + t.false_negatives
    mean_errors = errors / trials
    var_errors = (t.trial_errors_sumsq - trials * mean_errors**2) / (trials - 1) if trials > 1 else math.nan
    rms_amp = math.sqrt(t.amplitude_sumsq / active) if active else math.nan
    histogram = t.histogram
    return ReadoutStats(
        m=m, n=n, l=active / trials, trials=trials,
        inactive_mean=i_mean, inactive_std=i_std,
        inactive_quantiles=histogram_quantiles(histogram, edges, QUANTILES),
        histogram=histogram, bin_edges=edges,
        active_error_mean=t.active_error_sum / active if active else math.nan,
        active_error_std=_std(t.active_error_sum, t.active_error_sumsq, active),
        false_positive_rate=t.false_positives / inactive if inactive else math.nan,
        false_negative_rate=t.false_negatives / active if active else math.nan,
        error_rate=errors / (trials * m),
        error_rate_se=math.sqrt(max(var_errors, 0.0) / trials) / m if trials > 1 else math.nan,
        level_error_rate=t.level_errors / active if amp.kind == "levels" and active else None,
        snr=math.nan if math.isnan(i_std) or math.isnan(rms_amp) else (rms_amp / i_std if i_std > 0 else math.inf),
        rms_interference=rms,
        predicted_std_rms=scale * rms,
        predicted_std_jl=scale * float(eps_jl(n, m)) if m > 1 else 0.0,
        path=path,
    )


def _std(total: float, total_sq: float, count: int) -> float:
    if count < 2:
        return math.nan
    mean = total / count
    return math.sqrt(max(total_sq - count * mean * mean, 0.0) / (count - 1))


def histogram_quantiles(hist: np.ndarray, edges: np.ndarray, probs) -> dict:
    """Quantiles read from a histogram with under/overflow entries, linear within a bin.

    Accurate to one bin width; -inf/+inf when the quantile falls in the under/overflow.
    """
    total = hist.sum()
    out = {}
    cum = np.cumsum(hist)
    for q in probs:
        if total == 0:
            out[q] = math.nan
            continue
        target = q * total
        k = int(np.searchsorted(cum, target, side="left"))
        if k == 0:
            out[q] = -math.inf
        elif k == len(hist) - 1:
            out[q] = math.inf
        else:
            before = cum[k - 1]
            frac = (target - before) / hist[k] if hist[k] else 0.0
            out[q] = float(edges[k - 1] + frac * (edges[k] - edges[k - 1]))
    return out
