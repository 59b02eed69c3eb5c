"""The surrogate gradient pass against a dense float64 numpy oracle, central
finite differences, itself across threads (bitwise) and across ISAs."""
import numpy as np
import pytest

import nearortho
from gradient_oracle import oracle, unit_rows
from nearortho.gradient import surrogate_gradient


# m: 2, odd counts inside one 48-row tile, several tiles (odd and even block
# counts), and above 576 where the tile edge is 144; n = 2100: the Gram
# product's depth blocks of 1024 and a remainder
CASES = [(2, 1, 2, 0.0, 1.0), (3, 2, 3, 0.0, 1.0), (7, 5, 4, 0.1, 0.5), (49, 17, 8, 0.0, 0.6),
         (97, 33, 2, 0.0, 1.0), (150, 7, 6, 0.2, 0.4), (601, 19, 12, 0.3, 0.35), (70, 2100, 4, 0.0, 0.2)]


@pytest.mark.parametrize("m, n, p, t, s", CASES)
def test_matches_float64_oracle(m, n, p, t, s):
    W = unit_rows(m, n, seed=m)
    got = surrogate_gradient(W, p, t=t, s=s, threads=2)
    value, grad, coherence, pair = oracle(W, p, t, s)
    assert got.value == pytest.approx(value, rel=1e-12, abs=1e-300)
    np.testing.assert_allclose(got.gradient, grad, rtol=1e-11, atol=1e-12 * np.abs(grad).max())
    assert got.coherence == pytest.approx(coherence, abs=1e-14) and got.pair == pair


@pytest.mark.parametrize("m, n, p, t, s", CASES[1::2])
def test_float32_within_its_rounding(m, n, p, t, s):
    W = unit_rows(m, n, seed=m + 1, dtype=np.float32)
    got = surrogate_gradient(W, p, t=t, s=s)
    value, grad, coherence, _ = oracle(W, p, t, s)
    assert got.gradient.dtype == np.float32
    # weights carry a relative error of about p * 2^-24 from the power of g
    scale = np.abs(grad).max()
    np.testing.assert_allclose(got.gradient, grad, rtol=0, atol=p * 2e-6 * max(scale, 1e-30))
    assert got.value == pytest.approx(value, rel=p * 2e-6)
    assert got.coherence == pytest.approx(coherence, abs=1e-6)


def test_frame_potential_has_a_closed_form():
    # sum_{i<j} g_ij^2 = (||W^T W||_F^2 - sum_i ||w_i||^4) / 2, and its gradient is
    # 2 W (W^T W) - 2 diag(||w_i||^2) W: no Gram of the rows involved
    W = np.random.default_rng(3).standard_normal((53, 11))
    S = W.T @ W
    norms = (W * W).sum(axis=1)
    got = surrogate_gradient(W, 2)
    assert got.value == pytest.approx(((S * S).sum() - (norms ** 2).sum()) / 2, rel=1e-12)
    np.testing.assert_allclose(got.gradient, 2 * W @ S - 2 * norms[:, None] * W, rtol=1e-11, atol=1e-11)


@pytest.mark.parametrize("p, t", [(2, 0.0), (5, 0.0), (6, 0.15)])
def test_central_finite_differences(p, t):
    W = np.random.default_rng(p).standard_normal((9, 4)) * 0.6
    got = surrogate_gradient(W, p, t=t, s=0.7)
    h = 1e-6
    for i, k in [(0, 0), (4, 3), (8, 1), (5, 2)]:
        up, down = W.copy(), W.copy()
        up[i, k] += h
        down[i, k] -= h
        numeric = (surrogate_gradient(up, p, t=t, s=0.7).value - surrogate_gradient(down, p, t=t, s=0.7).value) / (2 * h)
        assert got.gradient[i, k] == pytest.approx(numeric, rel=1e-6, abs=1e-8)


# the pass runs one thread per 1e8 flops (3 m^2 n padded), so only the two
# larger cases (about 4.3e8 and 3.3e8) put 2 and 3 threads to work
@pytest.mark.parametrize("m, n, dtype", [(150, 23, np.float32), (601, 23, np.float32), (97, 23, np.float64),
                                         (1500, 64, np.float32), (1301, 65, np.float64)])
def test_threads_give_identical_bits(m, n, dtype):
    W = unit_rows(m, n, seed=5, dtype=dtype)
    one = surrogate_gradient(W, 8, s=0.5, threads=1)
    for threads in (2, 3):
        other = surrogate_gradient(W, 8, s=0.5, threads=threads)
        assert other.value == one.value and other.pair == one.pair and other.coherence == one.coherence
        np.testing.assert_array_equal(other.gradient, one.gradient)


@pytest.mark.parametrize("m, n", [(101, 37), (40, 1100)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_every_isa_agrees_with_the_oracle(isa, dtype, m, n):
    W = unit_rows(m, n, seed=8, dtype=dtype)
    got = surrogate_gradient(W, 6, t=0.05, s=0.5, threads=2)
    value, grad, coherence, pair = oracle(W, 6, 0.05, 0.5)
    tol = 5e-5 if dtype == np.float32 else 1e-11
    np.testing.assert_allclose(got.gradient, grad, rtol=0, atol=tol * np.abs(grad).max())
    assert got.value == pytest.approx(value, rel=tol)
    assert got.pair == pair


def test_high_powers_flush_tiny_terms_instead_of_going_subnormal():
    W = unit_rows(60, 8, seed=9, dtype=np.float32)
    s = float(oracle(W, 2, 0.0, 1.0)[2])  # the coherence: the largest term is 1
    got = surrogate_gradient(W, 4096, s=s)  # most d^p far below float32's range
    value, grad, _, _ = oracle(W, 4096, 0.0, s)
    assert np.isfinite(got.value) and np.all(np.isfinite(got.gradient))
    assert got.value == pytest.approx(value, rel=1e-2)
    np.testing.assert_allclose(got.gradient, grad, rtol=0, atol=1e-2 * np.abs(grad).max())


def test_bad_inputs_name_the_argument():
    W = unit_rows(5, 3, seed=1)
    with pytest.raises(ValueError, match="W"):
        surrogate_gradient(W[:1])
    bad = W.copy()
    bad[2, 1] = np.nan
    with pytest.raises(ValueError, match="finite"):
        surrogate_gradient(bad)
    with pytest.raises(ValueError, match="p"):
        surrogate_gradient(W, 1)
    with pytest.raises(TypeError, match="p"):
        surrogate_gradient(W, 2.5)
    with pytest.raises(ValueError, match="s"):
        surrogate_gradient(W, s=0.0)
    with pytest.raises(ValueError, match="t"):
        surrogate_gradient(W, t=-0.1)
    with pytest.raises(TypeError, match="W"):
        surrogate_gradient(W.astype(np.int64))
