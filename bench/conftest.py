"""pytest-benchmark cases (bench/test_kernels.py): every saved run records what
nearortho picked and what the machine was doing."""
from __future__ import annotations

import pytest

from harness import machine


def pytest_benchmark_update_machine_info(config, machine_info):
    """ISA and build, numpy's BLAS with its kernel (threadpoolctl), the CPU model and the
    load average before the run, beside pytest-benchmark's own machine description."""
    machine_info["nearortho"] = machine()


@pytest.fixture(scope="session")
def rng():
    import numpy as np
    return np.random.default_rng(0)
