"""How big each part of the report is: --quick (tests), default (about a minute
on two cores), --full (larger n and m, more trials)."""
from __future__ import annotations

from dataclasses import dataclass

from ..frame import KINDS


@dataclass(frozen=True)
class Sizes:
    dims: tuple              # n for the interference sweep
    ratios: tuple            # m / n for the interference sweep
    max_m: int               # cap on m in the sweep
    noise_n: int             # frame for the noise, levels and capacity-at-one-size parts
    noise_m: int
    noise_ls: tuple          # l values for the noise-vs-l fit
    trials: int              # Monte Carlo trials per simulate call
    capacity_dims: tuple     # n for capacity vs n
    capacity_ratios: tuple   # m / n for capacity vs n
    capacity_trials: int
    levels_ls: tuple
    layers: int
    compound_l: int
    compound_trials: int
    packing_dims: tuple        # n (powers of 4) for the best-frames sweep, m = packing_bases n
    packing_bases: int
    packing_full_n: int        # the whole Kerdock set (m = n (n/2 + 1)) up to this n
    packing_optimise_n: int    # optimised frames up to this n (their gradient passes dominate)
    packing_iterations: int
    packing_n: int             # Kerdock against Gaussian: capacity and noise
    packing_m: int
    packing_l: int
    packing_trials: int


SIZES = {
    "quick": Sizes(dims=(32, 64), ratios=(4, 16), max_m=1024, noise_n=64, noise_m=512,
                   noise_ls=(1, 2, 4, 8, 16), trials=200, capacity_dims=(32, 64),
                   capacity_ratios=(4,), capacity_trials=100, levels_ls=(2, 8), layers=3,
                   compound_l=4, compound_trials=200, packing_dims=(16, 64), packing_bases=4,
                   packing_full_n=16, packing_optimise_n=16, packing_iterations=50, packing_n=64,
                   packing_m=256, packing_l=8, packing_trials=100),
    "default": Sizes(dims=(64, 128, 256, 512), ratios=(4, 16), max_m=8192, noise_n=512,
                     noise_m=8192, noise_ls=(1, 2, 4, 8, 16, 32, 64), trials=2000,
                     capacity_dims=(64, 128, 256, 512), capacity_ratios=(4, 16), capacity_trials=500,
                     levels_ls=(2, 4, 8, 16, 32, 64), layers=6, compound_l=8, compound_trials=500,
                     packing_dims=(16, 64, 256), packing_bases=4, packing_full_n=64, packing_optimise_n=64,
                     packing_iterations=300, packing_n=256, packing_m=4096, packing_l=16, packing_trials=300),
    "full": Sizes(dims=(64, 128, 256, 512, 1024), ratios=(4, 8, 16, 32), max_m=32768, noise_n=512,
                  noise_m=16384, noise_ls=(1, 2, 4, 8, 16, 32, 64, 128), trials=10000,
                  capacity_dims=(64, 128, 256, 512), capacity_ratios=(4, 16, 64),
                  capacity_trials=2000, levels_ls=(2, 4, 8, 16, 32, 64, 128), layers=10,
                  compound_l=16, compound_trials=2000, packing_dims=(16, 64, 256, 1024), packing_bases=4,
                  packing_full_n=64, packing_optimise_n=256, packing_iterations=1000, packing_n=256,
                  packing_m=4096, packing_l=16, packing_trials=2000),
}


def step_count(size: str) -> int:
    """How many progress steps run_report takes at this size."""
    s = SIZES[size]
    sweep = len(s.dims) * len(s.ratios) * len(KINDS)
    capacity = len(s.capacity_dims) * len(s.capacity_ratios) + 1
    from .packing import cases  # packing imports this module

    packing = len(cases(s)) + 2
    return sweep + len(s.noise_ls) + capacity + len(s.levels_ls) + 3 + packing
