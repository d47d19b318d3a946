"""The devnet's tx index, for ``tx`` and ``tx_search``, kept by a separate indexer process.

Three tables in their own sqlite file, ``HOME/data/blocks/index.sqlite`` (ADR 0008):

- ``txs(hash PK, height, idx)``: where each tx is (also answers ``tx.hash`` and ``tx.height``);
- ``attrs(key, value, height, idx)``: ``type.attr = value`` of every indexed event attribute of
  every tx, a table clustered on ``(key, value)``;
- ``meta(indexed_height)``: the last height written, in the same transaction as its rows.

As CometBFT's indexer service, the index is written after the block is stored and committed,
so the block producer never waits for it. It is written by its own process
(``python -m aivm.devnet.txindex BLOCKS_DIR``), started by ``TxIndexer``: that keeps its row
building and its B-tree inserts off the node's GIL and on the machine's other core. The block
store is the only input: whenever told (a line on its stdin) the indexer indexes every stored
block above ``indexed_height``, so nothing is lost on a crash of either process, and a lost
index file is rebuilt. It exits when its stdin closes (the node stopped or died), after
catching up. Readers that need a just-committed block wait with ``caught_up(height)``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import logging
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from aivm.devnet.blockstore import BlockRecord, BlockStore

log = logging.getLogger(__name__)

INDEX_FILE = "index.sqlite"
BATCH_BLOCKS = 50
"""Blocks written per sqlite transaction while catching up."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS txs (hash BLOB PRIMARY KEY, height INTEGER, idx INTEGER);
CREATE TABLE IF NOT EXISTS attrs (
    key TEXT, value TEXT, height INTEGER, idx INTEGER, PRIMARY KEY (key, value, height, idx)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (id INTEGER PRIMARY KEY CHECK (id = 0), indexed_height INTEGER);
INSERT OR IGNORE INTO meta VALUES (0, 0);
"""

TxRow = tuple[bytes, int, int]
AttrRow = tuple[str, str, int, int]


def index_rows(record: BlockRecord) -> tuple[list[TxRow], list[AttrRow]]:
    """The ``txs`` and ``attrs`` rows of one block (attrs sorted: inserts walk the tree once)."""
    height = record.header.height
    tx_rows: list[TxRow] = []
    attr_rows: list[AttrRow] = []
    for idx, (raw, result) in enumerate(zip(record.txs, record.results.tx_results, strict=True)):
        tx_rows.append((hashlib.sha256(raw).digest(), height, idx))
        for event in result.events:
            for attr in event.attributes:
                if attr.index:
                    attr_rows.append((f"{event.type}.{attr.key}", attr.value, height, idx))
    attr_rows.sort()
    return tx_rows, attr_rows


def _connect(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")  # rebuilt from the block store after a crash
    db.execute("PRAGMA cache_size=-65536")  # 64 MiB of pages: inserts land all over the tree
    db.executescript(_SCHEMA)
    return db


INT64_MIN, INT64_MAX = -(1 << 63), (1 << 63) - 1
_INTEGER = re.compile(r"-?[0-9]{1,19}")


def int64_value(text: str) -> int | None:
    """``text`` as an int64 when it is ASCII digits with an optional ``-``, else None.

    The one integer rule of ``tx.height`` lookups here and of the RPC's query comparisons:
    ``int()`` would also take ``'²'``-like digits (and raise), ``'1_0'``, ``' 5 '`` and
    values sqlite cannot bind.
    """
    if len(text) > 20 or not _INTEGER.fullmatch(text):
        return None
    value = int(text)
    return value if INT64_MIN <= value <= INT64_MAX else None


def _hash_bytes(text: str) -> bytes:
    """A ``tx.hash`` value (hex) as stored; text that is not hex matches nothing."""
    try:
        return bytes.fromhex(text)
    except ValueError:
        return b""


# -- the indexer process ------------------------------------------------------------------


class IndexWriter:
    """Writes the index from the block store (one instance, in the indexer process)."""

    def __init__(self, blocks_dir: Path) -> None:
        self._db = _connect(blocks_dir / INDEX_FILE)
        self._blocks = BlockStore(blocks_dir, readonly=True)
        row = self._db.execute("SELECT indexed_height FROM meta").fetchone()
        self.indexed_height = int(row[0] or 0)

    def close(self) -> None:
        self._db.close()
        self._blocks.close()

    def catch_up(self) -> int:
        """Index every stored block above ``indexed_height``; returns the new height."""
        top = self._blocks.height
        while self.indexed_height < top:
            end = min(top, self.indexed_height + BATCH_BLOCKS)
            records = []
            for height in range(self.indexed_height + 1, end + 1):
                record = self._blocks.get(height)
                if record is None:
                    raise RuntimeError(f"block {height} missing from the block store")
                records.append(record)
            self.write(records)
        return self.indexed_height

    def write(self, records: Sequence[BlockRecord]) -> None:
        """Index consecutive blocks, starting at ``indexed_height + 1``, in one transaction."""
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            for record in records:
                # heights above indexed_height have no rows (rows and meta commit together)
                tx_rows, attr_rows = index_rows(record)
                db.executemany("INSERT OR REPLACE INTO txs VALUES (?, ?, ?)", tx_rows)
                db.executemany("INSERT OR IGNORE INTO attrs VALUES (?, ?, ?, ?)", attr_rows)
            top = records[-1].header.height
            db.execute("UPDATE meta SET indexed_height = ?", (top,))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        self.indexed_height = top


def serve(blocks_dir: Path) -> None:
    """The indexer process: catch up now, then on every line of stdin; exit at EOF."""
    writer = IndexWriter(blocks_dir)
    try:
        writer.catch_up()
        while sys.stdin.buffer.readline():
            writer.catch_up()
        writer.catch_up()
    finally:
        writer.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m aivm.devnet.txindex",
        description="Keep the devnet's tx index up to date with its block store "
        "(started by the devnet; indexes again on each line of stdin, exits at EOF).",
    )
    parser.add_argument("blocks_dir", type=Path, help="the home's data/blocks directory")
    args = parser.parse_args(argv)
    if not (args.blocks_dir / "blocks.sqlite").is_file():
        parser.error(f"no block store at {args.blocks_dir / 'blocks.sqlite'}")
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the node, which closes stdin
    with contextlib.suppress(OSError, AttributeError):  # no nice() on some platforms
        os.nice(10)  # the index can lag; the node and its clients should not wait for a CPU
    logging.basicConfig(level="WARNING", format="%(asctime)s txindex %(message)s")
    serve(args.blocks_dir)
    return 0


# -- the node's handle --------------------------------------------------------------------


class TxIndexer:
    """The node's side: starts the indexer process, tells it of new blocks, reads the index."""

    def __init__(self, blocks_dir: Path) -> None:
        self.blocks_dir = blocks_dir
        self._reader = _connect(blocks_dir / INDEX_FILE)
        self._proc: subprocess.Popen[bytes] | None = None
        self._start()

    def _start(self) -> None:
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "aivm.devnet.txindex", str(self.blocks_dir)],
            stdin=subprocess.PIPE,
        )

    @property
    def indexed_height(self) -> int:
        """The highest height whose txs are in the index."""
        row = self._reader.execute("SELECT indexed_height FROM meta").fetchone()
        return int(row[0] or 0)

    def notify(self) -> None:
        """A block was stored and committed: have the indexer catch up (restarted if it died)."""
        proc = self._proc
        if proc is None:
            return
        if proc.poll() is not None:
            log.warning("tx indexer exited with %s; restarting it", proc.returncode)
            self._start()
            return
        assert proc.stdin is not None
        try:
            proc.stdin.write(b"\n")
            proc.stdin.flush()
        except (BrokenPipeError, OSError):
            log.warning("tx indexer pipe closed; restarting it")
            self._start()

    async def caught_up(self, height: int, timeout: float) -> bool:
        """Wait until ``height`` is indexed (True) or ``timeout`` seconds pass (False)."""
        deadline = time.monotonic() + timeout
        while self.indexed_height < height:
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.005)
        return True

    def close(self, timeout: float = 60.0) -> None:
        """Let the indexer finish (it catches up and exits at EOF), then close the index."""
        proc, self._proc = self._proc, None
        if proc is not None:
            assert proc.stdin is not None
            with contextlib.suppress(OSError):
                proc.stdin.close()
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self._reader.close()

    def find_tx(self, tx_hash: bytes) -> tuple[int, int] | None:
        """(height, index) of a tx, or None."""
        row = self._reader.execute(
            "SELECT height, idx FROM txs WHERE hash = ?", (tx_hash,)
        ).fetchone()
        return None if row is None else (int(row[0]), int(row[1]))

    def count(
        self,
        equals: Sequence[tuple[str, str]],
        height_range: tuple[int | None, int | None] = (None, None),
    ) -> int:
        """How many txs match every ``key = value`` and the height range."""
        source, where, params = _match(equals, height_range)
        row = self._reader.execute(f"SELECT COUNT(*) FROM {source} WHERE {where}", params)
        return int(row.fetchone()[0])

    def search(
        self,
        equals: Sequence[tuple[str, str]],
        height_range: tuple[int | None, int | None] = (None, None),
        descending: bool = False,
        limit: int = -1,
        offset: int = 0,
    ) -> list[tuple[int, int]]:
        """(height, index) of txs matching every ``key = value`` and the height range, in
        order, ``limit`` of them (-1: all) after skipping ``offset``: one page, read by sqlite
        without the other matches ever reaching Python."""
        source, where, params = _match(equals, height_range)
        order = "DESC" if descending else "ASC"
        sql = (
            f"SELECT t.height, t.idx FROM {source} WHERE {where} "
            f"ORDER BY t.height {order}, t.idx {order} LIMIT ? OFFSET ?"
        )
        rows = self._reader.execute(sql, [*params, limit, offset]).fetchall()
        return [(int(h), int(i)) for h, i in rows]


def _match(
    equals: Sequence[tuple[str, str]], height_range: tuple[int | None, int | None]
) -> tuple[str, str, list[Any]]:
    """(FROM source, WHERE clause, parameters) of the txs matching every ``key = value`` and
    the height range; a ``tx.height`` that is not an int64 matches nothing."""
    lo, hi = height_range
    clauses: list[str] = []
    params: list[Any] = []
    attributes = [(k, v) for k, v in equals if k not in ("tx.hash", "tx.height")]
    source = "txs t"
    if attributes:  # drive the query from the first attribute's rows
        source = "attrs a JOIN txs t ON t.height = a.height AND t.idx = a.idx"
        clauses.append("a.key = ? AND a.value = ?")
        params += list(attributes[0])
    for key, value in attributes[1:]:
        clauses.append(
            "EXISTS (SELECT 1 FROM attrs b WHERE b.key = ? AND b.value = ? "
            "AND b.height = t.height AND b.idx = t.idx)"
        )
        params += [key, value]
    for key, value in equals:
        if key == "tx.hash":
            clauses.append("t.hash = ?")
            params.append(_hash_bytes(value))
        elif key == "tx.height":
            height = int64_value(value)
            clauses.append("t.height = ?")
            params.append(-1 if height is None else height)
    if lo is not None:
        clauses.append("t.height >= ?")
        params.append(lo)
    if hi is not None:
        clauses.append("t.height <= ?")
        params.append(hi)
    return source, " AND ".join(clauses) if clauses else "1", params


if __name__ == "__main__":
    sys.exit(main())
