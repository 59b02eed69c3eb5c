"""capacity() and levels(): C3 reproduced, agreement with closed-form Gaussian tails."""
import math

import numpy as np
import pytest

import nearortho as no


def test_orthogonal_frame_supports_all_features_c3():
    c = no.capacity((100, 100, "orthogonal"), trials=20)
    assert c.l_max == 100 and c.l_max_ci == (100, 100)
    assert c.l_max_jl == pytest.approx(100 / (8 * math.log(100)))  # P3 says 2.7
    assert no.capacity(np.eye(33), trials=5).l_max == 33


def test_capacity_is_the_largest_l_under_target():
    W = no.frame(128, 1024, seed=1)
    c = no.capacity(W, error_rate=0.01, trials=100, seed=2)
    at = no.simulate(W, c.l_max, trials=100, seed=2).error_rate
    above = no.simulate(W, c.l_max + 1, trials=100, seed=2).error_rate
    assert at <= 0.01 < above
    assert c.evaluated[c.l_max][0] == at
    # the interval's bounds: the upper 95% bound of the rate is under the target at
    # `low`; the lower 95% bound is over it at `high + 1` (z = 1.96, two-sided)
    low, high = c.l_max_ci
    at_low = no.simulate(W, low, trials=100, seed=2)
    assert at_low.error_rate + 1.959964 * at_low.error_rate_se <= 0.01
    past_high = no.simulate(W, high + 1, trials=100, seed=2)
    assert past_high.error_rate - 1.959964 * past_high.error_rate_se > 0.01


def test_capacity_matches_gaussian_tail_prediction():
    # Inactive readouts are ~ N(0, l/n): error rate ~ (m - l)/m * P(Z > 0.5 sqrt(n/l)) + l/m * P(Z > ...)
    n, m = 256, 2048
    W = no.frame(n, m, seed=4)
    c = no.capacity(W, error_rate=0.005, trials=60, seed=1)

    def predicted(l):
        tail = 0.5 * math.erfc(0.5 / math.sqrt(l / n) / math.sqrt(2))
        return tail  # same tail for false positives (r > 1/2) and false negatives (1 + noise <= 1/2)

    expected = max(l for l in range(1, 200) if predicted(l) <= 0.005)
    assert abs(c.l_max - expected) <= max(2, 0.15 * expected)


def test_levels_against_gaussian_tail():
    n, m, l, a = 256, 2048, 4, 1.0
    W = no.frame(n, m, seed=6)
    r = no.levels(W, l, error_rate=0.05, amplitude=a, trials=150, seed=3)
    assert r.level_error_rate <= 0.05 < r.next_error_rate
    assert r.levels_rms == pytest.approx(math.sqrt(n / l))
    assert r.levels_jl == pytest.approx(1 / (math.sqrt(8 * math.log(m) / n) * math.sqrt(l)))
    # noise std sigma = sqrt(l E[a^2] / n); an inner level errs with P(|N| > a / 2K)
    def rate(K):
        ms = a * a * (K + 1) * (2 * K + 1) / (6 * K * K)
        sigma = math.sqrt(l * ms / n)
        inner = math.erfc(a / (2 * K) / sigma / math.sqrt(2))
        return inner * (K - 1) / K  # the top level errs only downwards, the bottom only upwards
    expected = max(K for K in range(1, 100) if rate(K) <= 0.05)
    assert abs(r.levels - expected) <= 1


def test_levels_on_orthogonal_frame_reach_k_max():
    r = no.levels(np.eye(16), 16, trials=5, k_max=64)
    assert r.levels == 64 and r.level_error_rate == 0.0 and r.next_error_rate is None


@pytest.mark.parametrize("call, error, match", [
    (lambda: no.capacity(np.eye(4), error_rate=0.0), ValueError, "error_rate"),
    (lambda: no.capacity(np.eye(4), error_rate=1.0), ValueError, "error_rate"),
    (lambda: no.capacity(np.eye(4), error_rate="x"), TypeError, "error_rate"),
    (lambda: no.capacity(np.eye(4), decoder="levels"), ValueError, "decoder"),
    (lambda: no.capacity(np.eye(4), trials=1), ValueError, "trials"),
    (lambda: no.capacity((4, 4), trials=3), ValueError, "n, m, kind"),
    (lambda: no.capacity((4, 4, "nope"), trials=3), ValueError, "kind"),
    (lambda: no.capacity(np.eye(4), amplitude="x"), ValueError, "amplitude"),
    (lambda: no.levels(np.eye(4), 5), ValueError, "l"),
    (lambda: no.levels(np.eye(4), 0), ValueError, "l"),
    (lambda: no.levels(np.eye(4), 2, error_rate=1.5), ValueError, "error_rate"),
    (lambda: no.levels(np.eye(4), 2, amplitude=0.0), ValueError, "amplitude"),
    (lambda: no.levels(np.eye(4), 2, k_max=0), ValueError, "k_max"),
])
def test_bad_inputs(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_sizes_as_a_list_and_rows_as_nested_tuples_are_read_as_they_are_for_arrays():
    # a list [n, m, kind] is the sizes, as the tuple is (it was read as an array of strings);
    # nested tuples are rows, as interference reads them (they were taken for (n, m, kind))
    assert no.capacity([16, 64, "gaussian"], trials=20).to_dict() == no.capacity((16, 64, "gaussian"),
                                                                                 trials=20).to_dict()
    rows = tuple(tuple(float(x) for x in row) for row in np.eye(3))
    assert no.levels(rows, 1, trials=5).to_dict() == no.levels(np.eye(3), 1, trials=5).to_dict()
    assert no.capacity(rows, trials=5).l_max == no.capacity(np.eye(3), trials=5).l_max == 3


def test_capacity_stops_at_the_first_crossing():
    # 4 mutually unbiased bases in R^64: with all 256 features on, every readout clears
    # the threshold again, so the error rate is not monotone in l; capacity is the
    # crossing from below, not l = m
    W = no.frame(64, 256, "kerdock")
    c = no.capacity(W, error_rate=0.01, trials=100, seed=1)
    rates = [no.simulate(W, l, trials=100, seed=1).error_rate for l in range(1, c.l_max + 2)]
    assert max(rates[:-1]) <= 0.01 < rates[-1]
    assert no.simulate(W, 256, trials=100, seed=1).error_rate <= 0.01 and c.l_max < 64


def test_metrics_separate_missed_features_from_false_alarms():
    # orthonormal rows and amplitude 0.4 under the threshold 0.5: every active feature
    # is missed and nothing else ever fires, so FN rate = 1 and FP rate = 0 exactly,
    # while the pooled error rate is l / m and stays under 1% up to l = 1
    W = np.eye(100)
    kwargs = dict(amplitude=("boolean", 0.4), threshold=0.5, trials=4, error_rate=0.01)
    pooled = no.capacity(W, **kwargs)
    assert pooled.metric == "error" and pooled.l_max == 1
    assert pooled.false_negative_rate == 1.0 and pooled.false_positive_rate == 0.0
    assert no.capacity(W, metric="balanced", **kwargs).l_max == 0
    assert no.capacity(W, metric="false_negative", **kwargs).l_max == 0
    assert no.capacity(W, metric="false_positive", **kwargs).l_max == 100
    with pytest.raises(ValueError, match="metric must be one of"):
        no.capacity(W, metric="f1")
