"""nearortho: near-orthogonal frames, their interference, and the costs of superposition."""
from __future__ import annotations

from . import _core
from .activations import sample_activations
from .bounds import Bounds, bounds
from .capacity import Capacity, Levels, capacity, levels
from .compound import Compound, compound
from .frame import KINDS, STRUCTURED_KINDS, frame
from .frame import max_rows as frame_max_rows
from .gradient import SurrogateGradient, surrogate_gradient
from .interference import InterferenceStats, interference, neighbors
from .io import load
from .row_file import RowFile, open_rows
from .match import Match, match
from .features import signed_max
from .pairs import pairs
from .optimize import OptimizeInterrupted, OptimizeProgress, OptimizeResult, optimize
from .reference import eps_jl, random_coherence, welch_bound
from .simulate import ReadoutStats, readouts, simulate
from .theory import Theory, theory

__version__ = _core.build_info()["version"]


def build_info() -> dict:
    """Version, compiler, OpenMP, the instruction set the kernels use on this CPU,
    and ``cuda``: whether ``backend="cuda"`` can run here."""
    from . import _backend

    info = dict(_core.build_info())
    info["cuda"] = _backend.cuda_available()
    return info


def set_max_isa(isa: str) -> str:
    """Cap the kernels' instruction set at ``isa`` (one of ``_core.ISA_NAMES``: "scalar",
    "avx2", "avx512"); returns the old cap.

    The environment variable NEARORTHO_MAX_ISA sets the cap at import. Used by the
    tests to compare every level against the scalar one.
    """
    if not isinstance(isa, str):
        raise TypeError(f"isa must be a string, got {type(isa).__name__}")
    if isa not in _core.ISA_NAMES:
        raise ValueError(f"isa must be one of {', '.join(_core.ISA_NAMES)}; got {isa!r}")
    return _core.set_isa_cap(isa)


__all__ = ["KINDS", "STRUCTURED_KINDS", "Bounds", "Capacity", "Compound", "InterferenceStats", "Levels", "Match",
           "OptimizeInterrupted", "OptimizeProgress", "OptimizeResult", "ReadoutStats", "RowFile", "SurrogateGradient", "Theory", "bounds", "build_info",
           "capacity", "compound", "eps_jl", "frame", "frame_max_rows", "interference", "levels", "load", "match",
           "neighbors", "open_rows", "optimize", "pairs", "random_coherence", "readouts", "sample_activations", "set_max_isa",
           "signed_max", "simulate", "surrogate_gradient", "theory", "welch_bound", "__version__"]
