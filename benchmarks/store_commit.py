"""Benchmark: commit cost of the state store as the state grows.

Builds a store of ``--accounts`` accounts (one account key and two balance keys each, so
3 × accounts keys), then commits ``--blocks`` blocks of ``--txs`` simulated bank sends (each
changes the sender's account and the balances of sender and recipient: about 3 × txs
changed keys). Prints one JSON object with the build time, per-block hash/commit times and
the store size.

    .venv/bin/python benchmarks/store_commit.py --accounts 100000 --txs 5000 --blocks 5
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import tempfile
import time

from aivm.store import CommitStore

ACCOUNT = b"auth/acc/"
BALANCE = b"bank/bal/"


def address(i: int) -> bytes:
    """A deterministic 20-byte address."""
    return hashlib.sha256(i.to_bytes(8, "big")).digest()[:20]


def account_value(i: int, sequence: int) -> bytes:
    """A ~100-byte account record."""
    return i.to_bytes(8, "big") + sequence.to_bytes(8, "big") + bytes(33) + b"\x0a" * 51


def load(store: CommitStore, accounts: int, batch: int) -> float:
    """Write the initial state in commits of ``batch`` accounts; return seconds taken."""
    start = time.perf_counter()
    working = store.working
    for first in range(0, accounts, batch):
        for i in range(first, min(first + batch, accounts)):
            addr = address(i)
            working.set(ACCOUNT + addr, account_value(i, 0))
            working.set(BALANCE + addr + b"ucgpt", b"1000000000")
            working.set(BALANCE + addr + b"uatom", b"5")
        store.commit()
    return time.perf_counter() - start


def run_block(store: CommitStore, accounts: int, txs: int, height: int) -> dict[str, float]:
    """Apply one block of ``txs`` sends; return the timings in seconds."""
    working = store.working
    start = time.perf_counter()
    for t in range(txs):
        sender = (height * 7919 + t * 104729) % accounts
        recipient = (sender * 31 + 17) % accounts
        s_addr = address(sender)
        r_addr = address(recipient)
        working.set(ACCOUNT + s_addr, account_value(sender, height))
        working.set(BALANCE + s_addr + b"ucgpt", str(10**9 - height).encode())
        working.set(BALANCE + r_addr + b"ucgpt", str(10**9 + height).encode())
    writes = time.perf_counter()
    store.working_hash()
    hashed = time.perf_counter()
    store.commit()
    committed = time.perf_counter()
    return {
        "writes_s": writes - start,
        "working_hash_s": hashed - writes,
        "commit_s": committed - hashed,
        "hash_plus_commit_s": committed - writes,
    }


def main() -> None:
    """Parse arguments, run, print JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--txs", type=int, default=5000)
    parser.add_argument("--blocks", type=int, default=5)
    parser.add_argument("--load-batch", type=int, default=100_000)
    parser.add_argument("--dir", default=None, help="store directory (default: a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep an existing store")
    args = parser.parse_args()

    path = args.dir or tempfile.mkdtemp(prefix="aivm-store-bench-")
    if not args.keep and os.path.exists(path):
        shutil.rmtree(path)
    store = CommitStore.open(path)
    load_s = 0.0
    if store.version == 0:
        load_s = load(store, args.accounts, args.load_batch)
    blocks = [
        run_block(store, args.accounts, args.txs, store.version + 1) for _ in range(args.blocks)
    ]
    store.close()
    size = sum(
        os.path.getsize(os.path.join(root, f)) for root, _, files in os.walk(path) for f in files
    )
    if not args.dir:
        shutil.rmtree(path)
    total = [b["hash_plus_commit_s"] for b in blocks]
    print(
        json.dumps(
            {
                "accounts": args.accounts,
                "keys": 3 * args.accounts,
                "txs_per_block": args.txs,
                "changed_keys_per_block": 3 * args.txs,
                "load_s": round(load_s, 2),
                "blocks": [{k: round(v, 4) for k, v in b.items()} for b in blocks],
                "median_working_hash_s": round(
                    statistics.median(b["working_hash_s"] for b in blocks), 4
                ),
                "median_commit_s": round(statistics.median(b["commit_s"] for b in blocks), 4),
                "median_hash_plus_commit_s": round(statistics.median(total), 4),
                "store_bytes": size,
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
