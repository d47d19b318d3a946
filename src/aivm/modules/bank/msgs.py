"""bank messages: MsgSend and MsgMultiSend (Cosmos type URLs, so every wallet can sign them)."""

from __future__ import annotations

from collections.abc import Sequence

from aivm.modules.addr import addr_bytes
from aivm.modules.bank.errors import (
    ErrInputOutputMismatch,
    ErrMultipleSenders,
    ErrNoInputs,
    ErrNoOutputs,
)
from aivm.modules.bank.keeper import BankKeeper
from aivm.modules.framework import Context, MsgRoute
from aivm.types import pb
from aivm.types.coin import Coins
from aivm.types.coin_proto import coins_from_proto


def validate_msg_send(msg: pb.bank_tx.MsgSend) -> None:
    """Addresses decode; amount is a valid, non-empty coin list."""
    addr_bytes(msg.from_address)
    addr_bytes(msg.to_address)
    coins_from_proto(msg.amount, allow_empty=False)


def validate_msg_multi_send(msg: pb.bank_tx.MsgMultiSend) -> None:
    """Exactly one input; at least one output; inputs and outputs balance."""
    if not msg.inputs:
        raise ErrNoInputs.wrap("")
    if len(msg.inputs) != 1:
        raise ErrMultipleSenders.wrap("")
    if not msg.outputs:
        raise ErrNoOutputs.wrap("")
    addr_bytes(msg.inputs[0].address)
    total_in = coins_from_proto(msg.inputs[0].coins, allow_empty=False)
    total_out = Coins.from_iter([])
    for output in msg.outputs:
        addr_bytes(output.address)
        total_out = total_out + coins_from_proto(output.coins, allow_empty=False)
    if total_in != total_out:
        raise ErrInputOutputMismatch.wrap(f"{total_in} != {total_out}")


def handle_msg_send(
    keeper: BankKeeper, ctx: Context, msg: pb.bank_tx.MsgSend
) -> pb.bank_tx.MsgSendResponse:
    """Transfer ``amount`` from ``from_address`` to ``to_address``."""
    amount = coins_from_proto(msg.amount, allow_empty=False)
    keeper.check_send_enabled(ctx, amount)
    recipient = addr_bytes(msg.to_address)
    keeper.check_can_receive(recipient)
    keeper.send_coins(ctx, addr_bytes(msg.from_address), recipient, amount)
    return pb.bank_tx.MsgSendResponse()


def handle_msg_multi_send(
    keeper: BankKeeper, ctx: Context, msg: pb.bank_tx.MsgMultiSend
) -> pb.bank_tx.MsgMultiSendResponse:
    """Split one input across several outputs."""
    amount = coins_from_proto(msg.inputs[0].coins, allow_empty=False)
    keeper.check_send_enabled(ctx, amount)
    outputs = []
    for output in msg.outputs:
        recipient = addr_bytes(output.address)
        keeper.check_can_receive(recipient)
        outputs.append((recipient, coins_from_proto(output.coins, allow_empty=False)))
    keeper.input_output_coins(ctx, addr_bytes(msg.inputs[0].address), amount, outputs)
    return pb.bank_tx.MsgMultiSendResponse()


def msg_routes(keeper: BankKeeper) -> Sequence[MsgRoute]:
    """Routes of the bank message service."""
    return [
        MsgRoute(
            message_class=pb.bank_tx.MsgSend,
            signers=lambda msg: [addr_bytes(msg.from_address)],
            validate_basic=validate_msg_send,
            handler=lambda ctx, msg: handle_msg_send(keeper, ctx, msg),
        ),
        MsgRoute(
            message_class=pb.bank_tx.MsgMultiSend,
            signers=lambda msg: [addr_bytes(msg.inputs[0].address)] if msg.inputs else [],
            validate_basic=validate_msg_multi_send,
            handler=lambda ctx, msg: handle_msg_multi_send(keeper, ctx, msg),
        ),
    ]
