"""compound(): P7, noise through layers, against a numpy oracle and closed forms."""
import math

import numpy as np
import pytest

import nearortho as no
from nearortho.compound import layer_seed


def test_first_layer_matches_simulate_and_sqrt_l_over_n():
    n, m, l = 64, 600, 6
    c = no.compound(n, m, layers=1, l=l, trials=200, seed=5)
    s = no.simulate(no.frame(n, m, seed=layer_seed(5, 0), dtype="float64"), l, trials=200, seed=5)
    assert c.noise_std[0] == pytest.approx(s.inactive_std, rel=1e-9)
    assert c.error_rate[0] == pytest.approx(s.error_rate, rel=1e-12)
    assert c.signal[0] == pytest.approx(1 + s.active_error_mean, rel=1e-9)
    assert c.noise_std[0] == pytest.approx(math.sqrt(l / n), rel=0.05)


def test_layers_equal_numpy_oracle():
    n, m, l, trials = 20, 90, 3, 40
    c = no.compound(n, m, layers=3, l=l, trials=trials, seed=2, correction="relu", bias=0.1)
    indices, _ = no.sample_activations(m, l, trials=trials, seed=2)
    truth = np.zeros((trials, m))
    for t, idx in enumerate(indices):
        truth[t, idx] = 1.0
    f = truth
    for j in range(3):
        W = no.frame(n, m, seed=layer_seed(2, j), dtype="float64")
        r = f @ W @ W.T
        off = r[truth == 0]
        assert c.noise_std[j] == pytest.approx(off.std(ddof=1), rel=1e-10)
        assert c.signal[j] == pytest.approx(r[truth == 1].mean(), rel=1e-10)
        errors = np.count_nonzero(off > 0.5) + np.count_nonzero(r[truth == 1] <= 0.5)
        assert c.error_rate[j] == pytest.approx(errors / (trials * m))
        f = np.maximum(r - 0.1, 0)


def test_correction_slows_noise_growth():
    kw = dict(layers=4, l=4, trials=100, seed=1)
    none = no.compound(128, 1024, **kw)
    fixed = no.compound(128, 1024, correction="threshold", **kw)
    # Without correction every feature's noise is re-encoded: noise grows by about
    # sqrt(1 + m * sigma^2 / l)-ish factors per layer; the threshold removes most of it.
    assert np.all(np.diff(none.noise_std) > 0)
    assert none.noise_std[-1] > 4 * none.noise_std[0]
    assert fixed.noise_std[-1] < none.noise_std[-1] / 2
    assert fixed.error_rate[-1] < none.error_rate[-1]


def test_orthogonal_layers_keep_signal_exactly():
    c = no.compound(32, 32, layers=5, l=10, kind="orthogonal", trials=10)
    np.testing.assert_allclose(c.noise_std, 0, atol=1e-12)
    np.testing.assert_allclose(c.signal, 1, atol=1e-12)
    assert np.all(c.error_rate == 0)


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(layers=0, l=1), ValueError, "layers"),
    (dict(layers=1, l=65), ValueError, "l"),
    (dict(layers=1, l=-1), ValueError, "l"),
    (dict(layers=1, l=2, correction="clip"), ValueError, "correction"),
    (dict(layers=1, l=2, kind="nope"), ValueError, "kind"),
    (dict(layers=1, l=2, trials=1), ValueError, "trials"),
    (dict(layers=1, l=2, bias="x"), TypeError, "bias"),
])
def test_bad_inputs(kwargs, error, match):
    with pytest.raises(error, match=match):
        no.compound(16, 64, **kwargs)


def test_all_features_active_leaves_no_noise_estimate():
    result = no.compound(8, 8, layers=2, l=8, trials=4, seed=1)
    assert np.isnan(result.noise_std).all() and np.isnan(result.false_positive_rate).all()
    assert np.isfinite(result.signal).all()


def test_layers_beyond_memory_are_refused():
    with pytest.raises(MemoryError, match="layers of .* frames needs"):
        no.compound(768, 16384, layers=10_000, l=8, trials=2)  # 10^4 x 100 MB
