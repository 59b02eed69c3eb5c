"""The README's Python example runs as written, at smaller sizes (so that a renamed
argument or field there fails here, not in a user's first session)."""
import json
import pathlib

import pytest
from safetensors.numpy import save_file

import nearortho

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"
# (as written, here): each must be found, so a changed example is noticed
SMALLER = [("768", "64"), ("20_000", "2000"), ("1_000_000", "100_000"), ("500_000", "50_000"),
           ("510_000", "51_000"), ("max_seconds=60", "max_iter=20"),
           ('capacity((256, 4096, "gaussian")', 'capacity((64, 256, "gaussian")'),
           ("compound(256, 2048,", "compound(64, 256,")]


def python_example() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index("```python\n") + len("```python\n")
    return text[start:text.index("```", start)]


def test_the_python_example_runs(tmp_path, monkeypatch):
    code = python_example()
    for written, smaller in SMALLER:
        assert written in code, written
        code = code.replace(written, smaller)
    for folder, seed in (("sae_dir", 1), ("other_sae", 2)):  # SAELens directories
        (tmp_path / folder).mkdir()
        W = nearortho.frame(64, 300, seed=seed)
        save_file({"W_dec": W, "W_enc": W.T.copy()}, str(tmp_path / folder / "sae_weights.safetensors"))
        (tmp_path / folder / "cfg.json").write_text(json.dumps({"d_in": 64, "d_sae": 300}))
    monkeypatch.chdir(tmp_path)
    pytest.importorskip("scipy")  # match
    scope = {}
    exec(compile(code, str(README), "exec"), scope)
    assert scope["stats"].topk_index.shape == (2000, 4) and scope["D"].shape == (300, 64)
    assert scope["idx"].shape == (2000, 5) and scope["ib"].shape == (1000, 5)
