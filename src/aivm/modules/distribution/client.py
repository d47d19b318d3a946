"""Python SDK for the ``distribution`` module: withdraw rewards and commission, set a
withdraw address, fund the community pool, read rewards and the pool.

Example::

    from aivm.client.client import Client

    with Client("http://127.0.0.1:26657") as client:
        dist = client.modules.distribution
        print(dist.rewards(wallet.address))              # every validator, and the total
        result = dist.withdraw_rewards(wallet, "aivmvaloper1...")
        print(dist.community_pool())
"""

from __future__ import annotations

from collections.abc import Sequence

from aivm.client.client import Client
from aivm.client.results import TxResult
from aivm.client.wallet import Wallet
from aivm.types import pb
from aivm.types.address import acc_address_bytes, valoper_address
from aivm.types.coin import Coins, parse_coins
from aivm.types.coin_proto import coins_to_proto
from aivm.types.dec import Dec
from aivm.types.pb import distribution_query as q
from aivm.types.pb import distribution_tx as tx

QUERY = "/cosmos.distribution.v1beta1.Query/"

DecAmounts = dict[str, Dec]
"""denom → decimal amount."""


def dec_amounts(items: Sequence[pb.coin.DecCoin]) -> DecAmounts:
    """Wire DecCoins as ``{denom: Dec}``."""
    return {item.denom: Dec.from_proto_str(item.amount) for item in items}


class DistributionClient:
    """``distribution`` calls over a blocking :class:`~aivm.client.Client`."""

    def __init__(self, client: Client) -> None:
        self.client = client

    def _submit(self, wallet: Wallet, msgs: Sequence[pb.Message]) -> TxResult:
        sent = self.client.sign_and_broadcast(wallet, list(msgs))
        return self.client.wait_for_tx(sent.hash)

    # -- transactions ----------------------------------------------------------------------

    def withdraw_rewards(
        self, wallet: Wallet, validator: str, commission: bool = False
    ) -> TxResult:
        """Withdraw ``wallet``'s rewards from ``validator`` (and, with ``commission``, the
        validator's commission: the wallet must be its operator)."""
        msgs: list[pb.Message] = [
            tx.MsgWithdrawDelegatorReward(
                delegator_address=wallet.address, validator_address=validator
            )
        ]
        if commission:
            msgs.append(tx.MsgWithdrawValidatorCommission(validator_address=validator))
        return self._submit(wallet, msgs)

    def withdraw_all_rewards(self, wallet: Wallet) -> TxResult | None:
        """Withdraw from every validator ``wallet`` delegates to (None when there is none)."""
        validators = self.delegator_validators(wallet.address)
        if not validators:
            return None
        return self._submit(
            wallet,
            [
                tx.MsgWithdrawDelegatorReward(delegator_address=wallet.address, validator_address=v)
                for v in validators
            ],
        )

    def set_withdraw_address(self, wallet: Wallet, withdraw_address: str) -> TxResult:
        """Send ``wallet``'s future rewards to ``withdraw_address``."""
        msg = tx.MsgSetWithdrawAddress(
            delegator_address=wallet.address, withdraw_address=withdraw_address
        )
        return self._submit(wallet, [msg])

    def fund_community_pool(self, wallet: Wallet, amount: str | Coins) -> TxResult:
        """Deposit ``amount`` (``"1000ucgpt"``) into the community pool."""
        coins = parse_coins(amount) if isinstance(amount, str) else amount
        msg = tx.MsgFundCommunityPool(depositor=wallet.address, amount=coins_to_proto(coins))
        return self._submit(wallet, [msg])

    # -- queries ---------------------------------------------------------------------------

    def rewards(self, delegator: str, validator: str | None = None) -> dict[str, DecAmounts]:
        """Rewards by validator and ``"total"`` (one validator: that one only)."""
        if validator is not None:
            one = self.client.query(
                QUERY + "DelegationRewards",
                q.QueryDelegationRewardsRequest(
                    delegator_address=delegator, validator_address=validator
                ),
                q.QueryDelegationRewardsResponse,
            )
            return {validator: dec_amounts(one.rewards)}
        every = self.client.query(
            QUERY + "DelegationTotalRewards",
            q.QueryDelegationTotalRewardsRequest(delegator_address=delegator),
            q.QueryDelegationTotalRewardsResponse,
        )
        found = {r.validator_address: dec_amounts(r.reward) for r in every.rewards}
        found["total"] = dec_amounts(every.total)
        return found

    def delegator_validators(self, delegator: str) -> list[str]:
        """Operator addresses ``delegator`` delegates to."""
        response = self.client.query(
            QUERY + "DelegatorValidators",
            q.QueryDelegatorValidatorsRequest(delegator_address=delegator),
            q.QueryDelegatorValidatorsResponse,
        )
        return list(response.validators)

    def commission(self, validator: str) -> DecAmounts:
        """A validator's accumulated commission."""
        response = self.client.query(
            QUERY + "ValidatorCommission",
            q.QueryValidatorCommissionRequest(validator_address=validator),
            q.QueryValidatorCommissionResponse,
        )
        return dec_amounts(response.commission.commission)

    def outstanding_rewards(self, validator: str) -> DecAmounts:
        """A validator's outstanding (not yet withdrawn) rewards."""
        response = self.client.query(
            QUERY + "ValidatorOutstandingRewards",
            q.QueryValidatorOutstandingRewardsRequest(validator_address=validator),
            q.QueryValidatorOutstandingRewardsResponse,
        )
        return dec_amounts(response.rewards.rewards)

    def slashes(self, validator: str, start: int = 0, end: int = 0) -> list[tuple[int, Dec]]:
        """(period, fraction) of a validator's slashes between two heights (0: no bound)."""
        response = self.client.query(
            QUERY + "ValidatorSlashes",
            q.QueryValidatorSlashesRequest(
                validator_address=validator, starting_height=start, ending_height=end
            ),
            q.QueryValidatorSlashesResponse,
        )
        return [(s.validator_period, Dec.from_proto_str(s.fraction)) for s in response.slashes]

    def community_pool(self) -> DecAmounts:
        """The community pool."""
        response = self.client.query(
            QUERY + "CommunityPool", q.QueryCommunityPoolRequest(), q.QueryCommunityPoolResponse
        )
        return dec_amounts(response.pool)

    def withdraw_address(self, delegator: str) -> str:
        """Where ``delegator``'s rewards go."""
        response = self.client.query(
            QUERY + "DelegatorWithdrawAddress",
            q.QueryDelegatorWithdrawAddressRequest(delegator_address=delegator),
            q.QueryDelegatorWithdrawAddressResponse,
        )
        return str(response.withdraw_address)

    def params(self) -> pb.distribution.Params:
        """Current params (decimals in wire form: use ``Dec.from_proto_str``)."""
        response = self.client.query(
            QUERY + "Params", q.QueryParamsRequest(), q.QueryParamsResponse
        )
        params: pb.distribution.Params = response.params
        return params


def operator_of(address: str) -> str:
    """The ``aivmvaloper`` address of an account (the same bytes)."""
    return valoper_address(acc_address_bytes(address))


# The helper class ``client.modules.distribution`` builds, once per Client.
CLIENT = DistributionClient
