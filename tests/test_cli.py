"""The command line through click's runner: outputs agree with the API on the
same input, and every error path exits non-zero with one line on stderr."""
import json
import sys

import numpy as np
import pytest
from click.testing import CliRunner
from safetensors.numpy import save_file

import nearortho
from nearortho.cli.main import cli


# these tests compare paths bit for bit (files stream on the CPU): every call on the CPU
pytestmark = pytest.mark.usefixtures("cpu_backend")


@pytest.fixture
def run():
    def invoke(*args, ok=True):
        result = CliRunner().invoke(cli, [str(a) for a in args])
        if ok:
            assert result.exit_code == 0, result.output + result.stderr
        return result

    return invoke


def assert_one_line_error(result, words):
    assert result.exit_code == 1 and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and words in lines[0], lines


@pytest.mark.parametrize("command", sorted(cli.commands))
def test_help_of_every_command_exits_zero(run, command):
    result = run(command, "--help")
    assert result.stdout.startswith(f"Usage: cli {command} [OPTIONS]") and result.stderr == ""


def test_frame_writes_the_api_frame(run, tmp_path):
    out = tmp_path / "w.npy"
    result = run("frame", "--n", 33, "--m", 70, "--kind", "sparse", "--s", 4, "--seed", 9, "--out", out, "--json")
    assert json.loads(result.stdout)["out"] == str(out)
    assert np.array_equal(np.load(out), nearortho.frame(33, 70, "sparse", seed=9, s=4))


def test_frame_writes_structured_kinds(run, tmp_path):
    out = tmp_path / "k.npy"
    result = run("frame", "--n", 16, "--m", 144, "--kind", "kerdock", "--seed", 5, "--dtype", "float64", "--out", out,
                 "--json")
    assert json.loads(result.stdout)["kind"] == "kerdock"
    assert json.loads(result.stdout)["seed"] is None  # not used: every seed gives these rows
    assert np.array_equal(np.load(out), nearortho.frame(16, 144, "kerdock", dtype="float64"))
    assert "seed" not in run("frame", "--n", 7, "--m", 28, "--kind", "lines28", "--out", out).stdout


def test_frame_help_names_the_sizes_of_each_structured_kind(run):
    text = " ".join(run("frame", "--help").stdout.split())
    for kind, size in [("kerdock", "m <= n (n/2 + 1) for n = 4^k"), ("simplex", "m <= n + 1"),
                       ("conference", "2n - 1 a prime power = 1 mod 4, m <= 2n"), ("lines28", "n = 7, m <= 28")]:
        assert f"{kind} ({size}" in text or f"{kind} (n = 2^r; {size}" in text
    # the sizes stated are the API's
    assert [nearortho.frame_max_rows(kind, n) for kind, n in [("kerdock", 16), ("kerdock", 8), ("simplex", 9),
                                                               ("conference", 13), ("lines28", 7)]] == [
        16 * (16 // 2 + 1), 2 * 8, 9 + 1, 2 * 13, 28]
    assert "structured kinds do not use it" in text


@pytest.mark.parametrize(
    "args, words",
    [
        (["frame", "--n", "0", "--m", "5", "--out", "x.npy"], "n must be >= 1"),
        (["frame", "--n", "4", "--m", "5", "--kind", "sparse", "--s", "9", "--out", "x.npy"], "s must be <= 4"),
        (["frame", "--n", "4", "--m", "5", "--out", "x.txt"], "--out must name a .npy file"),
        (["frame", "--n", "4", "--m", "8", "--kind", "conference", "--out", "x.npy"], "nearest to 4: 3, 5"),
        (["frame", "--n", "4", "--m", "8", "--s", "2", "--out", "x.npy"], "--s is for --kind sparse; got --kind gaussian"),
    ],
)
def test_errors_are_one_line_and_exit_nonzero(run, tmp_path, monkeypatch, args, words):
    monkeypatch.chdir(tmp_path)
    result = run(*args, ok=False)
    assert result.exit_code == 1
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and words in lines[0]


def test_a_backend_that_cannot_run_is_a_one_line_error(run, tmp_path, monkeypatch):
    if nearortho.build_info()["cuda"]:
        pytest.skip("the CUDA backend runs here")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NEARORTHO_BACKEND", "cuda")  # as docs/backends.md says to pick the GPU
    result = run("frame", "--n", "8", "--m", "20", "--out", "x.npy", ok=False)
    assert_one_line_error(result, 'backend="cuda" needs the nearortho._cuda extension')
    assert isinstance(run("--debug", "frame", "--n", "8", "--m", "20", "--out", "x.npy", ok=False).exception,
                      RuntimeError)


def test_debug_shows_the_traceback(run, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run("--debug", "frame", "--n", "0", "--m", "5", "--out", "x.npy", ok=False)
    assert isinstance(result.exception, ValueError)


@pytest.fixture
def frames(tmp_path):
    W = nearortho.frame(24, 90, seed=1)
    B = nearortho.frame(24, 40, "sign", seed=2)
    np.save(tmp_path / "w.npy", W)
    np.savez(tmp_path / "w.npz", W=W, other=B)
    save_file({"W_dec": W, "B": B}, str(tmp_path / "w.safetensors"))
    save_file({"W_dec": B}, str(tmp_path / "b.safetensors"))
    return tmp_path, W, B


@pytest.mark.parametrize("source", [("w.npy",), ("w.npz", "--key", "W"),
                                    ("w.safetensors",), ("w.safetensors", "--key", "W_dec", "--layout", "rows")])
def test_stats_json_agrees_with_the_api(run, frames, source):
    folder, W, _ = frames
    args = [folder / source[0], *source[1:]]
    record = json.loads(run("stats", *args, "--json", "--threshold", "0.3").stdout)
    direct = nearortho.interference(W, thresholds=(0.3,))
    assert record["pairs"] == 90 * 89 // 2
    assert record["coherence"] == direct.coherence
    assert tuple(record["pair"]) == direct.pair
    assert record["rms"] == pytest.approx(direct.rms, rel=1e-12)
    assert record["count_above"] == {"0.3": direct.count_above[0.3]}
    assert record["welch"] == pytest.approx(direct.welch)
    assert record["hist_counts"] == direct.hist.tolist() and sum(record["hist_counts"]) == record["pairs"]
    assert len(record["hist_edges"]) == 1025 and record["hist_edges"][0] == 0 and record["hist_edges"][-1] == 1
    assert record["mmcs"] == pytest.approx(direct.mmcs, rel=1e-12)
    assert record["random_mmcs"] == pytest.approx(nearortho.reference.random_mean_max(24, 89), rel=1e-15)
    assert record["total_capacity"] == pytest.approx(direct.capacity.sum(), rel=1e-12)


def test_stats_quantiles_are_within_the_stated_distance_of_numpys(run, frames):
    folder, W, _ = frames
    record = json.loads(run("stats", folder / "w.npy", "--bins", 64, "--json").stdout)
    W64 = W.astype(np.float64)
    W64 /= np.linalg.norm(W64, axis=1, keepdims=True)
    g = np.abs((W64 @ W64.T)[np.triu_indices(len(W), 1)])
    assert record["quantiles_within"] == pytest.approx(1 / 128)  # half of one of 64 bins on [0, 1]
    for q, name in ((0.5, "median_abs"), (0.99, "q99_abs")):
        want = np.quantile(g, q, method="inverted_cdf")
        assert abs(record[name] - want) <= record["quantiles_within"] + 1e-6, name


def test_stats_against_another_file_gives_mmcs_and_topk(run, frames):
    folder, W, B = frames
    record = json.loads(run("stats", folder / "w.npy", "--other", folder / "w.npz", "--other-key", "other",
                            "--topk", 2, "--json").stdout)
    direct = nearortho.interference(W, B, topk=2)
    assert record["m2"] == 40 and record["pairs"] == 90 * 40
    assert record["mmcs"] == pytest.approx(direct.mmcs, rel=1e-12)
    assert np.array_equal(record["topk_index"], direct.topk_index)


def test_stats_table_gives_the_shape_of_long_arrays(run, frames):
    folder, _, _ = frames
    out = run("stats", folder / "w.npy", "--topk", 3, "--quiet").stdout
    assert "[90 x 3 values]" in out  # top-k lists: one row of k per feature
    assert "[90 values]" not in out


def test_other_reuses_key_unless_other_key(run, frames):
    folder, W, B = frames
    direct = nearortho.interference(W, B).mmcs
    for extra in ([], ["--other-key", "W_dec"]):
        result = run("stats", folder / "w.safetensors", "--key", "W_dec", "--other", folder / "b.safetensors",
                     *extra, "--json")
        assert json.loads(result.stdout)["mmcs"] == pytest.approx(direct, rel=1e-12)
    result = run("stats", folder / "w.safetensors", "--key", "B", "--other", folder / "b.safetensors", ok=False)
    assert "key 'B' is not in" in result.stderr


def test_sae_directory_and_the_orientation_warning(run, frames):
    folder, W, _ = frames
    sae = folder / "sae"
    sae.mkdir()
    (sae / "cfg.json").write_text(json.dumps({"d_in": 24, "d_sae": 90}))
    save_file({"W_dec": W, "W_enc": np.ascontiguousarray(W.T)}, str(sae / "sae_weights.safetensors"))
    result = run("stats", sae, "--json")
    assert json.loads(result.stdout)["coherence"] == nearortho.interference(W).coherence
    assert result.stderr == ""
    result = run("stats", sae, "--layout", "columns", "--json")
    assert json.loads(result.stdout)["m"] == 24
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("warning: ") and "--layout rows" in lines[0]


def test_stats_table_for_people(run, frames):
    folder, W, _ = frames
    out = run("stats", folder / "w.npy").stdout
    assert "coherence" in out and "welch" in out


@pytest.mark.parametrize(
    "args, words",
    [
        (["stats", "missing.npy"], "no such file"),
        (["stats", "w.npz"], "choose one with key: W, other"),
        (["stats", "w.safetensors", "--key", "nope"], "key 'nope' is not in"),
        (["stats", "nan.npy"], "NaN"),
        (["stats", "ints.npy"], "float32 or float64"),
        (["stats", "w.npy", "--topk", "90"], "topk"),
        (["stats", "w.npy", "--threshold", "-1"], "--threshold[0] must be >= 0"),  # the API's thresholds[0]
        (["stats", "w.npy", "--precision", "tf32"], "needs the CUDA backend's tensor cores"),
    ],
)
def test_stats_errors(run, frames, monkeypatch, args, words):
    folder, W, _ = frames
    monkeypatch.chdir(folder)
    bad = W.copy()
    bad[3, 4] = np.nan
    np.save(folder / "nan.npy", bad)
    np.save(folder / "ints.npy", np.ones((4, 3), dtype=np.int32))
    assert_one_line_error(run(*args, ok=False), words)


def test_simulate_json_agrees_with_the_api(run, frames):
    folder, W, _ = frames
    record = json.loads(run("simulate", folder / "w.npy", "--l", 3, "--trials", 50, "--seed", 4,
                            "--amplitude", "uniform:2", "--json").stdout)
    direct = nearortho.simulate(W, 3, trials=50, seed=4, amplitude=("uniform", 2.0))
    assert record["inactive_std"] == pytest.approx(direct.inactive_std, rel=1e-12)
    assert record["false_positive_rate"] == direct.false_positive_rate


def test_simulate_with_levels_reports_the_level_error_rate(run):
    # --amplitude levels:K:A runs the nearest-level decoder (P5); its rate is the point of asking
    args = ("simulate", "--n", 24, "--m", 90, "--l", 3, "--trials", 200, "--seed", 2, "--amplitude", "levels:4:1")
    record = json.loads(run(*args, "--json").stdout)
    direct = nearortho.simulate(nearortho.frame(24, 90, seed=2), 3, trials=200, seed=2, amplitude=("levels", 4, 1.0))
    assert 0 < record["level_error_rate"] == direct.level_error_rate
    assert "level_error_rate" in run(*args).stdout  # the table too
    assert "level_error_rate" not in json.loads(run(*args[:-2], "--json").stdout)


def test_simulate_on_a_generated_frame(run):
    record = json.loads(run("simulate", "--n", 32, "--m", 100, "--kind", "sign", "--l", 2, "--trials", 20,
                            "--seed", 5, "--json").stdout)
    W = nearortho.frame(32, 100, "sign", seed=5)
    assert record["inactive_std"] == pytest.approx(nearortho.simulate(W, 2, trials=20, seed=5).inactive_std,
                                                   rel=1e-12)


def test_capacity_reproduces_the_orthogonal_counter_example(run):
    record = json.loads(run("capacity", "--n", 100, "--m", 100, "--kind", "orthogonal", "--trials", 20,
                            "--json").stdout)
    assert record["l_max"] == 100
    assert record["l_max_jl"] == pytest.approx(100 / (8 * np.log(100)))


def test_capacity_takes_the_amplitudes_decoder_and_confidence_the_api_takes(run):
    args = dict(amplitude=("uniform", 2.0), threshold=0.7, signed=True, confidence=0.9, trials=20, seed=3)
    record = json.loads(run("capacity", "--n", 128, "--m", 256, "--amplitude", "uniform:2", "--threshold", 0.7,
                            "--signed", "--confidence", 0.9, "--trials", 20, "--seed", 3, "--json").stdout)
    api = nearortho.capacity(nearortho.frame(128, 256, seed=3), **args)
    assert (record["l_max"], record["l_max_ci"], record["confidence"]) == (api.l_max, list(api.l_max_ci), 0.9)
    assert record["false_positive_rate"] == api.false_positive_rate
    assert api.l_max != nearortho.capacity(nearortho.frame(128, 256, seed=3), trials=20, seed=3).l_max  # they count


def test_theory_broadcasts_over_lists(run):
    records = json.loads(run("theory", "--n", "64,256", "--m", "1000", "--l", "4", "--json").stdout)
    assert [r["n"] for r in records] == [64, 256]
    assert records[1]["eps_jl"] == pytest.approx(np.sqrt(8 * np.log(1000) / 256))
    assert records[0]["noise_rms"] == pytest.approx(2 / 8)


@pytest.mark.parametrize(
    "args, words",
    [
        (["simulate", "--l", "3"], "give a frame file PATH, or --n and --m"),
        (["simulate", "w.npy", "--n", "3", "--m", "4", "--l", "1"], "either PATH or --n/--m"),
        (["simulate", "w.npy", "--l", "91"], "l must be <= 90"),
        (["simulate", "w.npy", "--l", "2", "--amplitude", "levels:3"], "--amplitude must be"),
        (["capacity", "w.npy", "--error-rate", "1.5"], "--error-rate must be < 1.0, got 1.5"),
        (["theory", "--n", "64,x", "--m", "100"], "--n must be a comma-separated list"),
    ],
)
def test_simulation_errors(run, frames, monkeypatch, args, words):
    folder, _, _ = frames
    monkeypatch.chdir(folder)
    assert_one_line_error(run(*args, ok=False), words)


def test_frame_larger_than_the_disk_is_refused(run, tmp_path):
    result = run("frame", "--n", 10**6, "--m", 10**9, "--out", tmp_path / "huge.npy", ok=False)
    assert result.exit_code == 1
    assert "needs" in result.stderr and "GiB" in result.stderr
    assert not (tmp_path / "huge.npy").exists()


def test_a_failed_frame_run_leaves_an_existing_file_alone(run, tmp_path):
    out = tmp_path / "w.npy"
    np.save(out, np.arange(6.0).reshape(2, 3))
    for bad in (["--kind", "sparse", "--s", "9"], ["--threads", "0"]):
        result = run("frame", "--n", 4, "--m", 5, *bad, "--out", out, ok=False)
        assert result.exit_code == 1
        assert np.array_equal(np.load(out), np.arange(6.0).reshape(2, 3))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w.npy"]


@pytest.mark.parametrize("suffix", [".csv", ".npz", ".parquet"])
def test_stats_features_table_against_the_oracle(run, frames, suffix):
    if suffix == ".parquet":
        pytest.importorskip("pyarrow")
    folder, W, _ = frames
    W = W * np.linspace(0.5, 2.0, len(W), dtype=np.float32)[:, None]  # rows of unequal norm
    np.save(folder / "scaled.npy", W)
    out = folder / f"features{suffix}"
    run("stats", folder / "scaled.npy", "--topk", 2, "--features", out, "--json")
    table = read_table(out)
    unit = W.astype(np.float64) / np.linalg.norm(W.astype(np.float64), axis=1, keepdims=True)
    G = unit @ unit.T
    np.fill_diagonal(G, 0.0)
    assert np.array_equal(table["index"], np.arange(90))
    np.testing.assert_allclose(table["norm"], np.linalg.norm(W.astype(np.float64), axis=1), rtol=1e-12)
    np.testing.assert_allclose(table["max_abs_cos"], np.abs(G).max(axis=1), atol=1e-6)
    assert np.array_equal(table["partner"], np.abs(G).argmax(axis=1))
    np.testing.assert_allclose(table["sum_sq_cos"], (G**2).sum(axis=1), rtol=1e-5)
    np.testing.assert_allclose(table["capacity"], 1 / (1 + (G**2).sum(axis=1)), rtol=1e-5)
    signed = np.where(np.eye(90, dtype=bool), -np.inf, unit @ unit.T)
    np.testing.assert_allclose(table["max_cos"], signed.max(axis=1), atol=1e-6)
    assert np.array_equal(table["max_cos_partner"], signed.argmax(axis=1))
    assert np.array_equal(table["topk_partner_1"], table["partner"])
    np.testing.assert_allclose(np.abs(table["topk_cos_2"]), np.sort(np.abs(G), axis=1)[:, -2], atol=1e-6)


def read_table(path):
    if path.suffix == ".npz":
        with np.load(path) as archive:
            return dict(archive)
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        return {name: np.asarray(values) for name, values in pq.read_table(path).to_pydict().items()}
    names = path.read_text().splitlines()[0].split(",")
    data = np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)
    return {name: data[:, c] for c, name in enumerate(names)}


def test_match_writes_the_api_pairs(run, frames):
    folder, W, B = frames
    out = folder / "pairs.csv"
    record = json.loads(run("match", folder / "w.npy", folder / "w.npz", "--other-key", "other", "--out", out,
                            "--json").stdout)
    direct = nearortho.match(W, B)
    assert record["matched"] == 40 and record["unmatched_a"] == 50 and record["unmatched_b"] == 0
    assert record["certified"] is direct.certified and record["mean"] == pytest.approx(direct.mean, rel=1e-12)
    assert record["fraction_above"] == {str(t): f for t, f in direct.fraction_above.items()}
    table = read_table(out)
    assert np.array_equal(table["a"], direct.a_index) and np.array_equal(table["b"], direct.b_index)
    np.testing.assert_allclose(table["cosine"], direct.cosine, rtol=1e-15)


@pytest.mark.parametrize(
    "args, words",
    [
        (["match", "w.npy", "w.npz"], "choose one with key: W, other"),
        (["match", "w.npy", "w.npy", "--out", "pairs.txt"], "--out must end in one of .csv, .npz, .parquet"),
        (["match", "w.npy", "w.npy", "--k", "0"], "k must be >= 1"),
        (["match", "w.npy", "w.npy", "--precision", "bf16"], "needs the CUDA backend's tensor cores"),
        (["pairs", "w.npy", "--threshold", "0.5", "--precision", "tf32"], "needs the CUDA backend's tensor cores"),
        (["stats", "w.npy", "--features", "f.json"], "--features must end in one of"),
    ],
)
def test_match_and_features_errors(run, frames, monkeypatch, args, words):
    folder, _, _ = frames
    monkeypatch.chdir(folder)
    assert_one_line_error(run(*args, ok=False), words)


def test_parquet_without_pyarrow_says_what_to_install(run, frames, monkeypatch):
    folder, _, _ = frames
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    result = run("stats", folder / "w.npy", "--features", folder / "f.parquet", ok=False)
    assert result.stderr.strip() == f'error: --features {folder / "f.parquet"}: parquet needs pyarrow: ' \
                                    'pip install "nearortho[parquet]"'
    assert not (folder / "f.parquet").exists()


def test_optimize_writes_the_best_frame_and_reports_it(run, tmp_path):
    out = tmp_path / "w.npy"
    result = run("optimize", "--n", 3, "--m", 6, "--seconds", 30, "--out", out, "--json")
    record = json.loads(result.stdout)
    W = np.load(out)
    assert W.shape == (6, 3) and record["stopped"] == "bound"
    assert record["coherence"] == pytest.approx(nearortho.interference(W).coherence, abs=1e-12)
    assert record["best_bound"] == pytest.approx(1 / np.sqrt(5))
    again = run("optimize", "--init", out, "--max-iter", 5, "--out", tmp_path / "w2.npy", "--json")
    assert json.loads(again.stdout)["coherence"] <= record["coherence"] + 1e-9


def test_ctrl_c_in_optimize_writes_the_best_frame_so_far(run, tmp_path, monkeypatch):
    # a report at every step (not every 0.25 s, which a fast machine can converge
    # within): Ctrl-C arrives at the 20th, mid-descent
    module = sys.modules["nearortho.optimize"]
    monkeypatch.setattr(module, "_PROGRESS_SECONDS", 0.0)
    real = module.optimize

    def interrupted_at_the_20th_report(*args, progress, **kwargs):
        calls = []

        def report(state):
            progress(state)
            calls.append(state)
            if len(calls) == 20:
                raise KeyboardInterrupt

        return real(*args, progress=report, **kwargs)

    monkeypatch.setattr(module, "optimize", interrupted_at_the_20th_report)
    out = tmp_path / "w.npy"
    result = run("optimize", "--n", 8, "--m", 101, "--max-iter", 10**7, "--out", out, "--json", ok=False)
    assert result.exit_code == 130
    record = json.loads(result.stdout)
    assert record["stopped"] == "interrupted" and record["iterations"] > 0
    assert record["coherence"] == pytest.approx(nearortho.interference(np.load(out)).coherence, abs=1e-12)


def test_optimize_kind_auto_starts_from_kerdock_bases(run, tmp_path):
    out = tmp_path / "w.npy"
    record = json.loads(run("optimize", "--n", 16, "--m", 144, "--kind", "auto", "--max-iter", 10, "--out", out,
                            "--json").stdout)
    assert record["start"] == "kerdock" and record["stopped"] == "bound"
    assert record["coherence"] == pytest.approx(0.25, abs=1e-6) == nearortho.interference(np.load(out)).coherence


def test_optimize_help_explains_every_field_it_prints(run, tmp_path):
    record = json.loads(run("optimize", "--n", 3, "--m", 4, "--max-iter", 5, "--out", tmp_path / "w.npy",
                            "--json").stdout)
    text = run("optimize", "--help").stdout
    assert [key for key in record if key not in text] == []


def test_optimize_restarts_run_as_in_the_api(run, tmp_path):
    out = tmp_path / "w.npy"
    record = json.loads(run("optimize", "--n", 4, "--m", 8, "--restarts", 2, "--max-iter", 20000, "--seconds", 60,
                            "--out", out, "--json").stdout)
    api = nearortho.optimize((4, 8), restarts=2, max_iter=20000, max_seconds=60)
    assert record["starts"] == len(api.starts) == 3 and record["start"] == api.start
    np.testing.assert_array_equal(np.load(out), api.frame)


@pytest.mark.parametrize("args, words", [
    (["optimize", "--n", "3", "--out", "x.npy"], "either --n and --m, or --init"),
    (["optimize", "--n", "3", "--m", "1", "--out", "x.npy"], "m must be >= 2"),
    (["optimize", "--n", "3", "--m", "6", "--out", "x.txt"], "--out must name a .npy file"),
    (["optimize", "--n", "3", "--m", "6", "--restarts", "-1", "--out", "x.npy"], "restarts must be >= 0"),
    (["optimize", "--n", "3", "--m", "6", "--seconds", "-1", "--out", "x.npy"], "--seconds must be >= 0"),
    (["optimize", "--n", "3", "--m", "6", "--seconds", "nan", "--out", "x.npy"], "--seconds must be finite"),
    (["optimize", "--init", "x.npy", "--restarts", "1", "--out", "y.npy"], "--restarts chooses a fresh start"),
    (["optimize", "--init", "x.npy", "--kind", "auto", "--seed", "0", "--out", "y.npy"],
     "--kind and --seed choose a fresh start (--n and --m); with --init the start is the file"),
])
def test_optimize_errors_are_one_line(run, tmp_path, monkeypatch, args, words):
    monkeypatch.chdir(tmp_path)
    result = run(*args, ok=False)
    assert result.exit_code == 1 and words in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_stats_html_page_for_a_dictionary(run, frames):
    pytest.importorskip("matplotlib")
    folder, W, _ = frames
    W = W.copy()
    W[17] *= 1e-5  # a dead feature
    np.save(folder / "dead.npy", W)
    page = folder / "page.html"
    record = json.loads(run("stats", folder / "dead.npy", "--html", page, "--json").stdout)
    text = page.read_text()
    assert text.count("data:image/png;base64,") == 3 and "src='http" not in text
    assert "1 rows have a norm below 0.001 x the median: 17" in text
    i, j = record["pair"]
    assert f"<tr><td>{i}</td><td>{j}</td><td>{record['coherence']:.4g}</td></tr>" in text  # the top pair first
    assert f"{nearortho.reference.random_mean_max(24, 89):.4g}" in text
    result = run("stats", folder / "w.npy", "--other", folder / "w.npy", "--html", page, ok=False)
    assert_one_line_error(result, "--html describes one dictionary")


def test_stats_raw_leaves_out_the_unit_vector_references(run, tmp_path):
    W = 16 * nearortho.frame(24, 89, seed=7, dtype="float64")  # rows of norm 16
    np.save(tmp_path / "w.npy", W)
    record = json.loads(run("stats", tmp_path / "w.npy", "--raw", "--json", "--quiet").stdout)
    G = np.abs(W @ W.T)[np.triu_indices(89, 1)]
    assert record["coherence"] == pytest.approx(G.max(), rel=1e-12)  # the raw inner products
    assert not {"welch", "best_bound", "random_coherence", "inv_sqrt_n", "eps_jl", "random_mmcs"} & set(record)
    cosines = json.loads(run("stats", tmp_path / "w.npy", "--json", "--quiet").stdout)
    assert cosines["welch"] == pytest.approx(nearortho.welch_bound(24, 89))


def test_stats_html_page_for_unit_rows_in_float64(run, tmp_path):
    """Their norms differ by an ulp or two, too little a range for numpy's 100 bins of the
    norm plot: the page must still be written."""
    pytest.importorskip("matplotlib")
    np.save(tmp_path / "unit.npy", nearortho.frame(16, 200, seed=3, dtype="float64"))
    run("stats", tmp_path / "unit.npy", "--html", tmp_path / "page.html", "--quiet")
    assert (tmp_path / "page.html").read_text().count("data:image/png;base64,") == 3


def _page_axes(W, monkeypatch, tmp_path):
    """The axes the dictionary page draws for W (drawn, not rendered)."""
    pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure

    from nearortho import dictionary_page

    axes = []

    def draw_only(draw):
        axes.append(Figure(figsize=(7, 3.5), dpi=100).add_subplot())
        draw(axes[-1])
        return ""

    monkeypatch.setattr(dictionary_page, "_png", draw_only)
    dictionary_page.write_dictionary_page(str(tmp_path / "page.html"), W, nearortho.interference(W), "page")
    return axes


def test_html_pairs_axis_spans_the_counts_with_a_duplicate_feature(tmp_path, monkeypatch):
    """A duplicate pair is one pair at |cos| = 1, where a random frame expects about 1e-300:
    the log axis must still span from that one pair to all of them, not hundreds of decades."""
    W = nearortho.frame(32, 500, seed=4)
    W[7] = W[3]
    pairs_axis = _page_axes(W, monkeypatch, tmp_path)[0]
    bottom, top = pairs_axis.get_ylim()
    assert 0.1 <= bottom <= 1 and 500 * 499 / 2 <= top <= 100 * 500 * 499 / 2
    values, edges, _ = pairs_axis.patches[0].get_data()
    assert values[-1] == 1 and edges[-1] == pytest.approx(1.0)  # the duplicate, drawn out to |cos| = 1


@pytest.mark.parametrize("kind", ["gaussian", "sign"])
def test_html_pairs_at_least_x_against_numpy(tmp_path, monkeypatch, kind):
    """The page's curve is how many pairs reach each |cos| (numpy's count, in float64), also
    for a sign frame, whose cosines are multiples of 2 / n: per bin, they were spikes in one
    bin of tens, far above the random frame's curve; as counts at or above x they follow it.
    Its reference is the closed form for n = 3: |<u, v>| is uniform on [0, 1] (Archimedes)."""
    n, m = (3, 400) if kind == "gaussian" else (64, 400)
    W = nearortho.frame(n, m, kind, seed=6, dtype="float64")
    pairs_axis = _page_axes(W, monkeypatch, tmp_path)[0]
    values, edges, _ = pairs_axis.patches[0].get_data()
    G = np.sort(np.abs(W @ W.T)[np.triu_indices(m, 1)])
    lower = edges[:-1]
    surely = len(G) - np.searchsorted(G, lower + 1e-9)  # pairs >= x; within 1e-9 of an edge: either bin
    maybe = len(G) - np.searchsorted(G, lower - 1e-9)
    assert np.all((surely <= values) & (values <= maybe))
    x, expected = pairs_axis.lines[0].get_xydata().T
    if kind == "gaussian":
        np.testing.assert_allclose(expected, len(G) * (1 - x), rtol=1e-9, atol=1e-9)
    else:
        body = expected >= 100  # where the random frame expects 100 pairs or more
        assert body.sum() > 10 and np.all(np.abs(np.log(values[body] / expected[body])) < np.log(3))


def test_html_feature_maxima_show_a_single_duplicate(tmp_path, monkeypatch):
    """Near-duplicate features are what a researcher looks for on the page: a bin holding
    one or two features must stand out beside bins holding hundreds (a linear axis drew
    them a fraction of a pixel high)."""
    W = nearortho.frame(32, 2000, seed=5)
    W[11] = W[2] + 0.01 * W[3]  # |cos| about 0.99995
    maxima = _page_axes(W, monkeypatch, tmp_path)[1]
    G = np.abs(W.astype(np.float64) @ W.T.astype(np.float64))
    np.fill_diagonal(G, 0)
    counts = np.histogram(G.max(1), bins=100, range=(0.0, 1.0))[0]  # numpy's per-feature maxima
    assert counts[-1] == 2 and counts.max() > 100
    assert maxima.get_ylim()[1] >= counts.max()  # (also settles the autoscaled limits)
    (_, bottom), (_, top) = maxima.transAxes.transform([(0, 0), (0, 1)])
    _, one = maxima.transData.transform((0.5, 1.0))
    assert (one - bottom) / (top - bottom) > 0.05  # one feature: at least 5% of the axis height


def test_other_of_another_width_names_both_files(run, frames):
    folder, W, _ = frames
    np.save(folder / "wide.npy", nearortho.frame(25, 30, seed=3))
    for command in (["stats"], ["pairs", "--threshold", 0.5]):
        result = run(*command, folder / "w.npy", "--other", folder / "wide.npy", ok=False)
        assert_one_line_error(result, f"--other {folder / 'wide.npy'} holds rows of length 25, "
                                      f"{folder / 'w.npy'} rows of length 24")


def test_pairs_command_writes_the_api_pairs(run, frames):
    folder, W, B = frames
    out = folder / "pairs.npz"
    record = json.loads(run("pairs", folder / "w.npy", "--threshold", 0.5, "--out", out, "--json").stdout)
    i, j, g = nearortho.pairs(W, 0.5)
    assert record["count"] == len(i) > 0 and record["largest"][0] == [int(i[0]), int(j[0]), float(g[0])]
    table = read_table(out)
    assert np.array_equal(table["i"], i) and np.array_equal(table["j"], j) and np.array_equal(table["cosine"], g)
    record = json.loads(run("pairs", folder / "w.npy", "--other", folder / "w.npz", "--other-key", "other",
                            "--threshold", 0.5, "--signed", "--json").stdout)
    assert record["count"] == len(nearortho.pairs(W, 0.5, B, signed=True)[0])
    result = run("pairs", folder / "w.npy", "--threshold", 0.1, "--max-pairs", 5, ok=False)
    assert_one_line_error(result, "pairs have |cos| >= 0.1, more than --max-pairs = 5; raise --max-pairs")


@pytest.mark.parametrize("suffix, writer", [(".csv", "savetxt"), (".npz", "savez")])
def test_a_table_write_that_fails_midway_keeps_the_file_it_would_replace(run, frames, monkeypatch, suffix, writer):
    folder, _, _ = frames
    out = folder / f"pairs{suffix}"
    out.write_text("kept")
    before = sorted(p.name for p in folder.iterdir())

    def fails_midway(path, *args, **kwargs):  # a full disk, or Ctrl-C, after some rows
        with open(path, "w") as handle:
            handle.write("i,j,cosine\n1,")
        raise OSError("No space left on device")

    monkeypatch.setattr(np, writer, fails_midway)
    result = run("pairs", folder / "w.npy", "--threshold", 0.5, "--out", out, ok=False)
    assert_one_line_error(result, "No space left on device")
    assert out.read_text() == "kept" and sorted(p.name for p in folder.iterdir()) == before


# BAD stands for the broken file, GOOD for a sound one: where a command takes two,
# the broken one comes second, so the message must follow the file, not the argument
@pytest.mark.parametrize("command", [["stats", "BAD"], ["pairs", "BAD", "--threshold", "0.5"],
                                     ["stats", "GOOD", "--other", "BAD"], ["match", "GOOD", "BAD"]])
@pytest.mark.parametrize("defect, words", [("nan", "contains NaN or Inf (row 5)"), ("zero", "has a zero row (row 5)")])
def test_bad_rows_are_reported_with_the_file_name(run, frames, command, defect, words):
    folder, W, _ = frames
    bad = W.copy()
    bad[5] = np.nan if defect == "nan" else 0.0
    np.save(folder / "bad.npy", bad)
    files = {"BAD": str(folder / "bad.npy"), "GOOD": str(folder / "w.npy")}
    result = run(*[files.get(word, word) for word in command], ok=False)
    assert_one_line_error(result, f"{files['BAD']} {words}")
