"""nearortho.match against scipy's dense linear_sum_assignment on the float64
cosine matrix: wherever it claims a certificate, the same optimum; everywhere
an upper bound that holds."""
import sys

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment

import nearortho


def cosines(A, B):
    unit = lambda X: X / np.linalg.norm(X, axis=1, keepdims=True)  # noqa: E731
    return unit(np.asarray(A, np.float64)) @ unit(np.asarray(B, np.float64)).T


def check_against_dense(A, B, result, signed):
    """Common checks; returns the dense optimum as {row of A: row of B}."""
    G = cosines(A, B)
    weight = G if signed else np.abs(G)
    rows, cols = linear_sum_assignment(weight, maximize=True)
    best = weight[rows, cols].sum()
    assert len(result.a_index) == min(len(A), len(B))
    assert len(set(result.a_index)) == len(set(result.b_index)) == len(result.a_index)
    assert sorted([*result.a_index, *result.unmatched_a]) == list(range(len(A)))
    assert sorted([*result.b_index, *result.unmatched_b]) == list(range(len(B)))
    tol = 1e-12 if A.dtype == np.float64 else 1e-5
    np.testing.assert_allclose(result.cosine, G[result.a_index, result.b_index], rtol=0, atol=tol)
    ours = weight[result.a_index, result.b_index].sum()
    assert result.upper_bound >= best - len(A) * tol  # the bound always holds
    if result.certified:
        assert ours == pytest.approx(best, abs=len(A) * tol)
    return dict(zip(rows.tolist(), cols.tolist()))


def as_dict(result):
    return dict(zip(result.a_index.tolist(), result.b_index.tolist()))


@pytest.mark.parametrize("ma, mb, n", [(2, 2, 3), (17, 17, 5), (33, 20, 7), (20, 45, 16), (1, 9, 4), (9, 1, 4),
                                       (1, 1, 3), (40, 40, 1)])
@pytest.mark.parametrize("signed", [False, True])
@pytest.mark.parametrize("k", [1, 3])
def test_random_pairs_equal_the_dense_hungarian(ma, mb, n, signed, k):
    rng = np.random.default_rng(ma * 1000 + mb * 10 + n)
    A, B = rng.standard_normal((ma, n)), rng.standard_normal((mb, n))
    result = nearortho.match(A, B, signed=signed, k=k)
    best = check_against_dense(A, B, result, signed)
    if n > 1:  # float64 weights without ties: the optimum is unique, and found
        assert result.certified and result.gap <= 1e-9
        assert as_dict(result) == best


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_permuted_and_perturbed_copies_are_recovered(dtype):
    rng = np.random.default_rng(7)
    m, n = 300, 48
    A = nearortho.frame(n, m, seed=3, dtype=dtype)
    perm = rng.permutation(m)
    B = (A[perm] + 0.4 * rng.standard_normal((m, n)) / np.sqrt(n)).astype(dtype)
    B[::7] *= -1  # sign flips: |cos| matching does not care
    result = nearortho.match(A, B)
    assert result.certified and result.k == 8  # no growth needed
    assert as_dict(result) == check_against_dense(A, B, result, False)
    assert np.array_equal(perm[result.b_index], result.a_index)
    weight = np.abs(result.cosine)
    assert result.mean == pytest.approx(weight.mean(), rel=1e-12)
    assert result.fraction_above == {t: np.mean(weight > t) for t in (0.5, 0.7, 0.9)}
    assert len(result.unmatched_a) == len(result.unmatched_b) == 0


def test_signed_matching_pairs_a_feature_with_its_negation_last():
    A = nearortho.frame(16, 40, seed=5, dtype=np.float64)
    B = -A[::-1].copy()
    assert as_dict(nearortho.match(A, B)) == {i: 39 - i for i in range(40)}
    signed = nearortho.match(A, B, signed=True)
    assert as_dict(signed) == check_against_dense(A, B, signed, True)
    assert signed.certified and signed.total < 0.5 * 40


def test_hubs_without_a_full_matching_grow_their_lists():
    # every row of A is closest to row 0 of B: top-1 lists admit no full matching
    rng = np.random.default_rng(9)
    B = rng.standard_normal((25, 10))
    A = B[0] + 0.05 * rng.standard_normal((25, 10))
    result = nearortho.match(A, B, k=1)
    assert result.certified and result.k > 1
    assert as_dict(result) == check_against_dense(A, B, result, False)


def test_an_unfinished_bound_says_by_how_much():
    rng = np.random.default_rng(11)
    A, B = rng.standard_normal((60, 8)), rng.standard_normal((60, 8))
    result = nearortho.match(A, B, k=1, max_rounds=0)
    assert not result.certified and result.gap > 0 and result.candidates < 60 * 60
    check_against_dense(A, B, result, False)  # total <= optimum <= upper_bound
    assert result.upper_bound == pytest.approx(result.total + result.gap, rel=1e-12)


def test_float32_dictionaries_and_torch_inputs():
    torch = pytest.importorskip("torch")
    A = nearortho.frame(32, 200, seed=1)
    B = nearortho.frame(32, 150, seed=2)
    result = nearortho.match(torch.from_numpy(A), torch.from_numpy(B).to(torch.bfloat16))
    check_against_dense(A, torch.from_numpy(B).to(torch.bfloat16).float().numpy(), result, False)
    assert result.certified and len(result.unmatched_a) == 50


@pytest.mark.parametrize(
    "kwargs, error, words",
    [
        ({"B": np.ones((3, 4))}, ValueError, "B must have n = 5 columns"),
        ({"signed": 1}, TypeError, "signed must be a bool"),
        ({"k": 0}, ValueError, "k must be >= 1"),
        ({"max_rounds": -1}, ValueError, "max_rounds must be >= 0"),
        ({"A": np.ones((0, 5))}, ValueError, "A must not be empty"),
        ({"threads": 0}, ValueError, "threads must be >= 1"),
    ],
)
def test_bad_arguments(kwargs, error, words):
    args = {"A": np.eye(5)[:3], "B": np.eye(5)[2:], **kwargs}
    with pytest.raises(error, match=words):
        nearortho.match(args.pop("A"), args.pop("B"), **args)


def test_without_scipy_the_message_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "scipy.sparse.csgraph", None)
    with pytest.raises(ImportError, match=r'pip install "nearortho\[match\]"'):
        nearortho.match(np.eye(3), np.eye(3))


@pytest.mark.parametrize("k", [1, 8])  # a candidate list, and the complete lists of a small B
@pytest.mark.parametrize("side", ["A", "B"])
def test_a_zero_row_is_named_on_its_side(k, side):
    rng = np.random.default_rng(5)
    A, B = rng.standard_normal((3, 4)), rng.standard_normal((4, 4))
    (A if side == "A" else B)[1] = 0.0
    with pytest.raises(ValueError, match=f"^{side} has a zero row \\(row 1\\)"):
        nearortho.match(A, B, k=k)


def test_the_bound_on_pairs_left_out_of_both_lists_against_brute_force():
    # max over j of min(tau_i, sigma_j) - v_j, the dual constraint of the pairs in no list
    from nearortho.match import _left_out_need

    rng = np.random.default_rng(12)
    tau = np.r_[rng.uniform(0, 1, 30), -np.inf, 0.5]
    sigma = np.r_[rng.uniform(0, 1, 40), -np.inf, 0.5, 0.5]
    v = rng.uniform(0, 0.3, len(sigma))
    want = (np.minimum(tau[:, None], sigma[None, :]) - v[None, :]).max(axis=1)
    np.testing.assert_array_equal(_left_out_need(tau, sigma, v), want)


@pytest.mark.parametrize("ma, mb", [(50, 50), (30, 70), (70, 30)])
def test_lists_of_both_sides_certify_random_pairs_at_k_1(ma, mb):
    # k = 1 with no growth: the columns' lists add candidates and tighten the bound;
    # whatever it claims must hold against the dense optimum
    rng = np.random.default_rng(ma + mb)
    A, B = rng.standard_normal((ma, 6)), rng.standard_normal((mb, 6))
    result = nearortho.match(A, B, k=1, max_rounds=0)
    check_against_dense(A, B, result, False)
    smaller = min(ma, mb)
    assert result.candidates > smaller  # more than the smaller side's one partner each


def test_progress_runs_to_the_end_of_every_pass_and_the_command_shows_it(tmp_path, record_progress):
    # hubs need rounds after the first pass; 'nearortho match' showed nothing for minutes
    rng = np.random.default_rng(9)
    B = rng.standard_normal((25, 10))
    A = B[0] + 0.05 * rng.standard_normal((25, 10))
    seen = []
    result = nearortho.match(A, B, k=1, progress=lambda done, total: seen.append((done, total)))
    passes = [(done, total) for done, total in seen if done == total]
    assert len(passes) >= 2 and all(0 <= d <= t for d, t in seen)  # the first pass, then a round
    assert as_dict(result) == as_dict(nearortho.match(A, B, k=1))

    from click.testing import CliRunner

    from nearortho.cli import match_command
    from nearortho.cli.main import cli

    updates = record_progress(match_command)
    np.save(tmp_path / "a.npy", A)
    np.save(tmp_path / "b.npy", B)
    for flags, quiet in (([], False), (["--quiet"], True)):
        updates.clear()
        out = CliRunner().invoke(cli, ["match", str(tmp_path / "a.npy"), str(tmp_path / "b.npy"), "--k", "1", *flags])
        assert out.exit_code == 0, out.output
        assert updates[-1] == (1.0, quiet) and updates.count((1.0, quiet)) >= 2
