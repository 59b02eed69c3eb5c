"""Runs a reproduction in a fresh interpreter, so that a crash or a hang fails one
test instead of taking the test runner down with it."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap


def run_python(code: str, *, timeout: float = 60, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run ``code`` with this interpreter; stdout and stderr are captured as text.
    A timeout raises ``subprocess.TimeoutExpired`` (the child is killed)."""
    full_env = dict(os.environ, **(env or {}))
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          timeout=timeout, env=full_env, cwd=os.path.dirname(os.path.abspath(__file__)))


def assert_succeeds(code: str, *, timeout: float = 60, env: dict | None = None) -> str:
    """Run ``code`` in a fresh interpreter and require exit status 0; returns its stdout."""
    done = run_python(code, timeout=timeout, env=env)
    assert done.returncode == 0, f"exit status {done.returncode}\n{done.stderr[-3000:]}"
    return done.stdout
