"""The devnet block store: blocks, FinalizeBlock results and a tx index, in sqlite3.

Tables (see docs/adr/0005-devnet-block-store.md):

- ``blocks(height PK, hash, header JSON, txs, results, signature)``: ``txs`` is the block's txs
  as a serialized ``RequestPrepareProposal`` (a repeated bytes field, reused as a container);
  ``results`` is the serialized ``ResponseFinalizeBlock``; ``signature`` is the validator's
  ed25519 signature over the block hash (the block's commit, shown as ``last_commit`` of the
  next block).
- ``txs(hash PK, height, idx)``: the tx index.
- ``attrs(key, value, height, idx)``: ``type.attr = value`` of every indexed event attribute of
  every tx, plus ``tx.hash`` and ``tx.height``, for ``tx_search``.

Every block is written in one sqlite transaction with ``synchronous=FULL``.
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
CREATE TABLE IF NOT EXISTS txs (hash BLOB PRIMARY KEY, height INTEGER, idx INTEGER);
CREATE TABLE IF NOT EXISTS attrs (key TEXT, value TEXT, height INTEGER, idx INTEGER);
CREATE INDEX IF NOT EXISTS attrs_kv ON attrs (key, value, height, idx);
CREATE INDEX IF NOT EXISTS blocks_hash ON blocks (hash);
"""


class BlockStore:
    """Blocks by height, txs by hash, and an event-attribute index."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(
            directory / "blocks.sqlite", isolation_level=None, check_same_thread=False
        )
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
        """Store a block, its results and its index entries atomically (replacing any)."""
        height = record.header.height
        container = pb.abci.RequestPrepareProposal(txs=record.txs)
        rows: list[tuple[str, str, int, int]] = []
        tx_rows: list[tuple[bytes, int, int]] = []
        for idx, (raw, result) in enumerate(
            zip(record.txs, record.results.tx_results, strict=True)
        ):
            h = hashlib.sha256(raw).digest()
            tx_rows.append((h, height, idx))
            rows.append(("tx.hash", h.hex().upper(), height, idx))
            rows.append(("tx.height", str(height), height, idx))
            for event in result.events:
                for attr in event.attributes:
                    if attr.index:
                        rows.append((f"{event.type}.{attr.key}", attr.value, height, idx))
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            db.execute("DELETE FROM blocks WHERE height = ?", (height,))
            db.execute("DELETE FROM attrs WHERE height = ?", (height,))
            db.execute("DELETE FROM txs WHERE height = ?", (height,))
            db.execute(
                "INSERT INTO blocks VALUES (?, ?, ?, ?, ?, ?)",
                (
                    height,
                    record.hash,
                    json.dumps(record.header.to_record()),
                    container.SerializeToString(),
                    record.results.SerializeToString(),
                    record.signature,
                ),
            )
            db.executemany("INSERT OR REPLACE INTO txs VALUES (?, ?, ?)", tx_rows)
            db.executemany("INSERT INTO attrs VALUES (?, ?, ?, ?)", rows)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

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

    def find_tx(self, tx_hash: bytes) -> tuple[int, int] | None:
        """(height, index) of a tx, or None."""
        row = self._db.execute("SELECT height, idx FROM txs WHERE hash = ?", (tx_hash,)).fetchone()
        return None if row is None else (int(row[0]), int(row[1]))

    def search(
        self,
        equals: Sequence[tuple[str, str]],
        height_range: tuple[int | None, int | None] = (None, None),
        descending: bool = False,
    ) -> list[tuple[int, int]]:
        """(height, index) of txs matching every ``key = value`` and the height range."""
        lo, hi = height_range
        clauses: list[str] = []
        params: list[Any] = []
        for key, value in equals:
            clauses.append(
                "EXISTS (SELECT 1 FROM attrs a WHERE a.height = t.height AND a.idx = t.idx "
                "AND a.key = ? AND a.value = ?)"
            )
            params += [key, value]
        if lo is not None:
            clauses.append("t.height >= ?")
            params.append(lo)
        if hi is not None:
            clauses.append("t.height <= ?")
            params.append(hi)
        where = " AND ".join(clauses) if clauses else "1"
        order = "DESC" if descending else "ASC"
        sql = (
            f"SELECT t.height, t.idx FROM txs t WHERE {where} "
            f"ORDER BY t.height {order}, t.idx {order}"
        )
        return [(int(h), int(i)) for h, i in self._db.execute(sql, params).fetchall()]
