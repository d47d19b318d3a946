"""FeeMarketKeeper: the base gas price, its update at EndBlock, and the fee rule the ante
step applies (:class:`aivm.app.ante.FeePolicy`)."""

from __future__ import annotations

from aivm.modules.bank.keeper import BankKeeper
from aivm.modules.feemarket import feemarket_pb2, keys
from aivm.modules.feemarket.params import FeeMarketParams, FeeMarketState, dec_text
from aivm.modules.framework import Context
from aivm.store import KVStore, PrefixStore
from aivm.types.coin import BOND_DENOM, Coin, Coins
from aivm.types.dec import Dec
from aivm.types.errors import ErrInsufficientFee


def next_base_gas_price(params: FeeMarketParams, price: Dec, gas_used: int) -> Dec:
    """The price after a block that used ``gas_used``:

    ``price × (1 + max_change_rate × r)`` with ``r = (gas_used − target) / target`` bounded to
    [−1, 1] (so one block moves the price by at most ``max_change_rate``), then clamped to
    [floor, ceiling]. A price of 0 stays 0 before the clamp (the market is off with floor 0).
    """
    target = params.block_gas_target
    ratio = Dec.from_int(gas_used - target).quo(Dec.from_int(target))
    ratio = max(min(ratio, Dec.one()), -Dec.one())
    factor = Dec.one() + params.max_change_rate * ratio
    return params.clamp(price * factor)


def required_fee(price: Dec, gas_limit: int) -> int:
    """ceil(gas_limit × price) in ucgpt (exact: a Dec times an integer)."""
    return int(price.mul_int(gas_limit).ceil().truncate_int())


class FeeMarketKeeper:
    """Owns the ``feemarket/`` prefix; burns the base fees it collected at EndBlock."""

    burn_account = keys.MODULE_ACCOUNT
    """Module account the base part of fees goes to when burning (the ante step sends it)."""

    def __init__(self, bank: BankKeeper) -> None:
        self.bank = bank

    @staticmethod
    def _store(ctx: Context) -> KVStore:
        return PrefixStore(ctx.store, keys.STORE_PREFIX)

    def get_params(self, ctx: Context) -> FeeMarketParams:
        """Current params (the defaults, market off, before genesis writes any)."""
        raw = self._store(ctx).get(keys.PARAMS)
        if raw is None:
            return FeeMarketParams()
        return FeeMarketParams.from_proto(feemarket_pb2.Params.FromString(raw))

    def set_params(self, ctx: Context, params: FeeMarketParams) -> None:
        """Store ``params`` and move the current price into their bounds at once (so the
        floor ≤ price ≤ ceiling invariant holds from the next tx on)."""
        self._store(ctx).set(keys.PARAMS, params.to_proto().SerializeToString())
        if params.enabled:
            state = self.get_state(ctx)
            clamped = params.clamp(state.base_gas_price)
            if clamped != state.base_gas_price:
                self.set_state(ctx, FeeMarketState(clamped, state.last_block_gas_used))

    def get_state(self, ctx: Context) -> FeeMarketState:
        """Current price and last block's gas."""
        raw = self._store(ctx).get(keys.STATE)
        if raw is None:
            return FeeMarketState()
        return FeeMarketState.from_proto(feemarket_pb2.State.FromString(raw))

    def set_state(self, ctx: Context, state: FeeMarketState) -> None:
        """Store the state (proto3 encodes an all-default state to no bytes: store a marker)."""
        raw = (
            state.to_proto().SerializeToString()
            or feemarket_pb2.State(base_gas_price="0").SerializeToString()
        )
        self._store(ctx).set(keys.STATE, raw)

    def base_gas_price(self, ctx: Context) -> Dec:
        """The price txs must pay now (0 when the market is off)."""
        if not self.get_params(ctx).enabled:
            return Dec.zero()
        return self.get_state(ctx).base_gas_price

    # -- the fee rule (aivm.app.ante.FeePolicy) -------------------------------------------

    def check_fee(self, ctx: Context, gas_limit: int, offered: int, enforce: bool) -> int:
        """Raise ``sdk`` 13 when ``offered`` ucgpt is below ceil(gas_limit × base price)
        (only with ``enforce``: not when simulating); return the part of the fee that goes to
        the burn account (the base part, at most ``offered``; 0 unless ``burn_base_fee``)."""
        params = self.get_params(ctx)
        if not params.enabled:
            return 0
        price = self.get_state(ctx).base_gas_price
        required = required_fee(price, gas_limit)
        if enforce and offered < required:
            raise ErrInsufficientFee.wrap(
                f"insufficient fee; got: {offered}{BOND_DENOM} required: {required}{BOND_DENOM}"
                f" (base gas price {dec_text(price)}{BOND_DENOM}/gas × gas {gas_limit})"
            )
        return min(required, offered) if params.burn_base_fee else 0

    # -- block ----------------------------------------------------------------------------

    def end_block(self, ctx: Context) -> FeeMarketState | None:
        """Burn the collected base fees and move the price; the new state, or None when the
        market is off."""
        params = self.get_params(ctx)
        if not params.enabled:
            return None
        self.burn_collected(ctx)
        state = self.get_state(ctx)
        gas_used = ctx.header.gas_used
        new = FeeMarketState(next_base_gas_price(params, state.base_gas_price, gas_used), gas_used)
        self.set_state(ctx, new)
        return new

    def burn_collected(self, ctx: Context) -> int:
        """Burn the burn account's ucgpt; the amount burned."""
        address = self.bank.accounts.module_addresses[keys.MODULE_ACCOUNT]
        amount = self.bank.get_balance(ctx, address, BOND_DENOM)
        if amount:
            coins = Coins.from_iter([Coin(BOND_DENOM, amount)])
            self.bank.burn_coins(ctx, keys.MODULE_ACCOUNT, coins)
        return amount
