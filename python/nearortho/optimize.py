"""Frames of low coherence by Riemannian descent on the product of spheres.

Each step costs one pass of the core's fused surrogate gradient
(:func:`nearortho.gradient.surrogate_gradient`): memory O(m n), never the
m x m Gram matrix. Objective ``"coherence"`` runs up to three stages:

0. *project* (m <= 100 only, where an m x m eigendecomposition is cheap):
   alternating projection towards a tight frame with every |g| at most the
   best lower bound (Tropp, Dhillon, Heath and Strohmer 2005), which finds
   equiangular tight frames such as 16 lines in R^6;
1. *smooth*: the soft maximum f = s (sum_{i<j} (|g_ij| / s)^p)^(1/p) >= max |g|,
   with s the current coherence (so high powers stay in range), p starting at
   ``p_first`` and raised by half whenever a window of steps stops improving f,
   up to ``p_max``;
2. *max*: the largest pairs only. With target t = best (1 - delta), descend
   sum_{i<j} (|g_ij| - t)_+^2 until every pair is below t (then delta grows)
   or progress stalls (then the frame returns to the best one and delta halves),
   until delta < ``tol``.

Objective ``"frame_potential"`` descends sum_{i<j} g_ij^2 (minimised by tight
frames) until its relative change over a window is below ``tol``.

Steps move each row along its Riemannian gradient (projected onto the tangent
space of its sphere) with heavy-ball momentum, then renormalise; the step length
grows by 10% after an accepted step and halves (dropping the momentum) after
a rejected one. A step shorter than the dtype's epsilon counts as rejected (it
moves no row but by rounding). A start whose last 100 steps were all rejected
is stuck (at a critical point such as a set of mutually unbiased bases, or at
rounding level): it ends there and leaves the budget to the next start.
"""
from __future__ import annotations

import dataclasses
import itertools
import math
import time
from typing import Callable, Optional

import numpy as np
from threadpoolctl import threadpool_limits

from . import _backend, optimize_starts
from . import _validate as v
from ._result import Result
from .bounds import Bounds, bounds
from .frame import frame
from .gradient import gradient_work, surrogate_options
from .interference import interference

__all__ = ["OBJECTIVES", "START_KINDS", "OptimizeProgress", "OptimizeResult", "optimize"]

OBJECTIVES = ("coherence", "frame_potential")
START_KINDS = optimize_starts.START_KINDS

_WINDOW = 100            # steps between checks of progress (and history rows)
_STUCK = 100             # rejected steps in a row that end a start
_MOMENTUM = 0.9
_FIRST_STEP = 0.05       # radians per row (root mean square) of the first step
_STEP_FLOOR = _FIRST_STEP / 16  # the step a window starts with at least
_P_FIRST = 8             # the first power, where steps are cheap enough for a slow rise
_P_FIRST_MANY = 64       # ... and from this many rows up, where each step counts
_MANY_ROWS = 4096
_P_GROWTH = 1.5
_IMPROVES = 2e-4         # a window "improves" f when it lowers it by this fraction
_DELTA_FIRST = 0.01
_PROGRESS_SECONDS = 0.25
_PROJECT_ROWS = 100      # the alternating projection stage runs for m up to this
_PROJECT_STEPS = 2000
_HISTORY_DTYPE = np.dtype([("iteration", np.int64), ("coherence", np.float64), ("best", np.float64),
                           ("surrogate", np.float64), ("p", np.int64), ("step", np.float64),
                           ("seconds", np.float64)])


@dataclasses.dataclass(repr=False, eq=False)
class OptimizeProgress(Result):
    """What a progress callback receives: the best coherence so far and the state
    of the run (``stage`` is "project", "smooth", "max" or "frame_potential")."""

    iteration: int
    coherence: float
    current: float
    stage: str
    p: int
    seconds: float
    best_bound: float


@dataclasses.dataclass(repr=False, eq=False)
class OptimizeResult(Result):
    """The best frame seen and how the run went.

    ``frame``: (m, n) unit rows, C-contiguous, in the working dtype: the frame of
    lowest coherence seen (objective "coherence") or of lowest potential.
    ``coherence``, ``pair``: exact max |cosine| of ``frame`` from
    :func:`nearortho.interference`. ``bounds``: :func:`nearortho.bounds` for
    (n, m). ``history``: structured array, one row per window of steps, with
    the iteration, the current and best coherence (as the pass computed it),
    the surrogate's value, the power p, the step length (NaN, 0 and NaN in the
    projection stage) and the seconds since the start. ``stopped``: "max_iter", "max_seconds", "converged" (tol) or
    "bound" (the coherence reached the best lower bound to within tol), or
    "interrupted" (Ctrl-C: see :class:`OptimizeInterrupted`).
    ``start``: the start ``frame`` descends from: "W0", "<kind> seed <seed>"
    for a random one, or the structured kind (a structured ``kind``, or ``"auto"``). ``starts``:
    (label, lowest coherence seen from it, steps, why it ended) for every start
    run, in order; it ended "stuck" (100 rejected steps in a row), "converged",
    or for the reason in ``stopped``.
    """

    frame: np.ndarray
    coherence: float
    pair: tuple
    bounds: Bounds
    objective: str
    history: np.ndarray
    iterations: int
    seconds: float
    stopped: str
    start: str
    starts: tuple

    @property
    def n(self) -> int:
        return self.frame.shape[1]

    @property
    def m(self) -> int:
        return self.frame.shape[0]

    @property
    def best_bound(self) -> float:
        return float(self.bounds.best)

    @property
    def gap(self) -> float:
        """coherence / best lower bound - 1 (0 for an optimal packing that meets it);
        for m <= n, where the bound is 0 (orthonormal rows), the coherence itself."""
        return self.coherence / self.best_bound - 1.0 if self.best_bound > 0 else self.coherence


class OptimizeInterrupted(KeyboardInterrupt):
    """Ctrl-C during :func:`optimize`: a KeyboardInterrupt (a script or a loop of
    runs stops as it would), which also holds the run so far in ``result``, an
    :class:`OptimizeResult` with ``stopped="interrupted"``: the frame of lowest
    coherence seen (objective "frame_potential": the end of the best start that
    ended, else the first start), its exact coherence, and the history."""

    def __init__(self, result: OptimizeResult):
        super().__init__("optimize was interrupted; the best frame so far is in .result")
        self.result = result


def optimize(W0, *, kind="gaussian", seed=0, dtype=None, objective="coherence", max_iter=None,
             max_seconds=None, tol=1e-6, threads=None, progress: Optional[Callable] = None,
             p_first=None, p_max=None, restarts=0, backend="auto") -> OptimizeResult:
    """Lower the coherence of a frame (or its frame potential) from W0 or a random start.

    Parameters
    ----------
    W0 : array (m, n) or a pair (n, m)
        The starting frame (rows are normalised; float32 or float64), or the
        sizes of a fresh ``frame(n, m, kind, seed=seed)``.
    kind, seed : start from a fresh frame of this kind and seed (with (n, m)).
        ``kind="auto"``: first from the structured frame (kerdock, conference,
        simplex, lines28: its first m rows) of lowest coherence that has m rows
        at n, or where none has, the direct sum of Kerdock frames of the largest
        power-of-4 block that has (:func:`optimize_starts.kerdock_sum`: at
        (768, 16384), three Kerdock frames of R^256, coherence 1/16); then,
        if there is one, from that frame with its rows moved about 0.1 radian
        towards the Gaussian frame of ``seed`` (structured frames are often
        critical points where every step is rejected; descent from the
        perturbed sum of two Kerdock frames of R^64 reaches 0.106 at (128, 1024),
        from random starts 0.109); then from the Gaussian frame of ``seed``;
        restarts are Gaussian. The optimised structured frame is returned when
        no other start does better (``start`` says which start won): at
        (64, 256) and (256, 4096), for example, Kerdock bases beat every other.
    dtype : float32 or float64, optional
        Working precision. Default: W0's dtype; for a fresh frame float64 when
        m * n <= 4096 (small packings, where the last digits matter) and
        float32 otherwise (twice as fast).
    objective : {"coherence", "frame_potential"}
    max_iter : int, optional
        Most steps (each one gradient pass, or one projection). Default: 20000 when max_seconds is
        not given either, else no limit.
    max_seconds : float, optional
        Wall-clock budget; checked after every step.
    tol : float in (0, 1)
        Relative: the run stops when the max stage's delta falls below it, when
        the coherence is within tol of the best lower bound, or (frame
        potential) when a window improves the potential by less than tol.
    threads : int, optional
    progress : callable, optional
        Called with an :class:`OptimizeProgress` about every 0.25 s and at the end.
    p_first : int, optional
        First power of the smooth stage: 8 for m < 4096, else 64. A low first
        power ends in slightly lower coherence when steps are plentiful
        ((128, 1024): 0.1060 from 8, 0.1063 from 64, 0.1074 from 256); a
        higher one gets low sooner, which counts where a step takes seconds
        ((256, 4096) after 300 steps: 0.0996 from 64, 0.1096 from 8; (768, 16384)
        from random, 4-8 s a step on 2 cores: 0.0905 after 80 steps, 0.0666 after 230).
    p_max : int, optional
        Largest power of the smooth stage (default 4096 in float64, 1024 in
        float32, where higher powers only fit rounding noise).
    restarts : int >= 0
        With (n, m): after a start converges, begin again from the
        frames of seeds seed + 1, ..., seed + restarts while the budget lasts
        (of kind "gaussian" when ``kind`` is "auto" or a structured kind, which has one frame),
        keeping the best frame over all starts. Small packings have many local
        minima, so a few restarts often find a better one.
    backend : {"auto", "cpu", "cuda"}
        Where the gradient passes run (see docs/backends.md).

    Returns
    -------
    OptimizeResult

    Notes
    -----
    Deterministic for given inputs, limits in iterations, and dtype: every step
    is a function of the previous ones, and the gradient's bits do not depend on
    ``threads``. A ``max_seconds`` limit makes the stopping point depend on speed.
    Ctrl-C raises :class:`OptimizeInterrupted`, a KeyboardInterrupt that holds
    the best frame so far, within a gradient pass (polled every 50 ms) and its
    coherence pass.
    """
    starts, kind = optimize_starts.starts(W0, kind, seed, dtype)
    W = starts[0][1]
    if objective not in OBJECTIVES:
        raise ValueError(f"objective must be one of {', '.join(OBJECTIVES)}; got {objective!r}")
    if max_iter is not None:
        max_iter = v.integer(max_iter, "max_iter", minimum=0)
    if max_seconds is not None:
        max_seconds = v.real(max_seconds, "max_seconds", low=0.0)
    if max_iter is None and max_seconds is None:
        max_iter = 20000
    tol = v.real(tol, "tol", low=0.0, high=1.0, low_open=True, high_open=True)
    if progress is not None and not callable(progress):
        raise TypeError(f"progress must be callable, got {type(progress).__name__}")
    if p_max is None:
        p_max = 4096 if W.dtype == np.float64 else 1024
    p_max = v.integer(p_max, "p_max", minimum=2, maximum=1 << 16)
    if p_first is None:
        p_first = min(p_max, _P_FIRST if len(W) < _MANY_ROWS else _P_FIRST_MANY)
    p_first = v.integer(p_first, "p_first", minimum=2, maximum=p_max)
    restarts = v.integer(restarts, "restarts", minimum=0)
    if restarts and kind is None:
        raise ValueError("restarts needs a random start: pass (n, m), not W0")
    restart_frames = ((f"{kind} seed {(seed + k) % 2**64}",
                       frame(W.shape[1], W.shape[0], kind, seed=(seed + k) % 2**64, dtype=W.dtype))
                      for k in range(1, restarts + 1))
    run = _Run(W, objective, max_iter, max_seconds, tol, v.threads(threads), progress, (p_first, p_max),
               _backend.check(backend))
    return run.result(itertools.chain(starts, restart_frames))


class _Run:
    """One optimisation: the state shared by the stages, the stopping rules and
    the records (history, best frame, progress)."""

    def __init__(self, W, objective, max_iter, max_seconds, tol, threads, progress, powers, backend):
        self.W = W
        self.objective = objective
        self.max_iter = max_iter
        self.max_seconds = max_seconds
        self.tol = tol
        self.threads = threads
        self.progress = progress
        self.p_first, self.p_max = powers
        self.backend = backend
        self.gradient = _backend.select(backend, "surrogate_gradient", work=gradient_work(W.shape))
        m, n = W.shape
        self.bounds = bounds(n, m)
        self.grad = np.empty_like(W)
        self.start = time.perf_counter()
        self.iteration = 0
        self.history = []
        self.stopped = None
        self.stage, self.p = "smooth", self.p_first
        self.best, self.best_W = math.inf, W.copy()          # over every start
        self.best_potential = math.inf                        # of best_W, objective "frame_potential"
        self.start_label = self.best_start = None
        self.starts = []                                      # (label, lowest coherence, steps, ended)
        self.rejected, self.stuck = 0, False                  # rejected steps in a row, in this start
        self.local, self.local_W = math.inf, W.copy()        # over the current start
        self.next_report = 0.0

    # one pass of the core
    def evaluate(self, W, p, t, s):
        """(value, Riemannian gradient of the value, coherence of W) in one pass."""
        totals = self.gradient(W, surrogate_options(p, t, s, self.threads), self.grad)
        G = self.grad
        return totals.value, G - np.einsum("ij,ij->i", G, W)[:, None] * W, totals.max_abs

    def seen(self, W, coherence):
        if coherence < self.local:
            self.local = coherence
            self.local_W[...] = W
        if coherence < self.best:
            self.best = coherence
            if self.objective == "coherence":  # frame_potential keeps the frame of lowest potential
                self.best_W[...] = W
                self.best_start = self.start_label

    # stopping and reporting
    def elapsed(self):
        return time.perf_counter() - self.start

    def out_of_budget(self):
        if self.max_iter is not None and self.iteration >= self.max_iter:
            self.stopped = "max_iter"
        elif self.max_seconds is not None and self.elapsed() >= self.max_seconds:
            self.stopped = "max_seconds"
        return self.stopped is not None

    def at_bound(self):
        # a few ulps of slack: cosines carry the working dtype's rounding, which is
        # all that separates an orthonormal set (bound 0) from its bound
        bound = float(self.bounds.best)
        slack = 4 * float(np.finfo(self.W.dtype).eps)
        if self.objective == "coherence" and self.best <= bound * (1 + self.tol) + slack:
            self.stopped = "bound"
        return self.stopped is not None

    def record(self, current, surrogate, step):
        self.history.append((self.iteration, current, self.best, surrogate, self.p, step, self.elapsed()))
        self.report(current, force=False)

    def report(self, current, force):
        if self.progress is None or (not force and self.elapsed() < self.next_report):
            return
        self.next_report = self.elapsed() + _PROGRESS_SECONDS
        self.progress(OptimizeProgress(self.iteration, float(self.best), float(current), self.stage, self.p,
                                       self.elapsed(), float(self.bounds.best)))

    # descent
    def descend(self, W, objective_at, accept_stop, window_done):
        """Momentum descent from W on objective_at(W) -> (f, Riemannian gradient,
        coherence) until the budget ends, accept_stop(coherence) or window_done(f)
        (called every _WINDOW steps) says so. Returns the last accepted W and its f."""
        f, R, coherence = objective_at(W)
        self.seen(W, coherence)
        step, velocity = _FIRST_STEP, np.zeros_like(W)
        eps = float(np.finfo(W.dtype).eps)
        steps = 0
        while not self.out_of_budget():
            velocity = _MOMENTUM * _tangent(W, velocity) + R
            size = math.sqrt(float(np.einsum("ij,ij->", velocity, velocity)) / len(W))
            if size == 0:
                return W, f
            trial = W - (step / size) * velocity
            trial /= np.linalg.norm(trial, axis=1, keepdims=True)
            self.iteration += 1
            steps += 1
            f_trial, R_trial, c_trial = objective_at(trial)
            self.seen(trial, c_trial)
            if f_trial < f and step >= eps:
                W, f, R, coherence = trial, f_trial, R_trial, c_trial
                step *= 1.1
                self.rejected = 0
            else:
                step *= 0.5
                velocity[...] = 0
                self.rejected += 1
                if self.rejected >= _STUCK:
                    self.stuck = True
                    return W, f
            if self.elapsed() >= self.next_report:
                self.report(coherence, force=False)
            if accept_stop(coherence):
                return W, f
            if steps % _WINDOW == 0:
                self.record(coherence, f, step)
                if window_done(f, step):
                    return W, f
                # the objective may have changed (p, s): restart the momentum, and
                # the step if it shrank to nothing at the old objective's minimum
                f, R, coherence = objective_at(W)
                step, velocity = max(step, _STEP_FLOOR), np.zeros_like(W)
        return W, f

    def result(self, starts) -> OptimizeResult:
        try:
            self.run_starts(starts)
        except KeyboardInterrupt as interrupt:
            self.stopped = "interrupted"
            raise OptimizeInterrupted(self.summary()) from interrupt
        if self.stopped is None:
            self.stopped = "converged"
        result = self.summary()
        self.report(self.best, force=True)
        return result

    def run_starts(self, starts):
        for self.start_label, W in starts:  # each runs to convergence unless the budget ends first
            self.W = W
            self.local = math.inf
            self.rejected, self.stuck = 0, False
            first = self.iteration
            try:
                if self.objective == "frame_potential":
                    self.frame_potential()
                else:
                    self.coherence()
            except KeyboardInterrupt:
                self.starts.append((self.start_label, float(self.local), self.iteration - first, "interrupted"))
                raise
            ended = "stuck" if self.stuck else self.stopped or "converged"
            self.starts.append((self.start_label, float(self.local), self.iteration - first, ended))
            if self.stopped is not None:
                break

    def summary(self) -> OptimizeResult:
        """The best frame so far, with its exact coherence (one more pass)."""
        W = np.ascontiguousarray(self.best_W)
        stats = interference(W, per_row=False, bins=1, backend=self.backend)
        if self.objective == "frame_potential":  # the frame returned has the lowest potential, which
            self.best = stats.coherence          # need not be the lowest coherence seen on the way
        return OptimizeResult(frame=W, coherence=stats.coherence, pair=stats.pair, bounds=self.bounds,
                              objective=self.objective, history=np.array(self.history, dtype=_HISTORY_DTYPE),
                              iterations=self.iteration, seconds=self.elapsed(), stopped=self.stopped,
                              start=self.best_start, starts=tuple(self.starts))

    def frame_potential(self):
        self.stage, self.p = "frame_potential", 2
        last = [math.inf]

        def objective_at(W):
            return self.evaluate(W, 2, 0.0, 1.0)

        def window_done(f, step):
            done = f > last[0] * (1 - self.tol) or step < 1e-12
            last[0] = f
            return done

        W, potential = self.descend(self.W, objective_at, lambda c: False, window_done)
        if potential < self.best_potential:  # a restart cut short by the budget may end higher
            self.best_potential = potential
            self.best_W[...] = W
            self.best_start = self.start_label

    def coherence(self):
        W = self.W
        if len(W) <= _PROJECT_ROWS and self.bounds.best > 0:
            W = self.project(W)
            if self.stopped is not None or self.at_bound():
                return
        self.stage, self.p = "smooth", self.p_first
        self.smooth(W)
        if self.stopped is None and not self.stuck:
            self.max_stage()

    def project(self, W):
        """Stage 0 (small m): alternating projection (Tropp, Dhillon, Heath and
        Strohmer 2005) between the Grams with unit diagonal and every |g| at most
        the best bound and the Grams of tight frames (m / n times a rank-n
        projection). It finds equiangular tight frames, which meet the Welch
        bound and which descent from a random start rarely reaches. Returns the
        iterate of lowest coherence."""
        self.stage, self.p = "project", 0
        m, n = W.shape
        mu = float(self.bounds.best)
        best, best_W = math.inf, W
        with threadpool_limits(1, user_api="blas"):  # small matrices: BLAS threads only wait on each other
            for step in range(1, _PROJECT_STEPS + 1):
                G = W.astype(np.float64) @ W.T.astype(np.float64)
                np.fill_diagonal(G, 0.0)
                coherence = float(np.abs(G).max())
                self.seen(W, coherence)
                if coherence < best:
                    best, best_W = coherence, W
                if step % _WINDOW == 0:
                    self.record(coherence, math.nan, math.nan)
                if self.at_bound() or self.out_of_budget():
                    break
                np.clip(G, -mu, mu, out=G)
                np.fill_diagonal(G, 1.0)
                U = np.linalg.eigh(G)[1][:, -n:]  # the nearest tight frame's rows, up to scale
                norms = np.linalg.norm(U, axis=1, keepdims=True)
                if not np.all(norms > 0):
                    break
                W = np.ascontiguousarray(U / norms, dtype=W.dtype)
                self.iteration += 1
        return best_W

    def smooth(self, W):
        """Stage 1: the soft maximum with p raised whenever a window stalls."""
        state = {"s": None, "last": math.inf}

        def objective_at(W):
            if state["s"] is None:  # s: the coherence at the window's start
                state["s"] = float(self.evaluate(W, 2, 0.0, 1.0)[2])
            s, p = state["s"], self.p
            if s == 0:  # orthonormal rows (m <= n): nothing left to lower
                return 0.0, np.zeros_like(W), 0.0
            value, R, coherence = self.evaluate(W, p, 0.0, s)
            if not np.isfinite(value) or value <= 0:
                return math.inf, R, coherence
            scale = s / p * value ** (1.0 / p - 1.0)
            return s * value ** (1.0 / p), R * scale, coherence

        def window_done(f, step):
            stalled = f > state["last"] * (1 - _IMPROVES) or step < 1e-9
            state["last"], state["s"] = f, None
            if stalled:
                if self.p >= self.p_max:
                    return True
                self.p = min(self.p_max, int(math.ceil(self.p * _P_GROWTH)))
                state["last"] = math.inf
            return self.at_bound()

        self.descend(W, objective_at, lambda c: self.at_bound(), window_done)

    def max_stage(self):
        """Stage 2: push the largest pairs below a target just under this start's best."""
        self.stage, self.p = "max", 2
        delta = _DELTA_FIRST
        while delta >= self.tol and not self.stuck and not self.out_of_budget() and not self.at_bound():
            target = self.local * (1 - delta)
            scale = self.local - target
            last = [math.inf]

            def objective_at(W):
                return self.evaluate(W, 2, target, scale)

            def window_done(f, step):
                stalled = f > last[0] * (1 - _IMPROVES) or step < 1e-12
                last[0] = f
                return stalled

            self.descend(self.local_W.copy(), objective_at, lambda c: c <= target, window_done)
            delta = delta * 1.5 if self.local <= target else delta * 0.5


def _tangent(W, X):
    return X - np.einsum("ij,ij->i", X, W)[:, None] * W
