"""File formats round-trip through load_matrix; every error path names its cause."""
import json

import numpy as np
import pytest
from safetensors.numpy import save_file

from nearortho.io import load_matrix


@pytest.fixture
def matrix():
    return np.random.default_rng(0).standard_normal((7, 5)).astype(np.float32)


def test_npy_is_memory_mapped(tmp_path, matrix):
    path = tmp_path / "w.npy"
    np.save(path, matrix)
    loaded = load_matrix(path)
    assert isinstance(loaded, np.memmap)
    assert np.array_equal(loaded, matrix)


def test_npz_single_and_keyed(tmp_path, matrix):
    np.savez(tmp_path / "one.npz", W=matrix)
    assert np.array_equal(load_matrix(tmp_path / "one.npz"), matrix)
    np.savez(tmp_path / "two.npz", W=matrix, b=matrix[:, :2])
    assert np.array_equal(load_matrix(tmp_path / "two.npz", "W"), matrix)
    with pytest.raises(KeyError, match="several arrays; choose one with key: W, b"):
        load_matrix(tmp_path / "two.npz")
    with pytest.raises(KeyError, match="key 'x' is not in .*its keys are: W, b"):
        load_matrix(tmp_path / "two.npz", "x")


def test_safetensors_keyed_and_transposed(tmp_path, matrix):
    path = tmp_path / "sae.safetensors"
    save_file({"W_dec": np.ascontiguousarray(matrix.T), "b_dec": matrix[0].copy()}, str(path))
    assert np.array_equal(load_matrix(path, "W_dec", transpose=True), matrix)
    with pytest.raises(KeyError, match="its keys are: W_dec, b_dec"):
        load_matrix(path, "W_enc")
    with pytest.raises(ValueError, match="must be 2-D"):
        load_matrix(path, "b_dec")


def test_float16_is_upcast(tmp_path, matrix):
    np.save(tmp_path / "h.npy", matrix.astype(np.float16))
    loaded = load_matrix(tmp_path / "h.npy")
    assert loaded.dtype == np.float32
    np.testing.assert_array_equal(loaded, matrix.astype(np.float16).astype(np.float32))


def test_torch_state_dict(tmp_path, matrix):
    torch = pytest.importorskip("torch")
    path = tmp_path / "sae.pt"
    torch.save({"W_dec": torch.from_numpy(matrix).to(torch.bfloat16)}, path)
    loaded = load_matrix(path)
    assert loaded.dtype == np.float32
    np.testing.assert_allclose(loaded, matrix, rtol=1e-2)


@pytest.mark.parametrize(
    "name, content, error, words",
    [
        ("w.txt", None, ValueError, "path must end in one of"),
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
        load_matrix(path)


def test_key_with_npy_is_rejected(tmp_path, matrix):
    np.save(tmp_path / "w.npy", matrix)
    with pytest.raises(ValueError, match="key is not used"):
        load_matrix(tmp_path / "w.npy", "W")


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
    loaded = load_matrix(path, "W_dec")
    assert loaded.dtype == np.float32
    assert np.array_equal(loaded, expected)
    np.testing.assert_allclose(loaded, values, rtol=2**-7)
