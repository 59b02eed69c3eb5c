"""nearortho.load reads files and SAE directories as researchers save them; the
orientation follows the key or cfg.json; every error path names its cause."""
import json

import numpy as np
import pytest
from safetensors.numpy import save_file

import nearortho
from nearortho import _validate
from nearortho.io import load
from nearortho.row_file import NotStreamable

D_IN, D_SAE = 5, 11


@pytest.fixture
def matrix():
    return np.random.default_rng(0).standard_normal((7, 5)).astype(np.float32)


@pytest.fixture
def sae():
    """Weights shaped as SAELens saves them: W_dec is (d_sae, d_in)."""
    rng = np.random.default_rng(1)
    return {"W_enc": rng.standard_normal((D_IN, D_SAE)).astype(np.float32),
            "W_dec": rng.standard_normal((D_SAE, D_IN)).astype(np.float32),
            "b_enc": np.zeros(D_SAE, np.float32), "b_dec": np.zeros(D_IN, np.float32)}


def test_npy_is_memory_mapped(tmp_path, matrix):
    path = tmp_path / "w.npy"
    np.save(path, matrix)
    loaded = load(path)
    assert isinstance(loaded, np.memmap)
    assert np.array_equal(loaded, matrix)
    with pytest.warns(UserWarning, match="5 rows of length 7"):
        assert np.array_equal(load(path, layout="columns"), matrix.T)


def test_npz_single_and_keyed(tmp_path, matrix):
    np.savez(tmp_path / "one.npz", W=matrix)
    assert np.array_equal(load(tmp_path / "one.npz"), matrix)
    np.savez(tmp_path / "two.npz", W=matrix, b=matrix[:, :2], bias=matrix[0])
    assert np.array_equal(load(tmp_path / "two.npz", "W"), matrix)
    with pytest.raises(KeyError, match="several arrays; choose one with key: W, b, bias"):
        load(tmp_path / "two.npz")
    with pytest.raises(KeyError, match="key 'x' is not in .*its keys are: W, b, bias"):
        load(tmp_path / "two.npz", "x")
    np.savez(tmp_path / "bias.npz", W=matrix, bias=matrix[0])
    assert np.array_equal(load(tmp_path / "bias.npz"), matrix)  # the only 2-D array


def test_saelens_file_defaults_to_w_dec_rows(tmp_path, sae):
    path = tmp_path / "sae_weights.safetensors"
    save_file(sae, str(path))
    assert np.array_equal(load(path), sae["W_dec"])
    assert np.array_equal(load(path, "W_enc", layout="columns"), sae["W_enc"].T)
    with pytest.raises(KeyError, match="its keys are: W_dec, W_enc, b_dec, b_enc"):
        load(path, "W_x")
    with pytest.raises(ValueError, match="'b_dec' in .* must be 2-D"):
        load(path, "b_dec")


def test_the_readme_mistake_is_warned_about(tmp_path, sae):
    # the old README transposed SAELens's W_dec: 5 vectors in R^11, n and m swapped
    path = tmp_path / "sae_weights.safetensors"
    save_file(sae, str(path))
    with pytest.warns(UserWarning, match=r"5 rows of length 11.*layout='rows' \(CLI: --layout rows\)"):
        load(path, layout="columns")


def _write_directory(folder, weights, config, name):
    folder.mkdir()
    (folder / "cfg.json").write_text(json.dumps(config))
    save_file(weights, str(folder / name))
    return folder


def test_saelens_directory(tmp_path, sae):
    folder = _write_directory(tmp_path / "blocks.3", sae, {"d_in": D_IN, "d_sae": D_SAE},
                              "sae_weights.safetensors")
    assert np.array_equal(load(folder), sae["W_dec"])
    with pytest.raises(FileNotFoundError, match="without cfg.json .* subdirectories hold one: blocks.3"):
        load(tmp_path)


def test_sparsify_directory(tmp_path):
    rng = np.random.default_rng(2)
    weights = {"encoder.weight": rng.standard_normal((D_SAE, D_IN)).astype(np.float32),
               "encoder.bias": np.zeros(D_SAE, np.float32),
               "W_dec": rng.standard_normal((D_SAE, D_IN)).astype(np.float32), "b_dec": np.zeros(D_IN, np.float32)}
    folder = _write_directory(tmp_path / "layers.6", weights,
                              {"expansion_factor": 2, "num_latents": D_SAE, "k": 3, "d_in": D_IN}, "sae.safetensors")
    assert np.array_equal(load(folder), weights["W_dec"])


def test_cfg_d_in_sets_the_orientation(tmp_path):
    stored = np.random.default_rng(3).standard_normal((D_IN, D_SAE)).astype(np.float32)  # columns are features
    folder = _write_directory(tmp_path / "sae", {"dictionary": stored}, {"d_in": D_IN}, "sae.safetensors")
    assert np.array_equal(load(folder), stored.T)
    assert np.array_equal(load(folder, layout="columns"), stored.T)
    (folder / "cfg.json").write_text(json.dumps({"d_in": 4}))
    with pytest.raises(ValueError, match=r"shape \(5, 11\), but cfg.json says d_in = 4"):
        load(folder)


def test_directory_errors(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="without cfg.json"):
        load(tmp_path / "empty")
    (tmp_path / "empty" / "cfg.json").write_text("{}")
    with pytest.raises(FileNotFoundError, match="neither sae_weights.safetensors nor sae.safetensors"):
        load(tmp_path / "empty")
    (tmp_path / "empty" / "cfg.json").write_text("[1, 2")
    np.save(tmp_path / "x.npy", np.ones((3, 2)))
    (tmp_path / "empty" / "sae.safetensors").write_bytes(b"")
    with pytest.raises(ValueError, match="is not a JSON object"):
        load(tmp_path / "empty")


def test_float16_is_upcast(tmp_path, matrix):
    np.save(tmp_path / "h.npy", matrix.astype(np.float16))
    loaded = load(tmp_path / "h.npy")
    assert loaded.dtype == np.float32
    np.testing.assert_array_equal(loaded, matrix.astype(np.float16).astype(np.float32))


def test_torch_flat_bfloat16_state_dict(tmp_path, sae):
    torch = pytest.importorskip("torch")
    path = tmp_path / "sae.pt"
    torch.save({k: torch.from_numpy(v).to(torch.bfloat16) for k, v in sae.items()}, path)
    loaded = load(path)
    assert loaded.dtype == np.float32
    expected = torch.from_numpy(sae["W_dec"]).to(torch.bfloat16).float().numpy()  # bf16 widens exactly
    assert np.array_equal(loaded, expected)


def test_torch_nested_checkpoint(tmp_path, sae):
    torch = pytest.importorskip("torch")
    path = tmp_path / "checkpoint.pth"
    torch.save({"step": 1200, "state_dict": {k: torch.from_numpy(v) for k, v in sae.items()},
                "optimizer": {"lr": 1e-3}}, path)
    assert np.array_equal(load(path), sae["W_dec"])
    assert np.array_equal(load(path, "state_dict.W_dec"), sae["W_dec"])
    with pytest.raises(KeyError, match="its keys are: state_dict.W_dec, state_dict.W_enc"):
        load(path, "W_dec")


def test_dictionary_learning_ae_pt_is_transposed(tmp_path):
    # dictionary_learning's AutoEncoder: decoder = nn.Linear(d_sae, d_in), weight (d_in, d_sae)
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    decoder = rng.standard_normal((D_IN, D_SAE)).astype(np.float32)
    path = tmp_path / "ae.pt"
    torch.save({"bias": torch.zeros(D_IN), "encoder.weight": torch.from_numpy(decoder.T.copy()),
                "encoder.bias": torch.zeros(D_SAE), "decoder.weight": torch.from_numpy(decoder)}, path)
    assert np.array_equal(load(path), decoder.T)
    with pytest.warns(UserWarning, match="layout='columns'"):
        assert np.array_equal(load(path, layout="rows"), decoder)


def test_torch_single_tensor(tmp_path, matrix):
    torch = pytest.importorskip("torch")
    torch.save(torch.from_numpy(matrix), tmp_path / "w.pt")
    assert np.array_equal(load(tmp_path / "w.pt"), matrix)
    with pytest.raises(ValueError, match="holds a single tensor"):
        load(tmp_path / "w.pt", "W")


@pytest.mark.parametrize(
    "name, content, error, words",
    [
        ("w.txt", None, ValueError, "path must be a directory or end in one of"),
        ("missing.npy", None, FileNotFoundError, "no such file"),
        ("ints.npy", np.arange(6).reshape(2, 3), TypeError, "float32 or float64"),
        ("vec.npy", np.ones(3), ValueError, "must be 2-D"),
    ],
)
def test_errors(tmp_path, name, content, error, words):
    path = tmp_path / name
    if content is not None:
        np.save(path, content)
    with pytest.raises(error, match=words):
        load(path)


def test_files_that_are_not_what_they_say(tmp_path):
    for name in ("bad.npz", "bad.pt"):
        (tmp_path / name).write_bytes(b"not an archive at all")
    with pytest.raises(ValueError, match="bad.npz is not an .npz file"):
        load(tmp_path / "bad.npz")
    pytest.importorskip("torch")
    with pytest.raises(ValueError, match="bad.pt is not a torch checkpoint that loads with weights_only=True"):
        load(tmp_path / "bad.pt")


def test_argument_errors(tmp_path, matrix):
    np.save(tmp_path / "w.npy", matrix)
    with pytest.raises(ValueError, match="key is not used"):
        load(tmp_path / "w.npy", "W")
    with pytest.raises(ValueError, match="layout must be one of auto, rows, columns, got 'cols'"):
        load(tmp_path / "w.npy", layout="cols")
    with pytest.raises(TypeError, match="key must be a string"):
        load(tmp_path / "w.npy", key=3)


def test_bfloat16_safetensors_is_widened_exactly(tmp_path):
    # Written by hand from the format's definition: header size, JSON header, data.
    values = np.array([[1.0, -2.5, 0.15625], [3.0e-3, 65536.0, -0.0]], dtype=np.float32)
    bf16 = (values.view(np.uint32) >> 16).astype("<u2")  # exact: values chosen with short mantissas
    expected = (bf16.astype(np.uint32) << 16).view(np.float32)
    header = json.dumps({"W_dec": {"dtype": "BF16", "shape": [2, 3], "data_offsets": [0, bf16.nbytes]},
                         "b": {"dtype": "F32", "shape": [2], "data_offsets": [bf16.nbytes, bf16.nbytes + 8]}})
    header += " " * (-len(header) % 8)
    path = tmp_path / "sae.safetensors"
    path.write_bytes(len(header).to_bytes(8, "little") + header.encode() + bf16.tobytes()
                     + np.array([7.0, 8.0], np.float32).tobytes())
    with pytest.warns(UserWarning, match="2 rows of length 3"):
        loaded = load(path)
    assert loaded.dtype == np.float32
    assert np.array_equal(loaded, expected)
    np.testing.assert_allclose(loaded, values, rtol=2**-7)


def test_torch_tensors_are_read_in_place(matrix):
    torch = pytest.importorskip("torch")
    tensor = torch.from_numpy(matrix.copy())
    assert np.shares_memory(_validate.float_matrix(tensor, "W"), tensor.numpy())
    weights = torch.nn.Parameter(tensor)  # requires_grad: still no copy
    assert np.shares_memory(_validate.float_matrix(weights, "W"), tensor.numpy())
    direct = nearortho.interference(matrix.astype(np.float64))
    for given in (weights, tensor.double(), tensor.T.contiguous().T):
        stats = nearortho.interference(given)
        assert stats.pair == direct.pair
        assert stats.coherence == pytest.approx(direct.coherence, rel=1e-6)


def test_torch_half_precision_and_bad_tensors(matrix):
    torch = pytest.importorskip("torch")
    bf16 = torch.from_numpy(matrix).to(torch.bfloat16)
    widened = _validate.float_matrix(bf16, "W")
    assert widened.dtype == np.float32 and np.array_equal(widened, bf16.float().numpy())
    assert _validate.float_matrix(bf16.half(), "W").dtype == np.float32
    with pytest.raises(TypeError, match="W must have a float16, .*got int32"):
        nearortho.interference(torch.ones(3, 3, dtype=torch.int32))
    with pytest.raises(TypeError, match="B must have .*got complex64"):
        nearortho.interference(matrix, torch.ones(3, 5, dtype=torch.complex64))
    with pytest.raises(TypeError, match="W must have .*got torch.float8_e4m3fn"):  # no DLPack for it
        nearortho.interference(torch.zeros(3, 3, dtype=torch.float8_e4m3fn))
    with pytest.raises(ValueError, match="W is a torch tensor on meta; move it to the CPU"):
        nearortho.interference(torch.ones(3, 3, device="meta"))  # stands in for a GPU tensor


def test_transcoder_rows_have_length_d_out(tmp_path):
    # SAELens transcoders: W_enc (d_in, d_sae), W_dec (d_sae, d_out); cfg.json names both
    rng = np.random.default_rng(5)
    for d_sae in (9, 4):  # 4 = d_in: W_dec (4, 6) must not be read as 6 features of length 4
        W_dec = rng.standard_normal((d_sae, 6)).astype(np.float32)
        weights = {"W_enc": rng.standard_normal((4, d_sae)).astype(np.float32), "W_dec": W_dec,
                   "b_dec": np.zeros(6, np.float32)}
        folder = _write_directory(tmp_path / f"transcoder{d_sae}", weights,
                                  {"d_in": 4, "d_out": 6, "d_sae": d_sae, "architecture": "transcoder"},
                                  "sae_weights.safetensors")
        if d_sae < 6:
            with pytest.warns(UserWarning, match="fewer features than dimensions"):
                assert np.array_equal(load(folder), W_dec)
        else:
            assert np.array_equal(load(folder), W_dec)
            assert nearortho.open_rows(folder).shape == (d_sae, 6)
    (folder / "cfg.json").write_text(json.dumps({"d_in": 4, "d_out": 5}))
    with pytest.raises(ValueError, match=r"shape \(4, 6\), but cfg.json says d_out = 5"):
        load(folder)


def test_dictionary_learning_directory(tmp_path):
    # a dictionary_learning sweep: save_dir/trainer_k/ae.pt beside config.json
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(6)
    decoder = rng.standard_normal((D_IN, D_SAE)).astype(np.float32)
    folder = tmp_path / "trainer_0"
    folder.mkdir()
    torch.save({"bias": torch.zeros(D_IN), "encoder.weight": torch.from_numpy(decoder.T.copy()),
                "encoder.bias": torch.zeros(D_SAE), "decoder.weight": torch.from_numpy(decoder)}, folder / "ae.pt")
    assert np.array_equal(load(folder), decoder.T)  # without config.json: by the key
    (folder / "config.json").write_text(json.dumps(
        {"trainer": {"dict_class": "AutoEncoder", "activation_dim": D_IN, "dict_size": D_SAE, "lr": 1e-3},
         "buffer": {"d_submodule": D_IN, "io": "out"}}))
    assert np.array_equal(load(folder), decoder.T)
    with pytest.raises(FileNotFoundError, match="or ae.pt .*subdirectories hold one: trainer_0"):
        load(tmp_path)
    with pytest.raises(NotStreamable, match="ae.pt"):  # the CLI then loads it
        nearortho.open_rows(folder)
    (folder / "config.json").write_text(json.dumps({"trainer": {"activation_dim": 4}}))
    with pytest.raises(ValueError, match=r"shape \(5, 11\), but config.json says trainer.activation_dim = 4"):
        load(folder)
