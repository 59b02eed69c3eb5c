"""Hostile arguments found by the input audit: each gets a clear exception naming
the argument (or, where the input is valid, the float64 oracle's answer)."""
import numpy as np
import pytest

import nearortho


def _unit_rows(n, m, seed):
    W = np.random.default_rng(seed).standard_normal((m, n))
    return W / np.linalg.norm(W, axis=1, keepdims=True)


@pytest.mark.parametrize("scale", [1e200, 1e-160, 1e-200])
@pytest.mark.parametrize("call", [
    lambda W: nearortho.interference(W),
    lambda W: nearortho.neighbors(W, 2),
    lambda W: nearortho.pairs(W, 0.5),
    lambda W: nearortho.signed_max(W),
])
def test_float64_rows_whose_squared_norm_leaves_the_range_are_refused(call, scale):
    # |w|^2 overflows (1e400) or underflows (1e-320, 1e-400) float64: normalising
    # gave all-zero cosines, inexact ones, or a false "zero row"
    W = _unit_rows(9, 13, 0)
    W[5] *= scale
    with pytest.raises(ValueError, match=r"W has a row whose squared norm overflows or underflows float64 \(row 5"):
        call(W)


def test_float64_rows_near_the_range_edges_match_the_oracle():
    W = _unit_rows(9, 13, 1)
    scaled = W * np.where(np.arange(13) % 2, 1e150, 1e-150)[:, None]
    G = W @ W.T
    upper = np.abs(G[np.triu_indices(13, 1)])
    stats = nearortho.interference(scaled)
    assert stats.coherence == pytest.approx(upper.max(), rel=1e-12)
    assert stats.sum_sq == pytest.approx(np.sum(upper ** 2), rel=1e-12)


def test_b_rows_out_of_range_name_b():
    W, B = _unit_rows(9, 13, 2), _unit_rows(9, 4, 3) * 1e-170
    with pytest.raises(ValueError, match="B has a row whose squared norm"):
        nearortho.interference(W, B)
