"""compute jobs in the randomized simulation: submit jobs (instant and auction, k = 1..3,
sometimes with a deadline too short, an unknown version or a bad digest: refused), cancel,
top up, submit results (honest ones agree on a digest derived from the job's input; about one
in six is a lie, which redundancy catches), report unservable inputs, commit and reveal sealed
bids (sometimes a reveal that does not match), and settle jobs. Results, bids and settlements
are built from the committed state, so most of them are accepted; the invariants then check
escrow, queues and provider counts after every block.

DSM off-chain versions (format ``aivm-dsm/1``, verified optimistically): the sim keeps each
artifact it registers (``dsm_artifacts``) so it can run it. ``submit_dsm_job`` sends an inline
``.npy`` of valid quantized rows (sometimes a CID or a malformed array: refused); a result for
such a job carries the output inline and the trace commitment in ``Evidence`` — honest most of
the time, sometimes a self-consistent wrong trace (:func:`tampered_tensors`), sometimes
malformed evidence (refused). Every trace built is kept by its root (``dsm_traces``), so the
dispute operations of verify play each party's own trace."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from aivm.ai import runtime
from aivm.ai.runtime.interpreter import Program
from aivm.ai.runtime.model import (
    Add,
    Argmax,
    Dense,
    InputSpec,
    IntArray,
    Model,
    Op,
    Relu,
    Requantize,
    Threshold,
    int_array,
)
from aivm.ai.verify import trace
from aivm.crypto.cid import cid_of
from aivm.modules.addr import addr_str
from aivm.modules.compute import compute_pb2
from aivm.modules.compute.jobs import (
    A_RUNNING,
    AUCTION,
    PENDING,
    JobKeeper,
    commitment_of,
)
from aivm.modules.simulation import Rng, SimEnv, WeightedOperation
from aivm.modules.verify import verify_pb2
from aivm.types import pb
from aivm.types.errors import AivmError

J = compute_pb2
DSM_RUNTIME = "dsm"
OPTIMISTIC_CRITICALITIES = (J.CRITICALITY_MEDIUM,) * 3 + (J.CRITICALITY_HIGH,)
"""Criticalities whose sim rule lists METHOD_OPTIMISTIC (verify's ``sim_genesis``)."""


def honest_output(job: compute_pb2.Job) -> bytes:
    """What an honest provider outputs for a sim job (deterministic in the input)."""
    return b"out:" + hashlib.sha256(job.input_digest + job.version.encode()).digest()


def job_operations(jobs: JobKeeper) -> dict[str, WeightedOperation]:
    """submit_job, submit_dsm_job, cancel_job, top_up_job, submit_result, report_unservable,
    commit_bid, reveal_bid and settle_job, by name."""
    providers = jobs.providers

    def offered(env: SimEnv) -> list[tuple[int, str]]:
        """Offered versions, but the sim's DSM ones (``submit_dsm_job`` uses those)."""
        pairs = {
            (o.model_id, o.version) for r in providers.iterate_providers(env.ctx) for o in r.offers
        }
        return sorted(p for p in pairs if not is_dsm_version(env, jobs, *p))

    def open_jobs(env: SimEnv, states: tuple[int, ...]) -> list[compute_pb2.Job]:
        return [j for j in jobs.iterate_jobs(env.ctx) if j.state in states]

    def submit_job(env: SimEnv) -> Sequence[pb.Message] | None:
        pairs = offered(env)
        if not pairs:
            return None
        model_id, version = env.rng.choice(pairs)
        params = providers.get_params(env.ctx)
        data = env.rng.randbytes(env.rng.randrange(1, 64))
        mode = J.MATCH_MODE_AUCTION if env.rng.randrange(0, 3) == 0 else J.MATCH_MODE_INSTANT
        deadline = params.response_blocks(0) + params.bid_window_blocks
        deadline += params.reveal_window_blocks + env.rng.randrange(0, 40)
        msg = J.MsgSubmitJob(
            client=addr_str(env.rng.choice(env.accounts)),
            model_id=model_id,
            version=version,
            input_inline=data,
            input_digest=hashlib.sha256(data).digest(),
            units=env.rng.randrange(1, 5),
            max_price_per_unit=str(env.rng.randrange(1, 2 * 10**6)),
            deadline_blocks=deadline,
            redundancy=env.rng.choice((1, 1, 2, 3)),
            mode=mode,
            criticality=env.rng.choice((0, 0, 1, 2, 3)),  # type: ignore[arg-type]
        )
        roll = env.rng.randrange(0, 12)
        if roll == 0:
            msg.deadline_blocks = 1  # shorter than the SLA class: refused
        elif roll == 1:
            msg.input_digest = b"\x00" * 32  # not the input's hash: refused
        elif roll == 2:
            msg.version = "9.9.9"  # unknown version: refused
        return [msg]

    def submit_dsm_job(env: SimEnv) -> Sequence[pb.Message] | None:
        """A job on a DSM version an available provider offers, at a criticality verified
        optimistically, its input an inline ``.npy`` of valid rows; sometimes the input by
        CID or not int64 (refused: the chain hashes the input itself)."""
        prices: dict[tuple[int, str], int] = {}
        params = providers.get_params(env.ctx)
        for record in providers.iterate_providers(env.ctx):
            if not providers.record_available(env.ctx, record, params):
                continue
            for o in record.offers:
                pair = (o.model_id, o.version)
                prices[pair] = max(prices.get(pair, 0), int(o.price_per_unit))
        dsm = []
        for (model_id, version), price in sorted(prices.items()):
            try:
                found = jobs.ai.get_version(env.ctx, model_id, version)
            except AivmError:
                continue
            program = dsm_program(env, found.artifact_sha256)
            if found.format == runtime.FORMAT and program is not None:
                dsm.append((model_id, version, price, program))
        if not dsm:
            return None
        model_id, version, price, program = env.rng.choice(dsm)
        rows = dsm_rows(env.rng, program)
        roll = env.rng.randrange(0, 12)
        data = npy_bytes(rows.astype(np.int32) if roll == 0 else rows)  # int32: refused
        deadline = params.response_blocks(0) + params.bid_window_blocks
        deadline += params.reveal_window_blocks + env.rng.randrange(10, 40)
        msg = J.MsgSubmitJob(
            client=addr_str(env.rng.choice(env.accounts)),
            model_id=model_id,
            version=version,
            input_inline=data,
            input_digest=hashlib.sha256(data).digest(),
            units=env.rng.randrange(1, 4),
            max_price_per_unit=str(price + env.rng.randrange(0, price + 1)),
            deadline_blocks=deadline,
            redundancy=env.rng.choice((1, 1, 1, 2)),
            mode=J.MATCH_MODE_INSTANT,
            criticality=env.rng.choice(OPTIMISTIC_CRITICALITIES),
        )
        if roll == 1:  # by CID: refused
            msg.ClearField("input_inline")
            msg.input_cid = cid_of(data)
        return [msg]

    def cancel_job(env: SimEnv) -> Sequence[pb.Message] | None:
        found = open_jobs(env, (J.JOB_STATE_OPEN, AUCTION, J.JOB_STATE_RUNNING))
        if not found:
            return None
        job = env.rng.choice(found)
        return [J.MsgCancelJob(client=job.client, job_id=job.id)]

    def top_up_job(env: SimEnv) -> Sequence[pb.Message] | None:
        found = open_jobs(env, (J.JOB_STATE_OPEN, J.JOB_STATE_RUNNING))
        if not found:
            return None
        job = env.rng.choice(found)
        price = int(job.max_price_per_unit) + env.rng.randrange(0, 10**5)
        return [
            J.MsgTopUpJob(
                client=job.client,
                job_id=job.id,
                max_price_per_unit=str(price),
                extend_blocks=env.rng.randrange(0, 10),
            )
        ]

    def running(env: SimEnv) -> list[tuple[compute_pb2.Job, compute_pb2.Assignment]]:
        return [
            (job, a)
            for job in open_jobs(env, (J.JOB_STATE_RUNNING,))
            for a in job.assignments
            if a.status == A_RUNNING
        ]

    def submit_result(env: SimEnv) -> Sequence[pb.Message] | None:
        found = running(env)
        if not found:
            return None
        job, a = env.rng.choice(found)
        program = dsm_job_program(env, jobs, job)
        honest = None if program is None else honest_trace(env, jobs, job)
        if program is not None and honest is not None:
            return [dsm_result(env, program, honest, a.provider, job.id)]
        output = honest_output(job)
        if env.rng.randrange(0, 6) == 0:
            output = b"lie:" + env.rng.randbytes(16)
        msg = J.MsgSubmitResult(
            provider=a.provider,
            job_id=job.id,
            output_cid=cid_of(output),
            output_digest=hashlib.sha256(output).digest(),
            runtime="sim",
        )
        return [msg]

    def report_unservable(env: SimEnv) -> Sequence[pb.Message] | None:
        found = running(env)
        if not found:
            return None
        job, a = env.rng.choice(found)
        return [J.MsgReportUnservable(provider=a.provider, job_id=job.id, detail="sim")]

    def commit_bid(env: SimEnv) -> Sequence[pb.Message] | None:
        found = [j for j in open_jobs(env, (AUCTION,)) if env.height <= j.bid_commit_end_height]
        if not found:
            return None
        job = env.rng.choice(found)
        serving = [
            r.operator
            for r in providers.iterate_providers(env.ctx)
            if any(o.model_id == job.model_id and o.version == job.version for o in r.offers)
        ]
        if not serving:
            return None
        provider = env.rng.choice(serving)
        price = env.rng.randrange(1, int(job.max_price_per_unit) + 1)
        salt = env.rng.randbytes(16)
        env.scratch("compute")[f"bid/{job.id}/{provider}"] = (price, salt)
        commitment = commitment_of(job.id, price, salt)
        return [J.MsgCommitBid(provider=provider, job_id=job.id, commitment=commitment)]

    def reveal_bid(env: SimEnv) -> Sequence[pb.Message] | None:
        found = [
            (j, b)
            for j in open_jobs(env, (AUCTION,))
            if j.bid_commit_end_height < env.height <= j.bid_reveal_end_height
            for b in j.bids
            if not b.revealed
        ]
        if not found:
            return None
        job, bid = env.rng.choice(found)
        saved = env.scratch("compute").get(f"bid/{job.id}/{bid.provider}")
        if saved is None:
            return None
        price, salt = saved
        if env.rng.randrange(0, 8) == 0:
            price += 1  # does not match the commitment: refused
        return [
            J.MsgRevealBid(
                provider=bid.provider, job_id=job.id, price_per_unit=str(price), salt=salt
            )
        ]

    def settle_job(env: SimEnv) -> Sequence[pb.Message] | None:
        found = open_jobs(env, (PENDING,))
        if not found:
            return None
        job = env.rng.choice(found)
        sender = addr_str(env.rng.choice(env.accounts))
        return [J.MsgSettleJob(sender=sender, job_id=job.id)]

    return {
        "submit_job": WeightedOperation(6, submit_job),
        "submit_dsm_job": WeightedOperation(6, submit_dsm_job),
        "cancel_job": WeightedOperation(1, cancel_job),
        "top_up_job": WeightedOperation(1, top_up_job),
        "submit_result": WeightedOperation(8, submit_result),
        "report_unservable": WeightedOperation(3, report_unservable),
        "commit_bid": WeightedOperation(5, commit_bid),
        "reveal_bid": WeightedOperation(8, reveal_bid),
        "settle_job": WeightedOperation(1, settle_job),
    }


# -- DSM off-chain versions (optimistic verification) ----------------------------------------


@dataclass(frozen=True)
class DsmTrace:
    """A trace the sim built for a job (honest or not) and its commitment."""

    job_id: int
    tensors: tuple[IntArray, ...]
    commitment: trace.TraceCommitment
    honest: bool


def dsm_artifacts(env: SimEnv) -> dict[bytes, bytes]:
    """The DSM artifacts the sim registered off-chain, by sha256."""
    found: dict[bytes, bytes] = env.scratch("compute").setdefault("dsm/artifacts", {})
    return found


def dsm_traces(env: SimEnv) -> dict[bytes, DsmTrace]:
    """Every trace the sim built, by commitment root."""
    found: dict[bytes, DsmTrace] = env.scratch("compute").setdefault("dsm/traces", {})
    return found


def dsm_model(rng: Rng) -> Model:
    """A small DSM model of 2 to 9 operators (a linear scorer, or an MLP with a skip and
    sometimes another hidden layer): enough steps for the bisection to take rounds."""
    width = rng.randrange(2, 7)
    spec = InputSpec(width, -100, 100, (1,) * width, (1,) * width, (0,) * width)
    if rng.randrange(0, 4) == 0:
        dense = Dense((0,), int_array(_weights(rng, 1, width), 2), int_array([0]))
        return Model(spec, (dense, Threshold((1,), rng.randrange(-50, 51))), name="sim-dsm")
    hidden = rng.randrange(2, 6)
    ops: list[Op] = [
        Dense((0,), int_array(_weights(rng, hidden, width), 2), int_array([0] * hidden)),
        Requantize((1,), int_array([rng.randrange(1, 100)]), int_array([rng.randrange(0, 8)])),
        Relu((2,)),
        Add((2, 3)),
    ]
    if rng.randrange(0, 2):
        ops += [
            Dense((4,), int_array(_weights(rng, hidden, hidden), 2), int_array([0] * hidden)),
            Requantize((5,), int_array([rng.randrange(1, 50)]), int_array([rng.randrange(4, 9)])),
            Relu((6,)),
        ]
    last = len(ops)
    ops += [
        Dense((last,), int_array(_weights(rng, 2, hidden), 2), int_array([0, 0])),
        Argmax((last + 1,)),
    ]
    return Model(spec, tuple(ops), name="sim-dsm")


def _weights(rng: Rng, rows: int, cols: int) -> list[list[int]]:
    return [[rng.randrange(-20, 21) for _ in range(cols)] for _ in range(rows)]


def dsm_program(env: SimEnv, sha256: bytes) -> Program | None:
    """The loaded program of a DSM artifact the sim registered (None: not one of its own)."""
    programs: dict[bytes, Program] = env.scratch("compute").setdefault("dsm/programs", {})
    if sha256 not in programs:
        artifact = dsm_artifacts(env).get(sha256)
        if artifact is None:
            return None
        programs[sha256] = runtime.load(artifact)
    return programs[sha256]


def is_dsm_version(env: SimEnv, jobs: JobKeeper, model_id: int, version: str) -> bool:
    """Whether the version is one of the sim's DSM artifacts."""
    try:
        found = jobs.ai.get_version(env.ctx, model_id, version)
    except AivmError:
        return False
    return found.format == runtime.FORMAT and found.artifact_sha256 in dsm_artifacts(env)


def dsm_job_program(env: SimEnv, jobs: JobKeeper, job: compute_pb2.Job) -> Program | None:
    """The program of ``job``'s version when it is a DSM artifact of the sim's."""
    try:
        version = jobs.ai.get_version(env.ctx, job.model_id, job.version)
    except AivmError:
        return None
    if version.format != runtime.FORMAT:
        return None
    return dsm_program(env, version.artifact_sha256)


def dsm_rows(rng: Rng, program: Program) -> IntArray:
    """1–3 valid quantized input rows."""
    spec = program.model.input
    rows = [
        [rng.randrange(max(spec.lo, -100), min(spec.hi, 100) + 1) for _ in range(spec.width)]
        for _ in range(rng.randrange(1, 4))
    ]
    return np.array(rows, dtype=np.int64)


def npy_bytes(array: Any) -> bytes:
    """``numpy.save`` of ``array`` (the inline input of a DSM job)."""
    out = io.BytesIO()
    np.save(out, array, allow_pickle=False)
    return out.getvalue()


def job_rows(job: compute_pb2.Job) -> IntArray | None:
    """The inline ``.npy`` rows of a job (None: not a 2-D int64 array)."""
    try:
        rows = np.load(io.BytesIO(job.input_inline), allow_pickle=False)
    except (ValueError, OSError, EOFError):
        return None
    if rows.dtype != np.int64 or rows.ndim != 2:
        return None
    return rows


def honest_trace(env: SimEnv, jobs: JobKeeper, job: compute_pb2.Job) -> DsmTrace | None:
    """The honest trace of a DSM job (None: not a DSM job of the sim's, or bad rows)."""
    cache: dict[int, DsmTrace | None] = env.scratch("compute").setdefault("dsm/honest", {})
    if job.id not in cache:
        program = dsm_job_program(env, jobs, job)
        rows = job_rows(job)
        found = None
        if program is not None and rows is not None:
            try:
                found = keep_trace(env, job.id, trace.dsm_trace(program, rows), True)
            except AivmError:
                found = None
        cache[job.id] = found
    return cache[job.id]


def keep_trace(env: SimEnv, job_id: int, tensors: Sequence[IntArray], honest: bool) -> DsmTrace:
    """Commit to ``tensors`` and remember the trace by its root."""
    commitment = trace.commit_trace([trace.tensor_hash(t) for t in tensors])
    kept = DsmTrace(job_id, tuple(tensors), commitment, honest)
    dsm_traces(env).setdefault(commitment.root, kept)
    return dsm_traces(env)[commitment.root]


def tampered_tensors(
    program: Program, tensors: Sequence[IntArray], step: int, delta: int
) -> list[IntArray]:
    """A self-consistent wrong trace: tensor ``step`` (≥ 1) moved by ``delta`` at one value
    (kept in its proven range), every later tensor recomputed with the model's kernels."""
    out = list(tensors)
    bad = out[step].copy()
    info = program.analysis.tensors[step]
    value = int(bad[0, 0])
    bad[0, 0] = value + delta if value + delta <= info.hi else value - delta
    out[step] = bad
    for index in range(step, len(program.kernels)):
        sources, kernel = program.kernels[index]
        out[index + 1] = kernel([out[s] for s in sources])
    return out


def wrong_trace(env: SimEnv, program: Program, honest: DsmTrace) -> DsmTrace:
    """A self-consistent wrong trace of the same job (it differs at some step ≥ 1)."""
    n = len(program.kernels)
    step = env.rng.randrange(1, n + 1)
    tensors = tampered_tensors(program, honest.tensors, step, env.rng.randrange(1, 4))
    return keep_trace(env, honest.job_id, tensors, False)


def output_bytes(tensor: IntArray) -> bytes:
    """An output tensor as raw little-endian int64 bytes, row-major."""
    return np.ascontiguousarray(tensor, dtype="<i8").tobytes()


def honest_result(env: SimEnv, jobs: JobKeeper, job: compute_pb2.Job) -> bytes:
    """What an honest provider outputs for ``job``: the DSM output for the sim's DSM jobs,
    :func:`honest_output` for the others."""
    found = honest_trace(env, jobs, job)
    return honest_output(job) if found is None else output_bytes(found.tensors[-1])


def evidence_of(kept: DsmTrace) -> verify_pb2.Evidence:
    """The trace evidence of a result (root, steps and the output's opening)."""
    opening = trace.open_output(kept.commitment)
    return verify_pb2.Evidence(
        trace_root=kept.commitment.root,
        trace_steps=kept.commitment.n_steps,
        trace_output_leaf=opening.leaf,
        trace_output_step_proof=opening.step_proof,
        trace_output_tensor_proof=opening.tensor_proof,
    )


def dsm_result(
    env: SimEnv, program: Program, honest: DsmTrace, provider: str, job_id: int
) -> compute_pb2.MsgSubmitResult:
    """A DSM job's result: honest (13 in 20), a self-consistent wrong trace (4 in 20), a
    trace with one step too many (its output right: only the artifact shows it wrong), or
    malformed evidence (2 in 20: refused)."""
    roll = env.rng.randrange(0, 20)
    kept = honest
    if 13 <= roll <= 16:
        kept = wrong_trace(env, program, honest)
    elif roll == 17:
        kept = keep_trace(env, honest.job_id, [*honest.tensors, honest.tensors[-1]], False)
    output = output_bytes(kept.tensors[-1])
    evidence = evidence_of(kept)
    if roll >= 18:
        flaw = env.rng.randrange(0, 4)
        if flaw == 0:
            evidence.trace_root = evidence.trace_root[:31]  # not 32 bytes
        elif flaw == 1:
            evidence.trace_steps = 0
        elif flaw == 2:
            evidence.trace_output_leaf = hashlib.sha256(evidence.trace_output_leaf).digest()
        else:
            output = output + output[:8]  # not the committed output
    msg = J.MsgSubmitResult(
        provider=provider,
        job_id=job_id,
        output_cid=cid_of(output),
        output_digest=hashlib.sha256(output).digest(),
        comparison_data=output,
        runtime=DSM_RUNTIME,
        evidence=evidence.SerializeToString(),
    )
    if roll >= 18 and env.rng.randrange(0, 4) == 0:
        msg.ClearField("comparison_data")  # the output not inline: refused
    return msg
