"""Memory: every allocation that grows with an argument is counted in one estimate
per call and refused with MemoryError (need and available) before it happens, and
an allocation that still fails in the core is a MemoryError, not an abort (no C++
exception leaves an OpenMP region). Each case runs in a fresh interpreter under an
address-space limit of 1.5 GiB more than it uses, so nothing can take the machine's
memory and "available" is the same everywhere."""
from __future__ import annotations

import os
import sys

import pytest

from isolated import assert_succeeds

pytestmark = pytest.mark.skipif(sys.platform != "linux" or "asan" in os.environ.get("LD_PRELOAD", ""),
                                reason="address-space limit (the sanitizer reserves terabytes of shadow memory)")

_LIMITED = """
    import resource
    import numpy as np
    import nearortho
    from nearortho import _core

    nearortho.interference(nearortho.frame(8, 100), threads=2)  # start the thread pool first
    with open("/proc/self/statm") as f:
        used = int(f.read().split()[0]) * resource.getpagesize()
    resource.setrlimit(resource.RLIMIT_AS, (used + (3 << 29), resource.RLIM_INFINITY))

    def refused(call, *words):
        try:
            call()
        except MemoryError as error:
            text = str(error)
            assert "needs" in text and "GiB available" in text and all(w in text for w in words), text
        else:
            raise AssertionError("not refused")
"""


def test_calls_needing_more_than_is_available_are_refused_first():
    assert_succeeds(_LIMITED + """
    # one histogram of 2^24 bins per thread: 8 GiB for a 64 KB frame
    refused(lambda: nearortho.interference(nearortho.frame(8, 2000), bins=2**24, threads=64), "interference pass")
    # one row of the last basis needs the whole 65536 x 65536 float64 prefix built
    refused(lambda: nearortho.frame(65536, 65536, "orthogonal", rows=slice(65535, 65536)), "orthogonal")
    # a permutation of 2^28 entries for one 512 MiB row
    refused(lambda: nearortho.frame(2**27 + 1, 1, "srht"), "srht")
    refused(lambda: nearortho.sample_activations(10**6, 1000, trials=10**6), "activations")
    refused(lambda: nearortho.simulate(nearortho.frame(64, 100), 3, trials=5, bins=2**24, threads=64), "simulating")
    # the per-row lists grow with topk (k): the message names it (it named only the frame)
    refused(lambda: nearortho.interference(nearortho.frame(8, 200000), topk=150000), "topk = 150000 partners")
    refused(lambda: nearortho.neighbors(nearortho.frame(8, 200000), 150000), "k = 150000 partners")
    """)


def test_an_allocation_failing_inside_the_core_is_a_memory_error():
    # past the Python check: the core's own allocation fails inside an OpenMP region
    assert_succeeds(_LIMITED + """
    out = np.empty((1, 65536), dtype=np.float32)
    try:
        spec = _core.FrameSpec()
        spec.kind, spec.n, spec.m = _core.FrameKind.orthogonal, 65536, 65536
        _core.generate_frame(spec, 65535, 65536, out, 2)
    except MemoryError:
        pass
    else:
        raise AssertionError("no MemoryError")
    assert nearortho.frame(64, 64, "orthogonal").shape == (64, 64)  # still usable
    """)


def _npz_with_header_only(path, shape):
    """An .npz whose member W.npy declares ``shape`` but holds no data: all a loader
    may read before it has checked the shape and size."""
    import io
    import zipfile

    import numpy as np

    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f4", "fortran_order": False, "shape": shape})
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("W.npy", header.getvalue())


def test_npz_member_shape_and_size_are_checked_before_decompressing(tmp_path):
    big, cube = tmp_path / "big.npz", tmp_path / "cube.npz"
    _npz_with_header_only(big, (2**15, 2**15 + 1))  # 4 GiB declared
    _npz_with_header_only(cube, (4, 4, 4))
    assert_succeeds(_LIMITED + f"""
    from nearortho import load
    refused(lambda: load({str(big)!r}), "big.npz")
    try:
        load({str(cube)!r})
    except ValueError as error:
        assert "must be 2-D" in str(error)
    else:
        raise AssertionError("a 3-D member was read")
    """)
