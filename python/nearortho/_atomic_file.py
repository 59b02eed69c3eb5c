"""Files a user keeps (frames, tables, pages, results), written whole or not at
all: into a temporary file beside the target, renamed onto it only when the
writing ended without an error. A failure or Ctrl-C midway (seconds, for a
table of a million features) then leaves no partial file and keeps the file it
would have replaced. Tests: tests/test_cli.py, tests/test_report.py."""
from __future__ import annotations

import contextlib
import os
import stat
import tempfile


@contextlib.contextmanager
def atomic_path(path):
    """Yields (descriptor, path) of a new empty file in ``path``'s folder, with
    ``path``'s suffix (writers such as ``np.savez`` add one otherwise); renamed onto
    ``path`` when the block ends without an error, removed when it raises."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    handle, partial = tempfile.mkstemp(suffix=os.path.splitext(path)[1], dir=folder,
                                       prefix=f".{os.path.basename(path)}.")
    try:
        os.fchmod(handle, _file_mode(path))
        yield handle, partial
        os.replace(partial, path)
    finally:
        os.close(handle)
        if os.path.exists(partial):
            os.remove(partial)


def _file_mode(path: str) -> int:
    """The mode of the file being replaced, else what the umask gives a new file
    (mkstemp's own 0600 would make a shared file unreadable to others)."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask
