"""compute invariants, checked by the simulation (and ``aivm devnet --check-invariants``)
after every block: the compute account holds exactly the providers' collateral, the offer
index is exactly the offers of ACTIVE providers, and the exit queue is exactly the EXITING
providers at their completion times."""

from __future__ import annotations

from aivm.modules.addr import addr_bytes
from aivm.modules.compute import keys
from aivm.modules.compute.genesis import account_problems
from aivm.modules.compute.keeper import ACTIVE, EXITING, ComputeKeeper
from aivm.modules.compute.module import ComputeModule
from aivm.modules.compute.validation import offer_price
from aivm.modules.framework import Context
from aivm.modules.simulation import Invariant


def invariants(module: ComputeModule) -> dict[str, Invariant]:
    """collateral, offer_index and exit_queue, by name."""
    keeper = module.keeper
    return {
        "collateral": lambda ctx: account_problems(keeper, ctx),
        "offer_index": lambda ctx: check_offer_index(ctx, keeper),
        "exit_queue": lambda ctx: check_exit_queue(ctx, keeper),
    }


def check_offer_index(ctx: Context, keeper: ComputeKeeper) -> list[str]:
    """Every offer of an ACTIVE provider is indexed under its tier and price, and nothing
    else is."""
    expected: set[bytes] = set()
    for record in keeper.iterate_providers(ctx):
        if record.status != ACTIVE:
            continue
        address = addr_bytes(record.operator)
        for offer in record.offers:
            key = keys.offer_key(
                offer.model_id, offer.version, record.tier, offer_price(offer), address
            )
            expected.add(key[len(keys.OFFER) :])
    found = {key for key, _ in keeper.offer_index(ctx).iterate()}
    problems = [f"offer missing from the index: {k.hex()}" for k in sorted(expected - found)]
    problems += [f"stray offer index entry: {k.hex()}" for k in sorted(found - expected)]
    return problems


def check_exit_queue(ctx: Context, keeper: ComputeKeeper) -> list[str]:
    """Each EXITING provider sits in the queue at its completion time, and nothing else."""
    expected = {
        keys.exit_key(r.exit_completion_time_ns, addr_bytes(r.operator))[1:]
        for r in keeper.iterate_providers(ctx)
        if r.status == EXITING
    }
    found = {key for key, _ in keeper.exit_queue(ctx).iterate()}
    problems = [f"exiting provider not queued: {k.hex()}" for k in sorted(expected - found)]
    problems += [f"stray exit queue entry: {k.hex()}" for k in sorted(found - expected)]
    return problems
