"""``MsgUpdateParams``: the one message shape every module uses to change its params.

The message carries ``authority`` (its only signer) and the module's whole ``Params``; the
handler checks the signer is the params authority (:class:`AuthorityKeeper`), then stores the
new params. They apply from the next message on, including later txs of the same block.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from aivm.modules.addr import addr_bytes
from aivm.modules.authority.keeper import AuthorityKeeper
from aivm.modules.framework import Context, MsgRoute
from aivm.types.errors import ErrInvalidRequest
from aivm.types.pb import Message

P = TypeVar("P")


def update_params_route(
    message_class: type[Message],
    response_class: type[Message],
    authority: AuthorityKeeper,
    parse: Callable[[Context | None, Any], P],
    store: Callable[[Context, P], None],
) -> MsgRoute:
    """A MsgRoute for a module's ``MsgUpdateParams``.

    ``parse(ctx, params_proto)`` checks and converts the params (``ctx`` is None in the
    stateless check); ``store(ctx, params)`` writes them.
    """

    def validate_basic(msg: Any) -> None:
        addr_bytes(msg.authority)
        if not msg.HasField("params"):
            raise ErrInvalidRequest.wrap("params must be set")
        parse(None, msg.params)

    def handle(ctx: Context, msg: Any) -> Message:
        authority.check(ctx, msg.authority)
        store(ctx, parse(ctx, msg.params))
        ctx.emit("update_params", ("module", message_class.DESCRIPTOR.full_name.split(".")[1]))
        return response_class()

    return MsgRoute(message_class, _authority_signer, validate_basic, handle)


def _authority_signer(msg: Any) -> list[bytes]:
    return [addr_bytes(msg.authority)]
