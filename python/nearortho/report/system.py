"""The machine and software a report ran on, for its Reproduce block."""
from __future__ import annotations

import os
import platform
from importlib import metadata

from .. import build_info

_PACKAGES = ("nearortho", "numpy", "matplotlib", "click")


def cpu_model() -> str:
    """The CPU's model name (/proc/cpuinfo where there is one)."""
    try:
        with open("/proc/cpuinfo") as handle:
            return next(line.split(":", 1)[1].strip() for line in handle if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or platform.machine()


def environment() -> dict:
    """Versions, CPU, the SIMD level the kernels use, and the threads they run on."""
    info = build_info()
    versions = {"python": platform.python_version()}
    for package in _PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    return {"versions": versions, "platform": f"{platform.system()} {platform.machine()}",
            "cpu": cpu_model(), "cpus": os.cpu_count(), "isa": info["isa"], "threads": info["default_threads"],
            "omp_num_threads": os.environ.get("OMP_NUM_THREADS"), "build": info, "load_average": _load_average()}


def _load_average() -> str:
    """The 1, 5 and 15 minute load averages, where the platform has them."""
    try:
        return ", ".join(f"{x:.1f}" for x in os.getloadavg())
    except (AttributeError, OSError):
        return "unknown"
