"""signed_max against the dense float64 oracle (SAEBench's signed per-feature
maximum), including rows whose close partners are all opposite."""
import numpy as np
import pytest

import nearortho
from interference_oracle import gram
from nearortho.features import row_norms


def oracle_signed_max(W, B=None):
    G, _ = gram(W, B)
    if B is None:
        np.fill_diagonal(G, -np.inf)
    return G.max(axis=1), G.argmax(axis=1)  # argmax: the first, i.e. smallest, partner on ties


@pytest.mark.parametrize("m, n, m2", [(2, 3, None), (3, 1, None), (37, 5, None), (90, 24, None), (20, 3, 1),
                                      (33, 6, 17), (145, 7, None), (2, 5, 150)])
def test_signed_max_equals_the_oracle(m, n, m2):
    rng = np.random.default_rng(m + n)
    W = rng.standard_normal((m, n))
    B = None if m2 is None else rng.standard_normal((m2, n))
    value, partner = nearortho.signed_max(W, B)
    want, want_partner = oracle_signed_max(W, B)
    np.testing.assert_allclose(value, want, rtol=0, atol=1e-14)
    if n > 1:  # in R^1 every cosine is +-1: ties in rounding
        assert np.array_equal(partner, want_partner)


def test_rows_whose_close_partners_are_opposite():
    # row 0's nearest rows are its negations: the largest g is far down its |g| list
    rng = np.random.default_rng(5)
    W = rng.standard_normal((60, 10))
    W[1:9] = -W[0] + 0.01 * rng.standard_normal((8, 10))
    value, partner = nearortho.signed_max(W)
    want, want_partner = oracle_signed_max(W)
    np.testing.assert_allclose(value, want, atol=1e-14)
    assert np.array_equal(partner, want_partner) and partner[0] > 8


def test_bad_arguments():
    with pytest.raises(ValueError, match="W needs at least 2 rows"):
        nearortho.signed_max(np.ones((1, 3)))
    with pytest.raises(ValueError, match="threads must be >= 1"):
        nearortho.signed_max(np.eye(3), threads=0)


@pytest.mark.parametrize("n", [7, 1000, 70000])  # blocks of 9362 rows, 65 rows, and one row longer than a block
def test_row_norms_across_blocks_equal_float64_norms(n):
    rng = np.random.default_rng(n)
    W = (rng.standard_normal((max(3, (1 << 17) // n + 5), n)) * 1e3).astype(np.float32)
    want = np.sqrt(np.sum(W.astype(np.float64) ** 2, axis=1))
    np.testing.assert_allclose(row_norms(W), want, rtol=1e-14)
