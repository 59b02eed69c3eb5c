"""Threads: a sane cap on threads=, thread-start failure as an exception (not the
process ending), and a child made by fork() that still computes (OpenMP's pool
does not survive fork). Reproductions run in a fresh interpreter with a timeout."""
from __future__ import annotations

import os
import sys

import pytest

import nearortho
from nearortho import _validate
from isolated import assert_succeeds

_SANITIZED = "asan" in os.environ.get("LD_PRELOAD", "")


def test_threads_beyond_the_cap_are_refused():
    W = nearortho.frame(8, 20)
    with pytest.raises(ValueError, match="threads must be <="):
        nearortho.interference(W, threads=_validate.MAX_THREADS + 1)
    with pytest.raises(ValueError, match="threads"):
        nearortho.frame(8, 20, threads=10**6)
    with pytest.raises(ValueError, match="threads must be >= 1"):
        nearortho.simulate(W, 1, trials=2, threads=0)


@pytest.mark.skipif(sys.platform != "linux", reason="fork start method and pthread_atfork")
def test_forked_child_computes_after_the_parent_used_threads():
    # the parent's OpenMP pool is started first; the child then runs every part
    out = assert_succeeds("""
        import multiprocessing as mp
        import numpy as np
        import nearortho

        W = nearortho.frame(32, 700, seed=1)
        parent = nearortho.interference(W, threads=2)

        def child(queue):
            s = nearortho.interference(W, threads=2)
            f = nearortho.frame(32, 700, seed=1, threads=2)
            o = nearortho.frame(40, 40, "orthogonal", threads=2)
            r = nearortho.simulate(W, 3, trials=50, threads=2)
            queue.put((s.coherence, s.pair, bool(np.array_equal(f, W)), float(np.abs(o @ o.T - np.eye(40)).max()),
                       r.false_positive_rate))

        ctx = mp.get_context("fork")
        queue = ctx.Queue()
        process = ctx.Process(target=child, args=(queue,))
        process.start()
        coherence, pair, same_frame, ortho_error, fpr = queue.get(timeout=30)
        process.join(30)
        assert process.exitcode == 0
        assert coherence == parent.coherence and pair == parent.pair and same_frame and ortho_error < 1e-5
        print("ok")
    """, timeout=60)
    assert out.split()[-1] == "ok"


@pytest.mark.skipif(sys.platform != "linux" or _SANITIZED,
                    reason="address-space limit (the sanitizer reserves terabytes of shadow memory)")
def test_threads_that_cannot_start_raise_instead_of_ending_the_process():
    out = assert_succeeds("""
        import resource
        import nearortho

        W = nearortho.frame(16, 600)
        nearortho.interference(W, threads=2)
        with open("/proc/self/statm") as f:
            used = int(f.read().split()[0]) * resource.getpagesize()
        # room for the work, not for 200 thread stacks of several MiB each
        resource.setrlimit(resource.RLIMIT_AS, (used + (200 << 20), resource.RLIM_INFINITY))
        try:
            nearortho.interference(W, threads=200)
        except RuntimeError as error:
            assert "could not start 200 threads" in str(error), error
        else:
            raise AssertionError("200 threads started under a 200 MiB address-space margin")
        print(nearortho.interference(W, threads=2).pairs)
    """, timeout=60)
    assert out.split()[-1] == str(600 * 599 // 2)
