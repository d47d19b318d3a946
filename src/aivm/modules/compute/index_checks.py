"""The offer index check, shared by the compute invariants and the hardware checks' own
flow check (kept apart so neither imports the other's module)."""

from __future__ import annotations

from aivm.modules.addr import addr_bytes
from aivm.modules.compute import keys
from aivm.modules.compute.keeper import ACTIVE, ComputeKeeper
from aivm.modules.compute.validation import offer_price
from aivm.modules.framework import Context


def check_offer_index(ctx: Context, keeper: ComputeKeeper) -> list[str]:
    """Every offer of an ACTIVE provider is indexed under its effective tier (ENTRY while
    demoted by hardware checks) and price, and nothing else is."""
    expected: set[bytes] = set()
    for record in keeper.iterate_providers(ctx):
        if record.status != ACTIVE:
            continue
        address = addr_bytes(record.operator)
        for offer in record.offers:
            key = keys.offer_key(
                offer.model_id,
                offer.version,
                keys.effective_tier(record),
                offer_price(offer),
                address,
            )
            expected.add(key[len(keys.OFFER) :])
    found = {key for key, _ in keeper.offer_index(ctx).iterate()}
    problems = [f"offer missing from the index: {k.hex()}" for k in sorted(expected - found)]
    problems += [f"stray offer index entry: {k.hex()}" for k in sorted(found - expected)]
    return problems
