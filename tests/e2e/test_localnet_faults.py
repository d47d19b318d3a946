"""Fault tests on a real multi-validator localnet (``aivm.tools.localnet``): N CometBFT 0.38
validators, each driving its own ``aivm start`` app, on loopback ports of this machine.

Every test initialises and starts its own localnet in a tmp dir on a free port range, and stops
it (SIGTERM, then SIGKILL of the process groups) in ``finally``. All checks go through the
nodes' CometBFT RPC. CometBFT is built if missing (``ensure_cometbft``); not skipped.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import random
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from aivm.client.tx import Signer, bank_send, sign_tx
from aivm.crypto.hd import derive_privkey
from aivm.crypto.keys import PrivKey
from aivm.tools.localnet import ACCOUNT_BALANCE, DENOM, LOCALNET_CHAIN_ID, Localnet
from aivm.types import pb
from aivm.types.address import acc_address
from aivm.types.coin import Coin
from chain_drivers import free_base_port
from comet_rpc import CometRpc, CometRpcError, poll

pytestmark = pytest.mark.e2e

AMOUNT = 1000
FEE = 5000


@contextlib.contextmanager
def localnet(cometbft: Path, tmp_path: Path, validators: int) -> Iterator[Localnet]:
    net = Localnet.init(
        tmp_path / "localnet", validators, cometbft, base_port=free_base_port(validators)
    )
    try:
        net.start()
        yield net
    finally:
        net.stop(timeout=10)
        left = [(i, p) for i in range(validators) for p in ("app", "cometbft") if net.running(i, p)]
        assert not left, f"still running after stop: {left}"


# -- RPC helpers ----------------------------------------------------------------------------


def rpc(net: Localnet, i: int) -> CometRpc:
    """Node i's CometBFT JSON-RPC (5 s a call)."""
    return CometRpc(net.rpc_url(i), timeout=5)


def height(net: Localnet, i: int) -> int:
    return rpc(net, i).height()


def diagnostics(net: Localnet, nodes: list[int]) -> str:
    parts = [json.dumps(net.status())]
    for i in nodes:
        for proc in ("app", "cometbft"):
            parts.append(f"--- node{i} {proc}:\n{net.tail(i, proc, 20)}")
    return "\n".join(parts)


def wait_height(net: Localnet, nodes: list[int], target: int, timeout: float = 60) -> None:
    poll(
        f"height {target} on {nodes}",
        lambda: all(height(net, i) >= target for i in nodes),
        timeout,
        lambda: diagnostics(net, nodes),
    )


def assert_same_app_hashes(net: Localnet, nodes: list[int], lo: int, hi: int) -> None:
    """Every node has the same header (hence app hash) at every height lo…hi, and each app's
    last committed hash is the app_hash in the next header."""
    for h in range(lo, hi + 1):
        headers = {i: rpc(net, i).header(h) for i in nodes}
        hashes = {i: hd["app_hash"] for i, hd in headers.items()}
        assert len(set(hashes.values())) == 1, (h, hashes)
        assert len({json.dumps(hd, sort_keys=True) for hd in headers.values()}) == 1, h
    for i in nodes:
        app_height, app_hash = rpc(net, i).app_info()
        wait_height(net, [nodes[0]], app_height + 1, timeout=30)
        header = rpc(net, nodes[0]).header(app_height + 1)
        assert header["app_hash"] == app_hash.hex().upper(), (i, app_height)


# -- tx load --------------------------------------------------------------------------------


@dataclass
class Sent:
    sender: int
    node: int


class Load:
    """Background MsgSends: funded account k sends to node ``nodes[k % len]`` with
    broadcast_tx_sync, re-reading its sequence after any rejection or connection error."""

    def __init__(self, net: Localnet, nodes: list[int]) -> None:
        self.net = net
        self.nodes = nodes
        self.keys = [derive_privkey(a["mnemonic"]) for a in net.accounts()]
        self.addresses = [acc_address(k.pubkey.address()) for k in self.keys]
        recipient = PrivKey.from_bytes(random.randbytes(31) + b"\x01")
        self.recipient = acc_address(recipient.pubkey.address())
        self._recipient_bytes = recipient.pubkey.address()
        self.accepted: dict[str, Sent] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Load:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def count(self) -> int:
        with self._lock:
            return len(self.accepted)

    def _account(self, node: int, k: int) -> tuple[int, int]:
        resp = rpc(self.net, node).query(
            "/cosmos.auth.v1beta1.Query/Account",
            pb.auth_query.QueryAccountRequest(address=self.addresses[k]),
            pb.auth_query.QueryAccountResponse,
        )
        base = pb.auth.BaseAccount()
        resp.account.Unpack(base)
        return base.account_number, base.sequence

    def _run(self) -> None:
        state: dict[int, tuple[int, int] | None] = dict.fromkeys(range(len(self.keys)))
        while not self._stop.is_set():
            for k, key in enumerate(self.keys):
                node = self.nodes[k % len(self.nodes)]
                try:
                    current = state[k]
                    if current is None:
                        current = self._account(node, k)
                    number, sequence = current
                    msg = bank_send(
                        key.pubkey.address(), self._recipient_bytes, [Coin(DENOM, AMOUNT)]
                    )
                    tx = sign_tx(
                        [msg],
                        [Signer(key, number, sequence)],
                        LOCALNET_CHAIN_ID,
                        fee=[Coin(DENOM, FEE)],
                        gas_limit=200_000,
                    )
                    result = rpc(self.net, node).call("broadcast_tx_sync", tx="0x" + tx.hex())
                    if int(result["code"]) == 0:
                        with self._lock:
                            self.accepted[result["hash"]] = Sent(k, node)
                        state[k] = (number, sequence + 1)
                    else:
                        state[k] = None
                except (OSError, CometRpcError, AssertionError, ValueError, KeyError):
                    state[k] = None
            self._stop.wait(0.1)

    def committed(self, node: int) -> dict[str, tuple[int, int]]:
        """Accepted txs found in blocks on ``node``: hash → (height, code)."""
        with self._lock:
            hashes = list(self.accepted)
        found: dict[str, tuple[int, int]] = {}
        for tx_hash in hashes:
            try:
                res = rpc(self.net, node).call("tx", hash="0x" + tx_hash)
            except CometRpcError:
                continue
            found[tx_hash] = (int(res["height"]), int(res["tx_result"].get("code", 0)))
        return found


def drain(net: Localnet, nodes: list[int], timeout: float = 30) -> None:
    """Wait until no live node has unconfirmed txs, then one more block."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pending = [int(rpc(net, i).call("num_unconfirmed_txs")["total"]) for i in nodes]
        if not any(pending):
            break
        time.sleep(0.3)
    else:
        raise AssertionError(f"mempools not drained: {pending}")
    wait_height(net, nodes, max(height(net, i) for i in nodes) + 1)


def committed_in_blocks(
    load: Load, net: Localnet, node: int, at: int
) -> dict[str, tuple[int, int]]:
    """Accepted txs found in ``node``'s blocks 1..``at``: hash → (height, code), read from the
    blocks and their results, not the tx indexer. CometBFT does not index the blocks it replays
    into a restarted app during the handshake, so ``tx`` lookups may miss them on that node."""
    with load._lock:
        accepted = set(load.accepted)
    found: dict[str, tuple[int, int]] = {}
    for h in range(1, at + 1):
        txs = rpc(net, node).call("block", height=str(h))["block"]["data"].get("txs") or []
        if not txs:
            continue
        results = rpc(net, node).call("block_results", height=str(h))["txs_results"] or []
        assert len(results) == len(txs), (node, h)
        for raw, result in zip(txs, results, strict=True):
            tx_hash = hashlib.sha256(base64.b64decode(raw)).hexdigest().upper()
            if tx_hash in accepted:
                found[tx_hash] = (h, int(result.get("code", 0)))
    return found


def assert_balances(net: Localnet, nodes: list[int], load: Load) -> dict[str, tuple[int, int]]:
    """All nodes agree on the balances at a common height, and they equal genesis minus the
    committed txs (fee always, amount when the tx succeeded)."""
    at = min(height(net, i) for i in nodes) - 1
    committed = committed_in_blocks(load, net, nodes[0], at)
    assert committed, "no tx was committed"
    for i in nodes[1:]:
        assert committed_in_blocks(load, net, i, at) == committed, (
            f"node{i} disagrees on committed txs"
        )
    with load._lock:
        sent = dict(load.accepted)
    expected_recipient = 0
    expected = dict.fromkeys(range(len(load.keys)), ACCOUNT_BALANCE)
    for tx_hash, (h, code) in committed.items():
        assert h <= at
        expected[sent[tx_hash].sender] -= FEE + (AMOUNT if code == 0 else 0)
        expected_recipient += AMOUNT if code == 0 else 0
    for i in nodes:
        node = rpc(net, i)
        assert node.balance(load.recipient, at) == expected_recipient, i
        for k, address in enumerate(load.addresses):
            assert node.balance(address, at) == expected[k], (i, k)
    return committed


# -- tests ----------------------------------------------------------------------------------


def test_localnet_cli_single_validator(cometbft_bin: Path, tmp_path: Path) -> None:
    home = str(tmp_path / "ln1")
    base = str(free_base_port(1))

    def aivm(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "aivm.cli.main", "localnet", *args, "--home", home],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    net: Localnet | None = None
    try:
        aivm("init", "--validators", "1", "--base-port", base, "--cometbft", str(cometbft_bin))
        net = Localnet(home)
        assert (Path(home) / "accounts.json").stat().st_mode & 0o777 == 0o600
        genesis = json.loads((net.cmt_home(0) / "config" / "genesis.json").read_text())
        assert genesis["chain_id"] == LOCALNET_CHAIN_ID
        assert [v["power"] for v in genesis["validators"]] == ["10"]
        aivm("start")
        wait_height(net, [0], 3)
        (row,) = json.loads(aivm("status", "-o", "json"))
        assert row["app"] and row["cometbft"] and row["height"] >= 3
        assert row["app_hash"] and row["app_height"] >= 2
        assert "committed state" in aivm("logs", "0", "--process", "cometbft", "-n", "200")
        assert "stopped" in aivm("stop")
        assert not net.running(0, "app") and not net.running(0, "cometbft")
    finally:
        if net is not None:
            net.stop(timeout=5)


def test_four_validators_agree_under_load(cometbft_bin: Path, tmp_path: Path) -> None:
    nodes = [0, 1, 2, 3]
    with localnet(cometbft_bin, tmp_path, 4) as net:
        wait_height(net, nodes, 2)
        with Load(net, nodes) as load:
            start = height(net, 0)
            wait_height(net, nodes, start + 8)
        drain(net, nodes)
        top = min(height(net, i) for i in nodes)
        assert_same_app_hashes(net, nodes, 1, top)
        committed = assert_balances(net, nodes, load)
        assert len({h for h, _ in committed.values()}) >= 2  # txs spread over several blocks


def test_kill_one_validator_under_load(cometbft_bin: Path, tmp_path: Path) -> None:
    nodes = [0, 1, 2, 3]
    live = [0, 1, 2]
    with localnet(cometbft_bin, tmp_path, 4) as net:
        wait_height(net, nodes, 2)
        with Load(net, nodes) as load:
            wait_height(net, nodes, height(net, 0) + 3)
            before = load.committed(0)
            net.kill(3)  # kill -9 both processes of node3
            assert not net.running(3, "app") and not net.running(3, "cometbft")
            killed_at = max(height(net, i) for i in live)
            wait_height(net, live, killed_at + 4)  # 3 of 4 keep committing
            after = load.committed(0)
            assert {h: after.get(h) for h in before} == before  # nothing committed was lost
            net.start([3])
            wait_height(net, [3], max(height(net, i) for i in live), timeout=60)
        drain(net, live)
        top = max(height(net, i) for i in live)
        wait_height(net, nodes, top)  # node3 caught up (block sync) …
        assert_same_app_hashes(net, nodes, 1, top)  # … with the same app hashes
        committed = assert_balances(net, nodes, load)
        assert set(before) <= set(committed)
        assert any(h > killed_at for h, _ in committed.values())


def test_two_of_four_down_halts_then_resumes(cometbft_bin: Path, tmp_path: Path) -> None:
    with localnet(cometbft_bin, tmp_path, 4) as net:
        wait_height(net, [0, 1, 2, 3], 3)
        net.stop([2, 3], timeout=10)
        time.sleep(2)  # a block in flight may still commit
        halted = [height(net, 0), height(net, 1)]
        time.sleep(5)  # several block times (~1s each)
        assert [height(net, 0), height(net, 1)] == halted, "2 of 4 must not commit"
        common = min(halted)
        assert rpc(net, 0).header(common) == rpc(net, 1).header(common)  # no fork
        net.start([2])
        wait_height(net, [0, 1, 2], max(halted) + 3, timeout=60)  # 3 of 4 resume
        top = min(height(net, i) for i in (0, 1, 2))
        assert_same_app_hashes(net, [0, 1, 2], 1, top)


def test_kill_app_mid_block_recovers(cometbft_bin: Path, tmp_path: Path) -> None:
    nodes = [0, 1, 2, 3]
    with localnet(cometbft_bin, tmp_path, 4) as net:
        wait_height(net, nodes, 3)
        with Load(net, [0, 2, 3]) as load:
            wait_height(net, nodes, height(net, 0) + 2)
            net.kill(1, ["app"])  # kill -9 the app only; CometBFT loses its ABCI connection
            deadline = time.monotonic() + 20
            while net.running(1, "cometbft") and time.monotonic() < deadline:
                time.sleep(0.2)
            net.start([1])  # restarts the app (and CometBFT if it exited); handshake replays
            wait_height(net, nodes, height(net, 0) + 2, timeout=60)
        drain(net, [0, 2, 3])
        top = max(height(net, i) for i in nodes)
        wait_height(net, nodes, top)
        assert_same_app_hashes(net, nodes, 1, top)
        assert_balances(net, nodes, load)
