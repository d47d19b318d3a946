"""The fee market under load on an embedded devnet (issue: "under a load benchmark the base
price rises while blocks are over target and decays after; txs under the current price are
rejected with code 13 and a message that states the price").

The devnet's genesis turns the market on (floor 0.01 ucgpt/gas, a target of 100,000 gas per
block, about two sends). The load driver of ``benchmarks/feemarket.py`` has six dev accounts
send one bank send each per block, every tx priced as the SDK's ``gas_price="auto"`` prices
it (the chain's GasPrice × 1.2, read at every block). Everything asserted comes from the
chain's own answers: the feemarket ``State`` at each height, the REST ``gas_price`` route,
``broadcast_tx_sync`` results and ``block_results``.
"""

from __future__ import annotations

import asyncio
import base64
import importlib.util
import json
import math
import re
import sys
import urllib.request
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from types import ModuleType
from typing import Any

from aivm.client import AsyncClient
from aivm.client.tx import Signer, bank_send, sign_tx
from aivm.crypto.hd import derive_privkey
from aivm.types.address import acc_address_bytes
from aivm.types.coin import Coin
from devnet_helpers import DevnetRestThread, wait_height

FLOOR_TEXT = "0.01"
FLOOR = Fraction(FLOOR_TEXT)
TARGET = 100_000
"""Gas per block the price aims at: about two sends (each uses ~50,000 gas)."""
SENDERS = 6
LOAD_BLOCKS = 8
DECAY_BLOCKS = 11
"""Enough empty blocks to fall from the peak (≤ 0.01 × 1.125⁹ ≈ 0.029) back to the floor."""
GAS = 100_000
ATTO = Fraction(1, 10**18)
PRICE_LOG = re.compile(
    r"insufficient fee; got: (\d+)ucgpt required: (\d+)ucgpt "
    r"\(base gas price ([0-9.]+)ucgpt/gas × gas (\d+)\)"
)


def load_benchmark() -> ModuleType:
    """``benchmarks/feemarket.py`` (the load driver) as a module."""
    path = Path(__file__).resolve().parents[2] / "benchmarks" / "feemarket.py"
    spec = importlib.util.spec_from_file_location("feemarket_benchmark", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


bench = load_benchmark()


@dataclass
class Seen:
    """What the run saw."""

    figures: list[Any]
    stats: Any
    load_codes: list[int]
    """FinalizeBlock codes of every tx in the loaded blocks."""
    probe: dict[str, Any]
    """``broadcast_tx_sync`` result of the underpaying tx sent at the peak."""
    rest_before: Fraction
    rest_after: Fraction
    """The REST ``gas_price`` just before and just after the probe."""
    probe_fee: int
    floor_tx: dict[str, Any]
    """``broadcast_tx_sync`` result of a tx paying the floor price after the decay."""


def rest_price(rest_url: str) -> Fraction:
    """``GET /aivm/feemarket/v1/gas_price`` → the price amount."""
    with urllib.request.urlopen(rest_url + "/aivm/feemarket/v1/gas_price", timeout=10) as resp:
        body = json.loads(resp.read())
    assert body["price"]["denom"] == "ucgpt", body
    return Fraction(body["price"]["amount"])


async def broadcast_send(
    client: AsyncClient, mnemonic: str, address: str, fee: int
) -> dict[str, Any]:
    """A send from ``address`` at its committed sequence; the raw ``broadcast_tx_sync`` result."""
    account = await client.account(address)
    assert account is not None
    own = acc_address_bytes(address)
    raw = sign_tx(
        [bank_send(own, own, [Coin("ucgpt", 1)])],
        [Signer(derive_privkey(mnemonic), account.account_number, account.sequence)],
        await client.chain_id(),
        fee=[Coin("ucgpt", fee)],
        gas_limit=GAS,
    )
    result: dict[str, Any] = await client.call(
        "broadcast_tx_sync", tx=base64.b64encode(raw).decode()
    )
    return result


async def block_codes(client: AsyncClient, height: int) -> list[int]:
    """FinalizeBlock result codes of the block's txs."""
    results = await client.call("block_results", height=str(height))
    return [int(r.get("code", 0)) for r in results["txs_results"] or []]


async def drive(url: str, rest_url: str, dev: list[tuple[str, str]]) -> Seen:
    """Load, probe at the peak, decay, probe at the floor, read every block's figures."""
    async with AsyncClient(url) as client:
        driver = bench.MarketLoad(client, GAS)
        await driver.add_senders(dev[1 : 1 + SENDERS])
        first, _ = await driver.load(LOAD_BLOCKS)
        prober_address, prober_mnemonic = dev[0]
        probe_fee = math.ceil(FLOOR * GAS)  # what a client with a fixed price at the floor pays
        rest_before = await asyncio.to_thread(rest_price, rest_url)
        probe = await broadcast_send(client, prober_mnemonic, prober_address, probe_fee)
        rest_after = await asyncio.to_thread(rest_price, rest_url)
        last = await driver.idle(DECAY_BLOCKS)
        floor_tx = await broadcast_send(client, prober_mnemonic, prober_address, probe_fee)
        figures = await driver.read_blocks(first, last)
        codes = [c for f in figures if f.txs for c in await block_codes(client, f.height)]
        return Seen(
            figures, driver.stats, codes, probe, rest_before, rest_after, probe_fee, floor_tx
        )


def test_base_price_rises_under_load_decays_after_and_underpaying_txs_get_code_13(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    market = bench.market_genesis(FLOOR_TEXT, "10", TARGET)
    dev = bench.prepare_home(home, SENDERS + 1, market)
    with DevnetRestThread(home, block_time_ms=200) as node:
        wait_height(node.url, 2)
        seen = asyncio.run(drive(node.url, node.rest_url, dev))
    table = "\n".join(bench.table(seen.figures, TARGET))

    # the load paid the moving price: CheckTx took every tx, FinalizeBlock ran them all
    assert seen.stats.rejected == {} and seen.stats.accepted == SENDERS * LOAD_BLOCKS, seen.stats
    assert seen.load_codes and set(seen.load_codes) == {0}, seen.load_codes
    assert max(seen.stats.fees_paid) > min(seen.stats.fees_paid)  # the fee followed the price

    # rise: every loaded block over the target raised the price, by at most 12.5%
    loaded = [i for i, f in enumerate(seen.figures) if f.txs]
    load = seen.figures[loaded[0] : loaded[-1] + 1]
    over = [f for f in load if f.gas_used > TARGET]
    assert len(over) >= LOAD_BLOCKS - 2, table
    for f in over:  # (Dec rounds to 18 decimals: the step may exceed 12.5% by 10⁻¹⁸)
        assert f.price_before < f.price_after <= f.price_before * Fraction(9, 8) + ATTO, table
    assert load[0].price_before == FLOOR, table
    assert max(f.price_after for f in load) > FLOOR * Fraction(3, 2), table

    # decay: after the load, each block falls until the price is back at the floor
    after = seen.figures[loaded[-1] + 1 :]
    assert len(after) >= DECAY_BLOCKS - 1, table
    for f in after:
        assert f.gas_used < TARGET, table
        if f.price_before > FLOOR:
            assert FLOOR <= f.price_after < f.price_before, table
        else:
            assert f.price_after == FLOOR, table
    assert after[-1].price_after == FLOOR, table

    # at the peak, a tx paying the floor price is refused with sdk 13 and a log with the price
    probe = seen.probe
    assert (probe["codespace"], int(probe["code"])) == ("sdk", 13), probe
    match = PRICE_LOG.search(probe["log"])
    assert match is not None, probe["log"]
    got, required, price, gas = int(match[1]), int(match[2]), Fraction(match[3]), int(match[4])
    assert (got, gas) == (seen.probe_fee, GAS)
    assert price in (seen.rest_before, seen.rest_after) and price > FLOOR * Fraction(3, 2), (
        price,
        seen,
    )
    assert required == math.ceil(price * GAS) > got

    # back at the floor, the same fee is enough
    assert int(seen.floor_tx["code"]) == 0, seen.floor_tx
