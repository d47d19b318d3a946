"""The devnet block store: blocks and their FinalizeBlock results, in sqlite3.

Table (see docs/adr/0005-devnet-block-store.md):

- ``blocks(height PK, hash, header JSON, txs, results, signature)``: ``txs`` is the block's txs
  as a serialized ``RequestPrepareProposal`` (a repeated bytes field, reused as a container);
  ``results`` is the serialized ``ResponseFinalizeBlock``; ``signature`` is the validator's
  ed25519 signature over the block hash (the block's commit, shown as ``last_commit`` of the
  next block).

Every block is written in one sqlite transaction with ``synchronous=FULL``. The tx index
lives in its own file, written after the block by the indexer process of ``aivm.devnet.txindex``
(ADR 0008), which reads blocks through a read-only ``BlockStore``.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from aivm.types import pb

EMPTY_HASH = hashlib.sha256(b"").digest()


@dataclass(frozen=True)
class Header:
    """The fields of a CometBFT header the devnet fills in; hashes are raw bytes (hex in JSON)."""

    chain_id: str
    height: int
    time_ns: int
    last_block_hash: bytes
    last_commit_hash: bytes
    data_hash: bytes
    validators_hash: bytes
    consensus_hash: bytes
    app_hash: bytes
    last_results_hash: bytes
    evidence_hash: bytes
    proposer_address: bytes

    def to_record(self) -> dict[str, Any]:
        """Storage form: hex strings for bytes."""
        return {k: v.hex() if isinstance(v, bytes) else v for k, v in asdict(self).items()}

    @classmethod
    def from_record(cls, data: dict[str, Any]) -> Header:
        kinds = cls.__dataclass_fields__
        fields: dict[str, Any] = {
            k: bytes.fromhex(v) if kinds[k].type in ("bytes", bytes) else v for k, v in data.items()
        }
        return cls(**fields)

    def hash(self) -> bytes:
        """Block hash: sha256 of the canonical JSON (sorted keys, no spaces) of ``to_record``."""
        text = json.dumps(self.to_record(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).digest()


def data_hash(txs: Sequence[bytes]) -> bytes:
    """sha256 over the concatenated sha256 hashes of the txs (sha256("") when empty)."""
    return hashlib.sha256(b"".join(hashlib.sha256(t).digest() for t in txs)).digest()


def results_hash(results: Sequence[pb.abci.ExecTxResult]) -> bytes:
    """sha256 over the hashes of the deterministic fields (code, data, gas) of each result."""
    parts = [
        hashlib.sha256(
            pb.abci.ExecTxResult(
                code=r.code, data=r.data, gas_wanted=r.gas_wanted, gas_used=r.gas_used
            ).SerializeToString()
        ).digest()
        for r in results
    ]
    return hashlib.sha256(b"".join(parts)).digest()


@dataclass
class BlockRecord:
    """One stored block."""

    header: Header
    hash: bytes
    txs: list[bytes]
    results: pb.abci.ResponseFinalizeBlock
    signature: bytes

    @property
    def size(self) -> int:
        return sum(len(t) for t in self.txs) + 200


_SCHEMA = """
CREATE TABLE IF NOT EXISTS blocks (
    height INTEGER PRIMARY KEY,
    hash BLOB NOT NULL,
    header TEXT NOT NULL,
    txs BLOB NOT NULL,
    results BLOB NOT NULL,
    signature BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS blocks_hash ON blocks (hash);
DROP TABLE IF EXISTS txs;
DROP TABLE IF EXISTS attrs;
"""
# (the two tables dropped held the tx index before it moved to index.sqlite)


class BlockStore:
    """Blocks by height (and by hash)."""

    def __init__(self, directory: Path, readonly: bool = False) -> None:
        self.directory = directory
        path = directory / "blocks.sqlite"
        if readonly:
            self._db = sqlite3.connect(
                f"{path.as_uri()}?mode=ro", uri=True, isolation_level=None, timeout=30
            )
            return
        directory.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    @property
    def height(self) -> int:
        """Highest stored height (0 when empty)."""
        row = self._db.execute("SELECT MAX(height) FROM blocks").fetchone()
        return int(row[0] or 0)

    @property
    def base(self) -> int:
        """Lowest stored height (0 when empty)."""
        row = self._db.execute("SELECT MIN(height) FROM blocks").fetchone()
        return int(row[0] or 0)

    def save(self, record: BlockRecord) -> None:
        """Store a block and its results atomically (replacing any at its height)."""
        container = pb.abci.RequestPrepareProposal(txs=record.txs)
        row = (
            record.header.height,
            record.hash,
            json.dumps(record.header.to_record()),
            container.SerializeToString(),
            record.results.SerializeToString(),
            record.signature,
        )
        self._db.execute("INSERT OR REPLACE INTO blocks VALUES (?, ?, ?, ?, ?, ?)", row)

    def get(self, height: int) -> BlockRecord | None:
        row = self._db.execute(
            "SELECT header, hash, txs, results, signature FROM blocks WHERE height = ?", (height,)
        ).fetchone()
        if row is None:
            return None
        header = Header.from_record(json.loads(row[0]))
        txs = list(pb.abci.RequestPrepareProposal.FromString(row[2]).txs)
        results = pb.abci.ResponseFinalizeBlock.FromString(row[3])
        return BlockRecord(header, bytes(row[1]), txs, results, bytes(row[4]))

    def height_of_hash(self, block_hash: bytes) -> int | None:
        row = self._db.execute("SELECT height FROM blocks WHERE hash = ?", (block_hash,)).fetchone()
        return None if row is None else int(row[0])
