"""What every module is built from: the execution context, events, route declarations and
the module contract.

A module sees the chain only through a :class:`Context`: a gas-metered view of the state
branch it may write, the block header, the execution mode and an event sink. It declares its
messages, queries and REST routes as :class:`MsgRoute`, :class:`QueryRoute` and
:class:`RestRoute` values; the app's router and the node's REST gateway mount them. A module
package exports one :class:`ModuleDefinition` (name, store key, module accounts, how to build
it from the keepers of the modules before it), and the app's module list
(``aivm.app.modules.MODULES``) is the one place that lists them. Optional block hooks
(:class:`HasBeginBlock`, :class:`HasEndBlock`) and state migrations (:class:`HasMigrations`)
are found by protocol. Nothing here does I/O.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeAlias, TypeVar, runtime_checkable

from aivm.store import CacheStore, GasMeter, KVStore
from aivm.types import pb
from aivm.types.errors import AivmError
from aivm.types.pb import Message

K = TypeVar("K")
T = TypeVar("T")


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
    last_commit: tuple[VoteInfo, ...] = ()
    """Who signed the previous block (``decided_last_commit.votes``, FinalizeBlock only): the
    validators of that block with their power and whether their vote is in the commit."""
    misbehavior: tuple[Misbehavior, ...] = ()
    """Evidence of validator misbehaviour included in this block (FinalizeBlock only)."""
    gas_used: int = 0
    """Gas used by the block's transactions; set for EndBlock (0 before the txs have run)."""


@dataclass(frozen=True, slots=True)
class VoteInfo:
    """One validator of the previous block's set and whether it signed that block."""

    address: bytes
    """Consensus address (first 20 bytes of sha256 of the ed25519 public key)."""
    power: int
    """Its voting power in that block."""
    signed: bool
    """True when its commit vote is in the block (BLOCK_ID_FLAG_COMMIT, or NIL)."""


@dataclass(frozen=True, slots=True)
class Misbehavior:
    """CometBFT evidence of a validator's misbehaviour (``RequestFinalizeBlock.misbehavior``)."""

    kind: int
    """``MisbehaviorType``: 1 duplicate vote (double sign), 2 light client attack."""
    address: bytes
    """Consensus address of the offender."""
    power: int
    """Its voting power at ``height``."""
    height: int
    """Height of the infraction."""
    time_ns: int
    """Block time of the infraction, in nanoseconds."""
    total_voting_power: int
    """Total voting power of the set at ``height``."""


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


@dataclass(frozen=True)
class RestRoute:
    """Declares one REST (gRPC-gateway style) GET route answered by a gRPC query.

    Path parameters (``{address}``) and URL query parameters fill the request's fields of the
    same name; the response is the query response in proto3 JSON.
    """

    path: str
    """URL path template, e.g. ``/cosmos/bank/v1beta1/balances/{address}``."""
    query_path: str
    """The gRPC method it calls, e.g. ``/cosmos.bank.v1beta1.Query/AllBalances``."""
    request: type[Message]
    """Protobuf request class."""
    response: type[Message]
    """Protobuf response class."""
    summary: str
    """One line for the OpenAPI document."""


ValidatorUpdate: TypeAlias = pb.abci.ValidatorUpdate
"""A change to the CometBFT validator set (power 0 removes the validator)."""

Migration = Callable[[Context], None]
"""Moves a module's state from one consensus version to the next."""


class AppModule(Protocol):
    """What the module manager needs from a module."""

    name: str
    """Module name; also its codespace and genesis key."""

    consensus_version: int
    """Version of the module's state layout and state transitions; a change that needs a
    migration bumps it and registers the migration from the previous version."""

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


@runtime_checkable
class HasBeginBlock(Protocol):
    """A module that runs code when a block starts, before its txs."""

    def begin_block(self, ctx: Context) -> None:
        """Run at the start of every block (infinite gas; events go to the block's events)."""
        ...


@runtime_checkable
class HasEndBlock(Protocol):
    """A module that runs code after a block's txs, and may change the validator set."""

    def end_block(self, ctx: Context) -> Sequence[ValidatorUpdate]:
        """Run at the end of every block; return validator updates (usually none)."""
        ...


@runtime_checkable
class HasGenesisValidators(Protocol):
    """A module that decides the initial validator set (staking): called after every module's
    genesis is written, in list order; a non-empty result replaces genesis.json's validators
    (the Cosmos SDK's InitChain, where gentxs are delivered after InitGenesis)."""

    def genesis_validators(
        self, ctx: Context, requested: Sequence[ValidatorUpdate]
    ) -> Sequence[ValidatorUpdate]:
        """Finish genesis (deliver gentxs, say) and return the initial validator set.
        ``requested`` is genesis.json's set; a module that keeps it (returns nothing) must make
        sure no one can later claim those keys as their own."""
        ...


@runtime_checkable
class HasMigrations(Protocol):
    """A module whose state moved between consensus versions."""

    def migrations(self) -> Mapping[int, Migration]:
        """Migration from each old version (``n`` → ``n + 1``), keyed by ``n``."""
        ...


class Keepers:
    """The keepers built so far, by module name: what a module's builder may depend on."""

    def __init__(self, module_accounts: Mapping[str, tuple[str, ...]]) -> None:
        self.module_accounts = dict(module_accounts)
        """Every module account of the app and its permissions."""
        self._keepers: dict[str, object] = {}

    def add(self, name: str, keeper: object) -> None:
        """Register ``name``'s keeper (a name can be registered once)."""
        if name in self._keepers:
            raise ValueError(f"keeper {name!r} registered twice")
        self._keepers[name] = keeper

    def get(self, name: str, kind: type[K]) -> K:
        """``name``'s keeper, checked to be a ``kind``; the module must come earlier in the list."""
        keeper = self._keepers.get(name)
        if keeper is None:
            raise LookupError(f"no keeper {name!r}: list that module before the ones using it")
        if not isinstance(keeper, kind):
            raise TypeError(f"keeper {name!r} is a {type(keeper).__name__}, not {kind.__name__}")
        return keeper

    def find(self, name: str, kind: type[K]) -> K | None:
        """``name``'s keeper when the app has that module, else None."""
        return self.get(name, kind) if name in self._keepers else None


@dataclass(frozen=True)
class ModuleDefinition:
    """Everything the app needs to wire a module in: one value per module package."""

    name: str
    """Module name (genesis key, codespace, keeper name)."""
    store_key: str
    """Name of its store for raw ``/store/<key>/key`` queries (``acc`` for auth, as the SDK)."""
    store_prefix: bytes
    """Key prefix of its state in the app's one store (``bank/``); unique in the app."""
    build: Callable[[Keepers], tuple[AppModule, object]]
    """Builds the module and its keeper from the keepers of the modules listed before it."""
    module_accounts: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Module accounts it owns, with their permissions (``minter``, ``burner``)."""
    rest_routes: Sequence[RestRoute] = ()
    """REST routes the node's gateway mounts for this module (static: the gateway has no
    keepers, it answers through ABCI queries)."""


def guarded(ctx: Context, action: Callable[[Context], T]) -> T | None:
    """Run ``action`` on a branch of ``ctx``'s store; keep its writes and events only when it
    returns (an AivmError leaves nothing behind and gives None). For a module that calls
    another module's keeper from EndBlock, where a refusal (an operator that left its role
    meanwhile, say) must neither fail the block nor leave half its writes."""
    branch = CacheStore(ctx.store)
    inner = dataclasses.replace(ctx, store=branch, events=[])
    try:
        result = action(inner)
    except AivmError:
        return None
    branch.write()
    ctx.events.extend(inner.events)
    return result
