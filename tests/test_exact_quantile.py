"""Exact quantiles of |g| when millions of pairs tie (a sign frame) or the histogram
has one bin: the search narrows to a single value of the working dtype and ends.
Each case runs in a fresh interpreter with a timeout (the search once looped forever)."""
from __future__ import annotations

from isolated import assert_succeeds

# The collect cap is lowered so that a few hundred rows reproduce what 2^22 tied
# pairs do at full size.
_CHECK = """
    import sys
    import numpy as np
    import nearortho
    from interference_oracle import gram
    sys.modules["nearortho._order_statistic"].COLLECT_CAP = 40

    def check(W, normalize=True, bins=1024, qs=(0.0, 0.3, 0.5, 0.97, 1.0), tol=0.0):
        stats = nearortho.interference(W, normalize=normalize, bins=bins, per_row=False)
        G, mask = gram(W, normalize=normalize)
        a = np.abs(G[mask])
        for q in qs:
            truth = np.quantile(a, q, method="inverted_cdf")
            got = stats.quantile(q, exact=True)
            assert abs(got - truth) <= tol, (q, got, truth)
"""


def test_exact_quantile_of_tied_values_ends():
    # sign rows: every cosine is k/16 exactly (in both dtypes), so whole bins tie
    assert_succeeds(_CHECK + """
    for dtype in ("float32", "float64"):
        for bins in (1, 7, 1024):
            check(nearortho.frame(16, 301, "sign", seed=3, dtype=dtype), bins=bins)
    """, timeout=120)


def test_exact_quantile_of_exact_zeros_and_tiny_ties_ends():
    assert_succeeds(_CHECK + """
    # sparse rows with disjoint supports: most cosines are exactly 0
    sparse = nearortho.frame(64, 300, "sparse", s=2, seed=1)
    check(sparse, qs=(0.1, 0.5))
    check(sparse, qs=(0.99,), tol=1e-7)
    # raw products of about 1e-320 (subnormal): too narrow for the core's bins,
    # found by bisection on the float64 values
    signs = nearortho.frame(16, 200, "sign", seed=2, dtype="float64") * 4.0
    check(signs * 1e-161, normalize=False, qs=(0.2, 0.6))
    """, timeout=120)
