"""Off-chain sides of the compute module's hardware checks (compute README, "Hardware
checks"), as plain functions over the SDK. The daemons call them every block: the provider
node (:class:`aivm.worker.node.ProviderNode`) answers its own challenges, and the verifier
daemon (:class:`aivm.worker.verifier.VerifierNode`) serves the committees when its key is a
compute-role operator (``aivm verifier start --compute-checks`` / ``--no-compute-checks``
override). Each call is one query when nothing is open; the daemons log errors and go on.

- :func:`answer_hardware_challenges` (provider side): computes the workload of each open
  challenge of the wallet's provider that is still unanswered and within its deadline, and
  answers it.
- :func:`verify_hardware_challenges` (compute-validator side): for each open challenge on the
  wallet's committee, commits the recomputed digest during the commit phase and reveals it
  in the reveal phase. Salts are derived from the wallet's key and the challenge id, so a
  restarted validator reveals what it committed without keeping files.

Example::

    from aivm.client import Client, Wallet
    from aivm.worker.hardware_checks import answer_hardware_challenges

    with Client("http://127.0.0.1:26657") as client:
        answered = answer_hardware_challenges(client, provider_wallet)

The workload runs with numpy on the CPU (exact int32 accumulation); ``compute`` lets a caller
plug a GPU implementation with the same result (``(seed, size, rounds) -> digest``). The
daemons pass a :class:`BackgroundWorkload`, which computes on a background thread and makes
the call skip a challenge (:class:`WorkloadPending`) until its digest is ready.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aivm.modules.compute.compute_pb2 as compute_pb2
from aivm.ai.verify.hardware import workload_digest
from aivm.client.client import Client
from aivm.client.wallet import Wallet

Workload = Callable[[bytes, int, int], bytes]
OPEN = compute_pb2.HARDWARE_CHECK_STATUS_OPEN


@dataclass
class VerifyReport:
    """What one :func:`verify_hardware_challenges` call sent (challenge ids)."""

    committed: list[int] = field(default_factory=list)
    revealed: list[int] = field(default_factory=list)


def _height(client: Client) -> int:
    return int(client.status().latest_block_height)


def verdict_salt(wallet: Wallet, challenge_id: int) -> bytes:
    """The validator's salt for a challenge: HMAC-SHA256 of the id under its private key
    (secret, and the same after a restart)."""
    key = wallet.private_key.bytes
    return hmac.new(
        key, b"aivm-hardware-salt" + challenge_id.to_bytes(8, "big"), hashlib.sha256
    ).digest()


class WorkloadPending(Exception):
    """The workload's digest is being computed in the background; ask again next block."""


class BackgroundWorkload:
    """A :data:`Workload` for daemons: the first call for a challenge starts its computation
    on a background thread and raises :class:`WorkloadPending`; later calls return the digest
    once it is ready. One computation at a time, digests kept (a few), so a node's block loop
    never waits for a workload: a CPU-only node claiming a GPU tier keeps serving jobs and
    simply misses the deadline (the check then fails, as it should)."""

    def __init__(self, compute: Workload = workload_digest, keep: int = 16) -> None:
        self.compute = compute
        self.keep = keep
        self.done: dict[tuple[bytes, int, int], bytes] = {}
        self.running: threading.Thread | None = None
        self.lock = threading.Lock()

    def __call__(self, seed: bytes, size: int, rounds: int) -> bytes:
        """The digest if computed, else start computing it (when idle) and raise."""
        key = (bytes(seed), size, rounds)
        with self.lock:
            if key in self.done:
                return self.done[key]
            if self.running is None or not self.running.is_alive():
                self.running = threading.Thread(target=self._run, args=(key,), daemon=True)
                self.running.start()
        raise WorkloadPending(f"workload {size}x{size} x{rounds} is being computed")

    def _run(self, key: tuple[bytes, int, int]) -> None:
        digest = self.compute(*key)
        with self.lock:
            self.done[key] = digest
            while len(self.done) > self.keep:
                self.done.pop(next(iter(self.done)))


def answer_hardware_challenges(
    client: Client, wallet: Wallet, compute: Workload = workload_digest
) -> list[int]:
    """Answer every open, unanswered challenge of ``wallet``'s provider whose deadline has
    not passed; return the ids answered."""
    sdk: Any = client.modules.compute
    answered = []
    for record in sdk.hardware_challenges(provider=wallet.address, status=OPEN):
        if record.answer_hash or _height(client) >= record.deadline_height:
            continue  # the next block would be past the deadline
        try:
            digest = compute(record.seed, record.size, record.rounds)
        except WorkloadPending:
            continue  # computed in the background: answered at a later block
        if _height(client) >= record.deadline_height:
            continue
        sdk.answer_hardware_challenge(wallet, record.id, digest)
        answered.append(record.id)
    return answered


def _mine(record: compute_pb2.HardwareChallenge, address: str) -> compute_pb2.HardwareVerdict:
    found: compute_pb2.HardwareVerdict = next(v for v in record.verdicts if v.validator == address)
    return found


def _revealing(record: compute_pb2.HardwareChallenge, height: int) -> bool:
    """Whether a tx sent now lands in the reveal phase (after the commit deadline)."""
    return record.commit_deadline_height <= height < record.reveal_deadline_height


def verify_hardware_challenges(
    client: Client, wallet: Wallet, compute: Workload = workload_digest
) -> VerifyReport:
    """Commit (commit phase) or reveal (reveal phase) the recomputed digest of every open
    challenge on ``wallet``'s committee; return what was sent."""
    sdk: Any = client.modules.compute
    report = VerifyReport()
    for record in sdk.hardware_challenges(validator=wallet.address, status=OPEN):
        mine = _mine(record, wallet.address)
        height = _height(client)
        salt = verdict_salt(wallet, record.id)
        try:
            if not mine.commitment and height < record.commit_deadline_height:
                digest = compute(record.seed, record.size, record.rounds)
                sdk.commit_hardware_verdict(wallet, record.id, digest, salt)
                report.committed.append(record.id)
            elif mine.commitment and not mine.digest and _revealing(record, height):
                digest = compute(record.seed, record.size, record.rounds)
                sdk.reveal_hardware_verdict(wallet, record.id, digest, salt)
                report.revealed.append(record.id)
        except WorkloadPending:
            continue  # computed in the background: sent at a later block
    return report
