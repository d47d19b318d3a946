"""distribution messages (Cosmos type URLs, so every wallet can sign them):
MsgWithdrawDelegatorReward, MsgWithdrawValidatorCommission, MsgSetWithdrawAddress and
MsgFundCommunityPool. MsgUpdateParams is built in ``module.py``."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from aivm.modules.addr import addr_bytes
from aivm.modules.distribution.keeper import DistributionKeeper
from aivm.modules.framework import Context, MsgRoute
from aivm.types import pb
from aivm.types.address import valoper_address_bytes
from aivm.types.coin_proto import coins_from_proto, coins_to_proto
from aivm.types.errors import ErrInvalidAddress
from aivm.types.pb import distribution_tx as tx


@lru_cache(maxsize=1 << 12)
def val_bytes(address: str) -> bytes:
    """Decode a canonical ``aivmvaloper1…`` address; ErrInvalidAddress otherwise."""
    decoded = valoper_address_bytes(address)
    if address != address.lower():
        raise ErrInvalidAddress.wrap(f"address {address!r} must be in lower case")
    return decoded


def validate_withdraw_reward(msg: pb.distribution_tx.MsgWithdrawDelegatorReward) -> None:
    """Both addresses decode."""
    addr_bytes(msg.delegator_address)
    val_bytes(msg.validator_address)


def validate_withdraw_commission(msg: pb.distribution_tx.MsgWithdrawValidatorCommission) -> None:
    """The operator address decodes."""
    val_bytes(msg.validator_address)


def validate_set_withdraw_address(msg: pb.distribution_tx.MsgSetWithdrawAddress) -> None:
    """Both addresses decode."""
    addr_bytes(msg.delegator_address)
    addr_bytes(msg.withdraw_address)


def validate_fund_community_pool(msg: pb.distribution_tx.MsgFundCommunityPool) -> None:
    """The depositor decodes; the amount is a valid, non-empty coin list."""
    addr_bytes(msg.depositor)
    coins_from_proto(msg.amount, allow_empty=False)


def msg_routes(keeper: DistributionKeeper) -> Sequence[MsgRoute]:
    """Routes of the distribution message service (without MsgUpdateParams)."""

    def withdraw_reward(
        ctx: Context, msg: pb.distribution_tx.MsgWithdrawDelegatorReward
    ) -> pb.Message:
        coins = keeper.withdraw_delegation_rewards(
            ctx, addr_bytes(msg.delegator_address), val_bytes(msg.validator_address)
        )
        return tx.MsgWithdrawDelegatorRewardResponse(amount=coins_to_proto(coins))

    def withdraw_commission(
        ctx: Context, msg: pb.distribution_tx.MsgWithdrawValidatorCommission
    ) -> pb.Message:
        coins = keeper.withdraw_validator_commission(ctx, val_bytes(msg.validator_address))
        return tx.MsgWithdrawValidatorCommissionResponse(amount=coins_to_proto(coins))

    def set_withdraw_address(
        ctx: Context, msg: pb.distribution_tx.MsgSetWithdrawAddress
    ) -> pb.Message:
        keeper.set_withdraw_addr(
            ctx, addr_bytes(msg.delegator_address), addr_bytes(msg.withdraw_address)
        )
        return tx.MsgSetWithdrawAddressResponse()

    def fund_community_pool(
        ctx: Context, msg: pb.distribution_tx.MsgFundCommunityPool
    ) -> pb.Message:
        amount = coins_from_proto(msg.amount, allow_empty=False)
        keeper.fund_community_pool(ctx, addr_bytes(msg.depositor), amount)
        return tx.MsgFundCommunityPoolResponse()

    return [
        MsgRoute(
            tx.MsgWithdrawDelegatorReward,
            lambda msg: [addr_bytes(msg.delegator_address)],
            validate_withdraw_reward,
            withdraw_reward,
        ),
        MsgRoute(
            tx.MsgWithdrawValidatorCommission,
            lambda msg: [val_bytes(msg.validator_address)],
            validate_withdraw_commission,
            withdraw_commission,
        ),
        MsgRoute(
            tx.MsgSetWithdrawAddress,
            lambda msg: [addr_bytes(msg.delegator_address)],
            validate_set_withdraw_address,
            set_withdraw_address,
        ),
        MsgRoute(
            tx.MsgFundCommunityPool,
            lambda msg: [addr_bytes(msg.depositor)],
            validate_fund_community_pool,
            fund_community_pool,
        ),
    ]
