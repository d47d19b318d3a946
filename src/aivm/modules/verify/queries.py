"""verify queries (``/aivm.verify.v1.Query/…``): Params, Policy, Session, Duties, Trail,
model verification, TEE collateral, and the optimistic method's Disputes, OpenDisputes and
Challengeable."""

from __future__ import annotations

from collections.abc import Sequence

from aivm.modules.addr import addr_bytes
from aivm.modules.framework import Context, QueryRoute
from aivm.modules.verify import verify_pb2
from aivm.modules.verify.errors import ErrTrailNotFound
from aivm.modules.verify.keeper import VerifyKeeper
from aivm.modules.verify.params import AVAILABLE_METHODS, Rule

SERVICE = "/aivm.verify.v1.Query/"
MAX_LISTED = 200
"""Collateral records or duties a query lists at most (queries are bounded; a validator works
through its oldest duties first)."""
V = verify_pb2


def method_name(method: int) -> str:
    """``reexecution``, ``sampling``, …"""
    return V.Method.Name(method).removeprefix("METHOD_").lower()


def criticality_name(criticality: int) -> str:
    """``low``, ``medium``, ``high``, ``critical``."""
    return V.Criticality.Name(criticality).removeprefix("CRITICALITY_").lower()


def explain(rule: Rule, base_window: int) -> str:
    """A policy rule in words."""
    parts = []
    for method in rule.methods:
        if method == V.METHOD_REEXECUTION:
            parts.append(f"{rule.validators} AI validators re-execute every job (majority decides)")
        elif method == V.METHOD_ZK:
            parts.append(
                "a zk proof with each result when the model registers a circuit (binding "
                f"checked on chain, pairing attested by {rule.validators} AI validators)"
            )
        elif method == V.METHOD_TOPLOC:
            parts.append(
                "TOPLOC fingerprints with each generation when the model registers a config "
                f"(checked by {rule.validators} AI validators re-running only the prefill)"
            )
        elif method == V.METHOD_TEE:
            parts.append("a TEE quote with each result when the model declares measurements")
        elif method == V.METHOD_OPTIMISTIC:
            parts.append(
                "a trace commitment with each result of a DSM model; anyone bonded may "
                "dispute it during the window (bisection, one operator decided on chain)"
            )
        elif method == V.METHOD_SAMPLING:
            percent = _percent(rule.sample_millionths)
            parts.append(
                f"{percent}% of jobs are re-executed by {rule.validators} AI validators, drawn "
                "after the result is in"
            )
    window = max(base_window, rule.challenge_window_blocks)
    text = "; ".join(parts) if parts else "no method: the challenge window only"
    return f"{criticality_name(rule.criticality)}: {text}; paid after {window} blocks at least"


def _percent(millionths: int) -> str:
    whole, part = divmod(millionths, 10_000)
    return f"{whole}.{part:04d}".rstrip("0").rstrip(".")


def query_routes(keeper: VerifyKeeper) -> Sequence[QueryRoute]:
    """The module's queries."""

    def params(ctx: Context, req: verify_pb2.QueryParamsRequest) -> verify_pb2.QueryParamsResponse:
        return V.QueryParamsResponse(params=keeper.get_params(ctx).to_proto())

    def policy(ctx: Context, req: verify_pb2.QueryPolicyRequest) -> verify_pb2.QueryPolicyResponse:
        current = keeper.get_params(ctx)
        base = keeper.compute.get_params(ctx).challenge_window_blocks
        proto = current.to_proto()
        available = [method_name(m) for m in sorted(AVAILABLE_METHODS)]
        return V.QueryPolicyResponse(
            entries=[
                V.PolicyEntry(rule=p, methods_available=available, explanation=explain(r, base))
                for r, p in zip(current.policy, proto.policy, strict=True)
            ]
        )

    def session(
        ctx: Context, req: verify_pb2.QuerySessionRequest
    ) -> verify_pb2.QuerySessionResponse:
        return V.QuerySessionResponse(session=keeper.require_session(ctx, req.job_id))

    def duties(ctx: Context, req: verify_pb2.QueryDutiesRequest) -> verify_pb2.QueryDutiesResponse:
        validator = addr_bytes(req.validator)
        out = V.QueryDutiesResponse()
        for job_id in keeper.duties(ctx, validator)[:MAX_LISTED]:
            found = keeper.get_session(ctx, job_id)
            if found is None:
                continue
            for verdict in found.verdicts:
                if verdict.validator != req.validator or verdict.round != found.round:
                    continue
                if not verdict.commitment:
                    action, until = "commit", found.commit_end_height
                else:
                    action, until = "reveal", found.reveal_end_height
                if not verdict.revealed:
                    out.duties.add(
                        job_id=job_id, round=found.round, action=action, until_height=until
                    )
        return out

    def trail(ctx: Context, req: verify_pb2.QueryTrailRequest) -> verify_pb2.QueryTrailResponse:
        found = keeper.get_trail(ctx, req.job_id)
        if found is None:
            raise ErrTrailNotFound.wrap(
                f"job {req.job_id} has no trail (trails are written when a job is paid)"
            )
        return V.QueryTrailResponse(trail=found)

    def model_verification(
        ctx: Context, req: verify_pb2.QueryModelVerificationRequest
    ) -> verify_pb2.QueryModelVerificationResponse:
        found = keeper.attestations.get_model(ctx, req.model_id, req.version)
        if found is None:
            raise ErrTrailNotFound.wrap(
                f"model {req.model_id} v{req.version} registered no verification requirements"
            )
        return V.QueryModelVerificationResponse(verification=found)

    def tee_collaterals(
        ctx: Context, req: verify_pb2.QueryTeeCollateralsRequest
    ) -> verify_pb2.QueryTeeCollateralsResponse:
        out = V.QueryTeeCollateralsResponse()
        for record in keeper.attestations.iterate_collaterals(ctx):
            record.ClearField("json")
            out.collaterals.append(record)
            if len(out.collaterals) >= MAX_LISTED:
                break
        return out

    def tee_collateral(
        ctx: Context, req: verify_pb2.QueryTeeCollateralRequest
    ) -> verify_pb2.QueryTeeCollateralResponse:
        found = keeper.attestations.get_collateral(ctx, req.digest)
        if found is None:
            raise ErrTrailNotFound.wrap(f"no collateral {req.digest.hex()}")
        return V.QueryTeeCollateralResponse(collateral=found)

    def disputes(
        ctx: Context, req: verify_pb2.QueryDisputesRequest
    ) -> verify_pb2.QueryDisputesResponse:
        found = keeper.disputes.of_job(ctx, req.job_id, MAX_LISTED)
        return V.QueryDisputesResponse(disputes=found)

    def open_disputes(
        ctx: Context, req: verify_pb2.QueryOpenDisputesRequest
    ) -> verify_pb2.QueryOpenDisputesResponse:
        if req.party:
            addr_bytes(req.party)
        found = keeper.disputes.undecided(ctx, req.party, MAX_LISTED)
        return V.QueryOpenDisputesResponse(disputes=found)

    def challengeable(
        ctx: Context, req: verify_pb2.QueryChallengeableRequest
    ) -> verify_pb2.QueryChallengeableResponse:
        out = V.QueryChallengeableResponse()
        for job_id, end in keeper.disputes.challengeable(ctx, MAX_LISTED):
            out.jobs.add(job_id=job_id, challenge_end_height=end)
        return out

    return [
        QueryRoute(SERVICE + "Disputes", V.QueryDisputesRequest, disputes),
        QueryRoute(SERVICE + "OpenDisputes", V.QueryOpenDisputesRequest, open_disputes),
        QueryRoute(SERVICE + "Challengeable", V.QueryChallengeableRequest, challengeable),
        QueryRoute(SERVICE + "TeeCollateral", V.QueryTeeCollateralRequest, tee_collateral),
        QueryRoute(SERVICE + "Params", V.QueryParamsRequest, params),
        QueryRoute(
            SERVICE + "ModelVerification", V.QueryModelVerificationRequest, model_verification
        ),
        QueryRoute(SERVICE + "TeeCollaterals", V.QueryTeeCollateralsRequest, tee_collaterals),
        QueryRoute(SERVICE + "Policy", V.QueryPolicyRequest, policy),
        QueryRoute(SERVICE + "Session", V.QuerySessionRequest, session),
        QueryRoute(SERVICE + "Duties", V.QueryDutiesRequest, duties),
        QueryRoute(SERVICE + "Trail", V.QueryTrailRequest, trail),
    ]
