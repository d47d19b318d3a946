"""distribution REST routes: the Cosmos SDK gRPC-gateway paths that cosmjs'
``DistributionExtension`` and Keplr's staking screens read."""

from aivm.modules.framework import RestRoute
from aivm.types.pb import distribution_query as q

BASE = "/cosmos/distribution/v1beta1"
SERVICE = "/cosmos.distribution.v1beta1.Query/"

ROUTES = (
    RestRoute(
        BASE + "/delegators/{delegator_address}/rewards/{validator_address}",
        SERVICE + "DelegationRewards",
        q.QueryDelegationRewardsRequest,
        q.QueryDelegationRewardsResponse,
        "DelegationRewards queries the total rewards accrued by a delegation.",
    ),
    RestRoute(
        BASE + "/delegators/{delegator_address}/rewards",
        SERVICE + "DelegationTotalRewards",
        q.QueryDelegationTotalRewardsRequest,
        q.QueryDelegationTotalRewardsResponse,
        "DelegationTotalRewards queries the total rewards accrued by each validator.",
    ),
    RestRoute(
        BASE + "/delegators/{delegator_address}/withdraw_address",
        SERVICE + "DelegatorWithdrawAddress",
        q.QueryDelegatorWithdrawAddressRequest,
        q.QueryDelegatorWithdrawAddressResponse,
        "DelegatorWithdrawAddress queries withdraw address of a delegator.",
    ),
    RestRoute(
        BASE + "/delegators/{delegator_address}/validators",
        SERVICE + "DelegatorValidators",
        q.QueryDelegatorValidatorsRequest,
        q.QueryDelegatorValidatorsResponse,
        "DelegatorValidators queries the validators of a delegator.",
    ),
    RestRoute(
        BASE + "/validators/{validator_address}/commission",
        SERVICE + "ValidatorCommission",
        q.QueryValidatorCommissionRequest,
        q.QueryValidatorCommissionResponse,
        "ValidatorCommission queries accumulated commission for a validator.",
    ),
    RestRoute(
        BASE + "/validators/{validator_address}/outstanding_rewards",
        SERVICE + "ValidatorOutstandingRewards",
        q.QueryValidatorOutstandingRewardsRequest,
        q.QueryValidatorOutstandingRewardsResponse,
        "ValidatorOutstandingRewards queries rewards of a validator address.",
    ),
    RestRoute(
        BASE + "/validators/{validator_address}/slashes",
        SERVICE + "ValidatorSlashes",
        q.QueryValidatorSlashesRequest,
        q.QueryValidatorSlashesResponse,
        "ValidatorSlashes: slash events of a validator (`?starting_height=&ending_height=`).",
    ),
    RestRoute(
        BASE + "/validators/{validator_address}",
        SERVICE + "ValidatorDistributionInfo",
        q.QueryValidatorDistributionInfoRequest,
        q.QueryValidatorDistributionInfoResponse,
        "ValidatorDistributionInfo queries validator commission and self-delegation rewards.",
    ),
    RestRoute(
        BASE + "/community_pool",
        SERVICE + "CommunityPool",
        q.QueryCommunityPoolRequest,
        q.QueryCommunityPoolResponse,
        "CommunityPool queries the community pool coins.",
    ),
    RestRoute(
        BASE + "/params",
        SERVICE + "Params",
        q.QueryParamsRequest,
        q.QueryParamsResponse,
        "Params queries params of the distribution module.",
    ),
)
