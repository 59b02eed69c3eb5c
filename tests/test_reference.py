"""nearortho.reference: closed forms, the Beta tail against scipy, and the
random-frame median coherence against Monte Carlo."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import special

from nearortho import reference


@pytest.mark.parametrize("n", [2, 3, 16, 65, 256, 1024, 4096])
def test_beta_tail_matches_scipy_betainc(n):
    t = np.array([1e-3, 0.01, 0.1, 0.2, 0.35, 0.5, 0.8, 0.99])
    want = 1.0 - special.betainc(0.5, (n - 1) / 2, t * t)
    # the complement computed directly keeps relative accuracy in the far tail
    direct = special.betainc((n - 1) / 2, 0.5, 1.0 - t * t)
    got = reference.beta_tail(n, t)
    np.testing.assert_allclose(got, direct, rtol=1e-10, atol=0)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-15)


def test_welch_eps_jl_and_inv_sqrt_n_broadcast():
    n = np.array([[4], [16]])
    m = np.array([2, 4, 10, 100])
    w = reference.welch_bound(n, m)
    assert w.shape == (2, 4)
    assert w[0, 0] == 0.0 and w[0, 1] == 0.0  # m <= n: orthonormal rows exist
    assert w[0, 2] == pytest.approx(np.sqrt(6 / (4 * 9)))
    assert reference.eps_jl(64, 1000) == pytest.approx(np.sqrt(8 * np.log(1000) / 64))
    assert reference.inv_sqrt_n(25) == 0.2
    assert np.shape(reference.eps_jl(n, m)) == (2, 4)


def test_random_coherence_solves_its_defining_equation():
    n, m = np.array([16, 256, 1024]), np.array([100, 5000, 30000])
    t = reference.random_coherence(n, m)
    pairs = m * (m - 1) / 2
    tail = special.betainc((n - 1) / 2, 0.5, 1.0 - t * t)
    np.testing.assert_allclose(np.exp(-pairs * tail), 0.5, rtol=1e-9)
    assert reference.random_coherence(1, 5) == 1.0
    assert reference.random_coherence(10, 7, pairs=21) == reference.random_coherence(10, 7)


def test_random_coherence_tracks_monte_carlo():
    rng = np.random.default_rng(40)
    n, m, trials = 24, 60, 600
    X = rng.standard_normal((trials, m, n))
    X /= np.linalg.norm(X, axis=2, keepdims=True)
    G = np.abs(np.einsum("tin,tjn->tij", X, X))
    iu = np.triu_indices(m, 1)
    median = np.median(G[:, iu[0], iu[1]].max(axis=1))
    assert reference.random_coherence(n, m) == pytest.approx(median, rel=0.03)
