"""The command line and loader on hostile or odd files and options: one clear line,
never a traceback, a pickle or a crash (issue 8: items 4, 9 and 11)."""
from __future__ import annotations

import json
import os
import shutil
import stat
import struct
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner
from safetensors.numpy import save_file

import nearortho
from nearortho.cli.main import cli


def one_line_error(*args) -> str:
    result = CliRunner().invoke(cli, [str(a) for a in args])
    assert result.exit_code == 1 and result.stdout == "", result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    return lines[0]


def _safetensors(path, header: dict, data: bytes) -> None:
    raw = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + data)


def test_corrupt_truncated_empty_and_f8_safetensors_are_one_line(tmp_path):
    good = tmp_path / "good.safetensors"
    save_file({"W": np.ones((4, 3), np.float32)}, str(good))
    (tmp_path / "cut.safetensors").write_bytes(good.read_bytes()[:-5])
    (tmp_path / "noise.safetensors").write_bytes(b"\xff" * 100)
    _safetensors(tmp_path / "f8.safetensors", {"W": {"dtype": "F8_E4M3", "shape": [4, 3], "data_offsets": [0, 12]}},
                 b"\x38" * 12)
    _safetensors(tmp_path / "none.safetensors", {"__metadata__": {"a": "b"}}, b"")
    assert "not a valid .safetensors file" in one_line_error("stats", tmp_path / "cut.safetensors")
    assert "not a valid .safetensors file" in one_line_error("stats", tmp_path / "noise.safetensors")
    assert "dtype F8_E4M3" in one_line_error("stats", tmp_path / "f8.safetensors")
    assert "holds no arrays" in one_line_error("stats", tmp_path / "none.safetensors")


def test_text_fifo_and_big_endian_npy(tmp_path):
    (tmp_path / "text.npy").write_text("hello\n")
    message = one_line_error("stats", tmp_path / "text.npy")
    assert "not a .npy array" in message and "allow_pickle" not in message
    if hasattr(os, "mkfifo"):
        os.mkfifo(tmp_path / "pipe.npy")
        assert "not a regular file" in one_line_error("stats", tmp_path / "pipe.npy")
    W = nearortho.frame(6, 9, seed=1)
    np.save(tmp_path / "big.npy", W.astype(">f4"))
    loaded = nearortho.load(tmp_path / "big.npy")
    assert loaded.dtype == np.float32 and np.array_equal(loaded, W)


def test_json_is_strict_and_simulate_needs_an_active_feature(tmp_path):
    # one row repeated: every cosine is 1, so per-row statistics and the noise std are degenerate
    W = np.ones((3, 4), np.float32)
    np.save(tmp_path / "w.npy", W)
    result = CliRunner().invoke(cli, ["simulate", str(tmp_path / "w.npy"), "--l", "3", "--trials", "2", "--json"])
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout, parse_constant=lambda c: pytest.fail(f"non-strict JSON constant {c}"))
    assert record["inactive_std"] is None  # NaN: no inactive feature
    assert "--l" in CliRunner().invoke(cli, ["simulate", "--n", "8", "--m", "10", "--l", "0"]).stderr


def test_frame_file_mode_follows_umask_and_the_replaced_file(tmp_path):
    out = tmp_path / "f.npy"
    old = os.umask(0o027)
    try:
        CliRunner().invoke(cli, ["frame", "--n", "4", "--m", "5", "--out", str(out)], catch_exceptions=False)
        assert stat.S_IMODE(out.stat().st_mode) == 0o640
        out.chmod(0o604)
        CliRunner().invoke(cli, ["frame", "--n", "4", "--m", "6", "--out", str(out)], catch_exceptions=False)
        assert stat.S_IMODE(out.stat().st_mode) == 0o604 and np.load(out).shape == (6, 4)
    finally:
        os.umask(old)


def test_python_dash_m_runs_the_command_line():
    done = subprocess.run([sys.executable, "-m", "nearortho", "theory", "--n", "64", "--m", "1000", "--json"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(sys.platform != "linux" or os.geteuid() != 0 or shutil.which("unshare") is None,
                    reason="needs root and unshare to mount a small tmpfs")
def test_frame_onto_a_full_disk_is_an_error_not_sigbus(tmp_path):
    # a 1 MiB tmpfs and a 1 MiB frame: the .npy header does not fit (was counted out,
    # then the memory-mapped write on the full disk was SIGBUS); the fallocate
    # reservation catches a disk that fills up after the check
    mount = tmp_path / "mnt"
    mount.mkdir()
    script = f"""
        mount -t tmpfs -o size=1m none {mount} || exit 77
        {sys.executable} -m nearortho frame --n 1024 --m 256 --out {mount}/f.npy; echo "rc=$?"
        {sys.executable} -c 'import shutil, sys
shutil.disk_usage = lambda path: shutil._ntuple_diskusage(1 << 40, 0, 1 << 40)  # the check is fooled
sys.argv = ["nearortho", "frame", "--n", "1024", "--m", "512", "--out", "{mount}/g.npy"]
from nearortho.cli import main
main()'; echo "rc=$?"
        ls -A {mount}
    """
    done = subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True, text=True, timeout=120)
    if "rc=" not in done.stdout:
        pytest.skip("could not mount a tmpfs here: " + done.stderr[-200:])
    assert [w for w in done.stdout.split() if w.startswith("rc=")] == ["rc=1", "rc=1"], (done.stdout, done.stderr)
    assert ".npy" not in done.stdout  # no partial file left behind
    assert "free on its disk" in done.stderr and "No space left on device" in done.stderr


class _Payload:
    """Unpickling this makes a directory: the test sees whether any loader ran it."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return os.mkdir, (self.marker,)


def test_pickles_are_refused_unrun_with_the_file_named(tmp_path):
    marker = tmp_path / "unpickled"
    np.save(tmp_path / "objects.npy", np.array([_Payload(marker)], dtype=object), allow_pickle=True)
    with pytest.raises(ValueError, match=r"objects.npy is not a .npy array of numbers .*Python objects"):
        nearortho.load(tmp_path / "objects.npy")
    assert "objects.npy" in one_line_error("stats", tmp_path / "objects.npy")
    torch = pytest.importorskip("torch")
    torch.save({"W_dec": torch.ones(4, 3), "extra": _Payload(marker)}, tmp_path / "payload.pt")
    with pytest.raises(ValueError, match="payload.pt is not a torch checkpoint that loads with weights_only=True"):
        nearortho.load(tmp_path / "payload.pt")
    assert not marker.exists()
