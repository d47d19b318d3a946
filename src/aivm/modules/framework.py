"""What every module is built from: the execution context, events and route declarations.

A module sees the chain only through a :class:`Context`: a gas-metered view of the state
branch it may write, the block header, the execution mode and an event sink. It declares its
messages and queries as :class:`MsgRoute` and :class:`QueryRoute` values; the app's router
wires them up. Nothing here does I/O.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from aivm.store import GasMeter, KVStore
from aivm.types.pb import Message


class ExecMode(enum.Enum):
    """Why the state machine is running: it decides which steps run and what persists."""

    CHECK = "check"
    RECHECK = "recheck"
    SIMULATE = "simulate"
    FINALIZE = "finalize"
    GENESIS = "genesis"
    QUERY = "query"


@dataclass(frozen=True, slots=True)
class BlockHeader:
    """The parts of the block header the state machine may read."""

    height: int
    """Height of the block being executed (the next height during CheckTx)."""
    time_ns: int
    """Block time as integer nanoseconds since the Unix epoch (never the wall clock)."""
    chain_id: str
    """Chain id the block belongs to."""
    proposer: bytes = b""
    """Consensus address of the block proposer."""
    seed: bytes = b""
    """Block hash agreed by consensus (empty outside FinalizeBlock): the only source of
    unpredictability the state machine may use, e.g. to pick a challenged chunk."""


@dataclass(frozen=True, slots=True)
class Event:
    """A Cosmos-style event: a type and ordered (key, value) attributes."""

    type: str
    attributes: tuple[tuple[str, str], ...]


@dataclass(slots=True)
class Context:
    """Everything a keeper or handler may use while executing."""

    store: KVStore
    """Root of the state this execution may read and write (gas-metered where it counts)."""
    gas_meter: GasMeter
    """Meter charged by the store and by handlers."""
    header: BlockHeader
    """Header of the block being executed."""
    mode: ExecMode
    """Execution mode."""
    events: list[Event] = field(default_factory=list)
    """Events emitted so far, in order."""

    def emit(self, type_: str, *attributes: tuple[str, str]) -> None:
        """Append an event."""
        self.events.append(Event(type_, attributes))

    @property
    def is_check(self) -> bool:
        """True in CheckTx (new or recheck)."""
        return self.mode in (ExecMode.CHECK, ExecMode.RECHECK)

    @property
    def is_simulate(self) -> bool:
        """True when simulating a transaction (no signature checks)."""
        return self.mode is ExecMode.SIMULATE


MsgHandler = Callable[[Context, Any], Message]
"""Executes a decoded message; returns its response message or raises AivmError."""

QueryHandler = Callable[[Context, Any], Message]
"""Answers a decoded gRPC query request; returns the response message or raises AivmError."""


@dataclass(frozen=True)
class MsgRoute:
    """Declares one transaction message type of a module."""

    message_class: type[Message]
    """Protobuf class; its type URL is the route key."""
    signers: Callable[[Any], Sequence[bytes]]
    """Addresses that must sign a message of this type, in order."""
    validate_basic: Callable[[Any], None]
    """Stateless checks; raise AivmError on bad input."""
    handler: MsgHandler
    """State transition."""


@dataclass(frozen=True)
class QueryRoute:
    """Declares one gRPC query method, answered over ABCI Query at ``path``."""

    path: str
    """Full gRPC method path, e.g. ``/cosmos.bank.v1beta1.Query/Balance``."""
    request_class: type[Message]
    """Protobuf request class."""
    handler: QueryHandler
    """Answers the query from a read-only context."""


class AppModule(Protocol):
    """What the module manager needs from a module."""

    name: str
    """Module name; also its codespace and genesis key."""

    def msg_routes(self) -> Sequence[MsgRoute]:
        """Messages this module handles."""
        ...

    def query_routes(self) -> Sequence[QueryRoute]:
        """Queries this module answers."""
        ...

    def default_genesis(self) -> dict[str, Any]:
        """Genesis state for a new chain."""
        ...

    def validate_genesis(self, data: dict[str, Any]) -> None:
        """Raise AivmError when ``data`` is not a valid genesis state of this module."""
        ...

    def init_genesis(self, ctx: Context, data: dict[str, Any]) -> None:
        """Write the module's genesis state."""
        ...

    def export_genesis(self, ctx: Context) -> dict[str, Any]:
        """Read the module's state back in genesis form."""
        ...
