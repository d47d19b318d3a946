"""Random feemarket operations for the simulation: ``MsgUpdateParams`` only (the market has no
user messages), valid and deliberately invalid, signed as the authority (or, one time in
eight, as someone else: ``gov`` 12). The default simulation genesis keeps the market off and
these updates keep it off too, so the other modules' random fees stay valid; a run whose
genesis turns it on (``SimConfig(fee_market=True)``) pays the base price
(``aivm.sim.runner``), and its txs may get the ``underpay`` fault: a fee below
gas × the base price, which no node may accept (``sdk`` 13). The runner leaves this fault
out of runs whose genesis keeps the market off."""

from __future__ import annotations

from collections.abc import Sequence

from aivm.modules.authority.simulation import claimed_authority, scaled
from aivm.modules.feemarket import feemarket_pb2
from aivm.modules.feemarket.keeper import required_fee
from aivm.modules.feemarket.module import FeeMarketModule
from aivm.modules.simulation import SimEnv, TxFault, TxFields, WeightedOperation
from aivm.types import pb
from aivm.types.coin import BOND_DENOM


def operations(module: FeeMarketModule) -> dict[str, WeightedOperation]:
    """update_params, by name."""
    keeper = module.keeper

    def update_params(env: SimEnv) -> Sequence[pb.Message] | None:
        """The gas target moved within ±25%, the burn switch flipped; sometimes invalid (a
        floor above the ceiling, a change rate above 1, a malformed decimal)."""
        params = keeper.get_params(env.ctx).to_proto()
        params.block_gas_target = scaled(env, params.block_gas_target, 1)
        params.burn_base_fee = env.rng.randrange(0, 2) == 0
        roll = env.rng.randrange(0, 10)
        if roll == 0:
            params.min_base_gas_price, params.max_base_gas_price = "2", "1"
        elif roll == 1:
            params.max_change_rate = "1.5"
        elif roll == 2:
            params.min_base_gas_price = env.rng.choice(("-1", "0.1.2", "1e3", "٣", ""))
        authority = claimed_authority(env, module.authority)
        return [feemarket_pb2.MsgUpdateParams(authority=authority, params=params)]

    return {"update_params": WeightedOperation(1, update_params)}


def tx_faults(module: FeeMarketModule) -> dict[str, TxFault]:
    """``underpay``: a fee below what the tx's gas costs at the current base price."""
    keeper = module.keeper

    def underpay(env: SimEnv, fields: TxFields) -> TxFields:
        """A fee in [0, ceil(gas × price)): what a client with a stale price pays. With no
        price to fall short of (market off, or a price of 0), a fee in another denom, which
        the ante step refuses with the same code."""
        required = required_fee(keeper.base_gas_price(env.ctx), fields["gas_limit"])
        if required <= 0:
            return {**fields, "fee": max(1, fields["fee"]), "fee_denom": "uother"}
        return {**fields, "fee": env.rng.randrange(0, required), "fee_denom": BOND_DENOM}

    return {"underpay": TxFault(4, underpay, must_fail=True)}
