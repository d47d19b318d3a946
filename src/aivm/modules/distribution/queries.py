"""distribution gRPC queries, answered over ABCI Query (``/cosmos.distribution.v1beta1.Query/…``).

Rewards queries end the validator's current period to compute what a withdrawal would pay,
as the SDK does; they run on a throw-away branch of the query's read-only state.
"""

from __future__ import annotations

from collections.abc import Sequence

from aivm.modules.addr import addr_bytes, addr_str
from aivm.modules.distribution.deccoins import DecCoins
from aivm.modules.distribution.errors import ErrNoDelegationExists, ErrNoValidatorExists
from aivm.modules.distribution.keeper import DistributionKeeper, val_str
from aivm.modules.distribution.msgs import val_bytes
from aivm.modules.framework import Context, QueryRoute
from aivm.store import CacheStore
from aivm.types import pb
from aivm.types.errors import ErrInvalidRequest
from aivm.types.pagination import paginate
from aivm.types.pb import distribution_query as q

SERVICE = "/cosmos.distribution.v1beta1.Query/"


def branch(ctx: Context) -> Context:
    """A writable throw-away branch of ``ctx`` (same meter, header and mode)."""
    return Context(CacheStore(ctx.store), ctx.gas_meter, ctx.header, ctx.mode)


def _validator_address(text: str) -> bytes:
    if not text:
        raise ErrInvalidRequest.wrap("empty validator address")
    return val_bytes(text)


def _delegator_address(text: str) -> bytes:
    if not text:
        raise ErrInvalidRequest.wrap("empty delegator address")
    return addr_bytes(text)


def query_routes(keeper: DistributionKeeper) -> Sequence[QueryRoute]:
    """Routes of the distribution query service."""

    def params(ctx: Context, req: q.QueryParamsRequest) -> q.QueryParamsResponse:
        return q.QueryParamsResponse(params=keeper.get_params(ctx).to_proto())

    def distribution_info(
        ctx: Context, req: q.QueryValidatorDistributionInfoRequest
    ) -> q.QueryValidatorDistributionInfoResponse:
        val = _validator_address(req.validator_address)
        if keeper.staking.get_validator(ctx, val) is None:
            raise ErrNoValidatorExists.wrap(req.validator_address)
        if keeper.staking.get_delegation(ctx, val, val) is None:
            raise ErrNoDelegationExists.wrap("")
        rewards = keeper.delegation_rewards(branch(ctx), val, val)
        return q.QueryValidatorDistributionInfoResponse(
            operator_address=addr_str(val),
            self_bond_rewards=rewards.to_proto(),
            commission=keeper.get_commission(ctx, val).to_proto(),
        )

    def outstanding(
        ctx: Context, req: q.QueryValidatorOutstandingRewardsRequest
    ) -> q.QueryValidatorOutstandingRewardsResponse:
        val = _known_validator(ctx, req.validator_address)
        rewards = pb.distribution.ValidatorOutstandingRewards(
            rewards=keeper.get_outstanding(ctx, val).to_proto()
        )
        return q.QueryValidatorOutstandingRewardsResponse(rewards=rewards)

    def commission(
        ctx: Context, req: q.QueryValidatorCommissionRequest
    ) -> q.QueryValidatorCommissionResponse:
        val = _known_validator(ctx, req.validator_address)
        accumulated = pb.distribution.ValidatorAccumulatedCommission(
            commission=keeper.get_commission(ctx, val).to_proto()
        )
        return q.QueryValidatorCommissionResponse(commission=accumulated)

    def slashes(
        ctx: Context, req: q.QueryValidatorSlashesRequest
    ) -> q.QueryValidatorSlashesResponse:
        val = _validator_address(req.validator_address)
        if req.ending_height and req.ending_height < req.starting_height:
            raise ErrInvalidRequest.wrap(
                "starting height greater than ending height "
                f"({req.starting_height} > {req.ending_height})"
            )
        end = req.ending_height or None
        found = [e for _, e in keeper.iterate_slash_events(ctx, val, req.starting_height, end)]
        page, page_response = paginate(found, req.pagination)
        return q.QueryValidatorSlashesResponse(slashes=page, pagination=page_response)

    def delegation_rewards(
        ctx: Context, req: q.QueryDelegationRewardsRequest
    ) -> q.QueryDelegationRewardsResponse:
        delegator = _delegator_address(req.delegator_address)
        val = _validator_address(req.validator_address)
        rewards = keeper.delegation_rewards(branch(ctx), delegator, val)
        return q.QueryDelegationRewardsResponse(rewards=rewards.to_proto())

    def total_rewards(
        ctx: Context, req: q.QueryDelegationTotalRewardsRequest
    ) -> q.QueryDelegationTotalRewardsResponse:
        delegator = _delegator_address(req.delegator_address)
        work = branch(ctx)
        total = DecCoins()
        entries = []
        for delegation in list(keeper.staking.iterate_delegations_of(ctx, delegator)):
            rewards = keeper.delegation_rewards(work, delegator, delegation.validator)
            total = total + rewards
            entries.append(
                pb.distribution.DelegationDelegatorReward(
                    validator_address=val_str(delegation.validator), reward=rewards.to_proto()
                )
            )
        return q.QueryDelegationTotalRewardsResponse(rewards=entries, total=total.to_proto())

    def delegator_validators(
        ctx: Context, req: q.QueryDelegatorValidatorsRequest
    ) -> q.QueryDelegatorValidatorsResponse:
        delegator = _delegator_address(req.delegator_address)
        validators = [
            val_str(d.validator) for d in keeper.staking.iterate_delegations_of(ctx, delegator)
        ]
        return q.QueryDelegatorValidatorsResponse(validators=validators)

    def withdraw_address(
        ctx: Context, req: q.QueryDelegatorWithdrawAddressRequest
    ) -> q.QueryDelegatorWithdrawAddressResponse:
        delegator = _delegator_address(req.delegator_address)
        withdraw = keeper.get_withdraw_addr(ctx, delegator)
        return q.QueryDelegatorWithdrawAddressResponse(withdraw_address=addr_str(withdraw))

    def community_pool(
        ctx: Context, req: q.QueryCommunityPoolRequest
    ) -> q.QueryCommunityPoolResponse:
        return q.QueryCommunityPoolResponse(pool=keeper.get_community_pool(ctx).to_proto())

    def _known_validator(ctx: Context, text: str) -> bytes:
        val = _validator_address(text)
        if keeper.staking.get_validator(ctx, val) is None:
            raise ErrNoValidatorExists.wrap(text)
        return val

    return [
        QueryRoute(SERVICE + "Params", q.QueryParamsRequest, params),
        QueryRoute(
            SERVICE + "ValidatorDistributionInfo",
            q.QueryValidatorDistributionInfoRequest,
            distribution_info,
        ),
        QueryRoute(
            SERVICE + "ValidatorOutstandingRewards",
            q.QueryValidatorOutstandingRewardsRequest,
            outstanding,
        ),
        QueryRoute(SERVICE + "ValidatorCommission", q.QueryValidatorCommissionRequest, commission),
        QueryRoute(SERVICE + "ValidatorSlashes", q.QueryValidatorSlashesRequest, slashes),
        QueryRoute(
            SERVICE + "DelegationRewards", q.QueryDelegationRewardsRequest, delegation_rewards
        ),
        QueryRoute(
            SERVICE + "DelegationTotalRewards",
            q.QueryDelegationTotalRewardsRequest,
            total_rewards,
        ),
        QueryRoute(
            SERVICE + "DelegatorValidators",
            q.QueryDelegatorValidatorsRequest,
            delegator_validators,
        ),
        QueryRoute(
            SERVICE + "DelegatorWithdrawAddress",
            q.QueryDelegatorWithdrawAddressRequest,
            withdraw_address,
        ),
        QueryRoute(SERVICE + "CommunityPool", q.QueryCommunityPoolRequest, community_pool),
    ]
