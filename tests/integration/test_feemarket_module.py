"""feemarket over ABCI: the base gas price rises while blocks are over the gas target and
decays after, by the exact per-block formula, within [floor, ceiling]; a tx paying less than
gas × price fails with code 13 in CheckTx and in FinalizeBlock (a consensus rule) with a log
that states the price; with ``burn_base_fee`` the base part of each fee is burned. Expected
prices are computed by hand on the 18-decimal backing integers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from aivm.app.application import AivmApp, AppOptions
from aivm.app.genesis import GenesisDoc
from aivm.modules.feemarket import feemarket_pb2
from aivm.modules.feemarket.keeper import next_base_gas_price, required_fee
from aivm.modules.feemarket.params import FeeMarketParams
from aivm.modules.framework import BlockHeader, Context, ExecMode
from aivm.store import CommitStore, GasMeter
from aivm.types import pb
from aivm.types.address import acc_address, module_address
from aivm.types.dec import Dec
from harness import Chain, genesis_doc, make_key

KEYS = [make_key(40 + i) for i in range(8)]
ALICE, BOB = KEYS[0], KEYS[1]
ONE = 10**18
Q = "/aivm.feemarket.v1.Query/"
GAS = 100_000
TARGET = 150_000
"""Gas target of the test market: about two sends (each uses ~70k gas)."""
MARKET = {
    "params": {
        "min_base_gas_price": "0.01",
        "max_base_gas_price": "10",
        "target_block_utilization": "0.5",
        "max_change_rate": "0.125",
        "burn_base_fee": False,
        "enabled": True,
        "block_gas_target": str(TARGET),
    },
    "state": {"base_gas_price": "0.025"},
}


def start(path: Path, market: dict[str, Any] | None = None, **options: Any) -> Chain:
    funded = {key.pubkey.address(): 10**12 for key in KEYS}
    doc = genesis_doc(funded, with_accounts=True)
    doc.app_state["authority"] = {"authority": acc_address(ALICE.pubkey.address())}
    if market is not None:
        doc.app_state["feemarket"] = market
    chain = Chain.start(path, funded, AppOptions(**options) if options else None, genesis=doc)
    chain.block([])
    return chain


@pytest.fixture
def chain(tmp_path: Path) -> Chain:
    return start(tmp_path / "data", MARKET)


def with_params(**changes: Any) -> dict[str, Any]:
    return {**MARKET, "params": {**MARKET["params"], **changes}}


def price(chain: Chain) -> Dec:
    _, value = chain.query(
        Q + "GasPrice", feemarket_pb2.QueryGasPriceRequest(), feemarket_pb2.QueryGasPriceResponse
    )
    assert value.price.denom == "ucgpt"
    return Dec(value.price.amount)


def supply(chain: Chain) -> int:
    _, value = chain.query(
        "/cosmos.bank.v1beta1.Query/SupplyOf",
        pb.bank_query.QuerySupplyOfRequest(denom="ucgpt"),
        pb.bank_query.QuerySupplyOfResponse,
    )
    return int(value.amount.amount)


def quo(a: int, b: int) -> int:
    """SDK LegacyDec ``Quo`` on backing integers (truncate, then round half to even)."""
    q = abs(a) * ONE * ONE // abs(b)
    whole, rem = divmod(q, ONE)
    if rem > ONE // 2 or (rem == ONE // 2 and whole % 2):
        whole += 1
    return whole if (a < 0) == (b < 0) else -whole


def mul(a: int, b: int) -> int:
    return quo(a * b, ONE * ONE)


def by_hand(price_raw: int, used: int, target: int, low: int, high: int) -> int:
    """price × (1 + 0.125 × clamp((used − target)/target, −1, 1)), clamped to [low, high]."""
    ratio = max(min(quo((used - target) * ONE, target * ONE), ONE), -ONE)
    new = mul(price_raw, ONE + mul(125 * ONE // 1000, ratio))
    return min(max(new, low), high)


def sends(chain: Chain, count: int, fee: int = 10_000) -> list[bytes]:
    return [
        chain.send_tx(KEYS[i % len(KEYS)], BOB.pubkey.address(), 1, fee=fee, gas=GAS)
        for i in range(count)
    ]


def deliver(chain: Chain, key: Any, msg: pb.Message) -> pb.abci.ExecTxResult:
    raw = chain.msgs_tx(key, [msg], fee=10_000, gas=200_000)
    check = chain.check(raw)
    if check.code:
        chain.block([])
        return pb.abci.ExecTxResult(code=check.code, codespace=check.codespace, log=check.log)
    return chain.block([raw]).tx_results[0]


def block_gas(response: pb.abci.ResponseFinalizeBlock) -> int:
    return sum(r.gas_used for r in response.tx_results)


def test_default_genesis_keeps_the_market_off(tmp_path: Path) -> None:
    chain = start(tmp_path / "data")
    assert price(chain) == Dec.zero()
    free = chain.send_tx(ALICE, BOB.pubkey.address(), 5, fee=0)
    assert chain.check(free).code == 0
    assert chain.block([free]).tx_results[0].code == 0
    assert price(chain) == Dec.zero()


def test_price_rises_over_target_and_decays_after(chain: Chain) -> None:
    low, high = Dec("0.01").bigint(), Dec("10").bigint()
    history = [price(chain)]
    for count in (6, 6, 6, 0, 0, 0, 0):
        before = price(chain).bigint()
        response = chain.block(sends(chain, count))
        assert all(r.code == 0 for r in response.tx_results), [r.log for r in response.tx_results]
        used = block_gas(response)
        assert price(chain).bigint() == by_hand(before, used, TARGET, low, high)
        event = [e for e in response.events if e.type == "aivm.feemarket.v1.EventBaseGasPrice"]
        assert {a.key: a.value for a in event[0].attributes}["gas_used"] == str(used)
        history.append(price(chain))
    rising, falling = history[:4], history[3:]
    assert rising == sorted(rising) and len(set(rising)) == 4
    assert falling == sorted(falling, reverse=True) and len(set(falling)) == 5
    # an empty block is the largest fall: exactly −12.5%
    assert history[-1].bigint() == mul(history[-2].bigint(), 875 * ONE // 1000)


def test_price_is_clamped_at_the_floor_and_the_ceiling(tmp_path: Path) -> None:
    chain = start(tmp_path / "data", with_params(max_base_gas_price="0.03"))
    for _ in range(3):
        chain.block(sends(chain, 8))
    assert price(chain) == Dec("0.03")
    for _ in range(12):
        chain.block([])
    assert price(chain) == Dec("0.01")


def test_next_price_unit() -> None:
    params = FeeMarketParams(enabled=True, block_gas_target=1000, min_base_gas_price=Dec.zero())
    assert next_base_gas_price(params, Dec("1"), 1000) == Dec("1")
    assert next_base_gas_price(params, Dec("1"), 1500) == Dec("1.0625")
    assert next_base_gas_price(params, Dec("1"), 5000) == Dec("1.125")  # bounded step
    assert next_base_gas_price(params, Dec("1"), 0) == Dec("0.875")
    assert next_base_gas_price(params, Dec.zero(), 5000) == Dec.zero()  # off stays off
    assert required_fee(Dec("0.025"), 100_001) == 2501  # ceil


def test_underpaying_tx_fails_with_code_13_in_check_tx_and_finalize_block(chain: Chain) -> None:
    assert price(chain) == Dec("0.021875")  # 0.025 after one empty block: −12.5%
    cheap = chain.send_tx(ALICE, BOB.pubkey.address(), 1, fee=100, gas=GAS)
    check = chain.check(cheap)
    want = (
        "insufficient fee; got: 100ucgpt required: 2188ucgpt "
        "(base gas price 0.021875ucgpt/gas × gas 100000)"
    )
    assert (check.codespace, check.code) == ("sdk", 13)
    assert want in check.log
    short = chain.send_tx(ALICE, BOB.pubkey.address(), 1, fee=2187, gas=GAS)
    assert chain.check(short).code == 13
    exact = chain.send_tx(ALICE, BOB.pubkey.address(), 1, fee=2188, gas=GAS)
    assert chain.check(exact).code == 0
    balance = chain.balance(ALICE.pubkey.address())
    response = chain.block([cheap], prepare=False)  # a proposer that ignored the rule
    result = response.tx_results[0]
    assert (result.codespace, result.code) == ("sdk", 13)
    assert want in result.log
    assert chain.balance(ALICE.pubkey.address()) == balance  # no fee taken, nothing sent


def test_node_minimum_still_applies_on_top_in_check_tx(tmp_path: Path) -> None:
    chain = start(tmp_path / "data", MARKET, min_gas_price=Dec("0.05"))
    tx = chain.send_tx(ALICE, BOB.pubkey.address(), 1, fee=2500, gas=GAS)  # market: 2188
    check = chain.check(tx)
    assert check.code == 13 and "required: 5000ucgpt" in check.log
    assert chain.block([tx], prepare=False).tx_results[0].code == 0  # node-local only


def test_burn_reduces_supply_by_the_base_part(tmp_path: Path) -> None:
    chain = start(tmp_path / "data", with_params(burn_base_fee=True))
    fee_collector = module_address("fee_collector")
    before_supply = supply(chain)
    fee = 4000
    response = chain.block([chain.send_tx(ALICE, BOB.pubkey.address(), 1, fee=fee, gas=GAS)])
    assert response.tx_results[0].code == 0
    base = 2188  # ceil(100000 × 0.021875)
    minted = sum(
        int(a.value)
        for e in response.events
        if e.type == "mint"
        for a in e.attributes
        if a.key == "amount"
    )
    assert supply(chain) == before_supply + minted - base
    moved = [
        (
            {a.key: a.value for a in e.attributes}["recipient"],
            {a.key: a.value for a in e.attributes}["amount"],
        )
        for e in response.tx_results[0].events
        if e.type == "transfer"
    ]
    feemarket = acc_address(module_address("feemarket"))
    assert (feemarket, f"{base}ucgpt") in moved  # the base part, burned at EndBlock
    assert (acc_address(fee_collector), f"{fee - base}ucgpt") in moved  # the tip
    assert chain.balance(module_address("feemarket")) == 0
    burns = [e for e in response.events if e.type == "burn"]
    assert [{a.key: a.value for a in e.attributes}["amount"] for e in burns] == ["2188ucgpt"]


def test_update_params_moves_price_into_new_bounds(chain: Chain) -> None:
    params = FeeMarketParams.from_json(with_params(min_base_gas_price="0.5")["params"])
    msg = feemarket_pb2.MsgUpdateParams(params=params.to_proto())
    msg.authority = acc_address(BOB.pubkey.address())
    result = deliver(chain, BOB, msg)
    assert (result.codespace, result.code) == ("gov", 12)
    msg.authority = acc_address(ALICE.pubkey.address())
    bad = feemarket_pb2.MsgUpdateParams(authority=msg.authority)
    bad.params.CopyFrom(msg.params)
    bad.params.max_change_rate = "1.5"
    result = deliver(chain, ALICE, bad)
    assert result.code != 0 and "max_change_rate" in result.log
    result = deliver(chain, ALICE, msg)
    assert result.code == 0, result.log
    assert price(chain) >= Dec("0.5")


def test_genesis_is_validated_and_round_trips(chain: Chain, tmp_path: Path) -> None:
    module = chain.app.manager.modules[
        [m.name for m in chain.app.manager.modules].index("feemarket")
    ]
    for bad in (
        with_params(min_base_gas_price="2", max_base_gas_price="1"),
        with_params(max_change_rate="0"),
        with_params(block_gas_target="0"),
        with_params(min_base_gas_price="-1"),
        {**MARKET, "state": {"base_gas_price": "20"}},  # above the ceiling
        {**MARKET, "extra": {}},
    ):
        with pytest.raises(Exception):  # noqa: B017 - any coded AivmError
            module.validate_genesis(bad)
    chain.block(sends(chain, 6))
    exported = chain.app.export_genesis().to_json()
    market = exported["app_state"]["feemarket"]
    assert Dec(market["state"]["base_gas_price"]) == price(chain)
    assert market["params"]["enabled"] is True
    doc = GenesisDoc.from_json(json.loads(json.dumps(exported)))
    fresh = Chain(app=AivmApp(CommitStore.open(tmp_path / "reimport")), path=tmp_path)
    fresh.app.init_chain(doc.init_chain_request())
    names = [m.name for m in fresh.app.manager.modules]
    reimported = fresh.app.manager.modules[names.index("feemarket")]
    header = BlockHeader(height=1, time_ns=0, chain_id=doc.chain_id)
    ctx = Context(fresh.app.store.working, GasMeter(None), header, ExecMode.QUERY)
    assert reimported.export_genesis(ctx) == exported["app_state"]["feemarket"]
    fresh.app.store.close()


def test_cli_gas_prices_auto_pays_the_market_price(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A devnet whose genesis turns the market on at 1 ucgpt/gas: the default price (0.025)
    is refused with code 13, ``--gas-prices auto`` pays the base price × 1.2."""
    from aivm.client import Client
    from aivm.node.home import HomePaths, create_home, load_dev_accounts
    from cli_runner import cli_runner
    from devnet_helpers import DevnetRestThread, wait_height

    home = tmp_path / "home"
    paths = HomePaths(home)
    create_home(paths, accounts=2)
    genesis = json.loads(paths.genesis.read_text())
    market = with_params(min_base_gas_price="1", max_base_gas_price="2")
    genesis["app_state"]["feemarket"] = {**market, "state": {"base_gas_price": "1"}}
    paths.genesis.write_text(json.dumps(genesis))
    dev = load_dev_accounts(paths)
    with DevnetRestThread(home, block_time_ms=100) as node:
        wait_height(node.url, 2)
        run = cli_runner(node.url, tmp_path / "cli", capsys, monkeypatch)
        assert run("keys", "import", "dev0", stdin=dev[0].mnemonic + "\n")[0] == 0
        code, out, err = run("query", "feemarket", "gas-price", "-o", "json")
        assert code == 0, err
        assert Dec(json.loads(out)["price"]["amount"]) >= Dec("1")
        send = ("tx", "bank", "send", "dev0", dev[1].address, "1ucgpt", "--yes", "-o", "json")
        code, out, err = run(*send, "--gas", "100000")
        assert code != 0 and "insufficient fee" in err and "base gas price" in err, (out, err)
        with Client(node.url) as client:
            before = client.balance(dev[0].address, "ucgpt")
            code, out, err = run(*send, "--gas", "100000", "--gas-prices", "auto", "--wait")
            assert code == 0, err
            assert json.loads(out)["code"] == 0, out
            paid = before - client.balance(dev[0].address, "ucgpt") - 1
        assert paid >= 120_000  # 100,000 gas × ≥ 1 ucgpt × 1.2
        assert paid <= 100_000 * 2 * 6 // 5  # the ceiling
