"""theory(): every formula of MATH.md against hand values and closed forms."""
import math

import numpy as np
import pytest

import nearortho as no


def test_c3_counter_example_hand_value():
    t = no.theory(100, 100)
    # C3: 100 / (8 ln 100) = 100 / 36.8413614879... = 2.71434...
    assert float(t.l_max_jl) == pytest.approx(2.714340511895, rel=1e-10)
    assert float(t.l_max_rms) == pytest.approx(100.0)
    assert float(t.welch) == 0.0  # 100 orthogonal vectors fit in R^100


@pytest.mark.parametrize("n, m, l, a", [(1, 2, 1, 1.0), (100, 100, 3, 2.5), (768, 16384, 32, 1.0),
                                        (4096, 1_000_000, 7, 0.3)])
def test_closed_forms(n, m, l, a):
    t = no.theory(n, m, l, amplitude=a)
    eps_jl = math.sqrt(8 * math.log(m) / n)
    eps_rms = 1 / math.sqrt(n)
    assert float(t.eps_jl) == pytest.approx(eps_jl, rel=1e-12)
    assert float(t.eps_rms) == pytest.approx(eps_rms, rel=1e-12)
    assert float(t.noise_jl) == pytest.approx(a * eps_jl * math.sqrt(l), rel=1e-12)
    assert float(t.noise_rms) == pytest.approx(a * eps_rms * math.sqrt(l), rel=1e-12)
    assert float(t.l_max_jl) == pytest.approx(n / (8 * math.log(m)), rel=1e-12)
    assert float(t.l_max_rms) == pytest.approx(n, rel=1e-12)
    assert float(t.levels_jl) == pytest.approx(1 / (eps_jl * math.sqrt(l)), rel=1e-12)
    assert float(t.levels_rms) == pytest.approx(math.sqrt(n / l), rel=1e-12)
    expected_m_max = math.exp(n / (8 * l)) if n / (8 * l) < 700 else math.inf
    assert float(t.m_max) == pytest.approx(expected_m_max, rel=1e-12)


def test_welch_closed_form():
    n, m = 13, 40
    assert float(no.theory(n, m).welch) == pytest.approx(math.sqrt((m - n) / (n * (m - 1))), rel=1e-12)


def test_m_max_overflows_to_inf_without_warning():
    assert np.isinf(no.theory(100_000, 10, 1).m_max)


def test_random_coherence_matches_monte_carlo_median():
    n, m, frames = 32, 64, 200
    coherences = []
    for seed in range(frames):
        W = no.frame(n, m, seed=seed, dtype="float64")
        G = np.abs(W @ W.T)
        np.fill_diagonal(G, 0)
        coherences.append(G.max())
    measured = float(np.median(coherences))
    # the median of 200 draws has a standard error of about 1% here
    assert float(no.theory(n, m).random_coherence) == pytest.approx(measured, rel=0.04)


def test_broadcasting_matches_scalar_calls():
    n = np.array([[64], [256], [1000]])
    m = np.array([100, 1000, 10_000, 123_456])
    t = no.theory(n, m, l=4, amplitude=0.5)
    assert t.eps_jl.shape == (3, 4) and t.random_coherence.shape == (3, 4)
    for i in range(3):
        for j in range(4):
            s = no.theory(int(n[i, 0]), int(m[j]), 4, amplitude=0.5)
            for name in ("eps_jl", "noise_jl", "noise_rms", "l_max_jl", "m_max", "levels_jl", "welch"):
                assert getattr(t, name)[i, j] == pytest.approx(float(getattr(s, name)), rel=1e-12)


def test_records_and_to_dict():
    t = no.theory([64, 128], 1000, l=[2, 8])
    records = t.records()
    assert len(records) == 2
    assert records[1]["n"] == 128 and records[1]["l"] == 8
    assert records[1]["noise_rms"] == pytest.approx(math.sqrt(8 / 128))
    names = {"eps_jl", "eps_rms", "noise_jl", "noise_rms", "l_max_jl", "l_max_rms", "m_max", "levels_jl",
             "levels_rms", "welch", "random_coherence"}
    assert names <= set(t.to_dict())
    assert "l_max_jl" in repr(t)


def test_without_l_the_l_columns_are_none():
    t = no.theory(64, 128)
    assert t.noise_jl is None and t.levels_rms is None and t.m_max is None
    assert "noise_jl" not in t.records()[0]


@pytest.mark.parametrize("kwargs, error", [
    (dict(n=0, m=10), ValueError), (dict(n=10, m=1), ValueError), (dict(n=10, m=20, l=0), ValueError),
    (dict(n=10.5, m=20), ValueError), (dict(n=10, m=20, amplitude=-1.0), ValueError),
    (dict(n=10, m=20, amplitude=float("nan")), ValueError), (dict(n="10", m=20), TypeError),
    (dict(n=True, m=20), TypeError), (dict(n=[], m=20), ValueError),
])
def test_bad_inputs(kwargs, error):
    with pytest.raises(error, match=r"n|m|l|amplitude"):
        no.theory(**kwargs)


def test_l_above_m_names_the_offending_pair_in_plain_numbers():
    # the CLI passes arrays: the message showed "l = array([200]) with m = [100]"
    with pytest.raises(ValueError, match=r"^l must be <= m \(l active features among m\), got l = 101 with m = 100$"):
        no.theory(16, [40, 100], [8, 101])
    with pytest.raises(ValueError, match=r"got l = 200 with m = 100$"):
        no.theory(64, np.array([100]), np.array([200]))
