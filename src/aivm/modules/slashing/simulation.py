"""Random slashing operations for the simulation: MsgUnjail and MsgUpdateParams.

Downtime and double signs come from the simulation's block driver (``aivm.sim.runner``
``add_sim_votes``: validators miss blocks now and then, the last of the set goes offline for
long stretches, and now and then evidence of a recent double sign is included), so jailed
validators appear on their own. ``unjail`` asks for a jailed validator whose jail time is
over (valid), one still jailed or tombstoned, one not jailed, or an account with no validator
(all refused).
"""

from __future__ import annotations

from collections.abc import Sequence

from aivm.modules.authority.simulation import claimed_authority, scaled
from aivm.modules.simulation import SimEnv, WeightedOperation
from aivm.modules.slashing.keeper import SlashingKeeper, timestamp_ns
from aivm.modules.slashing.module import SlashingModule
from aivm.modules.slashing.params import NS_PER_S, SlashingParams
from aivm.modules.staking.api import Validator
from aivm.types import pb
from aivm.types.address import valoper_address
from aivm.types.dec import Dec

MAX_SCANNED = 64
"""Signing infos an operation looks at to find candidates (it reads committed state)."""


def operations(module: SlashingModule) -> dict[str, WeightedOperation]:
    """unjail and update_params, by name."""
    keeper = module.keeper

    def unjail(env: SimEnv) -> Sequence[pb.Message] | None:
        """Unjail a jailed validator (or, one time in four, any account's valoper)."""
        jailed = _jailed_validators(env, keeper)
        if jailed and env.rng.randrange(0, 4):
            operator = _prefer_free(env, keeper, jailed).operator
        else:
            operator = env.rng.choice(env.accounts)  # often no validator, or not jailed
        return [pb.slashing_tx.MsgUnjail(validator_addr=valoper_address(operator))]

    def update_params(env: SimEnv) -> Sequence[pb.Message] | None:
        """Window, jail time and fractions moved a little; sometimes an invalid fraction."""
        current = keeper.get_params(env.ctx)
        params = SlashingParams(
            signed_blocks_window=scaled(env, current.signed_blocks_window, 10)
            if env.rng.randrange(0, 4) == 0  # a new window restarts every validator's
            else current.signed_blocks_window,
            min_signed_per_window=Dec.from_str(f"0.{env.rng.randrange(3, 8)}"),
            downtime_jail_duration_ns=scaled(env, current.downtime_jail_duration_ns // NS_PER_S, 1)
            * NS_PER_S,
            slash_fraction_double_sign=current.slash_fraction_double_sign,
            slash_fraction_downtime=current.slash_fraction_downtime,
        ).to_proto()
        if env.rng.randrange(0, 10) == 0:
            params.slash_fraction_downtime = b"2000000000000000000"  # 2: refused
        authority = claimed_authority(env, module.authority)
        return [pb.slashing_tx.MsgUpdateParams(authority=authority, params=params)]

    return {
        "unjail": WeightedOperation(4, unjail),
        "update_params": WeightedOperation(1, update_params),
    }


def _jailed_validators(env: SimEnv, keeper: SlashingKeeper) -> list[Validator]:
    """Jailed validators among the first signing infos whose operator the simulation holds."""
    held = set(env.accounts)
    found: list[Validator] = []
    for count, (cons_addr, _info) in enumerate(keeper.iterate_signing_infos(env.ctx)):
        if count == MAX_SCANNED:
            break
        validator = keeper.staking.get_validator_by_cons_addr(env.ctx, cons_addr)
        if validator is not None and validator.jailed and validator.operator in held:
            found.append(validator)
    return found


def _prefer_free(env: SimEnv, keeper: SlashingKeeper, jailed: list[Validator]) -> Validator:
    """A jailed validator whose jail time is over when there is one (three times in four)."""
    free = [
        v
        for v in jailed
        if (info := keeper.get_signing_info(env.ctx, v.cons_address)) is not None
        and not info.tombstoned
        and timestamp_ns(info) <= env.ctx.header.time_ns
    ]
    if free and env.rng.randrange(0, 4):
        return env.rng.choice(free)
    return env.rng.choice(jailed)
