"""slashing invariants, checked by the simulation after every block: each validator's missed
counter is the number of set bits of its window and no bit lies outside the window; a
tombstoned validator is jailed until the double-sign end time; every signing info sits under
its own address; every bonded validator has a signing info."""

from __future__ import annotations

from aivm.modules.framework import Context
from aivm.modules.simulation import Invariant
from aivm.modules.slashing.keeper import DOUBLE_SIGN_JAIL_END_NS, SlashingKeeper, timestamp_ns
from aivm.modules.slashing.module import SlashingModule
from aivm.types.address import valcons_address


def invariants(module: SlashingModule) -> dict[str, Invariant]:
    """missed_counter, tombstoned_jailed and bonded_have_signing_info, by name."""
    keeper = module.keeper
    return {
        "missed_counter": lambda ctx: check_missed_counter(ctx, keeper),
        "tombstoned_jailed": lambda ctx: check_tombstoned(ctx, keeper),
        "bonded_have_signing_info": lambda ctx: check_bonded_have_info(ctx, keeper),
    }


def check_missed_counter(ctx: Context, keeper: SlashingKeeper) -> list[str]:
    """missed_blocks_counter = set bits, every bit < window, counter ≤ window."""
    problems: list[str] = []
    window = keeper.get_params(ctx).signed_blocks_window
    for cons_addr, info in keeper.iterate_signing_infos(ctx):
        bits = list(keeper.iterate_missed(ctx, cons_addr))
        if info.missed_blocks_counter != len(bits):
            problems.append(
                f"{info.address}: missed_blocks_counter {info.missed_blocks_counter}, "
                f"{len(bits)} bits set"
            )
        if bits and bits[-1] >= window:
            problems.append(f"{info.address}: missed bit {bits[-1]} outside the window {window}")
        if info.address != valcons_address(cons_addr):
            problems.append(f"signing info of {info.address} under {valcons_address(cons_addr)}")
    return problems


def check_tombstoned(ctx: Context, keeper: SlashingKeeper) -> list[str]:
    """A tombstoned validator is jailed (in staking) until the double-sign end time."""
    problems: list[str] = []
    for cons_addr, info in keeper.iterate_signing_infos(ctx):
        if not info.tombstoned:
            continue
        if timestamp_ns(info) != DOUBLE_SIGN_JAIL_END_NS:
            problems.append(f"{info.address} is tombstoned but jailed until {info.jailed_until}")
        validator = keeper.staking.get_validator_by_cons_addr(ctx, cons_addr)
        if validator is not None and not validator.jailed:
            problems.append(f"{info.address} is tombstoned but its validator is not jailed")
    return problems


def check_bonded_have_info(ctx: Context, keeper: SlashingKeeper) -> list[str]:
    """Every bonded validator has a signing info (the bonded hook created it)."""
    return [
        f"bonded validator {validator.operator.hex()} has no signing info"
        for validator in keeper.staking.iterate_bonded_validators_by_power(ctx)
        if keeper.get_signing_info(ctx, validator.cons_address) is None
    ]
