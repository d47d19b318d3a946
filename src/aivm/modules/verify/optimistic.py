"""Optimistic verification (method 2) on chain: trace commitments checked with each result,
and dispute games between a provider and a bonded challenger, narrowed by bisection to one
operator that the chain executes with the DSM integer semantics.

Which jobs, when the job's criticality rule lists ``METHOD_OPTIMISTIC``:

- a model version that is a DSM artifact (format ``aivm-dsm/1``) run off-chain by the
  marketplace: the input is an inline ``.npy`` 2-D ``int64`` array of quantized rows, the
  last step of a dispute is decided by executing the operator on chain (bit-exact);
- an ONNX version compared by ``tolerance`` (a float model): the input is an inline ``.npy``
  ``float32`` array (1 to 4 dimensions), the trace is :class:`aivm.ai.verify.trace.
  OnnxTracer`'s (the graph's output must be its last node's), and the last step is decided
  by a vote of AI validators: the provider opens the node's inputs under the agreed leaf and
  its claimed output under its own leaf, validators re-run that one node and commit-reveal
  whether the claim is within the model's tolerance (``Verdict.step_valid``).

The chain hashes tensor 0 itself; each result carries its output inline
(``comparison_data``) and the commitment of its execution trace (:mod:`aivm.ai.verify.trace`)
in ``Evidence``: the root, the step count and the opening of the output tensor (and, for a
float model, the output's shape), checked in the provider's own tx.

Life of a dispute (:mod:`aivm.ai.verify.bisection` is the pure game):

1. ``MsgOpenDispute`` while the job's challenge window is open: anyone but the job's
   providers posts ``dispute_bond`` (to this module's account), its own trace root and its
   last leaf. The chain computes the input's tensor hash and opens the game. One undecided
   game per job at a time.
2. ``MsgBisect``: each round the provider, then the challenger, posts its leaf at the middle
   step with a proof against its own root; agreement moves the agreed step up, disagreement
   the disputed step down.
3. ``MsgFinalStep`` when the steps are adjacent: either party sends the DSM artifact (its
   sha256 must be the version's), the operator's input tensors opened under the agreed leaf
   and the peaks of the agreed prefix; the chain runs that one operator and compares.
4. A party that misses a move's deadline loses (EndBlock). Provider wins: the challenger's
   bond is paid to it and the window goes on. Challenger wins: its bond comes back, the
   provider's collateral pays it ``dispute_bond``, and the result is rejected.

When the window closes with no game open, the method passes; a session whose other methods
passed first waits in ``SESSION_STATUS_CHALLENGE``. Nothing here raises out of EndBlock.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

import numpy as np

from aivm.ai import runtime
from aivm.ai.verify import bisection, trace
from aivm.ai.verify.bisection import Game, LeafOpening, Outcome, Party, Status, TensorOpening
from aivm.ai.verify.trace import TraceGas
from aivm.modules.addr import addr_bytes, addr_str
from aivm.modules.compute import compute_pb2
from aivm.modules.compute.hooks import Payee
from aivm.modules.compute.keeper import to_int
from aivm.modules.framework import Context, guarded
from aivm.modules.verify import keys, verify_pb2
from aivm.modules.verify.attestation import decode_evidence
from aivm.modules.verify.errors import (
    ErrDisputeState,
    ErrInvalidDispute,
    ErrInvalidEvidence,
    ErrNotVerifiable,
)
from aivm.modules.verify.params import VerifyParams
from aivm.store import KVStore, PrefixStore
from aivm.types.coin import BOND_DENOM, Coin, Coins
from aivm.types.errors import AivmError

if TYPE_CHECKING:
    from aivm.modules.verify.keeper import VerifyKeeper

V = verify_pb2
MODULE_ACCOUNT = "verify"
DSM_FORMAT = runtime.FORMAT
OPEN_GAS = 5_000
BISECT_GAS = 2_000
FINAL_GAS = 5_000
MAX_LISTED = 200
MAX_DETAIL = 280
_NPY_HEADER = re.compile(
    rb"\{'descr': '<i8', 'fortran_order': False, 'shape': "
    rb"\((0|[1-9][0-9]{0,8}), (0|[1-9][0-9]{0,8})\), \} *\n"
)
_DIM = rb"(?:0|[1-9][0-9]{0,8})"
_NPY_FLOAT_HEADER = re.compile(
    rb"\{'descr': '<f4', 'fortran_order': False, 'shape': \((" + _DIM + rb",|"
    + _DIM + rb"(?:, " + _DIM + rb"){1,3})\), \} *\n"
)
MAX_DIMS = 4
DSM, FLOAT = "dsm", "float"
FLOAT_FORMAT = "onnx"
_PARTY = {Party.PROVIDER: V.PARTY_PROVIDER, Party.CHALLENGER: V.PARTY_CHALLENGER}
_STATUS = {
    Status.BISECT: V.DISPUTE_STATUS_BISECT,
    Status.FINAL: V.DISPUTE_STATUS_FINAL,
    Status.DONE: V.DISPUTE_STATUS_DONE,
}
_OUTCOME = {
    Outcome.NONE: V.DISPUTE_OUTCOME_NONE,
    Outcome.EXECUTION: V.DISPUTE_OUTCOME_EXECUTION,
    Outcome.TIMEOUT: V.DISPUTE_OUTCOME_TIMEOUT,
    Outcome.VOTE: V.DISPUTE_OUTCOME_VOTE,
}
UNDECIDED = frozenset({V.DISPUTE_STATUS_BISECT, V.DISPUTE_STATUS_FINAL})


# -- the job's tensors ------------------------------------------------------------------------


def npy_shape(data: bytes) -> tuple[int, int]:
    """(rows, columns) of a ``.npy`` file holding a 2-D little-endian ``int64`` array
    (format 1.0, C order), parsed strictly: one header form, ASCII digits without leading
    zeros, the exact data length. ErrNotVerifiable otherwise."""
    if len(data) < 10 or data[:8] != b"\x93NUMPY\x01\x00":
        raise ErrNotVerifiable.wrap("the input is not a .npy (format 1.0) file")
    header_len = int.from_bytes(data[8:10], "little")
    match = _NPY_HEADER.fullmatch(data[10 : 10 + header_len])
    if match is None:
        raise ErrNotVerifiable.wrap("the input is not a C-order 2-D int64 .npy array")
    rows, cols = int(match.group(1)), int(match.group(2))
    if rows < 1 or cols < 1 or len(data) - 10 - header_len != rows * cols * 8:
        raise ErrNotVerifiable.wrap("the input's data does not match its shape")
    return rows, cols


def npy_float_shape(data: bytes) -> tuple[int, ...]:
    """The shape of a ``.npy`` file holding a little-endian ``float32`` array of 1 to 4
    dimensions (format 1.0, C order), parsed as strictly as :func:`npy_shape`."""
    if len(data) < 10 or data[:8] != b"\x93NUMPY\x01\x00":
        raise ErrNotVerifiable.wrap("the input is not a .npy (format 1.0) file")
    header_len = int.from_bytes(data[8:10], "little")
    match = _NPY_FLOAT_HEADER.fullmatch(data[10 : 10 + header_len])
    if match is None:
        raise ErrNotVerifiable.wrap("the input is not a C-order float32 .npy array (1-4 dims)")
    shape = tuple(int(d) for d in match.group(1).rstrip(b",").split(b", "))
    if min(shape) < 1 or len(data) - 10 - header_len != 4 * _product(shape):
        raise ErrNotVerifiable.wrap("the input's data does not match its shape")
    return shape


def _product(shape: Sequence[int]) -> int:
    out = 1
    for d in shape:
        out *= d
    return out


def input_hash(data: bytes, kind: str) -> bytes:
    """The tensor hash of a job's inline input (tensor 0 of its trace)."""
    if kind == DSM:
        return trace.tensor_hash(npy_int64_matrix(data))
    shape = npy_float_shape(data)
    body = data[len(data) - 4 * _product(shape) :]
    return trace.tensor_hash(np.frombuffer(body, dtype="<f4").reshape(shape))


def npy_int64_matrix(data: bytes) -> np.ndarray:
    """The array of a ``.npy`` file that :func:`npy_shape` accepts."""
    rows, cols = npy_shape(data)
    body = data[len(data) - rows * cols * 8 :]
    return np.frombuffer(body, dtype="<i8").astype(np.int64).reshape(rows, cols)


def output_matrix(data: bytes, rows: int) -> np.ndarray:
    """The inline output (raw little-endian int64, row-major) as ``rows`` rows."""
    if not data or len(data) % (8 * rows):
        raise ErrInvalidEvidence.wrap(
            f"the inline output ({len(data)} bytes) is not {rows} row(s) of int64 values"
        )
    return np.frombuffer(data, dtype="<i8").astype(np.int64).reshape(rows, -1)


def _tensor(t: verify_pb2.TraceTensor) -> TensorOpening:
    if t.rows < 1 or t.cols < 1 or len(t.data) != t.rows * t.cols * 8:
        raise bisection.ErrTensorMismatch.wrap(f"tensor {t.index}: data is not rows × cols int64")
    array = np.frombuffer(t.data, dtype="<i8").astype(np.int64).reshape(t.rows, t.cols)
    return TensorOpening(t.index, array, tuple(t.proof))


def float_tensor(t: verify_pb2.TraceTensor) -> np.ndarray:
    """The float32 array of a float model's trace tensor (ErrTensorMismatch if malformed)."""
    shape = tuple(t.shape)
    if (
        t.dtype != "float32"
        or not 1 <= len(shape) <= MAX_DIMS
        or min(shape) < 1
        or len(t.data) != 4 * _product(shape)
    ):
        raise bisection.ErrTensorMismatch.wrap(
            f"tensor {t.index}: a float32 tensor of 1 to {MAX_DIMS} dimensions is expected"
        )
    return np.frombuffer(t.data, dtype="<f4").reshape(shape)


# -- Game <-> Dispute -------------------------------------------------------------------------


def to_game(d: verify_pb2.Dispute) -> Game:
    """The pure game of a stored dispute (undecided)."""
    return Game(
        n=d.n,
        provider_root=d.provider_root,
        challenger_root=d.challenger_root,
        lo=d.lo,
        hi=d.hi,
        lo_leaf=d.lo_leaf,
        provider_hi_leaf=d.provider_hi_leaf,
        challenger_hi_leaf=d.challenger_hi_leaf,
        turn=Party(d.turn),
        deadline=d.deadline,
        round_blocks=d.round_blocks,
        status=Status.FINAL if d.status == V.DISPUTE_STATUS_FINAL else Status.BISECT,
        pending_leaf=d.pending_leaf,
        rounds=d.rounds,
    )


def store_game(d: verify_pb2.Dispute, game: Game) -> None:
    """Copy a game's state into its dispute record."""
    d.lo, d.hi, d.lo_leaf = game.lo, game.hi, game.lo_leaf
    d.provider_hi_leaf, d.challenger_hi_leaf = game.provider_hi_leaf, game.challenger_hi_leaf
    d.turn = _PARTY[game.turn]
    d.deadline, d.round_blocks = game.deadline, game.round_blocks
    d.status = _STATUS[game.status]
    d.pending_leaf, d.rounds = game.pending_leaf, game.rounds
    if game.winner is not None:
        d.winner = _PARTY[game.winner]
    d.outcome = _OUTCOME[game.outcome]


def party_name(party: int) -> str:
    """``provider`` / ``challenger``."""
    return "provider" if party == V.PARTY_PROVIDER else "challenger"


# -- keeper -----------------------------------------------------------------------------------


class Disputes:
    """The optimistic method of a :class:`VerifyKeeper` (its store, compute and ai keepers)."""

    def __init__(self, keeper: VerifyKeeper) -> None:
        self.keeper = keeper

    # storage

    def _store(self, ctx: Context) -> KVStore:
        return PrefixStore(ctx.store, keys.STORE_PREFIX)

    def get(self, ctx: Context, job_id: int, number: int) -> verify_pb2.Dispute | None:
        """Dispute ``number`` of a job, or None."""
        raw = self._store(ctx).get(keys.dispute_key(job_id, number))
        return None if raw is None else V.Dispute.FromString(raw)

    def set(self, ctx: Context, dispute: verify_pb2.Dispute) -> None:
        """Write a dispute record."""
        key = keys.dispute_key(dispute.job_id, dispute.number)
        self._store(ctx).set(key, dispute.SerializeToString())

    def of_job(
        self, ctx: Context, job_id: int, most: int | None = None
    ) -> list[verify_pb2.Dispute]:
        """The disputes of a job, oldest first (at most ``most``)."""
        store = PrefixStore(self._store(ctx), keys.DISPUTES + keys.u64(job_id))
        found = []
        for _, raw in store.iterate():
            found.append(V.Dispute.FromString(raw))
            if most is not None and len(found) >= most:
                break
        return found

    def iterate(self, ctx: Context) -> Iterator[verify_pb2.Dispute]:
        """Every dispute, by job and number."""
        for _, raw in PrefixStore(self._store(ctx), keys.DISPUTES).iterate():
            yield V.Dispute.FromString(raw)

    def restore(self, ctx: Context, dispute: verify_pb2.Dispute) -> None:
        """Write a dispute from genesis, with its index and queue entries when undecided."""
        if dispute.status in UNDECIDED:
            self._save_active(ctx, dispute, previous_deadline=None)
            if dispute.vote_pending:
                self._store(ctx).delete(
                    keys.queue_key(keys.GAME_QUEUE, dispute.deadline, dispute.job_id)
                )
        else:
            self.set(ctx, dispute)

    def active(self, ctx: Context, job_id: int) -> verify_pb2.Dispute | None:
        """The job's undecided game, or None."""
        raw = self._store(ctx).get(keys.ACTIVE_DISPUTES + keys.u64(job_id))
        if raw is None:
            return None
        return self.get(ctx, job_id, int.from_bytes(raw, "big"))

    def undecided(self, ctx: Context, party: str = "", most: int = MAX_LISTED) -> list[
        verify_pb2.Dispute
    ]:
        """Undecided games (``party``: only those it plays in), by job id."""
        found = []
        for key, _ in PrefixStore(self._store(ctx), keys.ACTIVE_DISPUTES).iterate():
            dispute = self.active(ctx, int.from_bytes(key, "big"))
            if dispute is None or (party and party not in (dispute.provider, dispute.challenger)):
                continue
            found.append(dispute)
            if len(found) >= most:
                break
        return found

    def challengeable(self, ctx: Context, most: int = MAX_LISTED) -> list[tuple[int, int]]:
        """(job id, window end) of the sessions still taking disputes, earliest end first."""
        found = []
        start = keys.u64(ctx.header.height)
        for key, _ in PrefixStore(self._store(ctx), keys.WINDOW_QUEUE).iterate(start, None):
            end, job_id = int.from_bytes(key[:8], "big"), int.from_bytes(key[8:16], "big")
            if self.active(ctx, job_id) is None:
                found.append((job_id, end))
            if len(found) >= most:
                break
        return found

    def _trace_gas(self, ctx: Context) -> TraceGas:
        params = self.keeper.get_params(ctx)
        return TraceGas(params.trace_hash_gas, params.trace_kilo_byte_gas)

    # applicability and the result check

    def kind(self, ctx: Context, job: compute_pb2.Job | compute_pb2.MsgSubmitJob) -> str:
        """``dsm`` (a DSM artifact run off-chain), ``float`` (an ONNX model compared by
        tolerance) or empty: the method does not apply to the version."""
        try:
            version = self.keeper.ai.get_version(ctx, job.model_id, job.version)
        except AivmError:
            return ""
        if version.format == DSM_FORMAT:
            return DSM
        record = self.keeper.attestations.get_model(ctx, job.model_id, job.version)
        if (
            version.format == FLOAT_FORMAT
            and version.comparison == "tolerance"
            and record is not None
            and record.optimistic_float
        ):
            return FLOAT
        return ""

    def pending_kind(self, ctx: Context, job: compute_pb2.Job) -> str:
        """The kind of a job whose method is pending (it applied at acceptance): ``dsm`` for
        a DSM version, else ``float`` — whatever the owner declared since."""
        version = self.keeper.ai.get_version(ctx, job.model_id, job.version)
        return DSM if version.format == DSM_FORMAT else FLOAT

    def traced(self, job: compute_pb2.Job) -> bool:
        """Every accepted result carries a trace commitment (it may not, when the owner
        declared ``optimistic_float`` between a result and the job's acceptance)."""
        for a in job.assignments:
            if a.status != compute_pb2.ASSIGNMENT_STATUS_AGREED:
                continue
            try:
                evidence = decode_evidence(a.result.evidence)
            except AivmError:
                return False
            if len(evidence.trace_root) != trace.HASH_SIZE or not evidence.trace_steps:
                return False
        return True

    def applies(self, ctx: Context, job: compute_pb2.Job | compute_pb2.MsgSubmitJob) -> bool:
        """The method can run on the job's version (the rule must list it too)."""
        return bool(self.kind(ctx, job))

    def check_submit(self, ctx: Context, msg: compute_pb2.MsgSubmitJob) -> None:
        """An optimistic job's input is inline: a 2-D int64 ``.npy`` array (DSM) or a
        float32 one (float models)."""
        if msg.input_cid or not msg.input_inline:
            raise ErrNotVerifiable.wrap(
                f"model {msg.model_id} v{msg.version} is verified optimistically: send the "
                "input inline (the chain hashes it to decide disputes)"
            )
        if self.kind(ctx, msg) == DSM:
            npy_shape(msg.input_inline)
        else:
            npy_float_shape(msg.input_inline)

    def check_result(
        self, ctx: Context, job: compute_pb2.Job, msg: compute_pb2.MsgSubmitResult
    ) -> None:
        """The result carries its output inline and a trace commitment that opens, at its
        last step, to exactly that output."""
        params = self.keeper.get_params(ctx)
        evidence = decode_evidence(msg.evidence)
        name = f"model {job.model_id} v{job.version}"
        if len(evidence.trace_root) != trace.HASH_SIZE:
            raise ErrInvalidEvidence.wrap(
                f"{name} is verified optimistically: each result carries its trace "
                "commitment (evidence.trace_root, 32 bytes)"
            )
        if not 1 <= evidence.trace_steps <= params.max_trace_steps:
            raise ErrInvalidEvidence.wrap(
                f"trace_steps must be 1 to {params.max_trace_steps}, not {evidence.trace_steps}"
            )
        if not msg.comparison_data:
            raise ErrInvalidEvidence.wrap(
                f"{name} is verified optimistically: send the output inline (comparison_data)"
            )
        gas = self._trace_gas(ctx)
        n = evidence.trace_steps
        ctx.gas_meter.consume(
            2 * trace.step_proof_gas(n, gas) + gas.cost(1, len(msg.comparison_data) + 64),
            "verify: trace opening",
        )
        output = self._output(ctx, job, evidence, msg.comparison_data)
        opening = trace.OutputOpening(
            evidence.trace_output_leaf,
            tuple(evidence.trace_output_step_proof),
            tuple(evidence.trace_output_tensor_proof),
        )
        if not trace.verify_output(evidence.trace_root, n, trace.tensor_hash(output), opening):
            raise ErrInvalidEvidence.wrap(
                "the trace commitment does not open to the inline output at its last step"
            )

    # messages

    def open(self, ctx: Context, challenger: bytes, msg: verify_pb2.MsgOpenDispute) -> int:
        """MsgOpenDispute: start a game against an accepted provider's trace."""
        ctx.gas_meter.consume(OPEN_GAS, "verify: open dispute")
        keeper = self.keeper
        session = keeper.require_session(ctx, msg.job_id)
        run = optimistic_run(session)
        if run is None or run.status != V.METHOD_STATUS_PENDING:
            raise ErrDisputeState.wrap(f"job {msg.job_id} is not verified optimistically now")
        if ctx.header.height > session.challenge_end_height:
            raise ErrDisputeState.wrap(
                f"the challenge window closed at height {session.challenge_end_height}"
            )
        if self.active(ctx, msg.job_id) is not None:
            raise ErrDisputeState.wrap(f"job {msg.job_id} already has an undecided dispute")
        job = keeper._job(ctx, msg.job_id)
        if job is None:
            raise ErrDisputeState.wrap(f"job {msg.job_id} is no longer pending")
        name = addr_str(challenger)
        if any(a.provider == name for a in job.assignments):
            raise ErrInvalidDispute.wrap("a provider of the job cannot dispute it")
        accepted = _accepted(job, msg.provider)
        evidence = decode_evidence(accepted.result.evidence)
        params = keeper.get_params(ctx)
        gas = self._trace_gas(ctx)
        n = evidence.trace_steps
        ctx.gas_meter.consume(
            2 * trace.step_proof_gas(n, gas) + gas.cost(1, len(job.input_inline) + 64),
            "verify: dispute proofs",
        )
        kind = self.pending_kind(ctx, job)
        if msg.artifact and kind == DSM:
            operators = self._operator_count(ctx, job, msg.artifact, params)
            if operators != n:
                return self._wrong_step_count(ctx, session, job, accepted, challenger, n, operators)
        game = bisection.open_game(
            n,
            evidence.trace_root,
            msg.trace_root,
            [input_hash(job.input_inline, kind)],
            LeafOpening(evidence.trace_output_leaf, tuple(evidence.trace_output_step_proof)),
            LeafOpening(msg.last_leaf, tuple(msg.last_proof)),
            ctx.header.height,
            params.round_blocks,
        )
        bond = params.dispute_bond
        if bond > 0:
            keeper.compute.bank.send_coins_to_module(
                ctx, challenger, MODULE_ACCOUNT, Coins([Coin(BOND_DENOM, bond)])
            )
        session.disputes += 1
        dispute = V.Dispute(
            job_id=job.id,
            number=session.disputes,
            provider=accepted.provider,
            challenger=name,
            bond=str(bond),
            n=n,
            provider_root=evidence.trace_root,
            challenger_root=msg.trace_root,
            opened_height=ctx.header.height,
            paid="0",
            float_model=kind == FLOAT,
        )
        store_game(dispute, game)
        keeper.set_session(ctx, session)
        self._save_active(ctx, dispute, previous_deadline=None)
        ctx.emit(
            "verify_dispute_open",
            ("job_id", str(job.id)),
            ("number", str(dispute.number)),
            ("provider", dispute.provider),
            ("challenger", name),
            ("bond", f"{bond}{BOND_DENOM}"),
            ("lo", str(dispute.lo)),
            ("hi", str(dispute.hi)),
        )
        if game.status is Status.FINAL:
            self._emit_move(ctx, dispute)
        return dispute.number

    def bisect(self, ctx: Context, sender: bytes, msg: verify_pb2.MsgBisect) -> verify_pb2.Dispute:
        """MsgBisect: the party whose turn it is posts its leaf at the mid step."""
        ctx.gas_meter.consume(BISECT_GAS, "verify: bisect")
        dispute = self._require_active(ctx, msg.job_id)
        party = _party_of(dispute, sender)
        ctx.gas_meter.consume(
            trace.step_proof_gas(dispute.n, self._trace_gas(ctx)), "verify: step proof"
        )
        previous = dispute.deadline
        game = bisection.respond(
            to_game(dispute), party, msg.leaf, tuple(msg.proof), ctx.header.height
        )
        store_game(dispute, game)
        self._save_active(ctx, dispute, previous_deadline=previous)
        self._emit_move(ctx, dispute)
        return dispute

    def final_step(
        self, ctx: Context, sender: bytes, msg: verify_pb2.MsgFinalStep
    ) -> verify_pb2.Dispute:
        """MsgFinalStep: execute the disputed operator and decide the game."""
        ctx.gas_meter.consume(FINAL_GAS, "verify: final step")
        dispute = self._require_active(ctx, msg.job_id)
        party = _party_of(dispute, sender)
        if dispute.status != V.DISPUTE_STATUS_FINAL:
            raise bisection.ErrWrongPhase.wrap("the game is still bisecting")
        if dispute.vote_pending:
            raise bisection.ErrWrongPhase.wrap("the step is opened: AI validators vote on it")
        if ctx.header.height > dispute.deadline:
            raise bisection.ErrDeadline.wrap(f"the final step was due by {dispute.deadline}")
        if dispute.float_model:
            self._open_step(ctx, dispute, party, msg)
            return dispute
        params = self.keeper.get_params(ctx)
        size = len(msg.artifact) + sum(len(t.data) for t in msg.inputs)
        if size > params.max_step_bytes:
            raise ErrInvalidDispute.wrap(
                f"artifact and tensors of {size} bytes exceed max_step_bytes "
                f"{params.max_step_bytes}"
            )
        gas = self._trace_gas(ctx)
        ctx.gas_meter.consume(gas.cost(1, len(msg.artifact)), "verify: artifact digest")
        job = _job_of(self.keeper, ctx, msg.job_id)
        version = self.keeper.ai.get_version(ctx, job.model_id, job.version)
        if hashlib.sha256(msg.artifact).digest() != version.artifact_sha256:
            raise ErrInvalidDispute.wrap("the artifact is not the model version's (sha256)")
        program = self._program(ctx, msg.artifact)
        if len(program.kernels) != dispute.n:
            raise bisection.ErrInvalidGame.wrap(
                f"the model has {len(program.kernels)} operators, the trace {dispute.n}"
            )
        ctx.gas_meter.consume(
            gas.cost(len(msg.inputs), sum(len(t.data) + 64 for t in msg.inputs)),
            "verify: tensor hashes",
        )
        tensors = [_tensor(t) for t in msg.inputs]
        rows = tensors[0].tensor.shape[0] if tensors else 1
        ai_gas = self.keeper.ai.get_params(ctx).gas
        ctx.gas_meter.consume(
            trace.final_step_gas(program, dispute.hi - 1, rows, ai_gas, gas),
            "verify: operator",
        )
        game = bisection.final_step(
            to_game(dispute), party, program, tensors, tuple(msg.peaks), ctx.header.height
        )
        store_game(dispute, game)
        self._decide(ctx, dispute, "by executing operator " + str(dispute.hi - 1) + " on chain")
        return dispute

    def _output(
        self,
        ctx: Context,
        job: compute_pb2.Job,
        evidence: verify_pb2.Evidence,
        data: bytes,
    ) -> np.ndarray:
        """The inline output as the trace's last tensor: int64 rows (DSM) or float32 of the
        evidence's shape (float models)."""
        if self.kind(ctx, job) == DSM:
            return output_matrix(data, npy_shape(job.input_inline)[0])
        shape = tuple(evidence.trace_output_shape)
        if not 1 <= len(shape) <= MAX_DIMS or min(shape) < 1 or 4 * _product(shape) != len(data):
            raise ErrInvalidEvidence.wrap(
                f"trace_output_shape {list(shape)} does not describe the {len(data)}-byte "
                "float32 output"
            )
        return np.frombuffer(data, dtype="<f4").reshape(shape)

    def _open_step(
        self,
        ctx: Context,
        dispute: verify_pb2.Dispute,
        party: Party,
        msg: verify_pb2.MsgFinalStep,
    ) -> None:
        """A float model's final step: the provider opens the disputed node's inputs (steps
        ≤ lo, under the agreed leaf) and its claimed tensor at hi (under its own hi leaf);
        the deadline stops and a committee of AI validators votes on the claim."""
        if party is not Party.PROVIDER:
            raise bisection.ErrWrongTurn.wrap("the provider opens the disputed step")
        params = self.keeper.get_params(ctx)
        size = sum(len(t.data) for t in msg.inputs) + len(msg.claimed.data)
        if size > params.max_step_bytes:
            raise ErrInvalidDispute.wrap(
                f"tensors of {size} bytes exceed max_step_bytes {params.max_step_bytes}"
            )
        gas = self._trace_gas(ctx)
        count = len(msg.inputs) + 1
        ctx.gas_meter.consume(
            gas.cost(count, size + 64 * count) + count * trace.step_proof_gas(dispute.hi, gas),
            "verify: opened step",
        )
        for t in msg.inputs:
            digest = trace.tensor_hash(float_tensor(t))
            if not 0 <= t.index <= dispute.lo or not trace.verify_tensor(
                dispute.lo_leaf, dispute.lo, t.index, digest, tuple(t.proof)
            ):
                raise bisection.ErrTensorMismatch.wrap(
                    f"tensor {t.index} is not the one agreed at step {dispute.lo}"
                )
        claimed = trace.tensor_hash(float_tensor(msg.claimed))
        if msg.claimed.index != dispute.hi or not trace.verify_tensor(
            dispute.provider_hi_leaf, dispute.hi, dispute.hi, claimed, tuple(msg.claimed.proof)
        ):
            raise bisection.ErrTensorMismatch.wrap(
                f"the claimed tensor is not the provider's step {dispute.hi}"
            )
        self._store(ctx).delete(keys.queue_key(keys.GAME_QUEUE, dispute.deadline, dispute.job_id))
        dispute.vote_pending = True
        dispute.inputs.extend(msg.inputs)
        dispute.claimed.CopyFrom(msg.claimed)
        self.set(ctx, dispute)
        ctx.emit(
            "verify_dispute_vote",
            ("job_id", str(dispute.job_id)),
            ("number", str(dispute.number)),
            ("step", str(dispute.hi)),
        )
        session = self.keeper.get_session(ctx, dispute.job_id)
        if session is not None and session.status == V.SESSION_STATUS_CHALLENGE:
            self.keeper.start_step_vote(ctx, session)

    def vote_waiting(self, ctx: Context, job_id: int) -> bool:
        """The job's undecided game waits for a committee's vote on its step."""
        dispute = self.active(ctx, job_id)
        return dispute is not None and dispute.vote_pending

    def settle_vote(
        self, ctx: Context, job_id: int, provider_correct: bool | None, voters: int
    ) -> None:
        """The committee decided the float step (None: no majority in the rounds allowed:
        the game is cancelled, bonds back, nobody at fault)."""
        dispute = self.active(ctx, job_id)
        if dispute is None:
            return
        if provider_correct is None:
            self.cancel(ctx, job_id, f"no majority of AI validators on step {dispute.hi}")
            session = self.keeper.get_session(ctx, job_id)
            if session is not None and ctx.header.height >= session.challenge_end_height:
                self.window_over(ctx, session)
            return
        game = bisection.settle(to_game(dispute), provider_correct)
        store_game(dispute, game)
        self._decide(ctx, dispute, f"by a vote of {voters} AI validators on step {dispute.hi}")

    def _operator_count(
        self, ctx: Context, job: compute_pb2.Job, artifact: bytes, params: VerifyParams
    ) -> int:
        """The operator count of the version's DSM artifact (sha256-checked, load gas)."""
        if len(artifact) > params.max_step_bytes:
            raise ErrInvalidDispute.wrap(
                f"an artifact of {len(artifact)} bytes exceeds max_step_bytes"
            )
        ctx.gas_meter.consume(self._trace_gas(ctx).cost(1, len(artifact)), "verify: artifact")
        version = self.keeper.ai.get_version(ctx, job.model_id, job.version)
        if hashlib.sha256(artifact).digest() != version.artifact_sha256:
            raise ErrInvalidDispute.wrap("the artifact is not the model version's (sha256)")
        return len(self._program(ctx, artifact).kernels)

    def _wrong_step_count(
        self,
        ctx: Context,
        session: verify_pb2.Session,
        job: compute_pb2.Job,
        accepted: compute_pb2.Assignment,
        challenger: bytes,
        steps: int,
        operators: int,
    ) -> int:
        """The provider's trace cannot be a run of the model (its step count is not the
        model's operator count): the challenger wins without a game (its bond is taken and
        returned like any winner's, so the record is complete)."""
        params = self.keeper.get_params(ctx)
        bond = params.dispute_bond
        if bond > 0:
            self.keeper.compute.bank.send_coins_to_module(
                ctx, challenger, MODULE_ACCOUNT, Coins([Coin(BOND_DENOM, bond)])
            )
        session.disputes += 1
        self.keeper.set_session(ctx, session)
        dispute = V.Dispute(
            job_id=job.id,
            number=session.disputes,
            provider=accepted.provider,
            challenger=addr_str(challenger),
            bond=str(bond),
            n=steps,
            opened_height=ctx.header.height,
            status=V.DISPUTE_STATUS_DONE,
            winner=V.PARTY_CHALLENGER,
            outcome=V.DISPUTE_OUTCOME_EXECUTION,
            paid="0",
        )
        self.set(ctx, dispute)
        self._decide(
            ctx, dispute, f"at once: the trace has {steps} steps, the model {operators} operators"
        )
        return dispute.number

    def _program(self, ctx: Context, artifact: bytes) -> runtime.Program:
        """Load the DSM artifact, its load gas charged (the same on every node)."""
        table = self.keeper.ai.get_params(ctx).gas

        def charge(work: runtime.LoadWork) -> None:
            ctx.gas_meter.consume(table.load(work), "dsm load")

        return runtime.load(artifact, charge=charge)

    # decisions

    def _require_active(self, ctx: Context, job_id: int) -> verify_pb2.Dispute:
        dispute = self.active(ctx, job_id)
        if dispute is None:
            raise ErrDisputeState.wrap(f"job {job_id} has no undecided dispute")
        return dispute

    def _save_active(
        self, ctx: Context, dispute: verify_pb2.Dispute, previous_deadline: int | None
    ) -> None:
        store = self._store(ctx)
        if previous_deadline is not None:
            store.delete(keys.queue_key(keys.GAME_QUEUE, previous_deadline, dispute.job_id))
        store.set(keys.ACTIVE_DISPUTES + keys.u64(dispute.job_id), keys.u32(dispute.number))
        store.set(keys.queue_key(keys.GAME_QUEUE, dispute.deadline, dispute.job_id), keys.MARKER)
        self.set(ctx, dispute)

    def _emit_move(self, ctx: Context, dispute: verify_pb2.Dispute) -> None:
        ctx.emit(
            "verify_dispute_move",
            ("job_id", str(dispute.job_id)),
            ("number", str(dispute.number)),
            ("status", V.DisputeStatus.Name(dispute.status)),
            ("lo", str(dispute.lo)),
            ("hi", str(dispute.hi)),
            ("turn", party_name(dispute.turn)),
            ("deadline", str(dispute.deadline)),
        )

    def _end(self, ctx: Context, dispute: verify_pb2.Dispute) -> None:
        """Take a game off the active index and the deadline queue."""
        store = self._store(ctx)
        store.delete(keys.ACTIVE_DISPUTES + keys.u64(dispute.job_id))
        store.delete(keys.queue_key(keys.GAME_QUEUE, dispute.deadline, dispute.job_id))
        dispute.finished_height = ctx.header.height

    def _decide(self, ctx: Context, dispute: verify_pb2.Dispute, how: str) -> None:
        """A decided game: pay the winner, then pass on or fail the session."""
        self._end(ctx, dispute)
        winner = party_name(dispute.winner)
        dispute.detail = f"won by the {winner} {how}"[:MAX_DETAIL]
        bond = to_int(dispute.bond or "0")
        if dispute.winner == V.PARTY_PROVIDER:
            self._pay_bond(ctx, dispute, addr_bytes(dispute.provider))
            dispute.paid = str(bond)
            self.set(ctx, dispute)
            self._emit_decided(ctx, dispute)
            self._provider_won(ctx, dispute)
            return
        self._pay_bond(ctx, dispute, addr_bytes(dispute.challenger))
        self.set(ctx, dispute)
        self._emit_decided(ctx, dispute)
        self._challenger_won(ctx, dispute)

    def _emit_decided(self, ctx: Context, dispute: verify_pb2.Dispute) -> None:
        ctx.emit(
            "verify_dispute_decided",
            ("job_id", str(dispute.job_id)),
            ("number", str(dispute.number)),
            ("winner", party_name(dispute.winner)),
            ("outcome", V.DisputeOutcome.Name(dispute.outcome)),
            ("detail", dispute.detail),
        )

    def _pay_bond(self, ctx: Context, dispute: verify_pb2.Dispute, to: bytes) -> None:
        bond = to_int(dispute.bond or "0")
        if bond <= 0:
            return
        bank = self.keeper.compute.bank

        def pay(c: Context) -> None:
            module = bank.accounts.module_addresses[MODULE_ACCOUNT]
            bank.send_coins(c, module, to, Coins([Coin(BOND_DENOM, bond)]))

        guarded(ctx, pay)

    def _provider_won(self, ctx: Context, dispute: verify_pb2.Dispute) -> None:
        session = self.keeper.get_session(ctx, dispute.job_id)
        if session is None or ctx.header.height < session.challenge_end_height:
            return  # the window goes on: its end passes the method
        self.window_over(ctx, session)

    def _challenger_won(self, ctx: Context, dispute: verify_pb2.Dispute) -> None:
        keeper = self.keeper
        session = keeper.get_session(ctx, dispute.job_id)
        job = keeper._job(ctx, dispute.job_id)
        detail = (
            f"dispute {dispute.number}: {dispute.challenger} showed the provider's trace wrong "
            f"({dispute.detail})"
        )[:MAX_DETAIL]
        if session is not None:
            self._store(ctx).delete(
                keys.queue_key(keys.WINDOW_QUEUE, session.challenge_end_height, session.job_id)
            )
            run = optimistic_run(session)
            if run is not None:
                run.status = V.METHOD_STATUS_FAILED
                run.detail = detail
            keeper._close(ctx, session, V.SESSION_STATUS_FAILED, detail)
        if job is None or keeper.jobs is None:
            return
        payee = Payee(dispute.provider, addr_bytes(dispute.challenger), to_int(dispute.bond or "0"))
        multiple = 0 if session is None else session.penalty_multiple
        keeper.jobs.reject_verified(ctx, job.id, detail, multiple, payee=payee)
        dispute.paid = str(payee.paid)
        self.set(ctx, dispute)

    def window_over(self, ctx: Context, session: verify_pb2.Session) -> None:
        """The challenge window ended with no undecided game: the method passes, and the
        session with it when nothing else is pending."""
        self._store(ctx).delete(
            keys.queue_key(keys.WINDOW_QUEUE, session.challenge_end_height, session.job_id)
        )
        run = optimistic_run(session)
        if run is None or run.status != V.METHOD_STATUS_PENDING:
            return
        won = [
            d for d in self.of_job(ctx, session.job_id, MAX_LISTED) if d.winner == V.PARTY_PROVIDER
        ]
        run.status = V.METHOD_STATUS_PASSED
        run.detail = (
            f"no dispute by height {session.challenge_end_height}"
            if not won
            else f"{len(won)} dispute(s), each won by the provider"
        )
        run.evidence_digest = session_trace_digest(self.keeper, ctx, session.job_id)
        self.keeper.optimistic_passed(ctx, session)

    def cancel(self, ctx: Context, job_id: int, why: str) -> None:
        """The session ended otherwise while a game was undecided: bond returned."""
        dispute = self.active(ctx, job_id)
        if dispute is None:
            return
        self._end(ctx, dispute)
        dispute.status = V.DISPUTE_STATUS_CANCELLED
        dispute.detail = f"cancelled: {why}"[:MAX_DETAIL]
        self._pay_bond(ctx, dispute, addr_bytes(dispute.challenger))
        self.set(ctx, dispute)
        self._emit_decided(ctx, dispute)

    # EndBlock

    def end_block(self, ctx: Context, limit: int) -> None:
        """Timeouts of the moves due (deadline below this height), then the challenge
        windows that end here; at most ``limit`` of each (the rest wait a block). Each entry
        is handled on a branch: a refusal drops that entry's writes, never the block."""
        store = self._store(ctx)
        for key in self.keeper._due(ctx, keys.GAME_QUEUE, limit, before=True):
            store.delete(keys.GAME_QUEUE + key)
            guarded(ctx, functools.partial(self._timeout, key=key))
        for key in self.keeper._due(ctx, keys.WINDOW_QUEUE, limit):
            store.delete(keys.WINDOW_QUEUE + key)
            guarded(ctx, functools.partial(self._window_due, key=key))

    def _timeout(self, ctx: Context, key: bytes) -> None:
        dispute = self.active(ctx, int.from_bytes(key[8:16], "big"))
        if dispute is None or dispute.deadline != int.from_bytes(key[:8], "big"):
            return
        game = bisection.timeout(to_game(dispute), ctx.header.height)
        store_game(dispute, game)
        loser = party_name(_PARTY[game.turn])
        self._decide(ctx, dispute, f"by timeout: the {loser} did not move by {game.deadline}")

    def _window_due(self, ctx: Context, key: bytes) -> None:
        session = self.keeper.get_session(ctx, int.from_bytes(key[8:16], "big"))
        if session is None or self.active(ctx, session.job_id) is not None:
            return
        self.window_over(ctx, session)


def optimistic_run(session: verify_pb2.Session) -> verify_pb2.MethodRun | None:
    """The session's OPTIMISTIC method run, or None."""
    for run in session.methods:
        if run.method == V.METHOD_OPTIMISTIC:
            return run
    return None


def session_trace_digest(keeper: VerifyKeeper, ctx: Context, job_id: int) -> bytes:
    """sha256 over the accepted providers' trace roots (the evidence the method judged)."""
    job = None if keeper.jobs is None else keeper.jobs.get_job(ctx, job_id)
    if job is None:
        return b""
    roots = b""
    for a in job.assignments:
        if a.status == compute_pb2.ASSIGNMENT_STATUS_AGREED:
            try:
                roots += decode_evidence(a.result.evidence).trace_root
            except AivmError:
                continue
    return hashlib.sha256(roots).digest()


def _accepted(job: compute_pb2.Job, provider: str) -> compute_pb2.Assignment:
    for a in job.assignments:
        if a.provider == provider and a.status == compute_pb2.ASSIGNMENT_STATUS_AGREED:
            return a
    raise ErrInvalidDispute.wrap(f"{provider} is not an accepted provider of job {job.id}")


def _party_of(dispute: verify_pb2.Dispute, sender: bytes) -> Party:
    name = addr_str(sender)
    if name == dispute.provider:
        return Party.PROVIDER
    if name == dispute.challenger:
        return Party.CHALLENGER
    raise ErrInvalidDispute.wrap(f"{name} plays no part in dispute {dispute.number}")


def _job_of(keeper: VerifyKeeper, ctx: Context, job_id: int) -> compute_pb2.Job:
    job = keeper._job(ctx, job_id)
    if job is None:
        raise ErrDisputeState.wrap(f"job {job_id} is no longer pending")
    return job


def expected_dispute_entries(disputes: Sequence[verify_pb2.Dispute]) -> set[bytes]:
    """The active-index and deadline-queue keys (relative to ``verify/``) of undecided games."""
    out = set()
    for d in disputes:
        if d.status in UNDECIDED:
            out.add(keys.ACTIVE_DISPUTES + keys.u64(d.job_id))
            if not d.vote_pending:
                out.add(keys.queue_key(keys.GAME_QUEUE, d.deadline, d.job_id))
    return out
