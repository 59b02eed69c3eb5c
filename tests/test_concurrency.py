"""Calls from several Python threads at once give the same results as serial calls
(the GIL is released in the core, which keeps no shared mutable state)."""
from concurrent.futures import ThreadPoolExecutor

import numpy as np

import nearortho


def _work(seed):
    W = nearortho.frame(48, 600, "sign" if seed % 2 else "gaussian", seed=seed, threads=2)
    stats = nearortho.interference(W, topk=3, threads=2)
    readout = nearortho.simulate(W, 5, trials=300, seed=seed, threads=2)
    return W, stats.coherence, stats.pair, stats.hist, stats.topk_index, readout.inactive_std


def test_concurrent_calls_match_serial_calls():
    seeds = list(range(8))
    serial = [_work(s) for s in seeds]
    with ThreadPoolExecutor(max_workers=4) as pool:
        concurrent = list(pool.map(_work, seeds))
    for a, b in zip(serial, concurrent):
        assert np.array_equal(a[0], b[0])
        assert a[1:3] == b[1:3]
        assert np.array_equal(a[3], b[3]) and np.array_equal(a[4], b[4])
        assert a[5] == b[5]
