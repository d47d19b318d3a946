"""Errors raised by the AIVM Python SDK.

Every failure a caller may want to handle has its own class:

- :class:`ChainError` — the chain answered with a non-zero ABCI code (a failed tx or query);
  carries the registered ``(codespace, code)`` pair and the node's log.
- :class:`NodeUnreachableError` — no node answered at the RPC address (a ``ConnectionError``).
- :class:`RpcError` — the node answered with a JSON-RPC error (bad params, not found, …).
- :class:`TxTimeoutError` — a transaction was not included in a block in time.
"""

from __future__ import annotations

from aivm.types.errors import lookup

__all__ = ["ChainError", "ClientError", "NodeUnreachableError", "RpcError", "TxTimeoutError"]


class ClientError(Exception):
    """Base class of SDK errors."""


class ChainError(ClientError):
    """A transaction or query the chain rejected, with its registered error code.

    Example::

        try:
            client.send(wallet, to, "10000000000000ucgpt")
        except ChainError as err:
            assert (err.codespace, err.code) == ("sdk", 5)   # insufficient funds
    """

    def __init__(self, codespace: str, code: int, log: str, txhash: str = "") -> None:
        self.codespace = codespace
        self.code = code
        self.log = log
        self.txhash = txhash
        super().__init__(str(self))

    @property
    def description(self) -> str:
        """The registered description of ``(codespace, code)``, e.g. ``insufficient funds``."""
        found = lookup(self.codespace, self.code)
        return found.description if found is not None else "error"

    def __str__(self) -> str:
        where = f"{self.codespace} code {self.code}" if self.codespace else f"code {self.code}"
        text = f"{self.description} ({where})"
        if self.log:
            text += f": {self.log}"
        if self.txhash:
            text += f" [tx {self.txhash}]"
        return " ".join(text.split())

    def __reduce__(self) -> tuple[type[ChainError], tuple[str, int, str, str]]:
        return (ChainError, (self.codespace, self.code, self.log, self.txhash))


class NodeUnreachableError(ClientError, ConnectionError):
    """No node answered at the configured RPC address."""


class RpcError(ClientError):
    """The node answered a JSON-RPC call with an error object."""

    def __init__(self, code: int, message: str, data: str = "") -> None:
        self.code = code
        self.message = message
        self.data = data
        text = f"RPC error {code}: {message}" + (f": {data}" if data else "")
        super().__init__(text)


class TxTimeoutError(ClientError, TimeoutError):
    """The transaction was not found in a block before the timeout."""
