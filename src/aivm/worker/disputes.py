"""The off-chain side of optimistic verification (method 2): a party's trace, kept for the
game, the next move it makes in a dispute, and an AI validator's check of a float step.

A provider serving an optimistic job computes the job's execution trace, commits it and posts
the commitment with its result (:func:`trace_evidence`):

- a DSM model (version format ``aivm-dsm/1``): :func:`aivm.ai.verify.trace.dsm_trace` (tensor
  0 the quantized input rows, tensor ``i`` the output of operator ``i - 1``);
- a float model (ONNX, comparison rule ``tolerance``): :class:`aivm.ai.verify.trace.
  OnnxTracer`'s run (tensor 0 the fed float32 array, then every node output in graph order;
  the last one is the graph's output, and the evidence names its shape).

A challenger who recomputes a different trace opens a dispute (:func:`open_dispute_msg`), and
the two play the bisection game of :mod:`aivm.ai.verify.bisection` on chain. Each party keeps
its tensors until the job settles (:class:`TraceStore`: ``<dir>/<job>.npz``, so a restarted
node can still play).

The move functions are pure: from the on-chain ``Dispute`` (``verify_pb2.Dispute``) and the
party's :class:`KeptTrace` they build the message the party sends now, or None when it is not
its turn:

- status BISECT, its turn: ``MsgBisect`` with its leaf at ``mid = (lo + hi) // 2`` and the
  proof of that leaf under its root (:func:`bisect_msg`);
- status FINAL (``hi == lo + 1``) of a DSM game: ``MsgFinalStep`` with the DSM artifact, the
  input tensors of operator ``hi - 1`` (``TraceTensor``: raw little-endian int64 rows, each
  proved under the agreed leaf ``P_lo``) and the peaks of ``P_lo`` (:func:`final_step_msg`).
  Either party may send it; the provider must (the chain's turn is the provider's), the
  challenger does too;
- status FINAL of a float game (``Dispute.float_model``): the provider alone opens the step
  (:func:`float_final_step_msg`): the disputed node's input tensors (float32, each proved
  under ``P_lo``, in ``trace.onnx_step_node`` order) and its claimed tensor ``hi`` (proved
  under its own leaf ``P_hi``). Then nothing more: a committee of AI validators re-runs that
  node (:func:`step_verdict`) and votes, the majority decides.

Example::

    kept = KeptTrace.of(trace.dsm_trace(program, rows))
    for dispute in verify.open_disputes(address):
        msg = next_move(dispute, address, kept, program, artifact)
        if msg is not None:
            send(msg)
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

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
Tensor = npt.NDArray[Any]
FLOAT32 = "float32"


@dataclass(frozen=True)
class KeptTrace:
    """A party's trace of one job: every tensor (input first) and their commitment."""

    tensors: tuple[Tensor, ...]
    commitment: trace.TraceCommitment

    @classmethod
    def of(cls, tensors: Sequence[Tensor]) -> KeptTrace:
        """Commit ``tensors`` (hash each, then the prefix-root tree)."""
        hashes = [trace.tensor_hash(t) for t in tensors]
        return cls(tuple(tensors), trace.commit_trace(hashes))

    @property
    def output(self) -> Tensor:
        """The last tensor: the model's output."""
        return self.tensors[-1]

    @property
    def is_float(self) -> bool:
        """A float model's trace (its output is float32)."""
        return bool(self.output.dtype == np.float32)

    def with_output(self, output: Tensor) -> KeptTrace:
        """The same trace with its last tensor replaced (and committed again)."""
        return KeptTrace.of([*self.tensors[:-1], output])


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
    del evidence.trace_output_shape[:]
    if kept.is_float:
        evidence.trace_output_shape.extend(int(d) for d in kept.output.shape)
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


FLOAT_FAULT = np.float32(0.25)
"""What the float ``wrong-trace`` / ``false-dispute`` faults add to the output tensor: far
beyond any sensible tolerance."""


def tampered_float(tensors: Sequence[Tensor]) -> list[Tensor]:
    """A float trace whose last tensor (the output) is moved by :data:`FLOAT_FAULT`."""
    out = list(tensors)
    out[-1] = (np.asarray(out[-1], np.float32) + FLOAT_FAULT).astype(np.float32)
    return out


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


def float_trace_tensor(kept: KeptTrace, step: int, index: int) -> Any:
    """``TraceTensor`` of float tensor ``index`` (float32 LE, its shape) with its proof under
    ``P_step`` (ValueError for a tensor that is not float32: the chain opens float32 only)."""
    tensor = kept.tensors[index]
    if tensor.dtype != np.float32:
        raise ValueError(f"tensor {index} is {tensor.dtype}, not float32: it cannot be opened")
    data = np.ascontiguousarray(tensor, dtype="<f4")
    return V.TraceTensor(
        index=index,
        dtype=FLOAT32,
        shape=[int(d) for d in data.shape],
        data=data.tobytes(),
        proof=list(trace.prove_tensor(kept.commitment, step, index)),
    )


def float_final_step_msg(dispute: Any, sender: str, kept: KeptTrace, model: bytes) -> Any:
    """The provider's ``MsgFinalStep`` of a float game: the inputs of the node producing step
    ``hi`` (opened under ``P_lo``) and its claimed tensor ``hi`` (under ``P_hi``)."""
    lo, hi = int(dispute.lo), int(dispute.hi)
    _, steps = trace.onnx_step_node(model, hi)
    return V.MsgFinalStep(
        sender=sender,
        job_id=dispute.job_id,
        inputs=[float_trace_tensor(kept, lo, s) for s in steps],
        claimed=float_trace_tensor(kept, hi, hi),
    )


def is_due(dispute: Any, party: int) -> bool:
    """Whether ``party`` has a move to make in ``dispute`` now: its turn to bisect; a DSM
    final step (either party); a float final step not yet opened (the provider only)."""
    if dispute.status == BISECT:
        return int(dispute.turn) == party
    if dispute.status != FINAL:
        return False
    if dispute.float_model:
        return party == PROVIDER and not dispute.vote_pending
    return True


def next_move(
    dispute: Any, address: str, kept: KeptTrace, program: Program | None, artifact: bytes
) -> Any | None:
    """The message ``address`` sends now in ``dispute`` (None: nothing to do).

    BISECT: its leaf when the turn is its own. FINAL of a DSM game: the final step, from
    either party (the provider's move by the chain's turn; a challenger decides it too rather
    than wait for a timeout; ``program`` and ``artifact`` are the DSM model's). FINAL of a
    float game: the provider opens the step (``artifact`` is the ONNX model's bytes); the
    challenger waits for the vote. A trace whose step count is not the dispute's cannot
    play (None)."""
    party = party_of(dispute, address)
    if party is None or kept.commitment.n_steps != int(dispute.n) or not is_due(dispute, party):
        return None
    if dispute.status == BISECT:
        return bisect_msg(dispute, address, kept)
    if dispute.float_model:
        return float_final_step_msg(dispute, address, kept, artifact)
    if program is None:
        return None
    return final_step_msg(dispute, address, kept, program, artifact)


# -- an AI validator's vote on a float step ------------------------------------------------

VERDICT_DOMAIN = b"aivm-verdict/v1\x00"
DEFAULT_ATOL, DEFAULT_RTOL = "0.00001", "0.001"
"""The ai module's default tolerances (a version stores its own; empty ones are these)."""


def step_commitment(
    job_id: int, round_: int, validator: bytes, output_digest: bytes, salt: bytes, valid: bool
) -> bytes:
    """What a validator commits in a step vote: the verify module's verdict commitment
    (``aivm.modules.verify.keeper.verdict_commitment``, which the worker does not import) with
    only the step flag (bit 2) set when ``valid``."""
    body = job_id.to_bytes(8, "big") + round_.to_bytes(4, "big") + validator
    flags = bytes([4 if valid else 0])
    return hashlib.sha256(VERDICT_DOMAIN + body + output_digest + flags + salt).digest()


def tolerance_of(version: Any) -> Callable[[bytes, bytes], bool]:
    """The version's tolerance test on two float32 LE byte strings: the same length, every
    element finite and ``|x − y| ≤ atol + rtol · max(|x|, |y|)`` (in float64: an off-chain
    judgement; the chain's exact rational form is ``aivm.modules.compute.compare``)."""
    atol = float(getattr(version, "comparison_atol", "") or DEFAULT_ATOL)
    rtol = float(getattr(version, "comparison_rtol", "") or DEFAULT_RTOL)

    def close(a: bytes, b: bytes) -> bool:
        if len(a) != len(b) or len(a) % 4:
            return False
        x = np.frombuffer(a, "<f4").astype(np.float64)
        y = np.frombuffer(b, "<f4").astype(np.float64)
        if not (np.isfinite(x).all() and np.isfinite(y).all()):
            return False
        bound = atol + rtol * np.maximum(np.abs(x), np.abs(y))
        return bool((np.abs(x - y) <= bound).all())

    return close


@dataclass(frozen=True)
class StepVerdict:
    """What an AI validator concludes about an opened float step."""

    valid: bool
    detail: str


def float_array(message: Any) -> Tensor:
    """The array of a float ``TraceTensor`` (ValueError when malformed)."""
    shape = tuple(int(d) for d in message.shape)
    data = bytes(message.data)
    if message.dtype != FLOAT32 or not shape or len(data) != 4 * int(np.prod(shape)):
        raise ValueError(f"tensor {message.index} is not a float32 tensor of shape {shape}")
    return np.frombuffer(data, "<f4").reshape(shape).astype(np.float32)


def _output_position(model: Any, step: int) -> int:
    """Which of its node's (non-empty) outputs trace step ``step`` is."""
    graph = model.graph
    initializers = {t.name for t in graph.initializer}
    first = sum(1 for i in graph.input if i.name not in initializers)
    for node in graph.node:
        outputs = [o for o in node.output if o]
        if first <= step < first + len(outputs):
            return step - first
        first += len(outputs)
    raise ValueError(f"step {step} is not a node output")


def step_verdict(model: bytes, dispute: Any, close: Callable[[bytes, bytes], bool]) -> StepVerdict:
    """Re-run the node of an opened float step on the opened inputs and compare with the
    provider's claim by ``close`` (the model's tolerance over float32 LE bytes).

    The claim is invalid when the opened inputs are not exactly the node's input steps (in
    :func:`aivm.ai.verify.trace.onnx_step_node` order), a tensor is malformed, the node does
    not run on them, or its output is not within the tolerance of the claim (same shape)."""
    import onnx

    hi = int(dispute.hi)
    proto = onnx.load_from_string(model)
    try:
        _, steps = trace.onnx_step_node(proto, hi)
        opened = [int(t.index) for t in dispute.inputs]
        if opened != list(steps):
            return StepVerdict(False, f"opened tensors {opened}, the node takes steps {steps}")
        if int(dispute.claimed.index) != hi:
            return StepVerdict(False, f"the claim is tensor {dispute.claimed.index}, not {hi}")
        inputs = [float_array(t) for t in dispute.inputs]
        claim = float_array(dispute.claimed)
        outputs = trace.run_onnx_node(proto, hi, inputs)
        ours = np.ascontiguousarray(outputs[_output_position(proto, hi)], dtype="<f4")
    except Exception as exc:  # onnxruntime, onnx and malformed tensors: the provider's fault
        return StepVerdict(False, f"the node does not run on the opened inputs: {exc}")
    if ours.shape != claim.shape:
        return StepVerdict(False, f"the node gives shape {list(ours.shape)}, the claim "
                           f"{list(claim.shape)}")  # fmt: skip
    if not close(ours.tobytes(), np.ascontiguousarray(claim, dtype="<f4").tobytes()):
        worst = float(np.max(np.abs(ours.astype(np.float64) - claim.astype(np.float64))))
        return StepVerdict(False, f"the claim is off by up to {worst:.3g} (beyond tolerance)")
    return StepVerdict(True, "the claim is within tolerance of the node re-run here")


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
                tensors = [np.asarray(data[f"arr_{i}"]) for i in range(len(data.files))]
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


Source = Callable[[int], tuple[KeptTrace, Program | None, bytes] | None]
"""Job id → (the party's kept trace, the DSM program and its artifact bytes; for a float
model None and the ONNX model's bytes), or None."""


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
        state = (d.status, d.rounds, d.turn, bytes(d.pending_leaf), d.vote_pending)
        return (d.job_id, d.number, *state)

    def _play(self, dispute: Any) -> None:
        party = party_of(dispute, self.address)
        key = self._key(dispute)
        if party is None or not is_due(dispute, party) or self.tries.get(key, 0) >= MAX_TRIES:
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
        if isinstance(msg, V.MsgBisect):
            what = f"bisect at step {(dispute.lo + dispute.hi) // 2}"
        elif dispute.float_model:
            what = f"final step (opened step {dispute.hi} for the vote)"
        else:
            what = f"final step (operator {dispute.hi - 1})"
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
