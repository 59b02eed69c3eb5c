"""``nearortho report --quick`` runs, and its results.json agrees with direct API calls."""
import json

import numpy as np
import pytest
from click.testing import CliRunner

import nearortho
from nearortho.cli.main import cli
from nearortho.report.sizes import SIZES


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    result = CliRunner().invoke(cli, ["report", "--quick", "--out", str(out), "--seed", "3", "--quiet"])
    assert result.exit_code == 0, result.output
    assert str(out / "index.html") in result.stdout
    return out, json.loads((out / "results.json").read_text())


def test_html_is_self_contained_with_every_section(report):
    out, results = report
    page = (out / "index.html").read_text()
    assert page.count("<img") == len(results["sections"]) == 6
    assert "data:image/png;base64," in page and "src='http" not in page
    for section in results["sections"].values():
        assert section["verdict"] in page.replace("&#x27;", "'")


def test_interference_rows_match_the_api(report):
    _, results = report
    rows = results["sections"]["typical"]["rows"]
    sizes = SIZES["quick"]
    assert len(rows) == len(sizes.dims) * len(sizes.ratios) * len(nearortho.KINDS)
    for row in rows[:: len(nearortho.KINDS) - 1]:
        stats = nearortho.interference(nearortho.frame(row["n"], row["m"], row["kind"], seed=3), per_row=False)
        assert row["measured RMS"] == pytest.approx(stats.rms, rel=1e-12)
        assert row["C1: 1/sqrt(n)"] == pytest.approx(1 / np.sqrt(row["n"]))
    worst = results["sections"]["worst"]["rows"][0]
    stats = nearortho.interference(nearortho.frame(worst["n"], worst["m"], worst["kind"], seed=3), per_row=False)
    assert worst["coherence"] == stats.coherence


def test_noise_rows_match_simulate(report):
    _, results = report
    sizes = SIZES["quick"]
    W = nearortho.frame(sizes.noise_n, sizes.noise_m, seed=3)
    row = results["sections"]["noise"]["rows"][2]
    direct = nearortho.simulate(W, row["l"], trials=sizes.trials, seed=3)
    assert row["noise std (inactive)"] == pytest.approx(direct.inactive_std, rel=1e-12)


def test_capacity_counter_example_is_reproduced(report):
    _, results = report
    ortho = results["sections"]["capacity"]["rows"][-1]
    assert (ortho["n"], ortho["m"], ortho["measured l_max"]) == (100, 100, 100)
    assert ortho["P3: n/(8 ln m)"] == pytest.approx(100 / (8 * np.log(100)))


def test_compound_rows_match_the_api(report):
    _, results = report
    sizes = SIZES["quick"]
    direct = nearortho.compound(sizes.noise_n, sizes.noise_m // 2, layers=sizes.layers, l=sizes.compound_l,
                                correction="threshold", trials=sizes.trials, seed=3)
    measured = [row["noise (threshold)"] for row in results["sections"]["compound"]["rows"]]
    np.testing.assert_allclose(measured, direct.noise_std, rtol=1e-12)


def test_report_rejects_unknown_size(tmp_path):
    from nearortho.report import run_report

    with pytest.raises(ValueError, match="size must be one of"):
        run_report(str(tmp_path), size="huge")


def test_verdicts_follow_the_numbers():
    from nearortho.report.sections import typical_interference

    def record(kind, rms_factor):
        n, m = 100, 400
        return {"kind": kind, "n": n, "m": m, "rms": rms_factor / 10, "coherence": 0.5, "inv_sqrt_n": 0.1,
                "eps_jl": np.sqrt(8 * np.log(m) / n), "welch": 0.08, "random_coherence": 0.5}

    good = [record(kind, 1.01) for kind in nearortho.KINDS]
    assert typical_interference(good).verdict.startswith("C1 holds")
    bad = good[:1] + [record("sign", 1.3)] + good[2:]
    assert typical_interference(bad).verdict.startswith("C1 does not hold")


def test_missing_matplotlib_is_one_line_before_any_work(tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import raises ImportError
    result = CliRunner().invoke(cli, ["report", "--quick", "--out", str(tmp_path / "r"), "--quiet"])
    assert result.exit_code == 1
    assert result.stderr.strip() == "error: nearortho report draws figures with matplotlib: pip install 'nearortho[plot]'"
    assert not (tmp_path / "r").exists()
