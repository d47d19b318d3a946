"""Typed results returned by :mod:`aivm.client` (plain dataclasses, JSON-friendly)."""

from __future__ import annotations

import base64
import dataclasses
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "Account",
    "Block",
    "BroadcastResult",
    "Event",
    "Status",
    "TxResult",
    "to_jsonable",
]


@dataclass(frozen=True)
class Event:
    """An ABCI event: a type and its ``(key, value)`` attributes, in order."""

    type: str
    attributes: list[tuple[str, str]]

    def get(self, key: str) -> str | None:
        """The first value of attribute ``key``, or None."""
        return next((v for k, v in self.attributes if k == key), None)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Event:
        attrs = [
            (str(a.get("key", "")), str(a.get("value", ""))) for a in data.get("attributes") or []
        ]
        return cls(str(data.get("type", "")), attrs)


def _events(items: Any) -> list[Event]:
    return [Event.from_json(e) for e in items or []]


@dataclass(frozen=True)
class BroadcastResult:
    """The node's answer to a broadcast: CheckTx outcome and the tx hash (upper-case hex)."""

    hash: str
    code: int
    codespace: str
    log: str

    @property
    def ok(self) -> bool:
        return self.code == 0


@dataclass(frozen=True)
class TxResult:
    """An included transaction and its execution result."""

    hash: str
    height: int
    index: int
    code: int
    codespace: str
    log: str
    gas_wanted: int
    gas_used: int
    events: list[Event] = field(default_factory=list)
    tx: bytes = b""

    @property
    def ok(self) -> bool:
        return self.code == 0

    def find_events(self, type_: str) -> list[Event]:
        """All events of type ``type_`` (e.g. ``"transfer"``)."""
        return [e for e in self.events if e.type == type_]

    def attribute(self, type_: str, key: str) -> str:
        """Value of ``key`` in the first ``type_`` event that has it; ValueError if none does."""
        for event in self.find_events(type_):
            for k, v in event.attributes:
                if k == key:
                    return v
        raise ValueError(f"tx {self.hash} has no {type_}.{key} event attribute")

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TxResult:
        r = data.get("tx_result") or {}
        return cls(
            hash=str(data.get("hash", "")).upper(),
            height=int(data.get("height", 0)),
            index=int(data.get("index", 0)),
            code=int(r.get("code", 0)),
            codespace=str(r.get("codespace", "")),
            log=str(r.get("log", "")),
            gas_wanted=int(r.get("gas_wanted", 0)),
            gas_used=int(r.get("gas_used", 0)),
            events=_events(r.get("events")),
            tx=base64.b64decode(data.get("tx") or ""),
        )


@dataclass(frozen=True)
class Account:
    """An on-chain account (``BaseAccount``)."""

    address: str
    account_number: int
    sequence: int
    pubkey: bytes | None = None


@dataclass(frozen=True)
class Status:
    """What ``status`` reports about the node and its latest block."""

    chain_id: str
    node_id: str
    moniker: str
    version: str
    latest_block_height: int
    latest_block_hash: str
    latest_app_hash: str
    latest_block_time: str
    earliest_block_height: int
    catching_up: bool

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Status:
        node = data.get("node_info") or {}
        sync = data.get("sync_info") or {}
        return cls(
            chain_id=str(node.get("network", "")),
            node_id=str(node.get("id", "")),
            moniker=str(node.get("moniker", "")),
            version=str(node.get("version", "")),
            latest_block_height=int(sync.get("latest_block_height", 0)),
            latest_block_hash=str(sync.get("latest_block_hash", "")),
            latest_app_hash=str(sync.get("latest_app_hash", "")),
            latest_block_time=str(sync.get("latest_block_time", "")),
            earliest_block_height=int(sync.get("earliest_block_height", 0)),
            catching_up=bool(sync.get("catching_up", False)),
        )


@dataclass(frozen=True)
class Block:
    """A block: its id, the header fields people look at, and its raw txs."""

    height: int
    hash: str
    chain_id: str
    time: str
    proposer_address: str
    app_hash: str
    txs: list[bytes] = field(default_factory=list)

    @property
    def num_txs(self) -> int:
        return len(self.txs)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Block:
        block = data.get("block") or {}
        header = block.get("header") or {}
        return cls(
            height=int(header.get("height", 0)),
            hash=str((data.get("block_id") or {}).get("hash", "")),
            chain_id=str(header.get("chain_id", "")),
            time=str(header.get("time", "")),
            proposer_address=str(header.get("proposer_address", "")),
            app_hash=str(header.get("app_hash", "")),
            txs=[base64.b64decode(t) for t in (block.get("data") or {}).get("txs") or []],
        )


def to_jsonable(value: Any) -> Any:
    """Dataclasses → dicts, bytes → base64, tuples → lists (for ``json.dumps``)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    return value
