"""ai messages: register a model (or a new version), change status, transfer, infer."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from typing import Protocol

from aivm.ai import runtime
from aivm.crypto.cid import CidError, cid_of, validate_cid
from aivm.modules.addr import addr_bytes
from aivm.modules.ai.comparison import parse_rule
from aivm.modules.ai.errors import (
    ErrArtifactMismatch,
    ErrInvalidModel,
    ErrInvalidStatus,
    ErrModelExists,
    ErrModelInactive,
    ErrNotOnChain,
    ErrNotOwner,
    ErrVersionOrder,
)
from aivm.modules.ai.keeper import AiKeeper
from aivm.modules.bank.keeper import BankKeeper
from aivm.modules.framework import Context, MsgRoute
from aivm.types.coin_proto import coins_from_proto
from aivm.types.errors import ErrInvalidRequest
from aivm.types.protogen import ai_pb2

ONCHAIN, OFFCHAIN = "onchain", "offchain"
Status = ai_pb2.ModelStatus
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
TAG_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
FORMAT_RE = re.compile(r"^[a-z0-9][a-z0-9._/+-]{0,31}$")
SEMVER_RE = re.compile(
    r"^(0|[1-9][0-9]{0,8})\.(0|[1-9][0-9]{0,8})\.(0|[1-9][0-9]{0,8})"
    r"(?:-[0-9A-Za-z.-]{1,32})?(?:\+[0-9A-Za-z.-]{1,32})?$"
)
MAX_TAGS = 16
MAX_SCHEMA_BYTES = 4096
MAX_LICENSE_CHARS = 128
MAX_REASON_CHARS = 256
# Allowed lifecycle moves: active → deprecated → revoked, deprecated → active (un-deprecate).
TRANSITIONS = {
    (Status.MODEL_STATUS_ACTIVE, Status.MODEL_STATUS_DEPRECATED),
    (Status.MODEL_STATUS_ACTIVE, Status.MODEL_STATUS_REVOKED),
    (Status.MODEL_STATUS_DEPRECATED, Status.MODEL_STATUS_REVOKED),
    (Status.MODEL_STATUS_DEPRECATED, Status.MODEL_STATUS_ACTIVE),
}


class ObjectRegistry(Protocol):
    """What the ai module needs from the storage module."""

    def add_reference(self, ctx: Context, cid: str, owner: str, reference: str) -> bool:
        """Record that ``reference`` uses ``owner``'s record of object ``cid`` (storage records
        are per owner); False when ``owner`` keeps no record of it."""
        ...


def semver_core(version: str) -> tuple[int, int, int]:
    """(major, minor, patch) of a semantic version; ErrInvalidModel when malformed."""
    match = SEMVER_RE.fullmatch(version)
    if match is None:
        raise ErrInvalidModel.wrap(f"version {version!r} is not a semantic version (x.y.z)")
    return int(match[1]), int(match[2]), int(match[3])


# -- validate_basic ------------------------------------------------------------------------


def validate_register(msg: ai_pb2.MsgRegisterModel) -> None:
    """Stateless checks of a registration."""
    addr_bytes(msg.owner)
    if not NAME_RE.fullmatch(msg.name):
        raise ErrInvalidModel.wrap(f"name {msg.name!r} must match {NAME_RE.pattern}")
    semver_core(msg.version)
    if msg.execution_path not in (ONCHAIN, OFFCHAIN):
        raise ErrInvalidModel.wrap(f"execution_path must be {ONCHAIN!r} or {OFFCHAIN!r}")
    if not FORMAT_RE.fullmatch(msg.format):
        raise ErrInvalidModel.wrap(f"format {msg.format!r} is not a format name")
    _check_cid(msg.artifact_cid, "artifact_cid")
    if msg.model_card_cid:
        _check_cid(msg.model_card_cid, "model_card_cid")
    if len(msg.artifact_sha256) != 32:
        raise ErrInvalidModel.wrap("artifact_sha256 must be 32 bytes")
    _check_tags(msg.tags)
    for name, text in (("input_schema", msg.input_schema), ("output_schema", msg.output_schema)):
        if len(text.encode()) > MAX_SCHEMA_BYTES:
            raise ErrInvalidModel.wrap(f"{name} exceeds {MAX_SCHEMA_BYTES} bytes")
    if len(msg.license) > MAX_LICENSE_CHARS:
        raise ErrInvalidModel.wrap(f"license exceeds {MAX_LICENSE_CHARS} characters")
    coins_from_proto(msg.price)
    parse_rule(
        msg.comparison,
        msg.comparison_atol,
        msg.comparison_rtol,
        offchain=msg.execution_path == OFFCHAIN,
    )
    if msg.execution_path == ONCHAIN:
        if msg.format != runtime.FORMAT:
            raise ErrInvalidModel.wrap(f"on-chain models use format {runtime.FORMAT!r}")
        if not msg.artifact:
            raise ErrInvalidModel.wrap("on-chain models carry their artifact in the message")
    elif msg.artifact:
        raise ErrInvalidModel.wrap("off-chain models reference their artifact by CID only")
    elif msg.artifact_size == 0:
        raise ErrInvalidModel.wrap("off-chain models declare artifact_size")


def _check_cid(text: str, name: str) -> None:
    try:
        validate_cid(text)
    except CidError as exc:
        raise ErrInvalidModel.wrap(f"{name}: {exc}") from None


def _check_tags(tags: Sequence[str]) -> None:
    if len(tags) > MAX_TAGS:
        raise ErrInvalidModel.wrap(f"at most {MAX_TAGS} tags")
    if len(set(tags)) != len(tags):
        raise ErrInvalidModel.wrap("duplicate tags")
    for tag in tags:
        if not TAG_RE.fullmatch(tag):
            raise ErrInvalidModel.wrap(f"tag {tag!r} must match {TAG_RE.pattern}")


def validate_set_status(msg: ai_pb2.MsgSetModelStatus) -> None:
    """Stateless checks of a status change."""
    addr_bytes(msg.owner)
    semver_core(msg.version)
    if msg.status not in (
        Status.MODEL_STATUS_ACTIVE,
        Status.MODEL_STATUS_DEPRECATED,
        Status.MODEL_STATUS_REVOKED,
    ):
        raise ErrInvalidStatus.wrap("status must be active, deprecated or revoked")
    if msg.status != Status.MODEL_STATUS_ACTIVE and not msg.reason:
        raise ErrInvalidStatus.wrap("deprecating or revoking needs a reason")
    if len(msg.reason) > MAX_REASON_CHARS:
        raise ErrInvalidStatus.wrap(f"reason exceeds {MAX_REASON_CHARS} characters")


def validate_transfer(msg: ai_pb2.MsgTransferModel) -> None:
    """Stateless checks of an ownership transfer."""
    addr_bytes(msg.owner)
    addr_bytes(msg.new_owner)
    if msg.owner == msg.new_owner:
        raise ErrInvalidRequest.wrap("new owner is the current owner")


def validate_infer(msg: ai_pb2.MsgInfer) -> None:
    """Stateless checks of an inference request."""
    addr_bytes(msg.caller)
    if msg.version:
        semver_core(msg.version)
    if bool(msg.input) == bool(msg.decimal_input):
        raise runtime.ErrInvalidInput.wrap("give exactly one of input (integers) or decimal_input")


# -- handlers ------------------------------------------------------------------------------


def handle_register(
    keeper: AiKeeper, objects: ObjectRegistry | None, ctx: Context, msg: ai_pb2.MsgRegisterModel
) -> ai_pb2.MsgRegisterModelResponse:
    """Register a new model, or a new version of a model the sender owns."""
    owner = addr_bytes(msg.owner)
    model_id = keeper.model_id_by_name(ctx, msg.name)
    if model_id is None:
        model = keeper.new_model(ctx, msg.name, owner, msg.owner)
    else:
        model = keeper.get_model(ctx, model_id)
        if model.owner != msg.owner:
            raise ErrModelExists.wrap(f"{msg.name!r} belongs to {model.owner}")
        if semver_core(msg.version) <= semver_core(model.latest_version):
            raise ErrVersionOrder.wrap(f"{msg.version} is not above {model.latest_version}")
    comparison, atol, rtol = parse_rule(
        msg.comparison,
        msg.comparison_atol,
        msg.comparison_rtol,
        offchain=msg.execution_path == OFFCHAIN,
    ).fields()
    version = ai_pb2.ModelVersion(
        model_id=model.id,
        version=msg.version,
        artifact_cid=msg.artifact_cid,
        artifact_sha256=msg.artifact_sha256,
        format=msg.format,
        execution_path=msg.execution_path,
        input_schema=msg.input_schema,
        output_schema=msg.output_schema,
        price=msg.price,
        license=msg.license,
        model_card_cid=msg.model_card_cid,
        tags=msg.tags,
        status=Status.MODEL_STATUS_ACTIVE,
        created_height=ctx.header.height,
        updated_height=ctx.header.height,
        artifact_size=msg.artifact_size,
        comparison=comparison,
        comparison_atol=atol,
        comparison_rtol=rtol,
    )
    if msg.execution_path == ONCHAIN:
        _accept_onchain_artifact(keeper, ctx, msg, version)
    reference = f"ai/model/{model.id}@{msg.version}"
    if objects is not None:
        found = objects.add_reference(ctx, msg.artifact_cid, msg.owner, reference)
        if msg.execution_path == OFFCHAIN and not found:
            raise ErrInvalidModel.wrap(
                f"off-chain artifact {msg.artifact_cid} has no storage record of {msg.owner} "
                "(aivm storage put, then aivm tx storage store from the model owner)"
            )
        if msg.model_card_cid:
            objects.add_reference(ctx, msg.model_card_cid, msg.owner, reference + "#card")
    keeper.set_version(ctx, version)
    model.latest_version = msg.version
    keeper.set_model(ctx, model)
    ctx.emit(
        "aivm.ai.v1.EventRegisterModel",
        ("model_id", str(model.id)),
        ("name", model.name),
        ("version", msg.version),
        ("owner", model.owner),
        ("execution_path", msg.execution_path),
        ("artifact_cid", msg.artifact_cid),
        ("comparison", comparison),
    )
    return ai_pb2.MsgRegisterModelResponse(model_id=model.id, version=msg.version)


def _accept_onchain_artifact(
    keeper: AiKeeper, ctx: Context, msg: ai_pb2.MsgRegisterModel, version: ai_pb2.ModelVersion
) -> None:
    """Check an on-chain artifact against its hash and CID, parse it, enforce the limits.

    The load gas (parse, checks, compile: ADR 0010) is charged once the artifact's JSON is
    read and before its arrays are decoded, so a rejected artifact has paid for the work.
    """
    artifact = msg.artifact
    if hashlib.sha256(artifact).digest() != msg.artifact_sha256:
        raise ErrArtifactMismatch.wrap("sha256 of the artifact differs from artifact_sha256")
    if msg.artifact_size and msg.artifact_size != len(artifact):
        raise ErrArtifactMismatch.wrap(
            f"artifact is {len(artifact)} bytes, not {msg.artifact_size}"
        )
    params = keeper.get_params(ctx)
    if len(artifact) > params.max_model_bytes:
        raise runtime.ErrModelLimit.wrap(
            f"artifact of {len(artifact)} bytes exceeds {params.max_model_bytes}"
        )
    if cid_of(artifact) != msg.artifact_cid:
        raise ErrArtifactMismatch.wrap(
            f"artifact CID is {cid_of(artifact)}, not {msg.artifact_cid}"
        )
    program = runtime.load(
        artifact,
        params.limits,
        params.gas,
        charge=lambda work: ctx.gas_meter.consume(params.gas.load(work), "dsm load"),
    )
    digest = keeper.set_artifact(ctx, artifact)
    keeper.remember_program(digest, program)
    version.artifact_size = len(artifact)
    version.gas_per_row = program.gas_per_row(params.gas)
    version.load_gas = program.load_gas(params.gas)
    version.input_width = program.input_width


def handle_set_status(
    keeper: AiKeeper, ctx: Context, msg: ai_pb2.MsgSetModelStatus
) -> ai_pb2.MsgSetModelStatusResponse:
    """Move a version along its lifecycle (owner only)."""
    model = keeper.get_model(ctx, msg.model_id)
    if model.owner != msg.owner:
        raise ErrNotOwner.wrap(f"model {model.id} belongs to {model.owner}")
    version = keeper.get_version(ctx, msg.model_id, msg.version)
    if (version.status, msg.status) not in TRANSITIONS:
        raise ErrInvalidStatus.wrap(
            f"cannot go from {Status.Name(version.status)} to {Status.Name(msg.status)}"
        )
    version.status = msg.status
    version.status_reason = msg.reason
    version.updated_height = ctx.header.height
    keeper.set_version(ctx, version)
    ctx.emit(
        "aivm.ai.v1.EventModelStatus",
        ("model_id", str(model.id)),
        ("version", version.version),
        ("status", Status.Name(msg.status)),
        ("reason", msg.reason),
    )
    return ai_pb2.MsgSetModelStatusResponse()


def handle_transfer(
    keeper: AiKeeper, ctx: Context, msg: ai_pb2.MsgTransferModel
) -> ai_pb2.MsgTransferModelResponse:
    """Give a model (all its versions) to another account."""
    model = keeper.get_model(ctx, msg.model_id)
    if model.owner != msg.owner:
        raise ErrNotOwner.wrap(f"model {model.id} belongs to {model.owner}")
    keeper.change_owner(ctx, model, addr_bytes(msg.owner), addr_bytes(msg.new_owner), msg.new_owner)
    ctx.emit(
        "aivm.ai.v1.EventTransferModel",
        ("model_id", str(model.id)),
        ("from", msg.owner),
        ("to", msg.new_owner),
    )
    return ai_pb2.MsgTransferModelResponse()


def handle_infer(
    keeper: AiKeeper, bank: BankKeeper, ctx: Context, msg: ai_pb2.MsgInfer
) -> ai_pb2.MsgInferResponse:
    """Run an on-chain model on one input row; charge gas and pay the price to the owner.

    DSM gas (recorded as the execution's ``gas``) is the model's load gas, which every use
    pays whatever this node has cached, plus decimal input quantization, plus the run gas.
    """
    model = keeper.get_model(ctx, msg.model_id)
    version = keeper.get_version(ctx, msg.model_id, msg.version)
    if version.execution_path != ONCHAIN:
        raise ErrNotOnChain.wrap(f"model {model.id} {version.version} runs off-chain")
    if version.status == Status.MODEL_STATUS_REVOKED:
        raise ErrModelInactive.wrap(
            f"model {model.id} {version.version} is revoked: {version.status_reason}"
        )
    params = keeper.get_params(ctx)
    program = keeper.program(ctx, version.artifact_sha256, params)  # charges the load gas
    gas = program.load_gas(params.gas)
    if msg.decimal_input:
        input_gas = params.gas.decimal_input(len(msg.decimal_input))
        ctx.gas_meter.consume(input_gas, "dsm input")
        gas += input_gas
        row = runtime.quantize_row(program, list(msg.decimal_input))
    else:
        row = list(msg.input)
    rows = runtime.check_rows(program, runtime.as_rows([row]), params.limits)
    run_gas = program.gas_per_row(params.gas)
    ctx.gas_meter.consume(run_gas, "dsm inference")
    gas += run_gas
    price = coins_from_proto(version.price)
    caller = addr_bytes(msg.caller)
    if price:
        bank.send_coins(ctx, caller, addr_bytes(model.owner), price)
    output = program.run(rows)
    input_bytes = runtime.output_bytes(rows)
    output_values = [int(v) for v in output.reshape(-1)]
    record = ai_pb2.ExecutionRecord(
        model_id=model.id,
        version=version.version,
        input_hash=hashlib.sha256(input_bytes).digest(),
        input=row,
        output=output_values,
        output_hash=hashlib.sha256(runtime.output_bytes(output)).digest(),
        gas=gas,
        caller=msg.caller,
        height=ctx.header.height,
        price_paid=version.price,
        model_sha256=version.artifact_sha256,
    )
    execution_id = keeper.add_execution(ctx, record)
    ctx.emit(
        "aivm.ai.v1.EventInference",
        ("execution_id", str(execution_id)),
        ("model_id", str(model.id)),
        ("version", version.version),
        ("caller", msg.caller),
        ("output", ",".join(str(v) for v in output_values)),
        ("output_hash", record.output_hash.hex()),
        ("gas", str(gas)),
    )
    return ai_pb2.MsgInferResponse(execution_id=execution_id, output=output_values, gas=gas)


def msg_routes(
    keeper: AiKeeper, bank: BankKeeper, objects: ObjectRegistry | None
) -> Sequence[MsgRoute]:
    """Routes of the ai message service."""
    return [
        MsgRoute(
            message_class=ai_pb2.MsgRegisterModel,
            signers=lambda msg: [addr_bytes(msg.owner)],
            validate_basic=validate_register,
            handler=lambda ctx, msg: handle_register(keeper, objects, ctx, msg),
        ),
        MsgRoute(
            message_class=ai_pb2.MsgSetModelStatus,
            signers=lambda msg: [addr_bytes(msg.owner)],
            validate_basic=validate_set_status,
            handler=lambda ctx, msg: handle_set_status(keeper, ctx, msg),
        ),
        MsgRoute(
            message_class=ai_pb2.MsgTransferModel,
            signers=lambda msg: [addr_bytes(msg.owner)],
            validate_basic=validate_transfer,
            handler=lambda ctx, msg: handle_transfer(keeper, ctx, msg),
        ),
        MsgRoute(
            message_class=ai_pb2.MsgInfer,
            signers=lambda msg: [addr_bytes(msg.caller)],
            validate_basic=validate_infer,
            handler=lambda ctx, msg: handle_infer(keeper, bank, ctx, msg),
        ),
    ]
