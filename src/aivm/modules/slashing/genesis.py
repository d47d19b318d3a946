"""slashing genesis in the SDK's shape: ``params``, ``signing_infos`` (valcons address and
``validator_signing_info``) and ``missed_blocks`` (valcons address and the missed indices of
its window)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aivm.modules.framework import Context
from aivm.modules.slashing.keeper import SigningInfo, SlashingKeeper
from aivm.modules.slashing.params import SlashingParams
from aivm.types import pb
from aivm.types.address import valcons_address, valcons_address_bytes
from aivm.types.errors import AivmError, ErrInvalidRequest


@dataclass(frozen=True)
class SlashingGenesis:
    """A parsed, checked genesis state."""

    params: SlashingParams
    infos: tuple[tuple[bytes, SigningInfo], ...]
    """(consensus address, signing info), in address order."""
    missed: dict[bytes, tuple[int, ...]]
    """Missed window indices by consensus address."""


def default_genesis() -> dict[str, Any]:
    """Default params, no signing infos."""
    return {"params": SlashingParams().to_json(), "signing_infos": [], "missed_blocks": []}


def parse_genesis(data: dict[str, Any]) -> SlashingGenesis:
    """Parse and check (ErrInvalidRequest): valid params and addresses, one signing info per
    validator, missed indices inside the window, counters equal to the missed indices."""
    params = SlashingParams.from_json(data.get("params", {}))
    state = pb.slashing_genesis.GenesisState()
    try:
        rest = {k: v for k, v in data.items() if k != "params"}
        pb.json_format.ParseDict(rest, state)
    except pb.json_format.ParseError as exc:
        raise ErrInvalidRequest.wrap(f"invalid slashing genesis: {exc}") from exc
    infos: dict[bytes, SigningInfo] = {}
    for entry in state.signing_infos:
        cons_addr = _cons_addr(entry.address)
        info = SigningInfo()
        info.CopyFrom(entry.validator_signing_info)
        _check_info(entry.address, info)
        if cons_addr in infos:
            raise ErrInvalidRequest.wrap(f"two signing infos for {entry.address}")
        infos[cons_addr] = info
    missed: dict[bytes, tuple[int, ...]] = {}
    for entry in state.missed_blocks:
        cons_addr = _cons_addr(entry.address)
        if cons_addr in missed:
            raise ErrInvalidRequest.wrap(f"two missed-block lists for {entry.address}")
        indices = sorted({b.index for b in entry.missed_blocks if b.missed})
        if any(not 0 <= i < params.signed_blocks_window for i in indices):
            raise ErrInvalidRequest.wrap(f"{entry.address}: missed index outside the window")
        missed[cons_addr] = tuple(indices)
    for cons_addr, info in infos.items():
        if info.missed_blocks_counter != len(missed.get(cons_addr, ())):
            raise ErrInvalidRequest.wrap(
                f"{info.address}: missed_blocks_counter {info.missed_blocks_counter} is not "
                f"the {len(missed.get(cons_addr, ()))} missed blocks listed"
            )
    if set(missed) - set(infos):
        raise ErrInvalidRequest.wrap("missed blocks listed for a validator with no signing info")
    return SlashingGenesis(params, tuple(sorted(infos.items())), missed)


def _cons_addr(address: str) -> bytes:
    try:
        return valcons_address_bytes(address)
    except AivmError as exc:
        raise ErrInvalidRequest.wrap(f"invalid slashing genesis address: {exc.log}") from exc


def _check_info(address: str, info: SigningInfo) -> None:
    if info.address and info.address != address:
        raise ErrInvalidRequest.wrap(f"signing info of {address} names {info.address}")
    info.address = address
    if info.start_height < 0 or info.index_offset < 0 or info.missed_blocks_counter < 0:
        raise ErrInvalidRequest.wrap(f"{address}: negative height, offset or counter")
    if not 0 <= info.jailed_until.nanos < 1_000_000_000 or info.jailed_until.seconds < 0:
        raise ErrInvalidRequest.wrap(f"{address}: invalid jailed_until")


def init_genesis(ctx: Context, keeper: SlashingKeeper, data: dict[str, Any]) -> None:
    """Write params, signing infos and missed bits."""
    genesis = parse_genesis(data)
    keeper.set_params(ctx, genesis.params)
    for cons_addr, info in genesis.infos:
        keeper.set_signing_info(ctx, cons_addr, info)
        for index in genesis.missed.get(cons_addr, ()):
            keeper.set_missed(ctx, cons_addr, index, True)


def export_genesis(ctx: Context, keeper: SlashingKeeper) -> dict[str, Any]:
    """Read the state back (every signing info, and its missed indices)."""
    state = pb.slashing_genesis.GenesisState()
    for cons_addr, info in keeper.iterate_signing_infos(ctx):
        address = valcons_address(cons_addr)
        state.signing_infos.add(address=address, validator_signing_info=info)
        entry = state.missed_blocks.add(address=address)
        for index in keeper.iterate_missed(ctx, cons_addr):
            entry.missed_blocks.add(index=index, missed=True)
    exported: dict[str, Any] = pb.json_format.MessageToDict(
        state, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
    )
    exported.pop("params", None)
    return {"params": keeper.get_params(ctx).to_json(), **exported}
