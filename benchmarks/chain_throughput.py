"""Chain-core throughput: signed MsgSend txs through CheckTx, then FinalizeBlock + Commit.

For each state size in --accounts, the script builds a store holding that many funded
accounts (a few thousand with real keys that send, the rest funded filler accounts), then
runs --blocks blocks of --block-size txs: every tx first through CheckTx, then the block
through FinalizeBlock and Commit. It prints one JSON line per state size:

    {"accounts": ..., "tx_per_s": ..., "commit_ms_p50": ..., "hash_ms_p50": ...,
     "check_tx_per_s": ..., "verify_per_s": ..., "tx_per_s_vs_verify": ...}

``tx_per_s`` counts FinalizeBlock + Commit wall time (the app hash is computed inside
FinalizeBlock; ``hash_ms_p50`` shows that part, ``commit_ms_p50`` the Commit call alone).
``verify_per_s`` is raw secp256k1 verification (libsecp256k1 via coincurve) measured in the
same run, the reference the ratio is taken against.

Usage: python benchmarks/chain_throughput.py --accounts 10000,1000000 [--blocks 3]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from aivm.app.application import AivmApp
from aivm.app.genesis import GenesisDoc
from aivm.client.tx import Signer, bank_send, sign_tx
from aivm.crypto.keys import PrivKey, verify_secp256k1
from aivm.modules.auth.types import Account
from aivm.modules.framework import BlockHeader, Context, ExecMode
from aivm.store import CommitStore, GasMeter
from aivm.types import pb
from aivm.types.coin import Coin, Coins

CHAIN_ID = "aivm-bench-1"
DENOM = "ucgpt"
CHUNK = 100_000


def key(i: int) -> PrivKey:
    """Deterministic sender key ``i``."""
    return PrivKey.from_bytes(hashlib.sha256(b"bench-%d" % i).digest())


def filler_address(i: int) -> bytes:
    """Deterministic 20-byte address for a funded account that never sends."""
    return hashlib.sha256(b"filler-%d" % i).digest()[:20]


def build_state(path: Path, n_accounts: int, senders: list[PrivKey]) -> AivmApp:
    """InitChain, then fund ``n_accounts`` accounts through the keepers.

    Accounts are written in chunks, each committed as an empty block, as a chain that grew
    over time would have; the senders come first so they hold account numbers 0…len-1.
    """
    app = AivmApp(CommitStore.open(path))
    app.init_chain(GenesisDoc(chain_id=CHAIN_ID, app_state={}).init_chain_request())
    funds = Coins.from_iter([Coin(DENOM, 10**12)])
    addresses = [k.pubkey.address() for k in senders]
    addresses += [filler_address(i) for i in range(n_accounts - len(senders))]
    for start in range(0, len(addresses), CHUNK):
        height = app.store.version + 1
        ctx = Context(
            app.store.working, GasMeter(None), BlockHeader(height, 0, CHAIN_ID), ExecMode.GENESIS
        )
        for number in range(start, min(start + CHUNK, len(addresses))):
            address = addresses[number]
            app.accounts.set_account(ctx, Account(address=address, account_number=number))
            app.bank.add_coins(ctx, address, funds)
            ctx.events.clear()
        if start + CHUNK >= len(addresses):
            app.accounts.set_next_account_number(ctx, len(addresses))
            app.bank.set_supply(ctx, DENOM, 10**12 * len(addresses))
        finalize(app, height, [])
        app.commit()
        print(
            f"# funded {min(start + CHUNK, n_accounts)}/{n_accounts}", file=sys.stderr, flush=True
        )
    return app


def finalize(app: AivmApp, height: int, txs: list[bytes]) -> pb.abci.ResponseFinalizeBlock:
    """FinalizeBlock at ``height``."""
    request = pb.abci.RequestFinalizeBlock(txs=txs, height=height)
    request.time.seconds = 1_790_000_000 + height
    return app.finalize_block(request)


def sign_block(senders: list[PrivKey], sequence: int, block_size: int, offset: int) -> list[bytes]:
    """``block_size`` signed sends, one per sender, each to another sender."""
    txs = []
    for i in range(block_size):
        k = senders[i]
        recipient = senders[(i + 1 + offset) % len(senders)].pubkey.address()
        txs.append(
            sign_tx(
                [bank_send(k.pubkey.address(), recipient, [Coin(DENOM, 1)])],
                [Signer(k, i, sequence)],
                CHAIN_ID,
                fee=[Coin(DENOM, 200)],
                gas_limit=100_000,
            )
        )
    return txs


def measure_verify(n: int = 5000) -> float:
    """Raw secp256k1 verifications per second."""
    k = key(0)
    msgs = [hashlib.sha256(b"m%d" % i).digest() for i in range(n)]
    sigs = [k.sign(m) for m in msgs]
    pub = k.pubkey.bytes
    start = time.perf_counter()
    for m, s in zip(msgs, sigs, strict=True):
        assert verify_secp256k1(pub, m, s)
    return n / (time.perf_counter() - start)


def run(n_accounts: int, block_size: int, blocks: int, workdir: Path) -> dict[str, float | int]:
    """Build the state, run the blocks, return the figures."""
    senders = [key(i) for i in range(block_size)]
    path = workdir / f"state-{n_accounts}"
    shutil.rmtree(path, ignore_errors=True)
    t0 = time.perf_counter()
    app = build_state(path, n_accounts, senders)
    print(
        f"# state of {n_accounts} accounts built in {time.perf_counter() - t0:.1f}s",
        file=sys.stderr,
        flush=True,
    )
    hash_ms: list[float] = []
    compute_hash = app.store.working_hash

    def timed_hash() -> bytes:
        start = time.perf_counter()
        root = compute_hash()
        hash_ms.append((time.perf_counter() - start) * 1000)
        return root

    app.store.working_hash = timed_hash  # type: ignore[method-assign]
    exec_s, commits, checks = 0.0, [], 0.0
    for b in range(blocks):
        txs = sign_block(senders, b, block_size, b)
        start = time.perf_counter()
        for raw in txs:
            response = app.check_tx(pb.abci.RequestCheckTx(tx=raw))
            assert response.code == 0, response.log
        checks += time.perf_counter() - start
        height = app.store.version + 1
        start = time.perf_counter()
        response = finalize(app, height, txs)
        mid = time.perf_counter()
        app.commit()
        end = time.perf_counter()
        failed = [r.log for r in response.tx_results if r.code != 0]
        assert not failed, failed[:3]
        exec_s += end - start
        commits.append((end - mid) * 1000)
    app.store.close()
    shutil.rmtree(path, ignore_errors=True)
    verify = measure_verify()
    tx_per_s = block_size * blocks / exec_s
    return {
        "accounts": n_accounts,
        "tx_per_s": round(tx_per_s, 1),
        "commit_ms_p50": round(statistics.median(commits), 1),
        "hash_ms_p50": round(statistics.median(hash_ms), 1),
        "check_tx_per_s": round(block_size * blocks / checks, 1),
        "verify_per_s": round(verify, 1),
        "tx_per_s_vs_verify": round(tx_per_s / verify, 3),
        "block_size": block_size,
        "blocks": blocks,
    }


def main() -> None:
    """Parse arguments and print one JSON line per state size."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--accounts", default="10000,1000000", help="comma-separated state sizes (funded accounts)"
    )
    parser.add_argument("--block-size", type=int, default=5000)
    parser.add_argument("--blocks", type=int, default=3)
    parser.add_argument(
        "--workdir",
        type=Path,
        default=None,
        help="where to build the stores (default: a temporary directory)",
    )
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="aivm-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        for n in (int(x) for x in args.accounts.split(",")):
            print(
                json.dumps(run(max(n, args.block_size), args.block_size, args.blocks, workdir)),
                flush=True,
            )
    finally:
        if args.workdir is None:  # ours: leave nothing behind
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
