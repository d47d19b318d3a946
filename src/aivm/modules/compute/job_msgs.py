"""compute job messages: submit, cancel and top up a job (signed by the client), submit a
result, report an unservable input, commit and reveal sealed bids (signed by the provider),
and settle a finished job (signed by anyone)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from typing import Any

from aivm.crypto.cid import CidError, validate_cid
from aivm.modules.addr import addr_bytes
from aivm.modules.compute import compute_pb2, events
from aivm.modules.compute.errors import ErrInvalidJob
from aivm.modules.compute.jobs import (
    MAX_DETAIL_BYTES,
    MAX_EVIDENCE_BYTES,
    MAX_METADATA_BYTES,
    MAX_RUNTIME_BYTES,
    JobKeeper,
)
from aivm.modules.compute.keys import MAX_PRICE, MAX_VERSION_BYTES
from aivm.modules.compute.validation import MAX_PRICE_DIGITS
from aivm.modules.framework import Context, MsgRoute
from aivm.types import pb
from aivm.types.coin import BOND_DENOM
from aivm.types.numbers import parse_digits

MAX_UNITS = 10**12
MAX_SALT_BYTES = 64
J = compute_pb2


def price_of(text: str, name: str) -> int:
    """A price per unit: ASCII digits, positive, below 2^128."""
    price = parse_digits(text, MAX_PRICE_DIGITS, ErrInvalidJob, name)
    if not 0 < price <= MAX_PRICE:
        raise ErrInvalidJob.wrap(f"{name} must be 1 to 2^128 - 1")
    return price


def _enum(value: int, enum: Any, name: str) -> None:
    if value not in enum.values():
        raise ErrInvalidJob.wrap(f"unknown {name} {value}")


def validate_submit(msg: compute_pb2.MsgSubmitJob) -> None:
    """Client, model version, exactly one input with its sha256, units, price, deadline,
    enums, redundancy and a verification level that exists today."""
    addr_bytes(msg.client)
    if not 0 < len(msg.version.encode()) <= MAX_VERSION_BYTES:
        raise ErrInvalidJob.wrap(f"version must be 1 to {MAX_VERSION_BYTES} bytes")
    if bool(msg.input_cid) == bool(msg.input_inline):
        raise ErrInvalidJob.wrap("give exactly one of input_cid and input_inline")
    if len(msg.input_digest) != 32:
        raise ErrInvalidJob.wrap("input_digest must be the 32-byte sha256 of the input")
    if msg.input_cid:
        try:
            validate_cid(msg.input_cid)
        except CidError as exc:
            raise ErrInvalidJob.wrap(f"input_cid: {exc}") from None
    elif hashlib.sha256(msg.input_inline).digest() != msg.input_digest:
        raise ErrInvalidJob.wrap("input_digest is not the sha256 of input_inline")
    if not 0 < msg.units <= MAX_UNITS:
        raise ErrInvalidJob.wrap(f"units must be 1 to {MAX_UNITS}")
    price_of(msg.max_price_per_unit, "max_price_per_unit")
    if msg.deadline_blocks <= 0:
        raise ErrInvalidJob.wrap("deadline_blocks must be positive")
    _enum(msg.sla_class, J.SlaClass, "sla_class")
    _enum(msg.mode, J.MatchMode, "mode")
    _enum(msg.min_tier, J.Tier, "min_tier")
    if msg.redundancy <= 0:
        raise ErrInvalidJob.wrap("redundancy must be at least 1")
    _enum(msg.criticality, J.Criticality, "criticality")


def handle_submit(
    keeper: JobKeeper, ctx: Context, msg: compute_pb2.MsgSubmitJob
) -> compute_pb2.MsgSubmitJobResponse:
    """Lock the escrow and queue the job."""
    job = keeper.submit(ctx, addr_bytes(msg.client), msg)
    ctx.emit(
        events.JOB_SUBMIT,
        ("job_id", str(job.id)),
        ("client", job.client),
        ("model_id", str(job.model_id)),
        ("version", job.version),
        ("escrow", f"{job.escrow}{BOND_DENOM}"),
        ("mode", J.MatchMode.Name(job.mode)),
        ("deadline_height", str(job.deadline_height)),
    )
    return J.MsgSubmitJobResponse(job_id=job.id, escrow=job.escrow)


def validate_client_job(msg: Any) -> None:
    """A client address and a job id."""
    addr_bytes(msg.client)
    if msg.job_id <= 0:
        raise ErrInvalidJob.wrap("job_id must be positive")


def handle_cancel(
    keeper: JobKeeper, ctx: Context, msg: compute_pb2.MsgCancelJob
) -> compute_pb2.MsgCancelJobResponse:
    """Cancel a job that has no provider yet; refund."""
    refunded = keeper.cancel(ctx, addr_bytes(msg.client), msg.job_id)
    ctx.emit(events.JOB_CANCEL, ("job_id", str(msg.job_id)), ("refunded", str(refunded)))
    return J.MsgCancelJobResponse(refunded=str(refunded))


def validate_top_up(msg: compute_pb2.MsgTopUpJob) -> None:
    """Client, job id, and a new price and/or more blocks."""
    validate_client_job(msg)
    if msg.max_price_per_unit:
        price_of(msg.max_price_per_unit, "max_price_per_unit")
    elif msg.extend_blocks == 0:
        raise ErrInvalidJob.wrap("give a new max_price_per_unit or extend_blocks")


def handle_top_up(
    keeper: JobKeeper, ctx: Context, msg: compute_pb2.MsgTopUpJob
) -> compute_pb2.MsgTopUpJobResponse:
    """Raise the max price and/or extend the deadline."""
    price = (
        price_of(msg.max_price_per_unit, "max_price_per_unit") if msg.max_price_per_unit else None
    )
    job = keeper.top_up(ctx, addr_bytes(msg.client), msg.job_id, price, msg.extend_blocks)
    ctx.emit(
        events.JOB_TOP_UP,
        ("job_id", str(job.id)),
        ("max_price_per_unit", job.max_price_per_unit),
        ("deadline_height", str(job.deadline_height)),
        ("escrow", f"{job.escrow}{BOND_DENOM}"),
    )
    return J.MsgTopUpJobResponse(escrow=job.escrow)


def validate_result(msg: compute_pb2.MsgSubmitResult) -> None:
    """Provider, job id, output CID, 32-byte digest and bounded metadata."""
    addr_bytes(msg.provider)
    if msg.job_id <= 0:
        raise ErrInvalidJob.wrap("job_id must be positive")
    try:
        validate_cid(msg.output_cid)
    except CidError as exc:
        raise ErrInvalidJob.wrap(f"output_cid: {exc}") from None
    if len(msg.output_digest) != 32:
        raise ErrInvalidJob.wrap("output_digest must be a 32-byte sha256")
    if len(msg.runtime.encode()) > MAX_RUNTIME_BYTES:
        raise ErrInvalidJob.wrap(f"runtime over {MAX_RUNTIME_BYTES} bytes")
    if len(msg.runtime_metadata.encode()) > MAX_METADATA_BYTES:
        raise ErrInvalidJob.wrap(f"runtime_metadata over {MAX_METADATA_BYTES} bytes")
    if len(msg.evidence) > MAX_EVIDENCE_BYTES:
        raise ErrInvalidJob.wrap(f"evidence over {MAX_EVIDENCE_BYTES} bytes")


def handle_result(
    keeper: JobKeeper, ctx: Context, msg: compute_pb2.MsgSubmitResult
) -> compute_pb2.MsgSubmitResultResponse:
    """Record the result; compare when the job has them all."""
    keeper.submit_result(ctx, addr_bytes(msg.provider), msg)
    return J.MsgSubmitResultResponse()


def validate_unservable(msg: compute_pb2.MsgReportUnservable) -> None:
    """Provider, job id and a short detail."""
    addr_bytes(msg.provider)
    if msg.job_id <= 0:
        raise ErrInvalidJob.wrap("job_id must be positive")
    if len(msg.detail.encode()) > MAX_DETAIL_BYTES:
        raise ErrInvalidJob.wrap(f"detail over {MAX_DETAIL_BYTES} bytes")


def handle_unservable(
    keeper: JobKeeper, ctx: Context, msg: compute_pb2.MsgReportUnservable
) -> compute_pb2.MsgReportUnservableResponse:
    """End the provider's assignment without penalty; re-match or end the job."""
    job = keeper.report_unservable(ctx, addr_bytes(msg.provider), msg.job_id, msg.detail)
    ctx.emit(
        events.UNSERVABLE,
        ("job_id", str(job.id)),
        ("provider", msg.provider),
        ("detail", msg.detail),
        ("state", J.JobState.Name(job.state)),
    )
    return J.MsgReportUnservableResponse()


def validate_commit(msg: compute_pb2.MsgCommitBid) -> None:
    """Provider, job id and a 32-byte commitment."""
    addr_bytes(msg.provider)
    if msg.job_id <= 0 or len(msg.commitment) != 32:
        raise ErrInvalidJob.wrap("a job id and a 32-byte commitment")


def handle_commit(
    keeper: JobKeeper, ctx: Context, msg: compute_pb2.MsgCommitBid
) -> compute_pb2.MsgCommitBidResponse:
    """Record a sealed bid and lock its deposit."""
    keeper.commit_bid(ctx, addr_bytes(msg.provider), msg.job_id, msg.commitment)
    ctx.emit(events.BID_COMMIT, ("job_id", str(msg.job_id)), ("provider", msg.provider))
    return J.MsgCommitBidResponse()


def validate_reveal(msg: compute_pb2.MsgRevealBid) -> None:
    """Provider, job id, a price and a salt of at most 64 bytes."""
    addr_bytes(msg.provider)
    if msg.job_id <= 0:
        raise ErrInvalidJob.wrap("job_id must be positive")
    price_of(msg.price_per_unit, "price_per_unit")
    if len(msg.salt) > MAX_SALT_BYTES:
        raise ErrInvalidJob.wrap(f"salt over {MAX_SALT_BYTES} bytes")


def handle_reveal(
    keeper: JobKeeper, ctx: Context, msg: compute_pb2.MsgRevealBid
) -> compute_pb2.MsgRevealBidResponse:
    """Open a sealed bid."""
    price = price_of(msg.price_per_unit, "price_per_unit")
    keeper.reveal_bid(ctx, addr_bytes(msg.provider), msg.job_id, price, msg.salt)
    ctx.emit(
        events.BID_REVEAL,
        ("job_id", str(msg.job_id)),
        ("provider", msg.provider),
        ("price_per_unit", str(price)),
    )
    return J.MsgRevealBidResponse()


def validate_settle(msg: compute_pb2.MsgSettleJob) -> None:
    """Sender and job id."""
    addr_bytes(msg.sender)
    if msg.job_id <= 0:
        raise ErrInvalidJob.wrap("job_id must be positive")


def handle_settle(
    keeper: JobKeeper, ctx: Context, msg: compute_pb2.MsgSettleJob
) -> compute_pb2.MsgSettleJobResponse:
    """Settle a job whose challenge window is over."""
    keeper.settle(ctx, msg.job_id)
    return J.MsgSettleJobResponse()


def _route(
    message_class: type[pb.Message],
    signer: str,
    validate: Callable[[Any], None],
    handle: Callable[[JobKeeper, Context, Any], pb.Message],
    keeper: JobKeeper,
) -> MsgRoute:
    return MsgRoute(
        message_class=message_class,
        signers=lambda msg: [addr_bytes(getattr(msg, signer))],
        validate_basic=validate,
        handler=lambda ctx, msg: handle(keeper, ctx, msg),
    )


def job_msg_routes(keeper: JobKeeper) -> Sequence[MsgRoute]:
    """Routes of the job messages."""
    return [
        _route(J.MsgSubmitJob, "client", validate_submit, handle_submit, keeper),
        _route(J.MsgCancelJob, "client", validate_client_job, handle_cancel, keeper),
        _route(J.MsgTopUpJob, "client", validate_top_up, handle_top_up, keeper),
        _route(J.MsgSubmitResult, "provider", validate_result, handle_result, keeper),
        _route(J.MsgReportUnservable, "provider", validate_unservable, handle_unservable, keeper),
        _route(J.MsgCommitBid, "provider", validate_commit, handle_commit, keeper),
        _route(J.MsgRevealBid, "provider", validate_reveal, handle_reveal, keeper),
        _route(J.MsgSettleJob, "sender", validate_settle, handle_settle, keeper),
    ]
