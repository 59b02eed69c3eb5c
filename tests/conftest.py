"""Shared fixtures: every ISA level this CPU can run, forced in turn."""
import pytest

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
