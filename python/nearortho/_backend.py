"""The one seam between the Python layer and the compiled backends (docs/backends.md).

Every operation that runs in compiled code goes through ``select(backend, op)``,
which returns the backend's function for that operation: ``cpu`` is the module
``nearortho._core``, ``cuda`` the optional module ``nearortho._cuda`` (built with
``-Ccmake.define.NEARORTHO_CUDA=ON``). Both take and return the same typed
option and result objects, defined in ``_core``.

The environment variable ``NEARORTHO_BACKEND`` (``cpu`` or ``cuda``) replaces
``"auto"`` for the whole process: ``NEARORTHO_BACKEND=cpu`` keeps every call on
the CPU, whose Gram entries have the same bits for any row blocks, thread count,
file or array (cuBLAS may add in another order for another shape).
"""
from __future__ import annotations

import importlib
import importlib.util
import os

from . import _core

BACKENDS = ("auto", "cpu", "cuda")

# The operations a backend may implement, by the name of its function.
OPERATIONS = ("generate_frame", "interference", "surrogate_gradient", "simulate_readout", "readout_values",
              "pair_sumsq", "sample_activations")

_CUDA_BUILD_HINT = ('pip install . -Ccmake.define.NEARORTHO_CUDA=ON with a CUDA toolkit on the machine '
                    '(see docs/backends.md)')


# _cuda_state()'s answer by process id: a child forked after the parent started
# the CUDA runtime cannot use it (the driver refuses), so it runs on the CPU.
_STATES: dict = {}


def _cuda_state():
    """(the CUDA extension, or None when it cannot run here, and why not); checked once per process."""
    pid = os.getpid()
    if pid not in _STATES:
        started = any(module is not None for module, _ in _STATES.values())
        forked = ("CUDA was started before this process was forked from its parent; the CUDA "
                  "runtime cannot run in a forked child (use the 'spawn' start method)")
        _STATES[pid] = (None, forked) if started else _probe_cuda()
    return _STATES[pid]


def _probe_cuda():
    if importlib.util.find_spec("nearortho._cuda") is None:
        return None, f"this install has no CUDA build: {_CUDA_BUILD_HINT}"
    try:
        cuda = importlib.import_module("nearortho._cuda")
    except ImportError as error:
        return None, f"nearortho._cuda is built but does not load ({error})"
    if cuda.device_count() == 0:
        return None, "nearortho._cuda is built but sees no GPU (device_count() is 0)"
    return cuda, ""


def _cuda_module():
    """The CUDA extension when it loads and sees a device, else None."""
    return _cuda_state()[0]


def cuda_available() -> bool:
    """Whether ``backend="cuda"`` can run here: the extension is built and sees a GPU."""
    return _cuda_module() is not None


def cuda_unavailable_reason() -> str:
    """Why ``backend="cuda"`` cannot run here ("" when it can)."""
    return _cuda_state()[1]


def check(backend) -> str:
    """``backend`` validated: one of BACKENDS (TypeError for a non-string, ValueError otherwise)."""
    if not isinstance(backend, str):
        raise TypeError(f"backend must be a string, got {type(backend).__name__}")
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(map(repr, BACKENDS))}; got {backend!r}")
    return backend


def _default_backend() -> str:
    """What "auto" means here: NEARORTHO_BACKEND when set, else "auto"."""
    chosen = os.environ.get("NEARORTHO_BACKEND", "auto") or "auto"
    if chosen not in BACKENDS:
        raise ValueError(f"the environment variable NEARORTHO_BACKEND must be one of "
                         f"{', '.join(map(repr, BACKENDS))}; got {chosen!r}")
    return chosen


# Below this many multiply-adds a call's fixed cost on the GPU (a stream, a cuBLAS
# handle, allocations, the upload of W: milliseconds) outweighs its work, which
# two CPU cores finish about as fast, so "auto" keeps such calls on the CPU.
CUDA_MIN_WORK = 1 << 30


def select(backend, op: str, work=None):
    """The function implementing ``op`` on ``backend``.

    ``"auto"`` takes CUDA when it is available and implements ``op``, else the CPU;
    a call whose ``work`` (multiply-adds, when the caller knows them) is below
    CUDA_MIN_WORK stays on the CPU.
    ``"cuda"`` raises RuntimeError when the extension is not built or sees no GPU,
    and NotImplementedError when it lacks ``op``.
    """
    if op not in OPERATIONS:
        raise AssertionError(f"unknown backend operation {op!r}")  # a bug in the caller, not user input
    backend = check(backend)
    if backend == "auto":
        backend = _default_backend()
    if backend == "cpu":
        return getattr(_core, op)
    cuda = _cuda_module()
    if backend == "auto":
        small = work is not None and work < CUDA_MIN_WORK
        return (None if small else getattr(cuda, op, None)) or getattr(_core, op)  # getattr(None, op, None) is None
    if cuda is None:
        raise RuntimeError(f'backend="cuda" needs the nearortho._cuda extension and an NVIDIA GPU; '
                           f"{_cuda_state()[1]}")
    function = getattr(cuda, op, None)
    if function is None:
        raise NotImplementedError(f'backend="cuda" does not implement {op} yet; use backend="cpu"')
    return function
