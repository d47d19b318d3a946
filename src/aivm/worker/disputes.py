"""The off-chain side of optimistic verification (method 2) for DSM models: a party's trace,
kept for the game, and the next move it makes in a dispute.

A provider serving a DSM job (model version format ``aivm-dsm/1``) computes the job's
execution trace (:func:`aivm.ai.verify.trace.dsm_trace`: tensor 0 the quantized input rows,
tensor ``i`` the output of operator ``i - 1``), commits it and posts the commitment with its
result (:func:`trace_evidence`). A challenger who recomputes a different trace opens a dispute
(:func:`open_dispute_msg`), and the two play the bisection game of
:mod:`aivm.ai.verify.bisection` on chain. Each party keeps its tensors until the job settles
(:class:`TraceStore`: ``<dir>/<job>.npz``, so a restarted node can still play).

The move functions are pure: from the on-chain ``Dispute`` (``verify_pb2.Dispute``) and the
party's :class:`KeptTrace` they build the message the party sends now, or None when it is not
its turn:

- status BISECT, its turn: ``MsgBisect`` with its leaf at ``mid = (lo + hi) // 2`` and the
  proof of that leaf under its root (:func:`bisect_msg`);
- status FINAL (``hi == lo + 1``): ``MsgFinalStep`` with the DSM artifact, the input tensors of
  operator ``hi - 1`` (``TraceTensor``: raw little-endian int64 rows, each proved under the
  agreed leaf ``P_lo``) and the peaks of ``P_lo`` (:func:`final_step_msg`). Either party may
  send it; the provider must (the chain's turn is the provider's), the challenger does too.

Example::

    kept = KeptTrace.of(trace.dsm_trace(program, rows))
    for dispute in verify.open_disputes(address):
        msg = next_move(dispute, address, kept, artifact)
        if msg is not None:
            send(msg)
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

import aivm.modules.verify.verify_pb2 as V
from aivm.ai.runtime.interpreter import Program
from aivm.ai.runtime.model import IntArray
from aivm.ai.verify import bisection, trace
from aivm.client.client import Client
from aivm.client.errors import ChainError
from aivm.client.results import TxResult
from aivm.client.wallet import Wallet

BISECT = V.DISPUTE_STATUS_BISECT
FINAL = V.DISPUTE_STATUS_FINAL
PROVIDER = V.PARTY_PROVIDER
CHALLENGER = V.PARTY_CHALLENGER
QUERY = "/aivm.verify.v1.Query/"
MAX_TRIES = 3
"""A move the chain refused is sent at most this many times (per game state); a move that
could not be built (a fetch failed) is tried again every block."""
Log = Callable[[str], None]


@dataclass(frozen=True)
class KeptTrace:
    """A party's trace of one job: every tensor (input first) and their commitment."""

    tensors: tuple[IntArray, ...]
    commitment: trace.TraceCommitment

    @classmethod
    def of(cls, tensors: Sequence[IntArray]) -> KeptTrace:
        """Commit ``tensors`` (hash each, then the prefix-root tree)."""
        hashes = [trace.tensor_hash(t) for t in tensors]
        return cls(tuple(tensors), trace.commit_trace(hashes))

    @property
    def output(self) -> IntArray:
        """The last tensor: the program's output."""
        return self.tensors[-1]


# -- the provider's evidence and the wrong-trace fault ----------------------------------


def trace_evidence(kept: KeptTrace, evidence: Any) -> Any:
    """``evidence`` (a ``verify_pb2.Evidence``, changed in place and returned) with the trace
    commitment and the opening of its output (``trace.open_output``) set."""
    opening = trace.open_output(kept.commitment)
    evidence.trace_root = kept.commitment.root
    evidence.trace_steps = kept.commitment.n_steps
    evidence.trace_output_leaf = opening.leaf
    del evidence.trace_output_step_proof[:]
    evidence.trace_output_step_proof.extend(opening.step_proof)
    del evidence.trace_output_tensor_proof[:]
    evidence.trace_output_tensor_proof.extend(opening.tensor_proof)
    return evidence


def evidence_bytes(kept: KeptTrace, existing: bytes = b"") -> bytes:
    """``existing`` evidence bytes (possibly empty) with the trace fields added
    (deterministic protobuf, as the chain re-encodes it)."""
    evidence = trace_evidence(kept, V.Evidence.FromString(existing))
    data: bytes = evidence.SerializeToString(deterministic=True)
    return data


def tampered(
    program: Program, tensors: Sequence[IntArray], step: int | None = None
) -> list[IntArray]:
    """A self-consistent but wrong trace (the ``wrong-trace`` / ``false-dispute`` faults).

    Tensor ``step`` (default ``n // 2``, at least 1) gets one value changed (by one, else to
    an end of the range the loader proved for it), and every later tensor is recomputed from
    it with the program's own kernels. The first change that reaches the output is preferred,
    so the output differs too whenever some single change makes it differ.
    """
    n = len(program.kernels)
    step = max(1, n // 2) if step is None else step
    honest = list(tensors)
    first: list[IntArray] | None = None
    rows, cols = honest[step].shape
    info = program.analysis.tensors[step]
    for index in range(min(rows * cols, 64)):
        value = int(honest[step][divmod(index, cols)])
        for new in (value + 1, value - 1, info.hi, info.lo):
            if new == value:
                continue
            candidate = _moved(program, honest, step, index, new)
            if candidate is None:
                continue
            if first is None:
                first = candidate
            if not np.array_equal(candidate[-1], honest[-1]):
                return candidate
    if first is None:  # a tensor of width zero, or a single-valued range: change the output
        first = list(honest)
        first[-1] = honest[-1] ^ 1
    return first


def _moved(
    program: Program, tensors: list[IntArray], step: int, index: int, value: int
) -> list[IntArray] | None:
    """``tensors`` with value ``index`` of tensor ``step`` set to ``value`` and the rest
    recomputed; None when ``value`` is outside the proven range."""
    info = program.analysis.tensors[step]
    bad = tensors[step].copy()
    row, col = divmod(index, bad.shape[1])
    if not info.lo <= value <= info.hi:
        return None
    bad[row, col] = value
    out = list(tensors)
    out[step] = bad
    for op in range(step, len(program.kernels)):
        sources, kernel = program.kernels[op]
        out[op + 1] = kernel([out[s] for s in sources])
    return out


# -- moves -------------------------------------------------------------------------------


def party_of(dispute: Any, address: str) -> int | None:
    """``PARTY_PROVIDER`` or ``PARTY_CHALLENGER`` when ``address`` plays in ``dispute``."""
    if dispute.provider == address:
        return int(PROVIDER)
    if dispute.challenger == address:
        return int(CHALLENGER)
    return None


def open_dispute_msg(challenger: str, job_id: int, provider: str, kept: KeptTrace) -> Any:
    """``MsgOpenDispute`` with the challenger's root and its last leaf with its proof."""
    c = kept.commitment
    return V.MsgOpenDispute(
        challenger=challenger,
        job_id=job_id,
        provider=provider,
        trace_root=c.root,
        last_leaf=c.leaves[c.n_steps],
        last_proof=list(trace.prove_step(c, c.n_steps)),
    )


def bisect_msg(dispute: Any, sender: str, kept: KeptTrace) -> Any:
    """``MsgBisect``: ``sender``'s leaf at the round's mid step and its proof."""
    mid = (int(dispute.lo) + int(dispute.hi)) // 2
    c = kept.commitment
    return V.MsgBisect(
        sender=sender,
        job_id=dispute.job_id,
        leaf=c.leaves[mid],
        proof=list(trace.prove_step(c, mid)),
    )


def trace_tensor(kept: KeptTrace, lo: int, index: int) -> Any:
    """``TraceTensor`` of tensor ``index`` (raw LE int64) with its proof under ``P_lo``."""
    tensor = np.ascontiguousarray(kept.tensors[index], dtype="<i8")
    rows, cols = tensor.shape
    return V.TraceTensor(
        index=index,
        rows=rows,
        cols=cols,
        data=tensor.tobytes(),
        proof=list(trace.prove_tensor(kept.commitment, lo, index)),
    )


def final_step_msg(
    dispute: Any, sender: str, kept: KeptTrace, program: Program, artifact: bytes
) -> Any:
    """``MsgFinalStep`` deciding operator ``hi - 1`` from the tensors agreed at ``lo``."""
    lo, hi = int(dispute.lo), int(dispute.hi)
    return V.MsgFinalStep(
        sender=sender,
        job_id=dispute.job_id,
        artifact=artifact,
        inputs=[trace_tensor(kept, lo, s) for s in trace.operator_sources(program, hi - 1)],
        peaks=list(trace.prove_prefix(kept.commitment, lo)),
    )


def next_move(
    dispute: Any, address: str, kept: KeptTrace, program: Program, artifact: bytes
) -> Any | None:
    """The message ``address`` sends now in ``dispute`` (None: nothing to do).

    BISECT: its leaf when the turn is its own. FINAL: the final step, from either party (the
    provider's move by the chain's turn; a challenger decides it too rather than wait for a
    timeout). A trace whose step count is not the dispute's cannot play (None)."""
    party = party_of(dispute, address)
    if party is None or kept.commitment.n_steps != int(dispute.n):
        return None
    if dispute.status == BISECT and int(dispute.turn) == party:
        return bisect_msg(dispute, address, kept)
    if dispute.status == FINAL:
        return final_step_msg(dispute, address, kept, program, artifact)
    return None


def game_of(dispute: Any) -> bisection.Game:
    """The :class:`~aivm.ai.verify.bisection.Game` an on-chain ``Dispute`` mirrors."""
    status = bisection.Status(int(dispute.status)) if dispute.status in (1, 2, 3) else None
    return bisection.Game(
        n=int(dispute.n),
        provider_root=bytes(dispute.provider_root),
        challenger_root=bytes(dispute.challenger_root),
        lo=int(dispute.lo),
        hi=int(dispute.hi),
        lo_leaf=bytes(dispute.lo_leaf),
        provider_hi_leaf=bytes(dispute.provider_hi_leaf),
        challenger_hi_leaf=bytes(dispute.challenger_hi_leaf),
        turn=bisection.Party(int(dispute.turn) or 1),
        deadline=int(dispute.deadline),
        round_blocks=int(dispute.round_blocks),
        status=status or bisection.Status.DONE,
        pending_leaf=bytes(dispute.pending_leaf),
        rounds=int(dispute.rounds),
        winner=bisection.Party(int(dispute.winner)) if dispute.winner else None,
        outcome=bisection.Outcome(int(dispute.outcome)),
    )


def dispute_of(game: bisection.Game, job_id: int, provider: str, challenger: str) -> Any:
    """The ``Dispute`` record of ``game`` (the chain's mirror; local games and tests)."""
    return V.Dispute(
        job_id=job_id,
        number=1,
        provider=provider,
        challenger=challenger,
        n=game.n,
        provider_root=game.provider_root,
        challenger_root=game.challenger_root,
        lo=game.lo,
        hi=game.hi,
        lo_leaf=game.lo_leaf,
        provider_hi_leaf=game.provider_hi_leaf,
        challenger_hi_leaf=game.challenger_hi_leaf,
        turn=V.Party.Name(int(game.turn)),
        deadline=game.deadline,
        round_blocks=game.round_blocks,
        status=V.DisputeStatus.Name(int(game.status)),
        pending_leaf=game.pending_leaf,
        rounds=game.rounds,
        winner=V.Party.Name(int(game.winner) if game.winner is not None else 0),
        outcome=V.DisputeOutcome.Name(int(game.outcome)),
    )


def tensor_of(message: Any) -> IntArray:
    """The array of a ``TraceTensor`` (ValueError when its data is not rows × cols int64)."""
    rows, cols = int(message.rows), int(message.cols)
    data = bytes(message.data)
    if len(data) != 8 * rows * cols:
        raise ValueError(f"{len(data)} bytes are not a {rows}×{cols} int64 tensor")
    return np.frombuffer(data, "<i8").reshape(rows, cols).astype(np.int64)


# -- keeping traces ----------------------------------------------------------------------


class TraceStore:
    """Traces kept for disputes: in memory, and ``<dir>/<job>.npz`` for a restart."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.kept: dict[int, KeptTrace] = {}

    def path(self, job_id: int) -> Path:
        """Where job ``job_id``'s trace is written."""
        return self.directory / f"{job_id}.npz"

    def put(self, job_id: int, kept: KeptTrace) -> None:
        """Keep ``kept`` for ``job_id`` (written atomically)."""
        self.kept[job_id] = kept
        self.directory.mkdir(parents=True, exist_ok=True)
        tmp = self.directory / f"{job_id}.tmp.npz"
        np.savez(tmp, *kept.tensors)
        os.replace(tmp, self.path(job_id))

    def get(self, job_id: int) -> KeptTrace | None:
        """The kept trace of ``job_id`` (read from disk after a restart), or None."""
        found = self.kept.get(job_id)
        if found is not None:
            return found
        path = self.path(job_id)
        if not path.exists():
            return None
        try:
            with np.load(path, allow_pickle=False) as data:
                tensors = [np.asarray(data[f"arr_{i}"], np.int64) for i in range(len(data.files))]
        except (OSError, ValueError, KeyError):
            return None
        found = self.kept[job_id] = KeptTrace.of(tensors)
        return found

    def job_ids(self) -> list[int]:
        """Every job with a kept trace (memory and disk)."""
        on_disk = set()
        if self.directory.exists():
            for path in self.directory.glob("*.npz"):
                with contextlib.suppress(ValueError):
                    on_disk.add(int(path.stem))
        return sorted(on_disk | set(self.kept))

    def drop(self, job_id: int) -> None:
        """Forget job ``job_id``'s trace."""
        self.kept.pop(job_id, None)
        with contextlib.suppress(FileNotFoundError):
            self.path(job_id).unlink()


# -- the chain ---------------------------------------------------------------------------


def open_disputes(client: Client, party: str = "") -> list[Any]:
    """Undecided games (``Query/OpenDisputes``), only those ``party`` plays in if given."""
    found = client.query(
        QUERY + "OpenDisputes", V.QueryOpenDisputesRequest(party=party),
        V.QueryOpenDisputesResponse,
    )  # fmt: skip
    return list(found.disputes)


def job_disputes(client: Client, job_id: int) -> list[Any]:
    """Every game of a job (``Query/Disputes``)."""
    found = client.query(
        QUERY + "Disputes", V.QueryDisputesRequest(job_id=job_id), V.QueryDisputesResponse
    )
    return list(found.disputes)


def challengeable(client: Client) -> list[Any]:
    """Sessions still taking disputes (``Query/Challengeable``): job id and window end."""
    found = client.query(
        QUERY + "Challengeable", V.QueryChallengeableRequest(), V.QueryChallengeableResponse
    )
    return list(found.jobs)


def send(client: Client, wallet: Wallet, msg: Any, timeout: float = 30.0) -> TxResult:
    """Sign (gas simulated), broadcast and wait for one message's tx (ChainError when
    CheckTx refuses it; a tx that failed in a block is returned with ``ok`` False)."""
    sent = client.sign_and_broadcast(wallet, [msg])
    return client.wait_for_tx(sent.hash, timeout=timeout, check=False)


Source = Callable[[int], tuple[KeptTrace, Program, bytes] | None]
"""Job id → (the party's kept trace, the DSM program, its artifact bytes), or None."""


class Player:
    """Plays ``wallet``'s side of every open dispute, one move per game and block."""

    def __init__(self, client: Client, wallet: Wallet, source: Source, log: Log) -> None:
        self.client = client
        self.wallet = wallet
        self.address = wallet.address
        self.source = source
        self.log = log
        self.tries: dict[tuple[Any, ...], int] = {}

    def step(self) -> list[Any]:
        """Make every move due now; returns the open disputes this party plays in."""
        mine = [d for d in open_disputes(self.client, self.address) if party_of(d, self.address)]
        keys = {self._key(d) for d in mine}
        self.tries = {k: v for k, v in self.tries.items() if k in keys}
        for dispute in mine:
            try:
                self._play(dispute)
            except Exception as exc:  # one game's trouble (a fetch, a bug) stops nothing else
                self.log(
                    f"job {dispute.job_id}: dispute {dispute.number}: cannot move now: "
                    f"{type(exc).__name__}: {exc}"
                )
        return mine

    @staticmethod
    def _key(d: Any) -> tuple[Any, ...]:
        return (d.job_id, d.number, d.status, d.rounds, d.turn, bytes(d.pending_leaf))

    def _play(self, dispute: Any) -> None:
        party = party_of(dispute, self.address)
        due = dispute.status == FINAL or (dispute.status == BISECT and dispute.turn == party)
        key = self._key(dispute)
        if not due or self.tries.get(key, 0) >= MAX_TRIES:
            return
        job = dispute.job_id
        found = self.source(job)
        if found is None:
            self.log(f"job {job}: dispute {dispute.number}: no trace kept here; cannot move")
            self.tries[key] = MAX_TRIES
            return
        kept, program, artifact = found
        msg = next_move(dispute, self.address, kept, program, artifact)
        if msg is None:
            self.log(f"job {job}: dispute {dispute.number}: the kept trace does not fit the game")
            self.tries[key] = MAX_TRIES
            return
        what = (
            f"bisect at step {(dispute.lo + dispute.hi) // 2}"
            if isinstance(msg, V.MsgBisect)
            else f"final step (operator {dispute.hi - 1})"
        )
        self.tries[key] = self.tries.get(key, 0) + 1
        try:
            result = send(self.client, self.wallet, msg)
        except ChainError as exc:
            self.log(f"job {job}: dispute {dispute.number}: {what} refused: {exc}")
            return
        if not result.ok:
            self.log(f"job {job}: dispute {dispute.number}: {what} failed: {result.log}")
            return
        self.tries[key] = MAX_TRIES  # done: the game moves on from this state
        self.log(
            f"job {job}: dispute {dispute.number}: sent {what} as the "
            f"{'provider' if party == PROVIDER else 'challenger'} at height {result.height}"
        )
