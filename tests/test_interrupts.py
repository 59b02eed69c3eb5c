"""Ctrl-C inside the long core calls the issue found deaf to it: the gram path of
simulate (W W^T in one call), pair_sumsq, and calls that must stay short (srht
groups, sampled activations). A signal arrives 0.3 s into each call; the call must
end with KeyboardInterrupt having done only part of its work. Run in a fresh
interpreter with a timeout, so a deaf call fails the test instead of stalling it."""
from __future__ import annotations

import importlib
import os

import numpy as np
import pytest

import nearortho
from nearortho import _core
from isolated import assert_succeeds

_INTERRUPT = """
    import os
    import signal
    import threading
    import time
    import nearortho
    from nearortho import _core

    def interrupted(call):
        timer = threading.Timer(0.3, os.kill, args=(os.getpid(), signal.SIGINT))
        start = time.perf_counter()
        timer.start()
        try:
            call()
        except KeyboardInterrupt:
            return time.perf_counter() - start
        finally:
            timer.cancel()
        raise AssertionError("no KeyboardInterrupt")
"""


@pytest.mark.skipif(os.name != "posix", reason="needs POSIX signals")
@pytest.mark.usefixtures("cpu_backend")  # the CPU core's paths, batches and calls
def test_gram_path_and_pair_sumsq_stop_within_their_core_call():
    out = assert_succeeds(_INTERRUPT + """
    # one core call of 200000^2 x 64 multiply-adds (about a minute): no batch may finish
    W = nearortho.frame(64, 200000, seed=1)
    batches = []
    interrupted(lambda: nearortho.simulate(W, 8, trials=100, path="gram", _rms=0.1,
                                           progress=lambda done, total: batches.append(done)))
    assert batches == [], batches
    # pair_sumsq reports nothing on the way, so compare with the time 1/64 of the work takes
    X = nearortho.frame(256, 32000, seed=2)
    start = time.perf_counter()
    _core.pair_sumsq(X[:4000], 2)
    whole = 64 * (time.perf_counter() - start)
    seconds = interrupted(lambda: _core.pair_sumsq(X, 2))
    assert seconds < whole / 2, (seconds, whole)
    """, timeout=120)


def test_srht_calls_stay_short_at_any_n(monkeypatch):
    # a group of N = 2^15 rows at n = 2^14 + 1 was one call of 2^29 entries
    frame_module = importlib.import_module("nearortho.frame")
    calls = []
    generate = _core.generate_frame

    def spy(spec, lo, hi, out, threads):
        calls.append(hi - lo)
        generate(spec, lo, hi, out, threads)

    whole = nearortho.frame(33, 150, "srht", seed=5, backend="cpu")
    monkeypatch.setattr(frame_module, "_CHUNK_ELEMENTS", 33 * 10)
    monkeypatch.setattr(_core, "generate_frame", spy)
    assert np.array_equal(nearortho.frame(33, 150, "srht", seed=5, backend="cpu"), whole)
    assert max(calls) == 10 and sum(calls) == 150


def test_sampled_activations_come_in_blocks_that_equal_one_block(monkeypatch):
    module = importlib.import_module("nearortho.activations")
    whole = nearortho.sample_activations(50, 7, trials=33, seed=4, amplitude=("uniform", 2.0), signed=True)
    monkeypatch.setattr(module, "_SAMPLE_ACTIVE", 20)  # 2 trials per core call
    blocks = nearortho.sample_activations(50, 7, trials=33, seed=4, amplitude=("uniform", 2.0), signed=True)
    for a, b in zip(whole, blocks):
        assert len(a) == len(b) == 33
        assert all(np.array_equal(x, y) for x, y in zip(a, b))
