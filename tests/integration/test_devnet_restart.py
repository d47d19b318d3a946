"""Devnet persistence: clean restart, crash between FinalizeBlock and Commit, kill -9."""

from __future__ import annotations

import asyncio
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

from aivm.devnet.devnet import Devnet
from aivm.devnet.mempool import Mempool
from aivm.node.home import HomePaths
from aivm.types import pb
from aivm.types.address import acc_address_bytes
from devnet_helpers import child_pids, process_state, result, wait_for, wait_height


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
            "aivm.cli.main",
            "devnet",
            "--home",
            str(home),
            "--block-time",
            "100ms",
            "--rpc-port",
            str(port),
            "--rest-port",
            "-1",
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
        (frontend,) = child_pids(proc.pid, "aivm.devnet.rpc_frontend")
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(5)
        # the RPC front end notices its node is gone and exits (freeing the port)
        wait_for(
            lambda: process_state(frontend) in (None, "Z"), 5, "the orphaned RPC front end to exit"
        )
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


def _dev_send(devnet: Devnet, home: Path, sequence: int) -> bytes:
    from aivm.client.tx import Signer, bank_send, sign_tx
    from aivm.crypto.hd import derive_privkey
    from aivm.node.home import load_dev_accounts
    from aivm.types.coin import Coin

    dev = load_dev_accounts(HomePaths(home))[0]
    key = derive_privkey(dev.mnemonic)
    request = pb.abci.RequestQuery(
        path="/cosmos.auth.v1beta1.Query/Account",
        data=pb.auth_query.QueryAccountRequest(address=dev.address).SerializeToString(),
    )
    account = pb.auth_query.QueryAccountResponse.FromString(devnet.app.query(request).value)
    number = pb.auth.BaseAccount.FromString(account.account.value).account_number
    raw = sign_tx(
        [bank_send(key.pubkey.address(), key.pubkey.address(), [Coin("ucgpt", 1)])],
        [Signer(key, number, sequence)],
        chain_id=devnet.chain_id,
        fee=[Coin("ucgpt", 2000)],
    )
    assert devnet.check_tx(raw).code == 0
    return raw


def load_dev_accounts_address(home: Path) -> str:
    from aivm.node.home import load_dev_accounts

    return load_dev_accounts(HomePaths(home))[0].address


def test_tx_index_is_rebuilt_from_the_block_store(tmp_path: Path) -> None:
    """The index file is derived data: lost or behind, it is rebuilt on start."""
    from aivm.devnet.mempool import tx_hash

    home = tmp_path / "home"
    devnet = Devnet(home, out=io.StringIO())
    devnet.produce_block()  # genesis accounts exist from height 1
    sent = []
    for sequence in range(3):
        sent.append(tx_hash(_dev_send(devnet, home, sequence)))
        devnet.produce_block()
    assert asyncio.run(devnet.index.caught_up(devnet.height, 10))
    assert devnet.index.find_tx(sent[2]) == (4, 0)
    devnet.close()
    index_file = HomePaths(home).blocks / "index.sqlite"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{index_file}{suffix}").unlink(missing_ok=True)

    again = Devnet(home, out=io.StringIO())
    assert asyncio.run(again.index.caught_up(4, 10))
    assert [again.index.find_tx(h) for h in sent] == [(2, 0), (3, 0), (4, 0)]
    assert again.index.search([("tx.height", "3")]) == [(3, 0)]
    sender = load_dev_accounts_address(home)
    assert again.index.search([("message.sender", sender)]) == [(2, 0), (3, 0), (4, 0)]
    again.close()


def test_tx_index_survives_its_process_dying(tmp_path: Path) -> None:
    """kill -9 of the indexer process: the next block restarts it and it catches up."""
    from aivm.devnet.mempool import tx_hash

    home = tmp_path / "home"
    devnet = Devnet(home, out=io.StringIO())
    devnet.produce_block()
    first = tx_hash(_dev_send(devnet, home, 0))
    proc = devnet.index._proc
    assert proc is not None
    proc.kill()
    proc.wait()
    devnet.produce_block()  # the notice finds the process gone and starts a new one
    second = tx_hash(_dev_send(devnet, home, 1))
    devnet.produce_block()
    assert asyncio.run(devnet.index.caught_up(3, 20))
    assert devnet.index.find_tx(first) == (2, 0)
    assert devnet.index.find_tx(second) == (3, 0)
    assert devnet.index._proc is not proc
    devnet.close()


def test_debug_mode_halts_when_an_invariant_breaks(tmp_path: Path) -> None:
    from aivm.devnet.devnet import InvariantBroken
    from aivm.modules.bank import keys as bank_keys

    devnet = Devnet(tmp_path / "home", out=io.StringIO(), check_invariants=True)
    try:
        devnet.produce_block()
        devnet.produce_block()  # every invariant holds on an honest chain
        address = devnet.genesis.app_state["bank"]["balances"][0]["address"]
        key = bank_keys.balance_key(acc_address_bytes(address), "ucgpt")
        devnet.app.store.working.set(bank_keys.STORE_PREFIX + key, b"1")  # behind the bank
        with pytest.raises(InvariantBroken, match="bank/"):
            devnet.produce_block()
    finally:
        devnet.close()
