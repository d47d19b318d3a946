"""Run the ``aivm`` command in-process (``main([...])``) and capture its exit code and output.

The fixtures (loaded by ``tests/conftest.py``): ``run`` against the module's ``chain``,
``offline_run`` for commands that need no node. Both use a fresh ``--home`` and the ``test``
keyring; :func:`import_keys` adds the chain's funded accounts to it.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from aivm.cli.main import main
from chain_drivers import ChainEndpoint

Run = Callable[..., tuple[int, str, str]]
"""``run(*args, stdin="")`` → (exit code, stdout, stderr)."""

OFFLINE_NODE = "http://127.0.0.1:9"
"""A node URL where nothing listens (the discard port)."""


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


def import_keys(run: Run, chain: ChainEndpoint, *indices: int) -> Run:
    """Import ``chain.accounts[i]`` as key ``dev<i>`` for each index; returns ``run``."""
    for i in indices:
        code, _, err = run("keys", "import", f"dev{i}", stdin=chain.accounts[i].mnemonic + "\n")
        assert code == 0, err
    return run


@pytest.fixture
def run(
    chain: ChainEndpoint,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> Run:
    """``run(*args, stdin="")`` → (exit code, stdout, stderr), with --home/--node set."""
    return cli_runner(chain.rpc_url, tmp_path / "home", capsys, monkeypatch)


@pytest.fixture
def offline_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Run:
    """``run`` for commands that need no node (--node points at nothing)."""
    return cli_runner(OFFLINE_NODE, tmp_path / "home", capsys, monkeypatch)
