"""Ctrl-C interrupts a long nearortho.interference call (the core polls between tiles)."""
from __future__ import annotations

import os
import signal
import threading
import time

import numpy as np
import pytest

import nearortho


@pytest.mark.skipif(not hasattr(signal, "SIGINT") or os.name != "posix", reason="needs POSIX signals")
def test_sigint_raises_keyboard_interrupt_promptly():
    rng = np.random.default_rng(50)
    # about 2 * 10^12 flops: minutes of work, so only an interrupt ends it early
    W = rng.standard_normal((60000, 256)).astype(np.float32)
    timer = threading.Timer(0.5, os.kill, args=(os.getpid(), signal.SIGINT))
    start = time.perf_counter()
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            nearortho.interference(W, per_row=False)
    finally:
        timer.cancel()
    assert time.perf_counter() - start < 5.0
