"""End to end: a fresh node joins by CometBFT state sync from an AIVM snapshot.

Node 1: a single-validator CometBFT node + ``aivm start --snapshot-interval 5``. Node 2: a
non-validator with the same genesis, node 1 as persistent peer and ``[statesync] enable``;
its app restores node 1's snapshot (never executing the early blocks), then follows the
chain: its app hash matches the chain's and a tx sent after the join is visible on it. Not
skipped without CometBFT: it is built (needs Go) or the test fails saying why.
"""

from __future__ import annotations

import re
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from aivm.client.tx import Signer, bank_send, sign_tx
from aivm.crypto.keys import PrivKey
from aivm.tools.localnet import set_toml as _set_toml
from aivm.types.address import acc_address
from aivm.types.coin import Coin
from comet_rpc import CometRpc, free_port, one_validator_genesis, poll

pytestmark = pytest.mark.e2e

CHAIN_ID = "aivm-statesync-1"
DENOM = "ucgpt"
FUNDED = 10_000_000_000
SENDER_KEY = PrivKey.from_bytes(bytes.fromhex("31" * 32))
RECIPIENT_KEY = PrivKey.from_bytes(bytes.fromhex("32" * 32))


class Node(CometRpc):
    def __init__(self, cometbft: Path, root: Path) -> None:
        self.cometbft = cometbft
        self.root = root
        self.cmt_home = root / "cmt"
        self.app_home = root / "app"
        self.abci_port = free_port()
        self.rpc_port = free_port()
        self.p2p_port = free_port()
        self.rpc = f"http://127.0.0.1:{self.rpc_port}"
        self.procs: list[subprocess.Popen[bytes]] = []
        root.mkdir(parents=True)

    def init(self, config: dict[tuple[str, str], str]) -> None:
        subprocess.run(
            [str(self.cometbft), "init", "--home", str(self.cmt_home)],
            check=True,
            capture_output=True,
        )
        path = self.cmt_home / "config" / "config.toml"
        text = path.read_text()
        settings = {
            ("", "proxy_app"): f'"tcp://127.0.0.1:{self.abci_port}"',
            ("rpc", "laddr"): f'"tcp://127.0.0.1:{self.rpc_port}"',
            ("p2p", "laddr"): f'"tcp://127.0.0.1:{self.p2p_port}"',
            ("p2p", "addr_book_strict"): "false",
            ("p2p", "allow_duplicate_ip"): "true",
            ("consensus", "timeout_commit"): '"200ms"',
            ("consensus", "timeout_propose"): '"1s"',
            **config,
        }
        for (section, key), value in settings.items():
            text = _set_toml(text, section, key, value)
        path.write_text(text)

    def node_id(self) -> str:
        return subprocess.run(
            [str(self.cometbft), "show-node-id", "--home", str(self.cmt_home)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()

    def _spawn(self, name: str, argv: list[str]) -> subprocess.Popen[bytes]:
        with open(self.root / f"{name}.log", "wb") as log:
            proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
        self.procs.append(proc)
        return proc

    def start(self, *app_flags: str) -> None:
        app = self._spawn(
            "app",
            [
                sys.executable,
                "-m",
                "aivm.cli.main",
                "start",
                "--home",
                str(self.app_home),
                "--abci",
                f"tcp://127.0.0.1:{self.abci_port}",
                *app_flags,
            ],
        )

        def listening() -> bool:
            if app.poll() is not None:
                raise AssertionError(f"aivm start exited:\n{self.logs()}")
            socket.create_connection(("127.0.0.1", self.abci_port), timeout=1).close()
            return True

        poll("the app to listen", listening, 30, self.logs)
        self._spawn("cometbft", [str(self.cometbft), "start", "--home", str(self.cmt_home)])

    def logs(self) -> str:
        out = []
        for name in ("app", "cometbft"):
            path = self.root / f"{name}.log"
            text = path.read_text(errors="replace")[-2500:] if path.exists() else "(none)"
            out.append(f"--- {self.root.name} {name}:\n{text}")
        return "\n".join(out)

    def status(self) -> dict[str, Any]:
        return dict(self.call("status")["sync_info"])

    def wait_height(self, target: int, timeout: float = 40) -> int:
        def reached() -> int:
            for proc in self.procs:
                if proc.poll() is not None:
                    raise AssertionError(f"a process exited early:\n{self.logs()}")
            height = self.height()
            return height if height >= target else 0

        return int(poll(f"height {target} on {self.root.name}", reached, timeout, self.logs))

    def stop(self) -> None:
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in reversed(self.procs):
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


def _send(node: Node, sequence: int, amount: int) -> str:
    msg = bank_send(
        SENDER_KEY.pubkey.address(), RECIPIENT_KEY.pubkey.address(), [Coin(DENOM, amount)]
    )
    tx = sign_tx(
        [msg],
        [Signer(SENDER_KEY, 0, sequence)],
        CHAIN_ID,
        fee=[Coin(DENOM, 1000)],
        gas_limit=200_000,
    )
    result = node.call("broadcast_tx_sync", tx="0x" + tx.hex())
    assert result["code"] == 0, result
    return str(result["hash"])


def _wait_tx(node: Node, tx_hash: str) -> None:
    def included() -> bool:
        found = node.call("tx", hash="0x" + tx_hash)
        assert found["tx_result"]["code"] == 0, found
        return True

    poll(f"tx {tx_hash} on {node.root.name}", included, 30, node.logs)


def test_fresh_node_joins_by_state_sync(cometbft_bin: Path, tmp_path: Path) -> None:
    cometbft = cometbft_bin
    recipient = acc_address(RECIPIENT_KEY.pubkey.address())
    node1 = Node(cometbft, tmp_path / "node1")
    node2 = Node(cometbft, tmp_path / "node2")
    try:
        node1.init({("consensus", "timeout_commit"): '"500ms"'})
        sender = acc_address(SENDER_KEY.pubkey.address())
        genesis = one_validator_genesis(node1.cmt_home, CHAIN_ID, sender, FUNDED).dumps()
        (node1.cmt_home / "config" / "genesis.json").write_text(genesis)
        # a snapshot must outlive discovery (5 s) plus the chunk fetch on node 2:
        # 10 snapshots x 5 heights x ~0.5 s
        node1.start("--snapshot-interval", "5", "--snapshot-keep-recent", "10")
        node1.wait_height(2)
        _wait_tx(node1, _send(node1, 0, 111))
        _wait_tx(node1, _send(node1, 1, 222))
        node1.wait_height(12)
        snapshots = sorted(int(p.name) for p in (node1.app_home / "data" / "snapshots").iterdir())
        assert snapshots[:2] == [5, 10] and all(h % 5 == 0 for h in snapshots), snapshots

        trust_height = node1.wait_height(12) - 2
        trust_hash = node1.call("commit", height=str(trust_height))["signed_header"]["commit"][
            "block_id"
        ]["hash"]
        node2.init(
            {
                ("p2p", "persistent_peers"): f'"{node1.node_id()}@127.0.0.1:{node1.p2p_port}"',
                ("statesync", "enable"): "true",
                ("statesync", "rpc_servers"): f'"{node1.rpc},{node1.rpc}"',
                ("statesync", "trust_height"): str(trust_height),
                ("statesync", "trust_hash"): f'"{trust_hash}"',
                ("statesync", "trust_period"): '"168h0m0s"',
                ("statesync", "discovery_time"): '"5s"',
            }
        )
        (node2.cmt_home / "config" / "genesis.json").write_text(genesis)
        node2.start()

        # node 2 restored a snapshot: its block store starts after the snapshot height
        target = node1.wait_height(1) + 3
        node2.wait_height(target, timeout=60)
        earliest = int(node2.status()["earliest_block_height"])
        assert earliest > 5, earliest
        app_log = (node2.root / "app.log").read_text()
        assert "restored snapshot at height" in app_log, node2.logs()
        restored = int(re.findall(r"restored snapshot at height (\d+)", app_log)[0])
        assert restored % 5 == 0 and restored >= snapshots[0]

        # and follows the chain: its app hash at its height h is the app hash of block h+1
        for _ in range(2):
            height, app_hash = node2.app_info()
            assert height > restored
            node1.wait_height(height + 1)
            header = node1.header(height + 1)
            assert header["app_hash"] == app_hash.hex().upper(), (height, header)
            node2.wait_height(height + 2)

        # state from before the snapshot is there, and a tx sent after the join shows up
        assert node2.balance(recipient) == 333
        tx_hash = _send(node2, 2, 444)
        _wait_tx(node1, tx_hash)
        _wait_tx(node2, tx_hash)
        poll(
            "the new balance on node 2",
            lambda: node2.balance(recipient) == 777,
            20,
            node2.logs,
        )
    finally:
        node2.stop()
        node1.stop()
        shutil.rmtree(tmp_path / "node2" / "cmt" / "data", ignore_errors=True)
