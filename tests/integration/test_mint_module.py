"""mint module over ABCI (Cosmos SDK x/mint v0.50): inflation steps toward the bonded-ratio
goal by the SDK's formula within its bounds, the supply grows by exactly the block provision
each block, and the provision lands in the fee collector. Expected values are computed here
by hand with integer arithmetic on the 18-decimal backing integers (as ``cosmossdk.io/math``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from aivm.app.application import AivmApp
from aivm.app.genesis import GenesisDoc
from aivm.modules.framework import BlockHeader, Context, ExecMode
from aivm.modules.mint import types
from aivm.modules.mint.keeper import block_provision, next_inflation_rate
from aivm.modules.mint.params import Minter, MintParams
from aivm.store import CommitStore, GasMeter
from aivm.types import pb
from aivm.types.address import acc_address, module_address
from aivm.types.dec import Dec
from harness import Chain, genesis_doc, make_key

ALICE, BOB = make_key(21), make_key(22)
SUPPLY = 10**15
ONE = 10**18
BLOCKS_PER_YEAR = 6_311_520
Q = "/cosmos.mint.v1beta1.Query/"
FEE_COLLECTOR = acc_address(module_address("fee_collector"))
MINT_ACCOUNT = acc_address(module_address("mint"))


def quo(a: int, b: int) -> int:
    """SDK LegacyDec ``Quo`` on backing integers: truncate a·10³⁶/b, then round half to even."""
    q = abs(a) * ONE * ONE // abs(b)
    whole, rem = divmod(q, ONE)
    if rem > ONE // 2 or (rem == ONE // 2 and whole % 2):
        whole += 1
    return whole if (a < 0) == (b < 0) else -whole


def mul(a: int, b: int) -> int:
    """SDK LegacyDec ``Mul``: a·b/10¹⁸ rounded half to even."""
    return quo(a * b, ONE * ONE)


def expected_inflation(inflation: int, bonded: int, change: int, low: int, high: int) -> int:
    """The SDK's NextInflationRate on backing integers."""
    per_year = mul(ONE - quo(bonded, 670_000_000_000_000_000), change)
    step = quo(per_year, BLOCKS_PER_YEAR * ONE)
    return min(max(inflation + step, low), high)


def start(path: Path, mint: dict[str, Any] | None = None) -> Chain:
    funded = {ALICE.pubkey.address(): SUPPLY - 10**6, BOB.pubkey.address(): 10**6}
    doc = genesis_doc(funded, with_accounts=True, inflation=True)
    doc.app_state["authority"] = {"authority": acc_address(ALICE.pubkey.address())}
    if mint is not None:
        doc.app_state["mint"] = mint
    chain = Chain.start(path, funded, genesis=doc)
    chain.block([])
    return chain


@pytest.fixture
def chain(tmp_path: Path) -> Chain:
    return start(tmp_path / "data")


def supply(chain: Chain) -> int:
    _, value = chain.query(
        "/cosmos.bank.v1beta1.Query/SupplyOf",
        pb.bank_query.QuerySupplyOfRequest(denom="ucgpt"),
        pb.bank_query.QuerySupplyOfResponse,
    )
    return int(value.amount.amount)


def inflation(chain: Chain) -> int:
    _, value = chain.query(
        Q + "Inflation", types.QueryInflationRequest(), types.QueryInflationResponse
    )
    return int(value.inflation.decode())


def annual_provisions(chain: Chain) -> int:
    _, value = chain.query(
        Q + "AnnualProvisions",
        types.QueryAnnualProvisionsRequest(),
        types.QueryAnnualProvisionsResponse,
    )
    return int(value.annual_provisions.decode())


def events(response: pb.abci.ResponseFinalizeBlock, kind: str) -> list[dict[str, str]]:
    return [
        {a.key: a.value for a in event.attributes}
        for event in response.events
        if event.type == kind
    ]


def test_default_params_are_the_sdk_defaults_in_ucgpt(chain: Chain) -> None:
    _, value = chain.query(Q + "Params", types.QueryParamsRequest(), types.QueryParamsResponse)
    assert value.params.mint_denom == "ucgpt"
    assert value.params.inflation_rate_change == "130000000000000000"
    assert value.params.inflation_max == "200000000000000000"
    assert value.params.inflation_min == "70000000000000000"
    assert value.params.goal_bonded == "670000000000000000"
    assert value.params.blocks_per_year == BLOCKS_PER_YEAR
    assert 130 * ONE // 1000 < inflation(chain) < 131 * ONE // 1000  # one block stepped it


def test_each_block_mints_its_provision_into_the_fee_collector(chain: Chain) -> None:
    for _ in range(4):
        before_supply, before_inflation = supply(chain), inflation(chain)
        response = chain.block([])
        (mint,) = events(response, "mint")
        bonded = int(Dec.from_str(mint["bonded_ratio"]).bigint())
        assert bonded == 0  # nothing bonded in this genesis
        want = expected_inflation(
            before_inflation, bonded, 130 * ONE // 1000, 70 * ONE // 1000, 200 * ONE // 1000
        )
        annual = want * before_supply  # MulInt: exact
        provision = annual // BLOCKS_PER_YEAR // ONE  # QuoInt truncates, then TruncateInt
        assert provision > 0
        assert inflation(chain) == want
        assert annual_provisions(chain) == annual
        assert mint["inflation"] == str(Dec.raw(want))
        assert mint["annual_provisions"] == str(Dec.raw(annual))
        assert mint["amount"] == str(provision)
        assert supply(chain) - before_supply == provision
        moved = [(t["sender"], t["recipient"], t["amount"]) for t in events(response, "transfer")]
        assert (MINT_ACCOUNT, FEE_COLLECTOR, f"{provision}ucgpt") in moved
        assert chain.balance(module_address("mint")) == 0


def test_inflation_is_clamped_to_its_bounds(tmp_path: Path) -> None:
    params = MintParams().to_json()
    minter = {"inflation": "0.199999999999999999", "annual_provisions": "0"}
    chain = start(tmp_path / "data", {"minter": minter, "params": params})
    assert inflation(chain) == 200 * ONE // 1000  # the step would pass the 20% ceiling
    chain.block([])
    assert inflation(chain) == 200 * ONE // 1000


@pytest.mark.parametrize(
    ("bonded", "start_inflation"),
    [
        ("0", "0.13"),
        ("0.5", "0.13"),
        ("0.67", "0.13"),
        ("0.9", "0.13"),
        ("1", "0.070000000000000001"),
        ("0.123456789012345678", "0.1999999999"),
    ],
)
def test_next_inflation_rate_is_the_sdk_formula(bonded: str, start_inflation: str) -> None:
    params = MintParams()
    minter = Minter(Dec(start_inflation))
    got = next_inflation_rate(minter, params, Dec(bonded))
    want = expected_inflation(
        Dec(start_inflation).bigint(),
        Dec(bonded).bigint(),
        params.inflation_rate_change.bigint(),
        params.inflation_min.bigint(),
        params.inflation_max.bigint(),
    )
    assert got.bigint() == want
    # toward the goal: up below 67% bonded, down above it, still at the goal
    if Dec(bonded) < params.goal_bonded:
        assert got >= minter.inflation
    elif params.goal_bonded < Dec(bonded):
        assert got <= minter.inflation
    else:
        assert got == minter.inflation


def test_block_provision_truncates() -> None:
    minter = Minter(Dec("0.13"), Dec("130000000000000.999999999999999999"))
    assert block_provision(minter, MintParams()) == 130_000_000_000_000 // BLOCKS_PER_YEAR


def test_update_params_by_the_authority_only(chain: Chain) -> None:
    params = MintParams(inflation_min=Dec("0.01"), blocks_per_year=100).to_proto()
    wrong = types.MsgUpdateParams(authority=acc_address(BOB.pubkey.address()), params=params)
    result = chain.deliver(BOB, wrong)
    assert (result.codespace, result.code) == ("gov", 12)
    bad = types.MsgUpdateParams(
        authority=acc_address(ALICE.pubkey.address()),
        params=MintParams(inflation_min=Dec("0.3")).to_proto(),  # min above max
    )
    result = chain.deliver(ALICE, bad)
    assert result.code != 0
    assert "must be greater than or equal to min inflation" in result.log
    ok = types.MsgUpdateParams(authority=acc_address(ALICE.pubkey.address()), params=params)
    result = chain.deliver(ALICE, ok)
    assert result.code == 0, result.log
    _, value = chain.query(Q + "Params", types.QueryParamsRequest(), types.QueryParamsResponse)
    assert value.params.blocks_per_year == 100
    assert value.params.inflation_min == "10000000000000000"
    before = supply(chain)
    response = chain.block([])
    (mint,) = events(response, "mint")
    assert int(mint["amount"]) == int(mint["annual_provisions"].split(".")[0]) // 100
    assert supply(chain) - before == int(mint["amount"])


def test_genesis_is_validated_and_round_trips(chain: Chain, tmp_path: Path) -> None:
    module = chain.app.manager.modules[[m.name for m in chain.app.manager.modules].index("mint")]
    for bad in (
        {"params": {"goal_bonded": "0"}},
        {"params": {"blocks_per_year": "0"}},
        {"params": {"inflation_max": "1.5"}},
        {"params": {"mint_denom": " "}},
        {"minter": {"inflation": "-0.1"}},
        {"minter": {"inflation": "0.1"}, "extra": 1},
    ):
        with pytest.raises(Exception):  # noqa: B017 - any coded AivmError
            module.validate_genesis(bad)
    for _ in range(3):
        chain.block([])
    exported = chain.app.export_genesis().to_json()
    mint = exported["app_state"]["mint"]
    assert mint["params"]["goal_bonded"] == "0.670000000000000000"
    assert mint["params"]["blocks_per_year"] == str(BLOCKS_PER_YEAR)
    assert Dec(mint["minter"]["inflation"]).bigint() == inflation(chain)
    doc = GenesisDoc.from_json(json.loads(json.dumps(exported)))
    fresh = Chain(app=AivmApp(CommitStore.open(tmp_path / "reimport")), path=tmp_path)
    fresh.app.init_chain(doc.init_chain_request())
    names = [m.name for m in fresh.app.manager.modules]
    reimported = fresh.app.manager.modules[names.index("mint")]
    header = BlockHeader(height=1, time_ns=0, chain_id=doc.chain_id)
    ctx = Context(fresh.app.store.working, GasMeter(None), header, ExecMode.QUERY)
    assert reimported.export_genesis(ctx) == exported["app_state"]["mint"]
    fresh.app.store.close()
