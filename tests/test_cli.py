"""The command line through click's runner: outputs agree with the API on the
same input, and every error path exits non-zero with one line on stderr."""
import json

import numpy as np
import pytest
from click.testing import CliRunner

import nearortho
from nearortho.cli.main import cli


@pytest.fixture
def run():
    def invoke(*args, ok=True):
        result = CliRunner().invoke(cli, [str(a) for a in args])
        if ok:
            assert result.exit_code == 0, result.output + result.stderr
        return result

    return invoke


def test_frame_writes_the_api_frame(run, tmp_path):
    out = tmp_path / "w.npy"
    result = run("frame", "--n", 33, "--m", 70, "--kind", "sparse", "--s", 4, "--seed", 9, "--out", out, "--json")
    assert json.loads(result.stdout)["out"] == str(out)
    assert np.array_equal(np.load(out), nearortho.frame(33, 70, "sparse", seed=9, s=4))


@pytest.mark.parametrize(
    "args, words",
    [
        (["frame", "--n", "0", "--m", "5", "--out", "x.npy"], "n must be >= 1"),
        (["frame", "--n", "4", "--m", "5", "--kind", "sparse", "--s", "9", "--out", "x.npy"], "s must be <= 4"),
        (["frame", "--n", "4", "--m", "5", "--out", "x.txt"], "--out must name a .npy file"),
    ],
)
def test_errors_are_one_line_and_exit_nonzero(run, tmp_path, monkeypatch, args, words):
    monkeypatch.chdir(tmp_path)
    result = run(*args, ok=False)
    assert result.exit_code == 1
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and words in lines[0]


def test_debug_shows_the_traceback(run, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run("--debug", "frame", "--n", "0", "--m", "5", "--out", "x.npy", ok=False)
    assert isinstance(result.exception, ValueError)
