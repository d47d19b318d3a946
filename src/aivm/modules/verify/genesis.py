"""verify genesis: params (the policy), open and closed sessions, trails. Import rebuilds the
draw/tally queues and the duties index from each session's phase."""

from __future__ import annotations

from typing import Any

from google.protobuf import json_format

from aivm.ai.verify import tee
from aivm.modules.framework import Context
from aivm.modules.verify import verify_pb2
from aivm.modules.verify.attestation import check_requirement
from aivm.modules.verify.errors import ErrInvalidGenesis
from aivm.modules.verify.keeper import VerifyKeeper
from aivm.modules.verify.optimistic import UNDECIDED
from aivm.modules.verify.params import VerifyParams, default_params, params_from_proto
from aivm.types.errors import AivmError


def default_genesis() -> dict[str, Any]:
    """Default params, nothing else."""
    state = verify_pb2.GenesisState(params=default_params().to_proto())
    out: dict[str, Any] = json_format.MessageToDict(state, preserving_proto_field_name=True)
    return out


def parse_genesis(data: dict[str, Any]) -> tuple[verify_pb2.GenesisState, VerifyParams]:
    """The state and its params; ErrInvalidGenesis on anything malformed."""
    state = verify_pb2.GenesisState()
    try:
        json_format.ParseDict(data, state)
    except json_format.ParseError as exc:
        raise ErrInvalidGenesis.wrap(f"invalid verify genesis: {exc}") from None
    try:
        params = params_from_proto(state.params) if state.HasField("params") else default_params()
    except AivmError as exc:
        raise ErrInvalidGenesis.wrap(exc.log) from None
    return state, params


def validate_genesis(data: dict[str, Any]) -> None:
    """Params valid; at most one session and one trail per job."""
    state, _ = parse_genesis(data)
    for name, ids in (
        ("session", [s.job_id for s in state.sessions]),
        ("trail", [t.job_id for t in state.trails]),
    ):
        if len(set(ids)) != len(ids):
            raise ErrInvalidGenesis.wrap(f"a job has two {name}s")
        if 0 in ids:
            raise ErrInvalidGenesis.wrap(f"a {name} without a job id")
    _validate_disputes(state)
    for record in state.models:
        try:
            check_requirement(record.tee)
        except AivmError as exc:
            raise ErrInvalidGenesis.wrap(exc.log) from None
    for collateral in state.collaterals:
        try:
            parsed = tee.parse_collateral(collateral.json)
        except AivmError as exc:
            raise ErrInvalidGenesis.wrap(exc.log) from None
        if parsed.digest != collateral.digest:
            raise ErrInvalidGenesis.wrap("a collateral record's digest is not its JSON's")


def _validate_disputes(state: verify_pb2.GenesisState) -> None:
    """Disputes: distinct (job, number), of a session, at most one undecided per job."""
    sessions = {s.job_id for s in state.sessions}
    seen: set[tuple[int, int]] = set()
    undecided: set[int] = set()
    for d in state.disputes:
        if d.job_id not in sessions or d.number == 0 or (d.job_id, d.number) in seen:
            raise ErrInvalidGenesis.wrap(f"dispute {d.job_id}/{d.number} is malformed or twice")
        seen.add((d.job_id, d.number))
        if d.status in UNDECIDED:
            if d.job_id in undecided:
                raise ErrInvalidGenesis.wrap(f"job {d.job_id} has two undecided disputes")
            undecided.add(d.job_id)


def init_genesis(keeper: VerifyKeeper, ctx: Context, data: dict[str, Any]) -> None:
    """Write the state."""
    validate_genesis(data)
    state, params = parse_genesis(data)
    keeper.set_params(ctx, params)
    for session in state.sessions:
        keeper.restore_session(ctx, session)
    for trail in state.trails:
        keeper.set_trail(ctx, trail)
    for dispute in state.disputes:
        keeper.disputes.restore(ctx, dispute)
    for record in state.models:
        keeper.attestations.set_model(ctx, record)
    for collateral in state.collaterals:
        keeper.attestations.set_collateral(ctx, collateral)
    for digest in state.used_quotes:
        keeper.attestations.mark_used(ctx, digest, 0)


def export_genesis(keeper: VerifyKeeper, ctx: Context) -> dict[str, Any]:
    """Read the state back."""
    state = verify_pb2.GenesisState(
        params=keeper.get_params(ctx).to_proto(),
        sessions=list(keeper.iterate_sessions(ctx)),
        trails=list(keeper.iterate_trails(ctx)),
        models=list(keeper.attestations.iterate_models(ctx)),
        collaterals=list(keeper.attestations.iterate_collaterals(ctx)),
        used_quotes=keeper.attestations.used_quotes(ctx),
        disputes=list(keeper.disputes.iterate(ctx)),
    )
    out: dict[str, Any] = json_format.MessageToDict(state, preserving_proto_field_name=True)
    return out
