"""Run the ``aivm`` command in-process (``main([...])``) and capture its exit code and output."""

from __future__ import annotations

import io
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from aivm.cli.main import main

Run = Callable[..., tuple[int, str, str]]
"""``run(*args, stdin="")`` → (exit code, stdout, stderr)."""


def cli_runner(
    node: str,
    home: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    keyring_backend: str | None = "test",
) -> Run:
    """A runner with ``--home``, ``--node`` (and ``--keyring-backend``) set."""
    base = ["--home", str(home), "--node", node]
    if keyring_backend:
        base += ["--keyring-backend", keyring_backend]

    def run(*args: str, stdin: str = "") -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        capsys.readouterr()
        code = main([*base, *args])
        out, err = capsys.readouterr()
        return code, out, err

    return run
