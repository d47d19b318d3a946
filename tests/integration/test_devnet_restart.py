"""Devnet persistence: clean restart, crash between FinalizeBlock and Commit, kill -9."""

from __future__ import annotations

import io
import os
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from aivm.node.devnet import Devnet
from aivm.node.home import HomePaths
from aivm.node.mempool import Mempool
from aivm.types import pb
from devnet_helpers import result, wait_height


def test_restart_resumes_at_same_height_and_app_hash(tmp_path: Path) -> None:
    home = tmp_path / "home"
    out = io.StringIO()
    devnet = Devnet(home, out=out)
    assert "dev0" in out.getvalue()
    mode = stat.S_IMODE(os.stat(HomePaths(home).dev_accounts).st_mode)
    assert mode == 0o600
    for _ in range(3):
        devnet.produce_block()
    last = devnet.latest()
    assert last is not None and last.header.height == 3
    devnet.close()
    again = Devnet(home, out=io.StringIO())
    assert again.height == 3
    info = again.app.info(pb.abci.RequestInfo())
    assert info.last_block_app_hash == last.results.app_hash
    record = again.produce_block()
    assert record.header.app_hash == last.results.app_hash
    assert record.header.last_block_hash == last.hash
    again.close()
    fresh = Devnet(home, reset=True, out=io.StringIO())
    assert fresh.height == 0
    fresh.close()


def test_crash_between_finalize_and_commit_is_replayed(tmp_path: Path) -> None:
    home = tmp_path / "home"
    devnet = Devnet(home, out=io.StringIO())
    devnet.produce_block()
    devnet.produce_block()

    def crash(request: object = None) -> None:
        raise KeyboardInterrupt("killed")

    devnet.app.commit = crash  # type: ignore[method-assign]
    with pytest.raises(KeyboardInterrupt):
        devnet.produce_block()
    stored = devnet.blocks.get(3)
    assert stored is not None and devnet.state_store.version == 2
    devnet.close()
    again = Devnet(home, out=io.StringIO())
    assert again.height == 3
    assert again.app.info(pb.abci.RequestInfo()).last_block_app_hash == stored.results.app_hash
    again.produce_block()
    again.close()


def test_mempool_dedup_and_cap(tmp_path: Path) -> None:
    devnet = Devnet(tmp_path / "home", out=io.StringIO(), mempool=Mempool(max_txs=1))
    devnet.mempool.add(b"a")
    assert devnet.check_tx(b"a").code == 19
    assert devnet.check_tx(b"b").code == 20
    devnet.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(home: Path, port: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "aivm.node.devnet",
            "--home",
            str(home),
            "--block-time",
            "100ms",
            "--rpc-port",
            str(port),
            "--log-level",
            "WARNING",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _wait_up(url: str, proc: subprocess.Popen[bytes], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, "devnet exited"
        try:
            result(url, "health")
            return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(url)


def test_kill_9_then_restart_resumes(tmp_path: Path) -> None:
    home = tmp_path / "home"
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    proc = _start(home, port)
    try:
        _wait_up(url, proc)
        wait_height(url, 4)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(5)
        proc = _start(home, port)
        _wait_up(url, proc)
        status = result(url, "status")["sync_info"]
        h = int(status["latest_block_height"])
        assert h >= 4
        # the chain links up across the kill
        wait_height(url, h + 2)
        block = result(url, "block", {"height": str(h + 1)})
        prev = result(url, "block", {"height": str(h)})
        assert block["block"]["header"]["last_block_id"]["hash"] == prev["block_id"]["hash"]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
