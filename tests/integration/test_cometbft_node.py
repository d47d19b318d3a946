"""End to end: a real CometBFT 0.38 node (built by scripts/install-cometbft.sh) driving the
AIVM app through ``aivm start`` (the ABCI socket server).

One validator: blocks are produced, a signed MsgSend goes through CometBFT's mempool into a
block, the app's height and app hash follow CometBFT's, and after ``kill -9`` of the app the
handshake brings both back to producing blocks. Not skipped without CometBFT: it is built
(once per session, a few minutes the first time; needs Go) or the test fails saying why.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from aivm.client.tx import Signer, bank_send, sign_tx
from aivm.crypto.keys import PrivKey
from aivm.tools.localnet import set_toml as _set_toml
from aivm.types import pb
from aivm.types.address import acc_address
from aivm.types.coin import Coin
from comet_rpc import CometRpc, free_port, one_validator_genesis, poll

pytestmark = pytest.mark.e2e

CHAIN_ID = "aivm-localnet-1"
DENOM = "ucgpt"
FUNDED = 10_000_000_000
SENDER_KEY = PrivKey.from_bytes(bytes.fromhex("11" * 32))
RECIPIENT = acc_address(PrivKey.from_bytes(bytes.fromhex("22" * 32)).pubkey.address())


class Node(CometRpc):
    """A CometBFT home plus an AIVM app home, and the two processes."""

    def __init__(self, cometbft: Path, root: Path) -> None:
        self.cometbft = cometbft
        self.cmt_home = root / "cmt"
        self.app_home = root / "app"
        self.abci_port = free_port()
        self.rpc_port = free_port()
        self.p2p_port = free_port()
        self.rpc = f"http://127.0.0.1:{self.rpc_port}"
        self.app_proc: subprocess.Popen[bytes] | None = None
        self.cmt_proc: subprocess.Popen[bytes] | None = None
        self.logs = root / "logs"
        self.logs.mkdir()
        self._starts = 0

    def init(self) -> None:
        subprocess.run(
            [str(self.cometbft), "init", "--home", str(self.cmt_home)],
            check=True,
            capture_output=True,
        )
        config = self.cmt_home / "config"
        sender = acc_address(SENDER_KEY.pubkey.address())
        genesis = one_validator_genesis(self.cmt_home, CHAIN_ID, sender, FUNDED)
        (config / "genesis.json").write_text(genesis.dumps())
        text = (config / "config.toml").read_text()
        text = _set_toml(text, "", "proxy_app", f'"tcp://127.0.0.1:{self.abci_port}"')
        text = _set_toml(text, "rpc", "laddr", f'"tcp://127.0.0.1:{self.rpc_port}"')
        text = _set_toml(text, "p2p", "laddr", f'"tcp://127.0.0.1:{self.p2p_port}"')
        text = _set_toml(text, "p2p", "addr_book_strict", "false")
        text = _set_toml(text, "consensus", "timeout_commit", '"200ms"')
        text = _set_toml(text, "consensus", "timeout_propose", '"1s"')
        text = _set_toml(text, "consensus", "create_empty_blocks", "true")
        (config / "config.toml").write_text(text)

    def start_app(self) -> None:
        self._starts += 1
        log = open(self.logs / f"app-{self._starts}.log", "wb")  # noqa: SIM115
        self.app_proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "aivm.cli.main",
                "start",
                "--home",
                str(self.app_home),
                "--abci",
                f"tcp://127.0.0.1:{self.abci_port}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.app_proc.poll() is not None:
                raise AssertionError(f"aivm start exited: {self._log('app')}")
            try:
                socket.create_connection(("127.0.0.1", self.abci_port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.1)
        raise AssertionError(f"aivm start did not listen: {self._log('app')}")

    def start_cometbft(self) -> None:
        log = open(self.logs / f"cometbft-{self._starts}.log", "wb")  # noqa: SIM115
        self.cmt_proc = subprocess.Popen(
            [str(self.cometbft), "start", "--home", str(self.cmt_home)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()

    def _log(self, name: str) -> str:
        files = sorted(self.logs.glob(f"{name}-*.log"))
        return files[-1].read_text(errors="replace")[-3000:] if files else "(no log)"

    def log_tails(self) -> str:
        return f"app:\n{self._log('app')}\ncometbft:\n{self._log('cometbft')}"

    def wait_height(self, target: int, timeout: float = 60) -> int:
        def reached() -> int:
            for name, proc in (("app", self.app_proc), ("cometbft", self.cmt_proc)):
                if proc is not None and proc.poll() is not None:
                    raise AssertionError(f"{name} exited early:\n{self._log(name)}")
            height = self.height()
            return height if height >= target else 0

        return int(poll(f"height {target}", reached, timeout, self.log_tails))

    def check_app_hash(self) -> int:
        """The app's hash at its height h equals the app_hash in CometBFT's header h+1."""
        app_height, app_hash = self.app_info()
        assert app_height > 0
        self.wait_height(app_height + 1)
        header = self.header(app_height + 1)
        assert header["app_hash"] == app_hash.hex().upper(), (app_height, header)
        return app_height

    @staticmethod
    def _stop(proc: subprocess.Popen[bytes] | None) -> None:
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)

    def stop(self) -> None:
        self._stop(self.cmt_proc)
        self._stop(self.app_proc)


@pytest.fixture
def node(cometbft_bin: Path, tmp_path: Path) -> Iterator[Node]:
    n = Node(cometbft_bin, tmp_path)
    try:
        n.init()
        n.start_app()
        n.start_cometbft()
        yield n
    finally:
        n.stop()


def test_cometbft_drives_the_app(node: Node) -> None:
    node.wait_height(3)

    # a signed MsgSend through CometBFT's mempool
    sender = acc_address(SENDER_KEY.pubkey.address())
    acc = node.query(
        "/cosmos.auth.v1beta1.Query/Account",
        pb.auth_query.QueryAccountRequest(address=sender),
        pb.auth_query.QueryAccountResponse,
    )
    base = pb.auth.BaseAccount()
    acc.account.Unpack(base)
    msg = bank_send(
        SENDER_KEY.pubkey.address(),
        PrivKey.from_bytes(bytes.fromhex("22" * 32)).pubkey.address(),
        [Coin(DENOM, 12345)],
    )
    tx = sign_tx(
        [msg],
        [Signer(SENDER_KEY, base.account_number, base.sequence)],
        CHAIN_ID,
        fee=[Coin(DENOM, 1000)],
        gas_limit=200_000,
    )
    result = node.call("broadcast_tx_sync", tx="0x" + tx.hex())
    assert result["code"] == 0, result
    tx_hash = result["hash"]
    included = poll(
        f"tx {tx_hash}", lambda: node.call("tx", hash="0x" + tx_hash), 30, node.log_tails
    )
    assert included["tx_result"]["code"] == 0, included
    assert node.balance(RECIPIENT) == 12345
    assert node.balance(sender) == FUNDED - 12345 - 1000

    # app height and CometBFT height advance together; app hashes agree
    first = node.check_app_hash()
    second = node.check_app_hash()
    deadline = time.monotonic() + 30
    while second <= first and time.monotonic() < deadline:  # the app commits just after
        time.sleep(0.2)  # CometBFT reports the block
        second = node.check_app_hash()
    assert second > first
    app_height, _ = node.app_info()
    assert abs(node.height() - app_height) <= 1

    # kill -9 the app mid-run: CometBFT stops (its ABCI connection is gone); restart both and
    # the handshake replays what the app had not committed
    before = node.height()
    assert node.app_proc is not None and node.cmt_proc is not None
    os.kill(node.app_proc.pid, signal.SIGKILL)
    node.app_proc.wait(timeout=10)
    try:
        node.cmt_proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        node._stop(node.cmt_proc)
    node.start_app()
    node.start_cometbft()
    node.wait_height(before + 3)
    node.check_app_hash()
    assert node.balance(RECIPIENT) == 12345


def poison_txs() -> list[bytes]:
    """Unsigned txs that once raised out of CheckTx (a non-ASCII or overlong coin amount)."""
    sender = SENDER_KEY.pubkey.address()
    txs = []
    for amount in ("²", "٣", "1" * 5000):
        msg = bank_send(sender, sender, [Coin(DENOM, 1)])
        body = pb.tx.TxBody(messages=[pb.pack_any(msg)]).SerializeToString()
        auth = pb.tx.AuthInfo()
        auth.signer_infos.add().sequence = 0
        auth.fee.amount.add(denom=DENOM, amount=amount)
        auth.fee.gas_limit = 200_000
        raw = pb.tx.TxRaw(
            body_bytes=body, auth_info_bytes=auth.SerializeToString(), signatures=[b"\0" * 64]
        )
        txs.append(raw.SerializeToString())
    return txs


def test_malformed_amounts_do_not_stop_the_node(node: Node) -> None:
    """Issue 11, finding 3: one unsigned tx to broadcast_tx_sync used to stop CometBFT
    ("mempool connection terminated"): CheckTx raised and the app answered an exception."""
    node.wait_height(2)
    for raw in poison_txs():
        result = node.call("broadcast_tx_sync", tx="0x" + raw.hex())
        assert result["code"] == 2 and result["codespace"] == "sdk", result  # tx parse error
    before = node.height()
    node.wait_height(before + 3)
    assert node.app_proc is not None and node.app_proc.poll() is None
    assert node.cmt_proc is not None and node.cmt_proc.poll() is None
