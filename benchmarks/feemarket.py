"""Fee market under load: the base gas price rises while blocks are over the gas target and
decays after (ADR 0013).

The script writes a devnet home whose genesis turns the fee market on (``--floor``,
``--ceiling``, a small ``--target`` gas per block), starts ``aivm devnet`` on it as a subprocess
(``devnet_load.Node``), and then:

1. **load**: ``--load-blocks`` rounds, one per block: in each, every one of ``--senders`` dev
   accounts sends one bank send (``--gas`` gas limit), then the driver waits for the next
   block. Every tx pays the price the SDK's
   ``gas_price="auto"`` pays (``aivm.client``: the chain's ``GasPrice`` query × 1.2, rounded
   up), read again at every new block, so the load keeps up with the price it drives up;
2. **probe and decay**: the load stops; dev0 sends one tx paying the floor price, which the
   raised price refuses (``sdk`` 13, the log states the price; ``underpay_probe`` in the
   JSON); the script watches ``--decay-blocks`` more blocks;
3. **figures**: for every block it reads the chain's own ``feemarket`` ``State`` at that height
   (the base price after the block, the gas used EndBlock saw) and prints one line per block:
   height, txs, gas used, target, base price (and its change), then a summary of the rise and
   the decay. One JSON line goes to stdout, the table and progress to stderr.

The load driver (:class:`MarketLoad`, :func:`read_blocks`, :func:`summarize`) is also used by
``tests/integration/test_feemarket_load.py`` against an in-process devnet.

Usage: python benchmarks/feemarket.py [--senders 8] [--load-blocks 12] [--decay-blocks 14]
       [--block-time 500] [--floor 0.01] [--ceiling 10] [--target 250000] [--gas 100000]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import math
import shutil
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from aivm.client import AsyncClient
from aivm.client.client import AUTO_GAS_PRICE_MARGIN, decode_gas_price
from aivm.client.errors import ChainError
from aivm.client.tx import Signer, bank_send, sign_tx
from aivm.crypto.hd import derive_privkey
from aivm.crypto.keys import PrivKey
from aivm.modules.feemarket import feemarket_pb2
from aivm.modules.feemarket.queries import QUERY_GAS_PRICE, QUERY_STATE
from aivm.node.home import HomePaths, create_home
from aivm.types.address import acc_address_bytes
from aivm.types.coin import Coin

sys.path.insert(0, str(Path(__file__).resolve().parent))
from devnet_load import Node, log

DENOM = "ucgpt"
SEQUENCE_MISMATCH = 32


def market_genesis(floor: str, ceiling: str, target: int) -> dict[str, Any]:
    """The ``feemarket`` genesis section of a chain with the market on, starting at the floor."""
    return {
        "params": {
            "min_base_gas_price": floor,
            "max_base_gas_price": ceiling,
            "target_block_utilization": "0.5",
            "max_change_rate": "0.125",
            "burn_base_fee": False,
            "enabled": True,
            "block_gas_target": str(target),
        },
        "state": {"base_gas_price": floor},
    }


def prepare_home(home: Path, accounts: int, market: dict[str, Any]) -> list[tuple[str, str]]:
    """Create a devnet home with ``accounts`` dev accounts and the given ``feemarket`` genesis
    section; returns the dev accounts as (address, mnemonic)."""
    paths = HomePaths(home)
    _, _, dev = create_home(paths, accounts=accounts)
    genesis = json.loads(paths.genesis.read_text())
    genesis["app_state"]["feemarket"] = market
    paths.genesis.write_text(json.dumps(genesis))
    return [(account.address, account.mnemonic) for account in dev]


@dataclass
class Sender:
    """A funded key and the next sequence it signs with."""

    key: PrivKey
    address: str
    account_number: int
    sequence: int


@dataclass
class BlockFigures:
    """One block as the chain's feemarket State reports it."""

    height: int
    txs: int
    gas_used: int
    """Gas used by the block, as EndBlock saw it (``State.last_block_gas_used``)."""
    price_before: Fraction
    """Base gas price the block's txs had to pay."""
    price_after: Fraction
    """Base gas price after the block's EndBlock."""


@dataclass
class LoadStats:
    """What the load sent and what CheckTx said."""

    accepted: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    """``codespace/code`` → count."""
    fees_paid: list[int] = field(default_factory=list)


class MarketLoad:
    """Drives bank sends at the SDK's auto price against a devnet's RPC (``url``)."""

    def __init__(self, client: AsyncClient, gas: int = 100_000) -> None:
        self.client = client
        self.gas = gas
        self.senders: list[Sender] = []
        self.stats = LoadStats()
        self.chain_id = ""

    async def add_senders(self, accounts: list[tuple[str, str]]) -> None:
        """Sign for these (address, mnemonic) accounts, at their committed sequence."""
        for address, mnemonic in accounts:
            account = await self.client.account(address)
            if account is None:
                raise RuntimeError(f"sender {address} has no account")
            key = derive_privkey(mnemonic)
            self.senders.append(Sender(key, address, account.account_number, account.sequence))

    async def gas_price(self, height: int = 0) -> Fraction:
        """The base gas price (``/aivm.feemarket.v1.Query/GasPrice``; 0 when off)."""
        decoded = decode_gas_price(await self.client.abci_query(QUERY_GAS_PRICE, b"", height))
        return decoded[0] if decoded is not None else Fraction(0)

    async def auto_fee(self) -> int:
        """What ``gas_price="auto"`` pays for ``gas`` now: ceil(gas × price × 1.2)."""
        return math.ceil(await self.gas_price() * AUTO_GAS_PRICE_MARGIN * self.gas)

    async def height(self) -> int:
        """The latest committed height."""
        return int((await self.client.call("status"))["sync_info"]["latest_block_height"])

    async def next_height(self, after: int, timeout: float = 20.0) -> int:
        """Wait until a height above ``after`` is committed; that height."""
        deadline = time.monotonic() + timeout
        while (height := await self.height()) <= after:
            if time.monotonic() > deadline:
                raise TimeoutError(f"no block after height {after}")
            await asyncio.sleep(0.02)
        return height

    def signed_send(self, sender: Sender, fee: int) -> bytes:
        """A 1ucgpt send from ``sender`` to itself at its next sequence."""
        own = acc_address_bytes(sender.address)
        return sign_tx(
            [bank_send(own, own, [Coin(DENOM, 1)])],
            [Signer(sender.key, sender.account_number, sender.sequence)],
            self.chain_id,
            fee=[Coin(DENOM, fee)],
            gas_limit=self.gas,
        )

    async def send(self, sender: Sender, fee: int) -> None:
        """Broadcast one send; on a sequence mismatch, take the sequence CheckTx expects."""
        try:
            await self.client.broadcast(self.signed_send(sender, fee))
        except ChainError as err:
            self.stats.rejected[f"{err.codespace}/{err.code}"] += 1
            if err.code == SEQUENCE_MISMATCH and "expected " in err.log:
                sender.sequence = int(err.log.split("expected ", 1)[1].split(",")[0])
            return
        sender.sequence += 1
        self.stats.accepted += 1
        self.stats.fees_paid.append(fee)

    async def probe(self, address: str, mnemonic: str, fee: int) -> dict[str, Any]:
        """Broadcast one send from ``address`` paying ``fee``; CheckTx's code, codespace, log."""
        account = await self.client.account(address)
        if account is None:
            raise RuntimeError(f"probe account {address} has no account")
        sender = Sender(derive_privkey(mnemonic), address, account.account_number, account.sequence)
        self.chain_id = self.chain_id or (await self.client.status()).chain_id
        raw = self.signed_send(sender, fee)
        result = await self.client.call("broadcast_tx_sync", tx=base64.b64encode(raw).decode())
        return {k: result.get(k) for k in ("code", "codespace", "log")}

    async def load(self, rounds: int) -> tuple[int, int]:
        """``rounds`` rounds of one send per sender, each round priced at the auto price of
        the block it is sent in and followed by a wait for the next block (so one round per
        block unless sending takes longer than a block); (first, last) height committed while
        loading."""
        self.chain_id = self.chain_id or (await self.client.status()).chain_id
        start = height = await self.height()
        for _ in range(rounds):
            fee = await self.auto_fee()
            await asyncio.gather(*(self.send(sender, fee) for sender in self.senders))
            height = await self.next_height(height)
        return start + 1, height

    async def idle(self, blocks: int) -> int:
        """Wait ``blocks`` blocks without sending; the last height."""
        height = await self.height()
        for _ in range(blocks):
            height = await self.next_height(height)
        return height

    async def state(self, height: int) -> feemarket_pb2.State:
        """The feemarket State committed at ``height``."""
        raw = await self.client.abci_query(QUERY_STATE, b"", height)
        state: feemarket_pb2.State = feemarket_pb2.QueryStateResponse.FromString(raw).state
        return state

    async def read_blocks(self, first: int, last: int) -> list[BlockFigures]:
        """The figures of blocks ``first``…``last`` from the chain's own queries."""
        figures = []
        before = Fraction((await self.state(first - 1)).base_gas_price or "0")
        for height in range(first, last + 1):
            state = await self.state(height)
            after = Fraction(state.base_gas_price or "0")
            block = await self.client.block(height)
            figures.append(
                BlockFigures(height, block.num_txs, int(state.last_block_gas_used), before, after)
            )
            before = after
        return figures


def price_text(price: Fraction) -> str:
    """A price as decimal text with 6 decimals (display only)."""
    scaled = round(price * 1_000_000)
    return f"{scaled // 1_000_000}.{scaled % 1_000_000:06d}"


def table(figures: list[BlockFigures], target: int) -> list[str]:
    """One line per block: height, txs, gas used, target, base price after it, change."""
    lines = [f"{'height':>6} {'txs':>4} {'gas_used':>9} {'target':>8} {'base_price':>10}  change"]
    for f in figures:
        change = (f.price_after - f.price_before) / f.price_before if f.price_before else 0
        mark = ">" if f.gas_used > target else "<" if f.gas_used < target else "="
        lines.append(
            f"{f.height:>6} {f.txs:>4} {f.gas_used:>9} {mark}{target:>7} "
            f"{price_text(f.price_after):>10}  {float(change) * 100:+.1f}%"
        )
    return lines


def summarize(figures: list[BlockFigures], target: int, floor: Fraction) -> dict[str, Any]:
    """Rise and decay: the loaded blocks are those from the first to the last block with txs;
    the price over them, how many were over target and rose, and the decay after."""
    loaded = [i for i, f in enumerate(figures) if f.txs]
    if not loaded:
        return {"loaded_blocks": 0}
    lo, hi = loaded[0], loaded[-1]
    load, after = figures[lo : hi + 1], figures[hi + 1 :]
    over = [f for f in load if f.gas_used > target]
    peak = max(f.price_after for f in figures)
    decay_to_floor = next((i + 1 for i, f in enumerate(after) if f.price_after == floor), None)
    return {
        "target": target,
        "floor": price_text(floor),
        "loaded_blocks": len(load),
        "over_target_blocks": len(over),
        "over_target_and_rose": sum(f.price_after > f.price_before for f in over),
        "mean_gas_used_loaded": sum(f.gas_used for f in load) // len(load),
        "price_start": price_text(load[0].price_before),
        "price_peak": price_text(peak),
        "rise_factor": round(float(peak / load[0].price_before), 3) if load[0].price_before else 0,
        "decay_blocks": len(after),
        "decay_fell_every_block_above_floor": all(
            f.price_after < f.price_before or f.price_before == floor for f in after
        ),
        "price_end": price_text(figures[-1].price_after),
        "blocks_to_floor_after_load": decay_to_floor,
    }


async def run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """Start the node on a market-on home, load, decay, read the figures."""
    floor = Fraction(args.floor)
    market = market_genesis(args.floor, args.ceiling, args.target)
    dev = prepare_home(workdir / "home", args.senders + 1, market)
    node = Node(workdir, args.block_time, None)
    try:
        url = await node.wait_ready()
        log(f"devnet at {url}; market floor {args.floor}, target {args.target} gas/block")
        async with AsyncClient(url) as client:
            driver = MarketLoad(client, args.gas)
            while await driver.height() < 2:
                await asyncio.sleep(0.05)
            await driver.add_senders(dev[1:])  # dev0 operates the validator
            started = time.perf_counter()
            first, last_loaded = await driver.load(args.load_blocks)
            load_s = time.perf_counter() - started
            probe_fee = math.ceil(floor * args.gas)  # the floor price: under the raised one
            probe = await driver.probe(*dev[0], probe_fee)
            last = await driver.idle(args.decay_blocks)
            figures = await driver.read_blocks(first, last)
    finally:
        node.stop()
    for line in table(figures, args.target):
        print(line, file=sys.stderr)
    summary = summarize(figures, args.target, floor)
    stats = driver.stats
    summary.update(
        senders=args.senders,
        block_time_ms=args.block_time,
        load_seconds=round(load_s, 1),
        accepted=stats.accepted,
        rejected=dict(stats.rejected),
        fee_min=min(stats.fees_paid, default=0),
        fee_max=max(stats.fees_paid, default=0),
        last_loaded_round_height=last_loaded,
        underpay_probe={"fee": probe_fee, **probe},
    )
    return summary


def main() -> None:
    """Parse the options, run, print the JSON summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--senders", type=int, default=8, help="dev accounts sending each block")
    parser.add_argument("--load-blocks", type=int, default=12)
    parser.add_argument("--decay-blocks", type=int, default=14)
    parser.add_argument("--block-time", type=int, default=500, help="milliseconds")
    parser.add_argument("--floor", default="0.01", help="min_base_gas_price (ucgpt/gas)")
    parser.add_argument("--ceiling", default="10", help="max_base_gas_price (ucgpt/gas)")
    parser.add_argument("--target", type=int, default=250_000, help="block_gas_target")
    parser.add_argument("--gas", type=int, default=100_000, help="gas limit of each send")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="aivm-feemarket-"))
    try:
        result = asyncio.run(run(args, workdir))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
