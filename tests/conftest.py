"""Shared fixtures: every ISA level this CPU can run, forced in turn."""
import contextlib
import os
import signal

import pytest
from hypothesis import HealthCheck, settings

import nearortho

_ORDER = ("scalar", "avx2", "avx512")


def runnable_isas():
    detected = nearortho.build_info()["isa_detected"]
    return _ORDER[: _ORDER.index(detected) + 1]


@pytest.fixture(params=runnable_isas())
def isa(request):
    """Run the test once per ISA level, restoring the previous cap afterwards."""
    previous = nearortho.set_max_isa(request.param)
    yield request.param
    nearortho.set_max_isa(previous)


# Property-based tests (tests/test_properties.py): a fixed example budget and a
# derandomised search by default, so CI is repeatable and bounded;
# NEARORTHO_HYPOTHESIS=explore searches more widely, with fresh randomness.
_SUPPRESSED = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large]
settings.register_profile("ci", max_examples=25, derandomize=True, database=None, deadline=None,
                          suppress_health_check=_SUPPRESSED)
settings.register_profile("explore", max_examples=1000, deadline=None, suppress_health_check=_SUPPRESSED)
settings.load_profile(os.environ.get("NEARORTHO_HYPOTHESIS", "ci"))

# A shell without job control starts background commands with SIGINT ignored, and
# Python then installs no KeyboardInterrupt handler: the Ctrl-C tests would wait
# for an interrupt that never comes. Restore the handler (children then inherit the
# default disposition and install their own).
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture
def cpu_backend(monkeypatch):
    """Every call on the CPU backend (NEARORTHO_BACKEND=cpu), whose Gram entries
    have the same bits for files, arrays and row blocks; cuBLAS's may not."""
    monkeypatch.setenv("NEARORTHO_BACKEND", "cpu")


@pytest.fixture
def record_progress(monkeypatch):
    """record_progress(module) replaces a CLI command module's progress bar and returns
    the list of (completed, quiet) updates it receives."""
    updates = []

    @contextlib.contextmanager
    def recorded(total, description, *, quiet):
        yield lambda completed, message=None: updates.append((completed, quiet))

    def install(module):
        monkeypatch.setattr(module, "progress", recorded)
        return updates
    return install
