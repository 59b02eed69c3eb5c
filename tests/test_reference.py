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


def random_abs_grams(seed, n, m, trials):
    """|Gram| matrices of ``trials`` independent frames of m uniform unit vectors in R^n."""
    X = np.random.default_rng(seed).standard_normal((trials, m, n))
    X /= np.linalg.norm(X, axis=2, keepdims=True)
    return np.abs(np.einsum("tin,tjn->tij", X, X))


def test_random_coherence_tracks_monte_carlo():
    n, m = 24, 60
    G = random_abs_grams(40, n, m, trials=600)
    iu = np.triu_indices(m, 1)
    median = np.median(G[:, iu[0], iu[1]].max(axis=1))
    assert reference.random_coherence(n, m) == pytest.approx(median, rel=0.03)


def test_random_mean_max_closed_forms():
    # n = 3: |cos| is uniform on [0, 1] (Archimedes), so the max of M has mean M / (M + 1)
    for partners in (1, 2, 10, 999, 10**6):
        assert reference.random_mean_max(3, partners) == pytest.approx(partners / (partners + 1), rel=1e-12)
    # one partner: E|cos| = Gamma(n/2) / (sqrt(pi) Gamma((n+1)/2))
    for n in (4, 17, 768):
        want = np.exp(special.gammaln(n / 2) - special.gammaln((n + 1) / 2)) / np.sqrt(np.pi)
        assert reference.random_mean_max(n, 1) == pytest.approx(want, rel=1e-10)
    assert reference.random_mean_max(2, 1) == pytest.approx(2 / np.pi, rel=1e-6)  # singular density at 1
    assert reference.random_mean_max(1, 5) == 1.0
    assert reference.random_mean_max(np.array([3, 3]), np.array([1, 3])).tolist() == pytest.approx([0.5, 0.75])


@pytest.mark.parametrize("n, partners", [(16, 199), (768, 65535), (4096, 10**6), (2, 7)])
def test_random_mean_max_matches_scipy_quadrature(n, partners):
    from scipy import integrate

    cdf = lambda t: (1.0 - special.betainc((n - 1) / 2, 0.5, 1.0 - t * t)) ** partners  # noqa: E731
    centre = reference.random_coherence(n, partners + 1, pairs=partners)  # the median of the max
    window = [centre * f for f in (0.8, 0.9, 1.0, 1.1, 1.2)]
    want = integrate.quad(lambda t: 1.0 - cdf(t), 0.0, 1.0, points=window, limit=400, epsabs=1e-13,
                          epsrel=1e-12)[0]
    assert reference.random_mean_max(n, partners) == pytest.approx(want, rel=1e-10 if n > 2 else 1e-6)
    assert reference.random_max_cdf(n, partners, centre) == pytest.approx(cdf(centre), rel=1e-9)


def test_random_mean_max_tracks_monte_carlo():
    # The mean over rows of max_j |cos| of one random frame, averaged over frames:
    # within 4 standard errors (estimated from the same frames) of the expectation.
    n, m, trials = 24, 60, 400
    G = random_abs_grams(41, n, m, trials)
    G[:, np.arange(m), np.arange(m)] = 0.0
    per_frame = G.max(axis=2).mean(axis=1)
    standard_error = per_frame.std(ddof=1) / np.sqrt(trials)
    assert abs(per_frame.mean() - reference.random_mean_max(n, m - 1)) < 4 * standard_error
    assert standard_error < 2e-3  # the test can tell 1% apart


def test_random_coherence_without_pairs_is_nan_not_a_division_by_zero():
    # m = 1 (True) gives no pair: once a ZeroDivisionError
    values = reference.random_coherence([1, 2], True)
    assert np.isnan(values).all()
    assert np.isnan(reference.random_coherence(64, 10, pairs=0))
    assert 0 < reference.random_coherence(64, 2) < 1
