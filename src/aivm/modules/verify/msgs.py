"""verify message handlers: verdicts (signer: the validator), model verification, TEE
collateral, and the optimistic dispute game (signer: the challenger or the party moving)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aivm.ai.verify import tee
from aivm.modules.addr import addr_bytes
from aivm.modules.framework import Context, MsgRoute
from aivm.modules.verify import verify_pb2
from aivm.modules.verify.attestation import (
    check_circuit,
    check_requirement,
    check_toploc_config,
)
from aivm.modules.verify.errors import ErrInvalidCommitment, ErrInvalidDispute, ErrInvalidVerdict
from aivm.modules.verify.keeper import DIGEST, MAX_SALT, MIN_SALT, VerifyKeeper
from aivm.modules.verify.optimistic import float_tensor
from aivm.types.errors import AivmError

MAX_COMPARISON_BYTES = 1 << 20
"""Stateless bound; the compute param ``max_comparison_bytes`` is the real limit."""


def _validator(msg: Any) -> list[bytes]:
    return [addr_bytes(msg.validator)]


def validate_commit(msg: verify_pb2.MsgCommitVerdict) -> None:
    """Validator address, job id, a 32-byte commitment."""
    addr_bytes(msg.validator)
    if msg.job_id == 0:
        raise ErrInvalidVerdict.wrap("job_id must be set")
    if len(msg.commitment) != DIGEST:
        raise ErrInvalidCommitment.wrap(f"commitment must be {DIGEST} bytes")


def validate_reveal(msg: verify_pb2.MsgRevealVerdict) -> None:
    """Validator address, job id, a 32-byte digest, a 16–64-byte salt, bounded inline data."""
    addr_bytes(msg.validator)
    if msg.job_id == 0:
        raise ErrInvalidVerdict.wrap("job_id must be set")
    if len(msg.output_digest) != DIGEST:
        raise ErrInvalidVerdict.wrap(f"output_digest must be {DIGEST} bytes (sha256)")
    if not MIN_SALT <= len(msg.salt) <= MAX_SALT:
        raise ErrInvalidVerdict.wrap(f"salt must be {MIN_SALT} to {MAX_SALT} bytes")
    if len(msg.comparison_data) > MAX_COMPARISON_BYTES:
        raise ErrInvalidVerdict.wrap(f"comparison_data over {MAX_COMPARISON_BYTES} bytes")


def validate_set_model(msg: verify_pb2.MsgSetModelVerification) -> None:
    """Owner address, model id, version, the TEE requirement's and the circuit's shape."""
    addr_bytes(msg.owner)
    if msg.model_id == 0 or not msg.version:
        raise ErrInvalidVerdict.wrap("model_id and version must be set")
    check_requirement(msg.tee)
    if msg.HasField("zk"):
        check_circuit(msg.zk)
    if msg.HasField("toploc"):
        check_toploc_config(msg.toploc)


def validate_collateral(msg: verify_pb2.MsgUpdateTeeCollateral) -> None:
    """Sender address; the collateral parses (sizes bounded first)."""
    addr_bytes(msg.sender)
    tee.parse_collateral(msg.json)


MAX_PROOF = 64
"""Hashes in one Merkle proof or peak list (no trace tree is deeper)."""
MAX_INPUT_TENSORS = 16
MAX_STEP_MESSAGE_BYTES = 8 << 20
"""Stateless bound of a final step's artifact and tensors; ``max_step_bytes`` is the real one."""


def _hashes(values: Sequence[bytes], name: str) -> None:
    if len(values) > MAX_PROOF or any(len(v) != DIGEST for v in values):
        raise ErrInvalidDispute.wrap(f"{name}: at most {MAX_PROOF} hashes of {DIGEST} bytes")


def validate_open_dispute(msg: verify_pb2.MsgOpenDispute) -> None:
    """Addresses, job id, a 32-byte root and last leaf, a bounded proof."""
    addr_bytes(msg.challenger)
    addr_bytes(msg.provider)
    if msg.job_id == 0:
        raise ErrInvalidDispute.wrap("job_id must be set")
    if len(msg.trace_root) != DIGEST or len(msg.last_leaf) != DIGEST:
        raise ErrInvalidDispute.wrap(f"trace_root and last_leaf are {DIGEST} bytes")
    _hashes(msg.last_proof, "last_proof")
    if len(msg.artifact) > MAX_STEP_MESSAGE_BYTES:
        raise ErrInvalidDispute.wrap(f"artifact over {MAX_STEP_MESSAGE_BYTES} bytes")


def validate_bisect(msg: verify_pb2.MsgBisect) -> None:
    """Sender, job id, a 32-byte leaf, a bounded proof."""
    addr_bytes(msg.sender)
    if msg.job_id == 0:
        raise ErrInvalidDispute.wrap("job_id must be set")
    if len(msg.leaf) != DIGEST:
        raise ErrInvalidDispute.wrap(f"leaf must be {DIGEST} bytes")
    _hashes(msg.proof, "proof")


def validate_final_step(msg: verify_pb2.MsgFinalStep) -> None:
    """Sender, job id, an artifact (DSM) or a claimed tensor (float), a few well-formed
    tensors, bounded proofs and peaks."""
    addr_bytes(msg.sender)
    if msg.job_id == 0:
        raise ErrInvalidDispute.wrap("job_id must be set")
    float_step = msg.HasField("claimed")
    if not float_step and not msg.artifact:
        raise ErrInvalidDispute.wrap("the DSM artifact (or, for a float model, the claim)")
    if not 1 <= len(msg.inputs) <= MAX_INPUT_TENSORS:
        raise ErrInvalidDispute.wrap(f"1 to {MAX_INPUT_TENSORS} input tensors")
    size = len(msg.artifact)
    for t in [*msg.inputs, *([msg.claimed] if float_step else [])]:
        if t.dtype:
            _float_tensor_shape(t)
        elif t.rows < 1 or t.cols < 1 or len(t.data) != t.rows * t.cols * 8:
            raise ErrInvalidDispute.wrap(f"tensor {t.index}: data is not rows × cols int64")
        _hashes(t.proof, f"tensor {t.index} proof")
        size += len(t.data)
    if size > MAX_STEP_MESSAGE_BYTES:
        raise ErrInvalidDispute.wrap(f"artifact and tensors over {MAX_STEP_MESSAGE_BYTES} bytes")
    _hashes(msg.peaks, "peaks")


def _float_tensor_shape(t: verify_pb2.TraceTensor) -> None:
    try:
        float_tensor(t)
    except AivmError as exc:
        raise ErrInvalidDispute.wrap(exc.log) from None


def msg_routes(keeper: VerifyKeeper) -> Sequence[MsgRoute]:
    """Commit, reveal, model verification and TEE collateral (MsgUpdateParams is added by
    the module)."""

    def commit(
        ctx: Context, msg: verify_pb2.MsgCommitVerdict
    ) -> verify_pb2.MsgCommitVerdictResponse:
        keeper.commit(ctx, addr_bytes(msg.validator), msg.job_id, msg.commitment)
        return verify_pb2.MsgCommitVerdictResponse()

    def reveal(
        ctx: Context, msg: verify_pb2.MsgRevealVerdict
    ) -> verify_pb2.MsgRevealVerdictResponse:
        agrees = keeper.reveal(ctx, addr_bytes(msg.validator), msg)
        return verify_pb2.MsgRevealVerdictResponse(agrees=agrees)

    def set_model(
        ctx: Context, msg: verify_pb2.MsgSetModelVerification
    ) -> verify_pb2.MsgSetModelVerificationResponse:
        trusted = keeper.get_params(ctx).trusted_srs_digests
        keeper.attestations.set_requirement(ctx, msg, trusted)
        return verify_pb2.MsgSetModelVerificationResponse()

    def collateral(
        ctx: Context, msg: verify_pb2.MsgUpdateTeeCollateral
    ) -> verify_pb2.MsgUpdateTeeCollateralResponse:
        digest = keeper.attestations.upload_collateral(ctx, msg.sender, msg.json)
        return verify_pb2.MsgUpdateTeeCollateralResponse(digest=digest)

    def open_dispute(
        ctx: Context, msg: verify_pb2.MsgOpenDispute
    ) -> verify_pb2.MsgOpenDisputeResponse:
        number = keeper.disputes.open(ctx, addr_bytes(msg.challenger), msg)
        return verify_pb2.MsgOpenDisputeResponse(number=number)

    def bisect(ctx: Context, msg: verify_pb2.MsgBisect) -> verify_pb2.MsgBisectResponse:
        dispute = keeper.disputes.bisect(ctx, addr_bytes(msg.sender), msg)
        return verify_pb2.MsgBisectResponse(status=dispute.status, lo=dispute.lo, hi=dispute.hi)

    def final_step(ctx: Context, msg: verify_pb2.MsgFinalStep) -> verify_pb2.MsgFinalStepResponse:
        dispute = keeper.disputes.final_step(ctx, addr_bytes(msg.sender), msg)
        return verify_pb2.MsgFinalStepResponse(winner=dispute.winner)

    return [
        MsgRoute(
            verify_pb2.MsgOpenDispute,
            lambda m: [addr_bytes(m.challenger)],
            validate_open_dispute,
            open_dispute,
        ),
        MsgRoute(verify_pb2.MsgBisect, lambda m: [addr_bytes(m.sender)], validate_bisect, bisect),
        MsgRoute(
            verify_pb2.MsgFinalStep,
            lambda m: [addr_bytes(m.sender)],
            validate_final_step,
            final_step,
        ),
        MsgRoute(verify_pb2.MsgCommitVerdict, _validator, validate_commit, commit),
        MsgRoute(verify_pb2.MsgRevealVerdict, _validator, validate_reveal, reveal),
        MsgRoute(
            verify_pb2.MsgSetModelVerification,
            lambda m: [addr_bytes(m.owner)],
            validate_set_model,
            set_model,
        ),
        MsgRoute(
            verify_pb2.MsgUpdateTeeCollateral,
            lambda m: [addr_bytes(m.sender)],
            validate_collateral,
            collateral,
        ),
    ]
