"""Ctrl-C interrupts a long nearortho.interference call (the core polls between tiles)."""
from __future__ import annotations

import os
import signal
import threading

import numpy as np
import pytest

import nearortho


@pytest.mark.skipif(not hasattr(signal, "SIGINT") or os.name != "posix", reason="needs POSIX signals")
def test_sigint_raises_keyboard_interrupt_promptly():
    rng = np.random.default_rng(50)
    # about 2 * 10^12 flops: minutes of work, so only an interrupt ends it early.
    # Judged by the work done (the tiles the poll reports), not by seconds: a
    # wall-clock bound failed under the sanitizer on a loaded machine.
    # The signal is sent 0.3 s after the pass reports its first tiles, so it
    # always lands inside the core, however long validation takes on a busy machine.
    W = rng.standard_normal((60000, 256)).astype(np.float32)
    seen = []
    timer = threading.Timer(0.3, os.kill, args=(os.getpid(), signal.SIGINT))

    def progress(done, total):
        if not seen:
            timer.start()
        seen.append((done, total))

    try:
        with pytest.raises(KeyboardInterrupt):
            nearortho.interference(W, per_row=False, progress=progress, backend="cpu")
    finally:
        timer.cancel()
    assert seen and seen[-1][0] < seen[-1][1] / 2


def test_progress_ends_at_the_total_and_an_exception_in_it_stops_the_pass():
    W = nearortho.frame(64, 3000, seed=1)
    seen = []
    stats = nearortho.interference(W, progress=lambda done, total: seen.append((done, total)))
    total = seen[-1][1]
    assert seen[-1] == (total, total) and total >= 1
    assert all(0 <= d <= t == total for d, t in seen)
    assert stats.coherence == nearortho.interference(W).coherence

    class Stop(Exception):
        pass

    def refuse(done, total):
        raise Stop

    with pytest.raises(Stop):
        nearortho.interference(W, progress=refuse)
    with pytest.raises(TypeError, match="progress must be callable"):
        nearortho.interference(W, progress=1)
