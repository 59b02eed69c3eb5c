"""Reading frames and learned dictionaries as researchers save them.

Files: ``.npy`` (memory-mapped), ``.npz``, ``.safetensors``, ``.pt``/``.pth``
(torch state dicts, nested ones through dotted keys such as
``state_dict.W_dec``). Directories: SAELens (``cfg.json`` +
``sae_weights.safetensors``), sparsify (``cfg.json`` + ``sae.safetensors``) and
dictionary_learning (``ae.pt``, with ``config.json`` beside it).

Rows of the returned matrix are features. The orientation is read from what
the file says: SAELens and sparsify ``W_dec`` is (d_sae, d_in), rows already;
a ``decoder.weight`` (dictionary_learning's ``ae.pt``, any ``nn.Linear``
decoder) is (d_in, d_sae), so its columns are the features; a ``cfg.json``
naming the decoder's length settles any other case (``d_out`` for SAELens
transcoders, whose W_dec is (d_sae, d_out); else ``d_in``).

``load`` returns an array: a ``.npy`` file memory-mapped, every other format
read into memory. To work on a matrix larger than memory, or to be safe from a
file truncated by another process while it is read (a memory map then kills
the process with SIGBUS), use :func:`nearortho.open_rows` (or pass the path to
``interference``, ``neighbors``, ``pairs`` or ``match``): ``.npy`` and
``.safetensors`` files are then read block by block with ``pread``.
"""
from __future__ import annotations

import contextlib
import json
import os
import pickle
import warnings
import zipfile

import numpy as np

__all__ = ["load", "FORMATS", "LAYOUTS"]

FORMATS = (".npy", ".npz", ".safetensors", ".pt", ".pth")
LAYOUTS = ("auto", "rows", "columns")
# decoder names found in the wild, with the axis that holds the features
_DECODERS = {"W_dec": "rows", "decoder.weight": "columns"}
_DIRECTORY_FILES = ("sae_weights.safetensors", "sae.safetensors")  # SAELens, sparsify
_DICTIONARY_LEARNING = "ae.pt"  # with config.json, whose trainer.activation_dim is d_in


def load(path, key: str | None = None, layout: str = "auto") -> np.ndarray:
    """Load one 2-D floating-point matrix whose rows are features.

    Parameters
    ----------
    path : str or os.PathLike
        A file (see the module docstring for formats) or an SAELens, sparsify
        or dictionary_learning directory.
    key : str, optional
        The tensor to read from files that hold several; dotted for nested torch
        checkpoints. Default: the only 2-D tensor, else the one decoder
        (``W_dec`` or ``decoder.weight``, also as the last part of a dotted key)
        when exactly one is present; otherwise a ``KeyError`` lists the keys.
    layout : {"auto", "rows", "columns"}
        "rows": rows are features as stored; "columns": the matrix is
        transposed. "auto": columns for ``decoder.weight`` and when a
        ``cfg.json`` says the columns have the decoder's length (d_out, else
        d_in), rows otherwise.

    Returns
    -------
    numpy.ndarray, float32 or float64
        ``.npy`` files come back memory-mapped (a transposed one as a view);
        float16 and bfloat16 are widened exactly to float32. A matrix with fewer
        rows than columns gets a ``UserWarning``: rows are taken as features.
    """
    path, d_in = _file_of(path, key, layout)
    array, name = _read(path, key)
    if array.ndim != 2:
        what = "the array" if name is None else f"the array {name!r}"
        raise ValueError(f"{what} in {path} must be 2-D (features x dimension), got shape {array.shape}")
    array = _as_float(array, path)
    if layout == "auto":
        layout = _auto_layout(name, array.shape, d_in, path)
    matrix = array.T if layout == "columns" else array
    _warn_if_wide(matrix.shape, layout, path)
    return matrix


def _warn_if_wide(shape: tuple, layout: str, path: str) -> None:
    """The orientation warning of ``load`` (and ``open_rows``), for their caller."""
    if shape[0] < shape[1]:
        flip = "rows" if layout == "columns" else "columns"
        warnings.warn(f"{path}: {shape[0]} rows of length {shape[1]}; rows are features, so this is fewer features "
                      f"than dimensions. If the features are the columns, pass layout='{flip}' (CLI: --layout "
                      f"{flip})", UserWarning, stacklevel=3)


def _file_of(path, key, layout) -> tuple[str, tuple | None]:
    """Checks ``key`` and ``layout``; the file to read (the weights file of an SAE
    directory) and the decoder's length from its configuration (None without one)."""
    if not isinstance(layout, str) or layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {', '.join(LAYOUTS)}, got {layout!r}")
    if key is not None and not isinstance(key, str):
        raise TypeError(f"key must be a string, got {type(key).__name__}")
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or os.PathLike, got {type(path).__name__}")
    path = os.fspath(path)
    return _sae_directory(path) if os.path.isdir(path) else (path, None)


def _sae_directory(path: str) -> tuple[str, tuple | None]:
    """The weights file of an SAELens, sparsify or dictionary_learning directory,
    and the length of its decoder's rows as (file, key, value) from its
    configuration: cfg.json's d_out for a transcoder, else its d_in, or
    trainer.activation_dim from dictionary_learning's config.json; None when the
    configuration gives none."""
    config = os.path.join(path, "cfg.json")
    if not os.path.isfile(config):
        if os.path.isfile(os.path.join(path, _DICTIONARY_LEARNING)):
            return os.path.join(path, _DICTIONARY_LEARNING), _trainer_width(os.path.join(path, "config.json"))
        inner = sorted(d for d in os.listdir(path) if any(
            os.path.isfile(os.path.join(path, d, f)) for f in ("cfg.json", _DICTIONARY_LEARNING)))
        hint = f"; these subdirectories hold one: {', '.join(inner)}" if inner else ""
        raise FileNotFoundError(f"{path} is a directory without cfg.json (SAELens or sparsify layout) or "
                                f"{_DICTIONARY_LEARNING} (dictionary_learning){hint}")
    files = [f for f in _DIRECTORY_FILES if os.path.isfile(os.path.join(path, f))]
    if not files:
        raise FileNotFoundError(f"{path} has cfg.json but neither {' nor '.join(_DIRECTORY_FILES)}")
    settings = _json_object(config)
    lengths = [("cfg.json", key, settings.get(key)) for key in ("d_out", "d_in")]
    width = next((length for length in lengths if isinstance(length[2], int)), None)
    return os.path.join(path, files[0]), width


def _trainer_width(config: str) -> tuple | None:
    """d_in from a dictionary_learning config.json (None without one), as _sae_directory gives it."""
    if not os.path.isfile(config):
        return None
    trainer = _json_object(config).get("trainer")
    width = trainer.get("activation_dim") if isinstance(trainer, dict) else None
    return ("config.json", "trainer.activation_dim", width) if isinstance(width, int) else None


def _json_object(config: str) -> dict:
    try:
        with open(config) as handle:
            settings = json.load(handle)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"{config} is not a JSON object: {error}") from error
    if not isinstance(settings, dict):
        raise ValueError(f"{config} is not a JSON object: it holds a {type(settings).__name__}")
    return settings


def _auto_layout(name: str | None, shape: tuple, width: tuple | None, path: str) -> str:
    """``width``: (configuration file, key, the length of a decoder row), or None."""
    if width is not None and shape[0] != shape[1]:
        config, key, length = width
        if length not in shape:
            raise ValueError(f"the tensor {name!r} in {path} has shape {shape}, but {config} says {key} = {length}")
        return "rows" if shape[1] == length else "columns"
    decoder = _decoder(name)
    return "rows" if decoder is None else _DECODERS[decoder]


def _decoder(name: str | None) -> str | None:
    """Which known decoder ``name`` is, also as the last part of a dotted key."""
    for decoder in _DECODERS:
        if name is not None and (name == decoder or name.endswith("." + decoder)):
            return decoder
    return None


def _read(path: str, key: str | None) -> tuple[np.ndarray, str | None]:
    """The chosen array and its name (None for a file holding one bare array)."""
    suffix = os.path.splitext(path)[1].lower()
    if suffix not in FORMATS:
        raise ValueError(f"path must be a directory or end in one of {', '.join(FORMATS)}, got {path!r}")
    _check_regular_file(path)
    if suffix == ".npy":
        if key is not None:
            raise ValueError("key is not used with .npy files (they hold one array)")
        try:
            return np.load(path, mmap_mode="r", allow_pickle=False), None
        except (ValueError, EOFError) as error:  # an empty or truncated file raises EOFError
            # numpy's messages invite allow_pickle=True or name no file; nearortho never unpickles
            objects = "pickle" in str(error) or "Python objects" in str(error)
            reason = ("it is not a .npy file, or it holds Python objects, which nearortho does not load"
                      if objects else str(error))
            raise ValueError(f"{path} is not a .npy array of numbers ({reason})") from None
    if suffix == ".npz":
        if not zipfile.is_zipfile(path):
            raise ValueError(f"{path} is not an .npz file (not a zip archive)")
        with np.load(path, allow_pickle=False) as archive:
            name = _choose_key(archive.files, lambda k: _npz_member(path, k)[0], key, path)
            _check_npz_member(path, name)
            return archive[name], name
    if suffix == ".safetensors":
        return _read_safetensors(path, key)
    return _read_torch(path, key)


def _check_regular_file(path: str) -> None:
    if not os.path.exists(path):
        raise FileNotFoundError(f"no such file: {path!r}")
    if not os.path.isfile(path):
        raise ValueError(f"{path} is not a regular file (a FIFO, socket or device cannot be memory-mapped or read twice)")


def _choose_key(names: list, shape_of, key: str | None, path: str) -> str:
    """``key`` if present; else the only array, the only 2-D one, or the only
    decoder (``shape_of(name)`` is asked only then)."""
    listing = ", ".join(sorted(names))
    if key is not None:
        if key not in names:
            raise KeyError(f"key {key!r} is not in {path}; its keys are: {listing}")
        return key
    if not names:
        raise KeyError(f"{path} holds no arrays")
    if len(names) == 1:
        return names[0]
    matrices = [name for name in names if len(shape_of(name)) == 2]
    if len(matrices) == 1:
        return matrices[0]
    decoders = [name for name in matrices if _decoder(name) is not None]
    if len(decoders) == 1:
        return decoders[0]
    raise KeyError(f"{path} holds several arrays; choose one with key: {listing}")


def npy_header(handle) -> tuple[tuple, bool, np.dtype]:
    """Shape, Fortran order and dtype from a .npy header (``handle`` at its start,
    left at the data)."""
    version = np.lib.format.read_magic(handle)
    read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
    return read_header(handle)


def _npz_member(path: str, name: str) -> tuple[tuple, np.dtype]:
    """Shape and dtype of an .npz member from its header, without decompressing it."""
    with zipfile.ZipFile(path) as archive, archive.open(name + ".npy") as member:
        shape, _, dtype = npy_header(member)
    return shape, dtype


def _check_npz_member(path: str, name: str) -> None:
    """Checked before the member is decompressed: a few MB of zeros can expand to
    gigabytes."""
    from ._validate import memory

    shape, dtype = _npz_member(path, name)
    if len(shape) != 2:
        raise ValueError(f"the array {name!r} in {path} must be 2-D (features x dimension), got shape {shape}")
    memory(int(np.prod(shape, dtype=object)) * dtype.itemsize, f"the array {name!r} in {path}")


# safetensors dtypes of floating-point tensors, by numpy name (bfloat16: widened to float32)
SAFETENSORS_FLOATS = {"F16": "float16", "BF16": "bfloat16", "F32": "float32", "F64": "float64"}


@contextlib.contextmanager
def safetensors_tensor(path: str, key: str | None):
    """Opens ``path`` and yields (handle, name, safetensors dtype) of the chosen
    floating-point tensor; the Rust reader's errors become one ValueError."""
    try:
        from safetensors import safe_open
    except ImportError as error:  # pragma: no cover - safetensors is a dependency
        raise ImportError("reading .safetensors files needs the safetensors package") from error
    try:
        with safe_open(path, framework="numpy") as handle:
            name = _choose_key(list(handle.keys()), lambda k: handle.get_slice(k).get_shape(), key, path)
            dtype = handle.get_slice(name).get_dtype()
            if dtype not in SAFETENSORS_FLOATS:
                raise TypeError(f"the tensor {name!r} in {path} has dtype {dtype}; float16, bfloat16, float32 or "
                                "float64 is expected")
            yield handle, name, dtype
    except Exception as error:  # the Rust reader's SafetensorError names no Python base class
        if type(error).__name__ != "SafetensorError":
            raise
        raise ValueError(f"{path} is not a valid .safetensors file: {error}") from None


def safetensors_entry(path: str, name: str) -> tuple[tuple, int, int]:
    """Shape and the data's [begin, end) byte offsets in the file of tensor ``name``,
    from the header (8-byte little-endian header size, then JSON)."""
    with open(path, "rb") as handle:
        size = int.from_bytes(handle.read(8), "little")
        entry = json.loads(handle.read(size))[name]
    begin, end = entry["data_offsets"]
    return tuple(entry["shape"]), 8 + size + begin, 8 + size + end


def _read_safetensors(path: str, key: str | None) -> tuple[np.ndarray, str]:
    with safetensors_tensor(path, key) as (handle, name, dtype):
        if dtype == "BF16":  # which numpy cannot hold
            return _bfloat16_tensor(path, name), name
        return handle.get_tensor(name), name


def _bfloat16_tensor(path: str, name: str) -> np.ndarray:
    """A BF16 tensor read from the file itself, widened exactly to float32."""
    shape, begin, end = safetensors_entry(path, name)
    raw = np.fromfile(path, dtype="<u2", count=(end - begin) // 2, offset=begin)
    return (raw.astype(np.uint32) << 16).view(np.float32).reshape(shape)


def _read_torch(path: str, key: str | None) -> tuple[np.ndarray, str | None]:
    try:
        import torch
    except ImportError as error:
        raise ImportError(f"reading {path} needs torch (pip install torch)") from error
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError) as error:
        raise ValueError(f"{path} is not a torch checkpoint that loads with weights_only=True "
                         f"({type(error).__name__}); nearortho never unpickles code") from error
    if isinstance(state, torch.Tensor):
        if key is not None:
            raise ValueError(f"key is not used: {path} holds a single tensor")
        tensor, name = state, None
    elif isinstance(state, dict):
        tensors = dict(_flatten(state, torch.Tensor))
        name = _choose_key(list(tensors), lambda k: tensors[k].shape, key, path)
        tensor = tensors[name]
    else:
        raise ValueError(f"{path} holds a {type(state).__name__}, not a tensor or a state dict")
    if tensor.dtype in (torch.float16, torch.bfloat16):
        tensor = tensor.float()
    return tensor.detach().numpy(), name


def _flatten(tree: dict, leaf_type, prefix: str = ""):
    """(dotted name, leaf) for every leaf of nested dicts, e.g. state_dict.W_dec."""
    for name, value in tree.items():
        if isinstance(value, dict):
            yield from _flatten(value, leaf_type, f"{prefix}{name}.")
        elif isinstance(value, leaf_type):
            yield f"{prefix}{name}", value


def _as_float(array: np.ndarray, path: str) -> np.ndarray:
    if array.dtype.kind == "f" and not array.dtype.isnative:  # e.g. big-endian >f4: a native copy
        array = array.astype(array.dtype.newbyteorder("="))
    if array.dtype == np.float16:
        return array.astype(np.float32)
    if array.dtype not in (np.float32, np.float64):
        raise TypeError(f"the array in {path} must hold float32 or float64 values, got {array.dtype}")
    return array
