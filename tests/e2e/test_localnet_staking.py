"""Proof of stake on a real CometBFT localnet (``aivm.tools.localnet``, issue 13): five genesis
validators (node0…node4, power 10 each from their staking gen_txs) and full nodes added on the
way, all driven through CometBFT RPC and the SDK client.

- a new node block-syncs, its operator sends MsgCreateValidator with its consensus key, and it
  enters CometBFT's validator set and signs blocks;
- a delegation raises CometBFT voting power by amount / 10^6;
- a validator stopped for longer than the slashing window allows is jailed and slashed, leaves
  the set, unjails after the jail time and signs again;
- a double sign tombstones the validator, slashes 5% and removes it for good, two ways:
  ``DuplicateVoteEvidence`` from two conflicting prevotes signed with node2's key, submitted
  with ``broadcast_evidence`` (as CometBFT's e2e runner injects it), and a second node running
  with node4's key, whose conflicting votes CometBFT turns into evidence by itself;
- the chain never halts: a monitor polls node0's height for the whole module.

One localnet serves the module (a 20-block slashing window and a 10 s jail from genesis
overrides). The fixture also delegates 20 CGPT to node0 (power 30 of 70), so that > 2/3 of the
power stays online in any test order (node2 and node4 tombstoned and node3 down still leave 40
of 50). Every process is stopped at the end.
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import shutil
import struct
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import nacl.exceptions
import nacl.signing
import pytest

from aivm.client import Client, Wallet
from aivm.client.errors import ChainError
from aivm.client.results import TxResult
from aivm.modules.staking.api import POWER_REDUCTION
from aivm.tools.localnet import Localnet, free_base_port
from aivm.types import pb
from aivm.types.address import valcons_address, valoper_address
from comet_rpc import CometRpc, poll

pytestmark = pytest.mark.e2e

WINDOW = 20
"""Slashing window (blocks); min signed 0.5, so the 11th miss in a window jails."""
JAIL_S = 10
GENESIS_OVERRIDES = {
    "slashing": {
        "params": {
            "signed_blocks_window": str(WINDOW),
            "min_signed_per_window": "0.500000000000000000",
            "downtime_jail_duration": f"{JAIL_S}s",
            "slash_fraction_double_sign": "0.050000000000000000",
            "slash_fraction_downtime": "0.010000000000000000",
        }
    }
}
HALT_S = 20.0
"""A gap between two blocks on node0 longer than this is a halt."""
PREVOTE = 1
PRECOMMIT = 2
BLOCK_ID_FLAG_COMMIT = 2
UNJAIL_GAS = 300_000
VALIDATORS = 5
DOUBLE_SIGN_JAIL_END = 253402300799
"""9999-12-31T23:59:59Z, the SDK's ``DoubleSignJailEndTime``."""


# -- the shared localnet --------------------------------------------------------------------


class HeightMonitor:
    """Polls node0's height every 0.25 s in a thread and records when each new block came."""

    def __init__(self, net: Localnet) -> None:
        self.rpc = CometRpc(net.rpc_url(0), timeout=2)
        self.changes: list[tuple[float, int]] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                h = self.rpc.height()
            except (OSError, RuntimeError, ValueError, KeyError):
                h = 0
            with self._lock:
                if h and (not self.changes or h > self.changes[-1][1]):
                    self.changes.append((time.monotonic(), h))
            self._stop.wait(0.25)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def assert_live(self, since: float) -> None:
        """No gap between blocks (nor since the last block) longer than HALT_S after
        ``since`` (a ``time.monotonic()``)."""
        with self._lock:
            times = [t for t, _ in self.changes if t >= since]
            last = self.changes[-1] if self.changes else (since, 0)
        times = [since, *times, time.monotonic()]
        gaps = [b - a for a, b in itertools.pairwise(times)]
        assert max(gaps) < HALT_S, f"chain halted for {max(gaps):.1f}s (last block {last[1]})"


class Net:
    """The running localnet with its monitor, RPC and SDK helpers."""

    def __init__(self, net: Localnet, monitor: HeightMonitor) -> None:
        self.net = net
        self.monitor = monitor
        self.client = Client(net.rpc_url(0))
        self.accounts = [Wallet.from_mnemonic(a["mnemonic"]) for a in net.accounts()]
        self.operators = [Wallet.from_mnemonic(o["mnemonic"]) for o in net.operators()]

    def rpc(self, i: int = 0) -> CometRpc:
        return CometRpc(self.net.rpc_url(i), timeout=5)

    def height(self, i: int = 0) -> int:
        return int(self.rpc(i).height())

    def logs(self, nodes: list[int]) -> str:
        parts = [json.dumps(self.net.status())]
        for i in nodes:
            for proc in ("app", "cometbft"):
                parts.append(f"--- node{i} {proc}:\n{self.net.tail(i, proc, 25)}")
        return "\n".join(parts)

    def wait_height(self, nodes: list[int], target: int, timeout: float = 60) -> None:
        poll(
            f"height {target} on {nodes}",
            lambda: all(self.height(i) >= target for i in nodes),
            timeout,
            lambda: self.logs(nodes),
        )

    def valset(self, height: int = 0, node: int = 0) -> dict[str, int]:
        """CometBFT's validator set (at ``height``; 0: the latest): hex address → power."""
        params = {"per_page": "100"}
        if height:
            params["height"] = str(height)
        result = self.rpc(node).call("validators", **params)
        return {v["address"]: int(v["voting_power"]) for v in result["validators"]}

    def signers(self, height: int, node: int = 0) -> set[str]:
        """Addresses whose precommit for block ``height`` is in its commit."""
        sigs = self.rpc(node).call("commit", height=str(height))["signed_header"]["commit"]
        return {
            s["validator_address"]
            for s in sigs["signatures"]
            if int(s["block_id_flag"]) == BLOCK_ID_FLAG_COMMIT
        }

    def block_time(self) -> tuple[int, int]:
        """The latest block's time as (seconds, nanos)."""
        return self.block_time_at(self.height())

    def block_time_at(self, height: int) -> tuple[int, int]:
        """Block ``height``'s time as (seconds, nanos)."""
        return _timestamp(self.rpc().header(height)["time"])

    def cons_key(self, i: int) -> dict[str, Any]:
        """Node i's ``priv_validator_key.json``."""
        path = self.net.cmt_home(i) / "config" / "priv_validator_key.json"
        data: dict[str, Any] = json.loads(path.read_text())
        return data

    def cons_address(self, i: int) -> str:
        return str(self.cons_key(i)["address"])

    def valoper(self, wallet: Wallet) -> str:
        return valoper_address(wallet.address_bytes)

    def tokens(self, wallet: Wallet) -> int:
        return int(self.client.modules.staking.validator(self.valoper(wallet)).tokens)

    def wait_power(self, address: str, power: int | None, timeout: float = 30) -> int:
        """Wait until CometBFT lists ``address`` with ``power`` (None: not listed); returns the
        height at which it did."""

        def check() -> int:
            h = self.height()
            return h if self.valset(h).get(address) == power else 0

        found: int = poll(
            f"{address} at power {power} in CometBFT's set",
            check,
            timeout,
            lambda: json.dumps(self.valset()) + "\n" + self.logs([0]),
        )
        return found

    def wait_signing(self, address: str, nodes: list[int], timeout: float = 60) -> int:
        """Wait until ``address`` signed a commit; returns the height of that block."""

        def check() -> int:
            h = self.height() - 1
            return h if h > 0 and address in self.signers(h) else 0

        found: int = poll(f"{address} signing", check, timeout, lambda: self.logs(nodes))
        return found

    def unjail(self, operator: Wallet) -> TxResult:
        """MsgUnjail with a fixed gas limit, waited for (ChainError when it fails). Not
        ``client.modules.slashing.unjail``: it simulates for gas, and the app's simulation
        context has block time 0, so every jail looks unexpired there."""
        msg = pb.slashing_tx.MsgUnjail(validator_addr=self.valoper(operator))
        sent = self.client.sign_and_broadcast(operator, [msg], gas=UNJAIL_GAS)
        return self.client.wait_for_tx(sent.hash)

    def wait_evidence(self, address: str, after: int, timeout: float) -> int:
        """Wait for a block above ``after`` holding DuplicateVoteEvidence against
        ``address``; returns its height."""
        seen = after

        def check() -> int:
            nonlocal seen
            for k in range(seen + 1, self.height() + 1):
                block = self.rpc().call("block", height=str(k))["block"]
                for item in block["evidence"]["evidence"] or []:
                    vote = item["value"]["vote_a"]
                    if (
                        item["type"] == "tendermint/DuplicateVoteEvidence"
                        and vote["validator_address"] == address
                    ):
                        return k
                seen = k
            return 0

        found: int = poll(f"evidence against {address}", check, timeout, lambda: self.logs([0]))
        return found

    def assert_tombstoned(self, node: int, tokens: int, power: int, included: int) -> None:
        """Node's validator: tombstoned and jailed forever, ``power`` × 5% burned from
        ``tokens``, out of CometBFT's set from ``included`` + 2, and MsgUnjail fails."""
        address = self.cons_address(node)
        operator = self.operators[node]
        valcons = valcons_address(bytes.fromhex(address))

        def tombstoned() -> Any:
            info = self.client.modules.slashing.signing_info(valcons)
            return info if info.tombstoned else None

        info = poll(f"node{node} tombstoned", tombstoned, 20, lambda: self.logs([0]))
        assert info.jailed_until.seconds == DOUBLE_SIGN_JAIL_END  # jailed forever
        validator = self.client.modules.staking.validator(self.valoper(operator))
        assert validator.jailed
        assert int(validator.tokens) == tokens - power * POWER_REDUCTION * 5 // 100
        self.wait_power(address, None)
        # evidence in block H: jailed in its FinalizeBlock, out of the set that signs H+2
        assert address in self.valset(included + 1)
        assert address not in self.valset(included + 2)
        with pytest.raises(ChainError) as err:
            self.unjail(operator)
        assert err.value.codespace == "slashing" and err.value.code == 4, err.value
        assert "tombstoned" in err.value.log
        self.wait_height([0, 1], self.height() + 3)  # the rest keep committing
        assert address not in self.signers(self.height() - 1)

    def fund(self, wallet: Wallet, amount: int, account: int) -> None:
        sent = self.client.send(self.accounts[account], wallet.address, amount)
        self.client.wait_for_tx(sent.hash)


@pytest.fixture(scope="module")
def net(cometbft_bin: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Net]:
    home = tmp_path_factory.mktemp("staking") / "localnet"
    localnet = Localnet.init(
        home,
        VALIDATORS,
        cometbft_bin,
        base_port=free_base_port(VALIDATORS + 2),  # room for the two added nodes
        genesis_overrides=GENESIS_OVERRIDES,
    )
    monitor: HeightMonitor | None = None
    shared: Net | None = None
    try:
        localnet.start()
        monitor = HeightMonitor(localnet)
        shared = Net(localnet, monitor)
        shared.wait_height(list(range(VALIDATORS)), 2)
        node0 = shared.cons_address(0)
        shared.client.modules.staking.delegate(
            shared.accounts[3], shared.valoper(shared.operators[0]), 20 * POWER_REDUCTION
        )
        shared.wait_power(node0, 30)
        yield shared
    finally:
        if monitor is not None:
            monitor.stop()
        if shared is not None:
            shared.client.close()
        localnet.stop(timeout=10)
        left = [
            (i, p)
            for i in range(localnet.size)
            for p in ("app", "cometbft")
            if localnet.running(i, p)
        ]
        assert not left, f"still running after stop: {left}"


# -- tests ----------------------------------------------------------------------------------


def test_new_node_joins_by_create_validator_and_signs(net: Net) -> None:
    since = time.monotonic()
    i = net.net.add_node()
    net.net.start([i])
    top = net.height()
    net.wait_height([i], top, timeout=90)  # block-synced from the validators
    address = net.cons_address(i)
    assert address not in net.valset()

    operator, _ = Wallet.generate()
    net.fund(operator, 11 * POWER_REDUCTION, account=1)
    key_file = str(net.net.cmt_home(i) / "config" / "priv_validator_key.json")
    result = net.client.modules.staking.create_validator(
        operator, key_file, 10 * POWER_REDUCTION, f"node{i}"
    )
    assert result.ok
    joined = net.wait_power(address, 10)
    # EndBlock of block H updates the set that signs from H+2 on
    assert address not in net.valset(result.height + 1)
    assert net.valset(result.height + 2)[address] == 10
    validator = net.client.modules.staking.validator(net.valoper(operator))
    assert validator.status == 3 and not validator.jailed  # BOND_STATUS_BONDED
    assert int(validator.tokens) == 10 * POWER_REDUCTION

    signed = net.wait_signing(address, [0, i])
    assert signed >= joined
    net.wait_height([0, i], signed + 3)
    assert all(address in net.signers(h) for h in (signed + 1, signed + 2))
    assert net.rpc(i).header(signed) == net.rpc(0).header(signed)
    net.monitor.assert_live(since)


def test_delegation_raises_voting_power(net: Net) -> None:
    since = time.monotonic()
    address = net.cons_address(1)
    valoper = net.valoper(net.operators[1])
    before = net.valset()[address]
    tokens = net.tokens(net.operators[1])
    assert before == tokens // POWER_REDUCTION

    amount = 7 * POWER_REDUCTION + 123  # the remainder does not make power
    result = net.client.modules.staking.delegate(net.accounts[2], valoper, amount)
    assert result.ok
    net.wait_power(address, before + 7)
    assert net.valset(result.height + 1)[address] == before
    assert net.valset(result.height + 2)[address] == before + 7
    assert net.tokens(net.operators[1]) == tokens + amount
    delegation = net.client.modules.staking.delegation(net.accounts[2].address, valoper)
    assert delegation is not None and int(delegation.balance.amount) >= amount
    net.monitor.assert_live(since)


def test_downtime_jails_slashes_then_unjails(net: Net) -> None:
    since = time.monotonic()
    down, live = 3, [0, 1, 2]
    address = net.cons_address(down)
    operator = net.operators[down]
    valcons = valcons_address(bytes.fromhex(address))
    slashing = net.client.modules.slashing
    power = net.valset()[address]
    tokens = net.tokens(operator)
    assert not net.client.modules.staking.validator(net.valoper(operator)).jailed

    net.net.stop([down], timeout=10)
    stopped_at = net.height()
    # jailed once it has missed more than half of a full window
    jailed_height = poll(
        "node3 jailed for downtime",
        lambda: (
            net.height()
            if net.client.modules.staking.validator(net.valoper(operator)).jailed
            else 0
        ),
        WINDOW * 5,
        lambda: net.logs(live),
    )
    assert jailed_height >= stopped_at + WINDOW // 2
    info = slashing.signing_info(valcons)
    assert not info.tombstoned
    assert info.missed_blocks_counter == 0  # reset when jailed, as the SDK does
    until = (info.jailed_until.seconds, info.jailed_until.nanos)
    if net.block_time() < (until[0] - 4, until[1]):  # (always, unless this machine crawls)
        with pytest.raises(ChainError) as early:
            net.unjail(operator)  # too early
        assert early.value.codespace == "slashing" and early.value.code == 4, early.value
        assert "jailed until" in early.value.log
    # jailed for JAIL_S from the time of the block that jailed it
    jail_times = {net.block_time_at(h) for h in range(stopped_at, jailed_height + 1)}
    assert (until[0] - JAIL_S, until[1]) in jail_times
    burned = power * POWER_REDUCTION // 100  # slash_fraction_downtime 0.01
    assert net.tokens(operator) == tokens - burned
    net.wait_power(address, None)
    net.wait_height(live, net.height() + 2)  # the rest keep committing

    net.net.start([down])
    net.wait_height([down], net.height(), timeout=90)
    poll(
        "block time past jailed_until",
        lambda: net.block_time() > until,
        JAIL_S * 4,
        lambda: net.logs(live),
    )
    result = net.unjail(operator)
    assert result.ok
    net.wait_power(address, (tokens - burned) // POWER_REDUCTION)
    assert not net.client.modules.staking.validator(net.valoper(operator)).jailed
    net.wait_signing(address, [0, down])
    net.monitor.assert_live(since)


def test_double_sign_evidence_tombstones(net: Net) -> None:
    """Evidence injected as CometBFT's e2e runner does: two conflicting prevotes signed with
    node2's key, submitted with ``broadcast_evidence``."""
    since = time.monotonic()
    cheat = 2
    address = net.cons_address(cheat)
    tokens = net.tokens(net.operators[cheat])
    top = net.height()
    check_sign_bytes(net, top - 1)  # the canonical vote encoding matches CometBFT's own
    evidence_height = top - 1
    power = net.valset(evidence_height)[address]
    evidence = duplicate_vote_evidence(net, cheat, evidence_height)
    answer = rpc_post(net.net.rpc_url(0), "broadcast_evidence", {"evidence": evidence})
    assert "error" not in answer, answer["error"]
    assert answer["result"]["hash"]
    included = net.wait_evidence(address, evidence_height, 30)
    net.assert_tombstoned(cheat, tokens, power, included)
    net.monitor.assert_live(since)


def test_two_nodes_with_one_key_are_tombstoned(net: Net) -> None:
    """A second node runs with node4's consensus key (a fresh signing state): the two sign
    conflicting votes when that key proposes, the other validators see both and CometBFT puts
    the evidence in a block by itself."""
    since = time.monotonic()
    cheat = 4
    address = net.cons_address(cheat)
    tokens = net.tokens(net.operators[cheat])
    power = net.valset()[address]
    twin = net.net.add_node()
    shutil.copyfile(
        net.net.cmt_home(cheat) / "config" / "priv_validator_key.json",
        net.net.cmt_home(twin) / "config" / "priv_validator_key.json",
    )
    started = net.height()
    net.net.start([twin])
    included = net.wait_evidence(address, started, 120)
    ev = net.rpc().call("block", height=str(included))["block"]["evidence"]["evidence"]
    item = next(e for e in ev if e["value"]["vote_a"]["validator_address"] == address)
    assert int(item["value"]["ValidatorPower"]) == power
    net.assert_tombstoned(cheat, tokens, power, included)
    net.monitor.assert_live(since)


def test_chain_never_halted(net: Net) -> None:
    """Over the whole module so far (the fixture's start included), node0 never went HALT_S
    without a block, and every node that runs agrees on the latest common header."""
    net.monitor.assert_live(net.monitor.changes[0][0])
    running = [i for i in range(net.net.size) if net.net.running(i, "cometbft")]
    h = min(net.height(i) for i in running)
    headers = {i: net.rpc(i).header(h)["app_hash"] for i in running}
    assert len(set(headers.values())) == 1, headers


# -- double-sign evidence -------------------------------------------------------------------


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _field(tag: int, body: bytes) -> bytes:
    return bytes([tag]) + _varint(len(body)) + body


def _timestamp(text: str) -> tuple[int, int]:
    """RFC 3339 (CometBFT's, nanoseconds, ``Z``) → (seconds, nanos)."""
    main, _, frac = text.rstrip("Z").partition(".")
    seconds = int(datetime.fromisoformat(main).replace(tzinfo=UTC).timestamp())
    return seconds, int((frac or "0").ljust(9, "0")[:9])


def vote_sign_bytes(
    chain_id: str, vote_type: int, height: int, round_: int, block_id: dict[str, Any], ts: str
) -> bytes:
    """CometBFT's ``VoteSignBytes``: the length-delimited ``CanonicalVote`` (type, sfixed64
    height and round, CanonicalBlockID, timestamp, chain id), as gogoproto writes it."""
    body = b"\x08" + _varint(vote_type) + b"\x11" + struct.pack("<q", height)
    if round_:
        body += b"\x19" + struct.pack("<q", round_)
    parts = block_id["parts"]
    psh = b""
    if int(parts["total"]):
        psh += b"\x08" + _varint(int(parts["total"]))
    if parts["hash"]:
        psh += _field(0x12, bytes.fromhex(parts["hash"]))
    body += _field(0x22, _field(0x0A, bytes.fromhex(block_id["hash"])) + _field(0x12, psh))
    seconds, nanos = _timestamp(ts)
    stamp = (b"\x08" + _varint(seconds) if seconds else b"") + (
        b"\x10" + _varint(nanos) if nanos else b""
    )
    body += _field(0x2A, stamp) + _field(0x32, chain_id.encode())
    return _varint(len(body)) + body


def check_sign_bytes(net: Net, height: int) -> None:
    """Every precommit signature in block ``height``'s commit verifies over our sign bytes."""
    commit = net.rpc().call("commit", height=str(height))["signed_header"]["commit"]
    keys = {
        v["address"]: base64.b64decode(v["pub_key"]["value"])
        for v in net.rpc().call("validators", height=str(height), per_page="100")["validators"]
    }
    checked = 0
    for sig in commit["signatures"]:
        if int(sig["block_id_flag"]) != BLOCK_ID_FLAG_COMMIT:
            continue
        message = vote_sign_bytes(
            net.net.chain_id,
            PRECOMMIT,
            int(commit["height"]),
            int(commit["round"]),
            commit["block_id"],
            sig["timestamp"],
        )
        key = nacl.signing.VerifyKey(keys[sig["validator_address"]])
        try:
            key.verify(message, base64.b64decode(sig["signature"]))
        except nacl.exceptions.BadSignatureError as exc:
            raise AssertionError(f"sign bytes differ from CometBFT's at {height}") from exc
        checked += 1
    assert checked >= 3


def duplicate_vote_evidence(net: Net, node: int, height: int) -> dict[str, Any]:
    """Amino-JSON ``DuplicateVoteEvidence``: two prevotes of node's key at ``height`` round 0
    for two different (random) block ids, in block-id order, with the block's time and the
    powers of the set at that height."""
    key = net.cons_key(node)
    signer = nacl.signing.SigningKey(base64.b64decode(key["priv_key"]["value"])[:32])
    result = net.rpc().call("validators", height=str(height), per_page="100")
    addresses = [v["address"] for v in result["validators"]]
    powers = [int(v["voting_power"]) for v in result["validators"]]
    index = addresses.index(key["address"])
    block_time = net.rpc().header(height)["time"]
    hashes = sorted(os.urandom(32) for _ in range(2))
    part_hash = os.urandom(32).hex().upper()
    votes = []
    for block_hash in hashes:
        block_id = {"hash": block_hash.hex().upper(), "parts": {"total": 1, "hash": part_hash}}
        message = vote_sign_bytes(net.net.chain_id, PREVOTE, height, 0, block_id, block_time)
        votes.append(
            {
                "type": PREVOTE,
                "height": str(height),
                "round": 0,
                "block_id": block_id,
                "timestamp": block_time,
                "validator_address": key["address"],
                "validator_index": index,
                "signature": base64.b64encode(signer.sign(message).signature).decode(),
            }
        )
    return {
        "type": "tendermint/DuplicateVoteEvidence",
        "value": {
            "vote_a": votes[0],
            "vote_b": votes[1],
            "TotalVotingPower": str(sum(powers)),
            "ValidatorPower": str(powers[index]),
            "Timestamp": block_time,
        },
    }


def rpc_post(url: str, method: str, params: dict[str, Any]) -> dict[str, Any]:
    """A JSON-RPC POST (object params the URI form cannot carry); the whole answer."""
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).encode()
    request = urllib.request.Request(
        url, data=body, headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            answer: dict[str, Any] = json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        answer = json.loads(exc.read() or b"{}")
    return answer
