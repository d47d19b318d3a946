"""Routers: message type URL → MsgRoute, gRPC query path → QueryRoute."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from aivm.modules.framework import AppModule, MsgRoute, QueryRoute
from aivm.types import pb

PUBLIC_KEY_TYPES: dict[str, type[pb.Message]] = {
    pb.type_url(pb.secp256k1.PubKey()): pb.secp256k1.PubKey,
    pb.type_url(pb.ed25519.PubKey()): pb.ed25519.PubKey,
}
"""Public key types a tx's ``Any`` values may carry: a signer's key (``SignerInfo.public_key``;
the ante step accepts secp256k1 only) and a validator's ed25519 consensus key
(``MsgCreateValidator.pubkey``), as the SDK's interface registry resolves them."""


class Router:
    """Lookup tables built once from the app's modules."""

    def __init__(self, modules: Iterable[AppModule]) -> None:
        """Collect every module's routes; a duplicate route is a programming error."""
        self.msgs: dict[str, MsgRoute] = {}
        self.queries: dict[str, QueryRoute] = {}
        for module in modules:
            for route in module.msg_routes():
                self._add(self.msgs, pb.type_url(route.message_class), route)
            for query in module.query_routes():
                self._add(self.queries, query.path, query)

    def resolve_any(self, type_url: str) -> type[pb.Message] | None:
        """The message class an ``Any`` of ``type_url`` may carry in a tx, or None."""
        route = self.msgs.get(type_url)
        if route is not None:
            return route.message_class
        return PUBLIC_KEY_TYPES.get(type_url)

    @staticmethod
    def _add(table: dict[str, Any], key: str, value: object) -> None:
        if key in table:
            raise ValueError(f"duplicate route {key}")
        table[key] = value
