"""MintKeeper: the minter and params, and the SDK's inflation arithmetic (``x/mint`` v0.50
``Minter.NextInflationRate``, ``NextAnnualProvisions``, ``BlockProvision``)."""

from __future__ import annotations

from dataclasses import dataclass

from aivm.modules.auth.keeper import FEE_COLLECTOR
from aivm.modules.bank.keeper import BankKeeper
from aivm.modules.framework import Context
from aivm.modules.mint import keys, types
from aivm.modules.mint.params import Minter, MintParams
from aivm.modules.staking.api import StakingReader
from aivm.store import KVStore, PrefixStore
from aivm.types.coin import Coin, Coins
from aivm.types.dec import Dec


def next_inflation_rate(minter: Minter, params: MintParams, bonded_ratio: Dec) -> Dec:
    """``inflation + (1 − bonded_ratio / goal_bonded) × inflation_rate_change / blocks_per_year``
    clamped to [inflation_min, inflation_max] (SDK ``NextInflationRate``)."""
    per_year = (Dec.one() - bonded_ratio.quo(params.goal_bonded)) * params.inflation_rate_change
    change = per_year.quo(Dec.from_int(params.blocks_per_year))
    inflation = minter.inflation + change
    if params.inflation_max < inflation:
        return params.inflation_max
    if inflation < params.inflation_min:
        return params.inflation_min
    return inflation


def next_annual_provisions(minter: Minter, total_supply: int) -> Dec:
    """``inflation × total_supply`` (SDK ``NextAnnualProvisions``)."""
    return minter.inflation.mul_int(total_supply)


def block_provision(minter: Minter, params: MintParams) -> int:
    """``annual_provisions / blocks_per_year``, truncated (SDK ``BlockProvision``)."""
    return minter.annual_provisions.quo_int(params.blocks_per_year).truncate_int()


@dataclass(frozen=True)
class Minted:
    """What one BeginBlock did."""

    bonded_ratio: Dec
    minter: Minter
    amount: int
    denom: str


class MintKeeper:
    """Owns the ``mint/`` prefix; mints each block's provision into the fee collector."""

    def __init__(self, bank: BankKeeper, staking: StakingReader | None) -> None:
        """``staking`` is None in an app without staking: the bonded ratio is then 0."""
        self.bank = bank
        self.staking = staking

    @staticmethod
    def _store(ctx: Context) -> KVStore:
        return PrefixStore(ctx.store, keys.STORE_PREFIX)

    def get_minter(self, ctx: Context) -> Minter:
        """The current minter (the default before genesis writes one)."""
        raw = self._store(ctx).get(keys.MINTER)
        return Minter() if raw is None else Minter.from_proto(types.Minter.FromString(raw))

    def set_minter(self, ctx: Context, minter: Minter) -> None:
        """Store the minter."""
        self._store(ctx).set(keys.MINTER, minter.to_proto().SerializeToString())

    def get_params(self, ctx: Context) -> MintParams:
        """Current params (the defaults before genesis writes any)."""
        raw = self._store(ctx).get(keys.PARAMS)
        return MintParams() if raw is None else MintParams.from_proto(types.Params.FromString(raw))

    def set_params(self, ctx: Context, params: MintParams) -> None:
        """Store params (already validated)."""
        self._store(ctx).set(keys.PARAMS, params.to_proto().SerializeToString())

    def bonded_ratio(self, ctx: Context) -> Dec:
        """Bonded pool / supply of the bond denom, from staking (0 without staking)."""
        return Dec.zero() if self.staking is None else self.staking.bonded_ratio(ctx)

    def staking_token_supply(self, ctx: Context, params: MintParams) -> int:
        """Total supply of the bond denom (the mint denom without staking)."""
        denom = params.mint_denom if self.staking is None else self.staking.bond_denom(ctx)
        return self.bank.get_supply(ctx, denom)

    def mint_block_provision(self, ctx: Context) -> Minted:
        """SDK ``BeginBlocker``: new inflation and annual provisions, then mint the block
        provision into the ``mint`` account and pass it to the fee collector."""
        params = self.get_params(ctx)
        minter = self.get_minter(ctx)
        supply = self.staking_token_supply(ctx, params)
        bonded = self.bonded_ratio(ctx)
        inflation = next_inflation_rate(minter, params, bonded)
        minter = Minter(inflation, next_annual_provisions(Minter(inflation), supply))
        self.set_minter(ctx, minter)
        amount = block_provision(minter, params)
        if amount > 0:
            coins = Coins.from_iter([Coin(params.mint_denom, amount)])
            self.bank.mint_coins(ctx, keys.MODULE_ACCOUNT, coins)
            mint_address = self.bank.accounts.module_addresses[keys.MODULE_ACCOUNT]
            self.bank.send_coins_to_module(ctx, mint_address, FEE_COLLECTOR, coins)
        return Minted(bonded, minter, amount, params.mint_denom)
