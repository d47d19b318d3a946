"""slashing messages: ``MsgUnjail`` (``MsgUpdateParams`` is built in the module)."""

from __future__ import annotations

from collections.abc import Sequence

from aivm.modules.framework import Context, MsgRoute
from aivm.modules.slashing.keeper import SlashingKeeper
from aivm.types import pb
from aivm.types.address import valoper_address_bytes
from aivm.types.errors import ErrInvalidAddress


def operator_bytes(validator_addr: str) -> bytes:
    """The operator bytes of a canonical ``aivmvaloper…`` address; ErrInvalidAddress."""
    decoded = valoper_address_bytes(validator_addr)
    if validator_addr != validator_addr.lower():
        raise ErrInvalidAddress.wrap(f"address {validator_addr!r} must be in lower case")
    return decoded


def msg_routes(keeper: SlashingKeeper) -> Sequence[MsgRoute]:
    """MsgUnjail, signed by the validator's operator account."""

    def signers(msg: pb.slashing_tx.MsgUnjail) -> list[bytes]:
        return [operator_bytes(msg.validator_addr)]

    def validate(msg: pb.slashing_tx.MsgUnjail) -> None:
        operator_bytes(msg.validator_addr)

    def unjail(ctx: Context, msg: pb.slashing_tx.MsgUnjail) -> pb.slashing_tx.MsgUnjailResponse:
        keeper.unjail(ctx, operator_bytes(msg.validator_addr))
        return pb.slashing_tx.MsgUnjailResponse()

    return [MsgRoute(pb.slashing_tx.MsgUnjail, signers, validate, unjail)]
