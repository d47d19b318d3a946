"""Localnet process bookkeeping: a child it has just started counts as running at once."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from aivm.tools import localnet as localnet_mod
from aivm.tools.localnet import Localnet


def _bare_localnet(home: Path) -> Localnet:
    home.mkdir(parents=True, exist_ok=True)
    meta = {"validators": 1, "base_port": 40000, "chain_id": "t", "cometbft": "/bin/false"}
    (home / "localnet.json").write_text(json.dumps(meta))
    (home / "node0").mkdir()
    return Localnet(home)


def test_a_just_spawned_child_is_running_before_its_exec(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Between fork and exec a child's /proc cmdline is still the parent's; the CI flake of
    stop 17 was a start() that took that window for an exit and spawned a second app."""
    net = _bare_localnet(tmp_path / "net")
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        net._children[(0, "app")] = child
        net.pid_path(0, "app").write_text(f"{child.pid}\n")
        monkeypatch.setattr(localnet_mod, "_cmdline", lambda pid: "")  # not exec'd yet
        assert net.running(0, "app")
        child.kill()
        child.wait()
        assert not net.running(0, "app")
    finally:
        child.kill()
        child.wait()


def test_a_stranger_with_a_reused_pid_is_not_running(tmp_path: Path) -> None:
    """A pid file naming a process that is not this node's (a reused pid) reads as not running."""
    net = _bare_localnet(tmp_path / "net")
    stranger = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        net.pid_path(0, "app").write_text(f"{stranger.pid}\n")
        assert not net.running(0, "app")
    finally:
        stranger.kill()
        stranger.wait()
