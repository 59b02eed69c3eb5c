"""Reading frames and learned dictionaries from files: .npy (memory-mapped),
.npz, .safetensors, and .pt/.pth state dicts when torch is installed.

Rows are features. Many SAE decoders are stored (n, m): pass ``transpose=True``.
"""
from __future__ import annotations

import json
import os

import numpy as np

FORMATS = (".npy", ".npz", ".safetensors", ".pt", ".pth")


def load_matrix(path, key: str | None = None, *, transpose: bool = False) -> np.ndarray:
    """Load one 2-D floating-point matrix.

    ``.npy`` files are memory-mapped (read lazily, block by block by the
    kernels); other formats are read into memory. ``key`` chooses the array in
    files that hold several; a missing or wrong key raises ``KeyError`` listing
    the keys. float16 and bfloat16 tensors are upcast to float32.
    """
    path = os.fspath(path)
    suffix = os.path.splitext(path)[1].lower()
    if suffix not in FORMATS:
        raise ValueError(f"path must end in one of {', '.join(FORMATS)}, got {path!r}")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no such file: {path!r}")
    if suffix == ".npy":
        if key is not None:
            raise ValueError("key is not used with .npy files (they hold one array)")
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    elif suffix == ".npz":
        with np.load(path, allow_pickle=False) as archive:
            name = _choose_key(list(archive.files), key, path)
            _check_npz_member(path, name)
            array = archive[name]
    elif suffix == ".safetensors":
        array = _load_safetensors(path, key)
    else:
        array = _load_torch(path, key)
    return _as_matrix(array, path, transpose)


def _choose_key(keys: list, key: str | None, path: str) -> str:
    if key is None and len(keys) == 1:
        return keys[0]
    if key is None:
        raise KeyError(f"{path} holds several arrays; choose one with key: {', '.join(sorted(keys))}")
    if key not in keys:
        raise KeyError(f"key {key!r} is not in {path}; its keys are: {', '.join(sorted(keys))}")
    return key


def _check_npz_member(path: str, name: str) -> None:
    """Shape and size of an .npz member from its header, checked before it is
    decompressed (a few MB of zeros can expand to gigabytes)."""
    import zipfile

    from ._validate import memory

    with zipfile.ZipFile(path) as archive, archive.open(name + ".npy") as member:
        version = np.lib.format.read_magic(member)
        read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, _, dtype = read_header(member)
    if len(shape) != 2:
        raise ValueError(f"the array in {path} must be 2-D (features x dimension), got shape {shape}")
    memory(int(np.prod(shape, dtype=object)) * dtype.itemsize, f"the array {name!r} in {path}")


def _load_safetensors(path: str, key: str | None) -> np.ndarray:
    try:
        from safetensors import safe_open
    except ImportError as error:  # pragma: no cover - safetensors is a dependency
        raise ImportError("reading .safetensors files needs the safetensors package") from error
    with safe_open(path, framework="numpy") as handle:
        name = _choose_key(list(handle.keys()), key, path)
        try:
            return handle.get_tensor(name)
        except TypeError:  # bfloat16, which numpy cannot hold
            pass
    return _bfloat16_tensor(path, name)


def _bfloat16_tensor(path: str, name: str) -> np.ndarray:
    """A BF16 tensor read from the file itself (8-byte little-endian header size,
    JSON header, then data) and widened exactly to float32."""
    with open(path, "rb") as handle:
        size = int.from_bytes(handle.read(8), "little")
        entry = json.loads(handle.read(size))[name]
    if entry["dtype"] != "BF16":
        raise TypeError(f"the tensor {name!r} in {path} has dtype {entry['dtype']}; floats are expected")
    begin, end = entry["data_offsets"]
    raw = np.fromfile(path, dtype="<u2", count=(end - begin) // 2, offset=8 + size + begin)
    return (raw.astype(np.uint32) << 16).view(np.float32).reshape(entry["shape"])


def _load_torch(path: str, key: str | None) -> np.ndarray:
    try:
        import torch
    except ImportError as error:
        raise ImportError(f"reading {path} needs torch (pip install torch)") from error
    state = torch.load(path, map_location="cpu", weights_only=True)
    if isinstance(state, torch.Tensor):
        tensor = state
        if key is not None:
            raise ValueError(f"key is not used: {path} holds a single tensor")
    elif isinstance(state, dict):
        tensors = {k: t for k, t in state.items() if isinstance(t, torch.Tensor)}
        tensor = tensors[_choose_key(list(tensors), key, path)]
    else:
        raise ValueError(f"{path} holds a {type(state).__name__}, not a tensor or a state dict")
    if tensor.dtype in (torch.float16, torch.bfloat16):
        tensor = tensor.float()
    return tensor.detach().numpy()


def _as_matrix(array: np.ndarray, path: str, transpose: bool) -> np.ndarray:
    if array.ndim != 2:
        raise ValueError(f"the array in {path} must be 2-D (features x dimension), got shape {array.shape}")
    if array.dtype == np.float16:
        array = array.astype(np.float32)
    if array.dtype not in (np.float32, np.float64):
        raise TypeError(f"the array in {path} must hold float32 or float64 values, got {array.dtype}")
    return array.T if transpose else array
