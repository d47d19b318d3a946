"""compute module (provider registry) over ABCI: registration with collateral, tier and
offers of off-chain model versions, every message's coded errors, the offer index in price
order, availability by heartbeat, exit with the collateral back after staking's unbonding
time, the slash and jail keeper API, params, queries, genesis round trip, invariants, and a
CLI + REST flow on a devnet."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import json_format

from aivm.ai import runtime
from aivm.ai.runtime.model import Dense, InputSpec, Model, Threshold, int_array
from aivm.crypto.cid import cid_of
from aivm.modules.compute import ComputeKeeper, compute_pb2
from aivm.modules.compute.client import ComputeClient
from aivm.modules.compute.errors import (
    ErrInvalidEvidence,
    ErrInvalidFraction,
    ErrProviderNotFound,
    ErrUnknownReason,
)
from aivm.modules.compute.index_checks import check_offer_index
from aivm.modules.compute.keys import offer_key
from aivm.modules.compute.params import DEFAULT_PARAMS
from aivm.modules.framework import BlockHeader, Context, ExecMode
from aivm.modules.staking import genesis as staking_genesis
from aivm.store import GasMeter
from aivm.types import pb
from aivm.types.address import acc_address, module_address
from aivm.types.dec import Dec
from aivm.types.errors import AivmError
from aivm.types.protogen import ai_pb2, storage_pb2
from harness import DENOM, Chain, genesis_doc, make_key

KEYS = [make_key(200 + i) for i in range(5)]
ADDRS = [acc_address(k.pubkey.address()) for k in KEYS]
OWNER, AUTHORITY = make_key(210), make_key(99)
OWNER_ADDR = acc_address(OWNER.pubkey.address())
AUTHORITY_ADDR = acc_address(AUTHORITY.pubkey.address())
Q = "/aivm.compute.v1.Query/"
COMPUTE_ACCOUNT = module_address("compute")
UNBONDING_S = 30
MIN = 1_000
ENTRY, STANDARD, HIGH = (
    compute_pb2.TIER_ENTRY,
    compute_pb2.TIER_STANDARD,
    compute_pb2.TIER_HIGH_PERFORMANCE,
)
ARTIFACT = b"an off-chain onnx model, stored by its owner"


def params(**changes: Any) -> dict[str, Any]:
    base = json_format.MessageToDict(DEFAULT_PARAMS.to_proto(), preserving_proto_field_name=True)
    base.update(min_collateral=str(MIN), heartbeat_timeout_blocks="5", max_offers=4)
    base.update(changes)
    return base


def scorer() -> bytes:
    spec = InputSpec(3, -1000, 1000, (10, 10, 1), (1, 1, 1), (0, 0, 0), ("a", "b", "c"))
    ops = (Dense((0,), int_array([[2, -1, 3]], 2), int_array([0])), Threshold((1,), 100))
    return runtime.serialize(Model(spec, ops, name="scorer"))


def offchain_model(version: str) -> ai_pb2.MsgRegisterModel:
    return ai_pb2.MsgRegisterModel(
        owner=OWNER_ADDR,
        name="remote-lm",
        version=version,
        artifact_cid=cid_of(ARTIFACT),
        artifact_sha256=hashlib.sha256(ARTIFACT).digest(),
        artifact_size=len(ARTIFACT),
        format="onnx",
        execution_path="offchain",
    )


def onchain_model() -> ai_pb2.MsgRegisterModel:
    artifact = scorer()
    return ai_pb2.MsgRegisterModel(
        owner=OWNER_ADDR,
        name="scorer",
        version="1.0.0",
        artifact_cid=cid_of(artifact),
        artifact_sha256=hashlib.sha256(artifact).digest(),
        format=runtime.FORMAT,
        execution_path="onchain",
        artifact=artifact,
    )


def start(path: Path, differential: bool = False, **changes: Any) -> Chain:
    """Model 1 (off-chain, versions 1.0.0 and 1.1.0) and model 2 (on-chain 1.0.0) exist."""
    funded = {k.pubkey.address(): 10**12 for k in [*KEYS, OWNER, AUTHORITY]}
    doc = genesis_doc(funded, with_accounts=True)
    doc.app_state["compute"] = {"params": params(**changes)}
    doc.app_state["authority"] = {"authority": AUTHORITY_ADDR}
    staking = staking_genesis.default_genesis()["params"]
    staking.update(unbonding_time=f"{UNBONDING_S}s")
    doc.app_state["staking"] = {"params": staking}
    chain = Chain.start(path, funded, genesis=doc, differential=differential)
    chain.block([])
    store = storage_pb2.MsgStoreObject(
        owner=OWNER_ADDR, cid=cid_of(ARTIFACT), retention_blocks=1000, root_block=ARTIFACT
    )
    for msg in (store, offchain_model("1.0.0"), offchain_model("1.1.0"), onchain_model()):
        result = chain.deliver(OWNER, msg)
        assert result.code == 0, result.log
    return chain


@pytest.fixture
def chain(tmp_path: Path) -> Chain:
    return start(tmp_path / "data")


def hardware(gpu_memory_gib: int = 0, gpus: int = 1) -> compute_pb2.Hardware:
    if gpu_memory_gib == 0:
        return compute_pb2.Hardware(cpu_cores=16, memory_mib=65536)
    return compute_pb2.Hardware(
        gpu_model="GPU-X",
        gpu_count=gpus,
        gpu_memory_mib=gpu_memory_gib * 1024,
        cpu_cores=32,
        memory_mib=262144,
    )


def offer(price: int, model_id: int = 1, version: str = "1.0.0") -> compute_pb2.Offer:
    return compute_pb2.Offer(model_id=model_id, version=version, price_per_unit=str(price))


def register_msg(i: int, **changes: Any) -> compute_pb2.MsgRegisterProvider:
    fields: dict[str, Any] = dict(
        operator=ADDRS[i],
        collateral=pb.coin.Coin(denom=DENOM, amount=str(5_000)),
        hardware=hardware(80),
        runtimes=["onnxruntime", "torch"],
        offers=[offer(100)],
        capacity=4,
        moniker=f"p{i}",
    )
    fields.update(changes)
    return compute_pb2.MsgRegisterProvider(**fields)


def register(chain: Chain, i: int, **changes: Any) -> pb.abci.ExecTxResult:
    return chain.deliver(KEYS[i], register_msg(i, **changes))


def provider(chain: Chain, i: int) -> compute_pb2.QueryProviderResponse:
    result, value = chain.query(
        Q + "Provider",
        compute_pb2.QueryProviderRequest(operator=ADDRS[i]),
        compute_pb2.QueryProviderResponse,
    )
    assert result.code == 0, result.log
    return value


def asks(
    chain: Chain, tier: int = 0, version: str = "1.0.0", **more: Any
) -> list[tuple[str, int, str]]:
    request = compute_pb2.QueryAsksRequest(model_id=1, version=version, tier=tier, **more)  # type: ignore[arg-type]
    result, value = chain.query(Q + "Asks", request, compute_pb2.QueryAsksResponse)
    assert result.code == 0, result.log
    return [(a.operator, a.tier, a.price_per_unit) for a in value.asks]


def events(
    result: pb.abci.ExecTxResult | pb.abci.ResponseFinalizeBlock, kind: str
) -> list[dict[str, str]]:
    return [
        {a.key: a.value for a in e.attributes if a.key not in ("mode", "msg_index")}
        for e in result.events
        if e.type == kind
    ]


def keeper_ctx(chain: Chain) -> tuple[ComputeKeeper, Context]:
    """The keeper and a FINALIZE context on the app's working state (committed with the next
    block)."""
    keeper = chain.app.manager.keepers.get("compute", ComputeKeeper)
    header = BlockHeader(chain.height + 1, (chain.time_s + 1) * 10**9, "aivm-test-1")
    return keeper, Context(chain.app.store.working, GasMeter(None), header, ExecMode.FINALIZE)


def code(result: pb.abci.ExecTxResult) -> tuple[str, int]:
    return result.codespace, result.code


# -- registration -----------------------------------------------------------------------------


def test_register_moves_collateral_sets_the_tier_and_indexes_offers(chain: Chain) -> None:
    before = chain.balance(KEYS[0].pubkey.address())
    result = register(chain, 0, offers=[offer(100), offer(70, version="1.1.0")])
    assert result.code == 0, result.log
    assert events(result, "compute_provider_register") == [
        {
            "operator": ADDRS[0],
            "collateral": f"5000{DENOM}",
            "tier": "TIER_HIGH_PERFORMANCE",
            "offers": "2",
        }
    ]
    data = pb.sdk_abci.TxMsgData.FromString(result.data)
    response = compute_pb2.MsgRegisterProviderResponse.FromString(data.msg_responses[0].value)
    assert response.tier == HIGH
    assert chain.balance(COMPUTE_ACCOUNT) == 5_000
    assert chain.balance(KEYS[0].pubkey.address()) == before - 5_000 - 20_000  # collateral + fee
    found = provider(chain, 0)
    record = found.provider
    assert found.available
    assert record.status == compute_pb2.PROVIDER_STATUS_ACTIVE
    assert (record.collateral, record.capacity, record.tier) == ("5000", 4, HIGH)
    assert Dec(record.reputation) == Dec("0.5")
    assert record.last_seen_height == chain.height and not record.hardware_attested
    assert asks(chain) == [(ADDRS[0], HIGH, "100")]
    assert asks(chain, version="1.1.0") == [(ADDRS[0], HIGH, "70")]


@pytest.mark.parametrize(
    ("gib", "gpus", "tier"),
    [(0, 0, ENTRY), (8, 2, ENTRY), (12, 1, STANDARD), (24, 4, STANDARD), (40, 1, HIGH)],
)
def test_tier_follows_memory_per_gpu(chain: Chain, gib: int, gpus: int, tier: int) -> None:
    assert register(chain, 0, hardware=hardware(gib, gpus)).code == 0
    assert provider(chain, 0).provider.tier == tier
    assert asks(chain, tier) == [(ADDRS[0], tier, "100")]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"collateral": pb.coin.Coin(denom=DENOM, amount=str(MIN - 1))}, 4),
        ({"collateral": pb.coin.Coin(denom="uatom", amount="5000")}, 5),
        ({"collateral": pb.coin.Coin(denom=DENOM, amount="0")}, 5),
        ({"hardware": compute_pb2.Hardware(gpu_count=1, cpu_cores=4, memory_mib=1)}, 6),
        ({"hardware": compute_pb2.Hardware(cpu_cores=0, memory_mib=1)}, 6),
        (
            {
                "hardware": compute_pb2.Hardware(
                    gpu_model="x" * 65, gpu_count=1, gpu_memory_mib=1, cpu_cores=1, memory_mib=1
                )
            },
            6,
        ),
        ({"runtimes": []}, 7),
        ({"runtimes": ["cuda-magic"]}, 7),
        ({"runtimes": ["torch", "torch"]}, 7),
        ({"offers": [offer(100), offer(200)]}, 8),  # the same version twice
        ({"offers": [offer(0)]}, 8),
        ({"offers": [offer(1 << 128)]}, 8),
        ({"offers": [offer(5, version="")]}, 8),
        ({"offers": [offer(5, model_id=0)]}, 8),
        ({"offers": [offer(i + 1, version=f"1.{i}.0") for i in range(5)]}, 8),  # max_offers 4
        ({"offers": [offer(5, version="9.9.9")]}, 9),
        ({"offers": [offer(5, model_id=77)]}, 9),
        ({"offers": [offer(5, model_id=2)]}, 10),  # on-chain model
        ({"capacity": 0}, 11),
        ({"capacity": DEFAULT_PARAMS.max_capacity + 1}, 11),
        ({"moniker": "m" * 71}, 12),
    ],
    ids=[
        "low-collateral",
        "denom",
        "zero-collateral",
        "gpu-without-model",
        "no-cpu",
        "long-gpu-model",
        "no-runtime",
        "unknown-runtime",
        "duplicate-runtime",
        "duplicate-offer",
        "zero-price",
        "huge-price",
        "no-version",
        "no-model",
        "too-many-offers",
        "unknown-version",
        "unknown-model",
        "onchain-model",
        "zero-capacity",
        "over-capacity",
        "long-moniker",
    ],
)
def test_bad_registrations_are_refused_with_coded_errors(
    chain: Chain, changes: dict[str, Any], expected: int
) -> None:
    before = chain.balance(KEYS[0].pubkey.address())
    result = register(chain, 0, **changes)
    assert code(result) == ("compute", expected), result.log
    assert chain.balance(COMPUTE_ACCOUNT) == 0
    assert chain.balance(KEYS[0].pubkey.address()) >= before - 20_000
    assert asks(chain) == []


def test_registering_twice_and_missing_providers(chain: Chain) -> None:
    assert register(chain, 0).code == 0
    assert code(register(chain, 0)) == ("compute", 3)
    for msg in (
        compute_pb2.MsgProviderHeartbeat(operator=ADDRS[1]),
        compute_pb2.MsgPauseProvider(operator=ADDRS[1]),
        compute_pb2.MsgExitProvider(operator=ADDRS[1]),
        compute_pb2.MsgAddCollateral(
            operator=ADDRS[1], amount=pb.coin.Coin(denom=DENOM, amount="5")
        ),
    ):
        assert code(chain.deliver(KEYS[1], msg)) == ("compute", 2)
    result, _ = chain.query(
        Q + "Provider",
        compute_pb2.QueryProviderRequest(operator=ADDRS[1]),
        compute_pb2.QueryProviderResponse,
    )
    assert (result.codespace, result.code) == ("compute", 2)


# -- the offer index ----------------------------------------------------------------------------


def test_asks_come_cheapest_first_per_tier_and_stop_at_max_price(chain: Chain) -> None:
    prices = [300, 100, 200, 100]
    for i, price in enumerate(prices):
        assert register(chain, i, offers=[offer(price)]).code == 0
    assert register(chain, 4, offers=[offer(50)], hardware=hardware(16)).code == 0
    cheap_tie = sorted([ADDRS[1], ADDRS[3]], key=lambda a: KEYS[ADDRS.index(a)].pubkey.address())
    assert asks(chain, HIGH) == [
        (cheap_tie[0], HIGH, "100"),
        (cheap_tie[1], HIGH, "100"),
        (ADDRS[2], HIGH, "200"),
        (ADDRS[0], HIGH, "300"),
    ]
    assert asks(chain, STANDARD) == [(ADDRS[4], STANDARD, "50")]
    assert [a[1] for a in asks(chain)] == [STANDARD, HIGH, HIGH, HIGH, HIGH]  # by tier, then price
    assert asks(chain, HIGH, max_price="150") == asks(chain, HIGH)[:2]
    keeper, ctx = keeper_ctx(chain)
    book = list(keeper.asks(ctx, 1, "1.0.0", HIGH, 200))
    assert [price for price, _ in book] == [100, 100, 200]
    assert book[2][1] == KEYS[2].pubkey.address()
    assert list(keeper.asks(ctx, 1, "1.0.0", HIGH, 99)) == []
    assert list(keeper.asks(ctx, 1, "1.1.0", HIGH)) == []
    request = compute_pb2.QueryAsksRequest(model_id=1, version="1.0.0", tier=HIGH)
    request.pagination.limit = 3
    _, page = chain.query(Q + "Asks", request, compute_pb2.QueryAsksResponse)
    assert len(page.asks) == 3 and page.pagination.next_key


def test_update_replaces_the_declaration_and_reindexes(chain: Chain) -> None:
    assert register(chain, 0, offers=[offer(100)]).code == 0
    update = compute_pb2.MsgUpdateProvider(
        operator=ADDRS[0],
        hardware=hardware(16),
        runtimes=["onnxruntime"],
        offers=[offer(90, version="1.1.0")],
        capacity=2,
        moniker="new",
    )
    result = chain.deliver(KEYS[0], update)
    assert result.code == 0, result.log
    assert events(result, "compute_provider_update")[0]["tier"] == "TIER_STANDARD"
    record = provider(chain, 0).provider
    assert (record.tier, record.capacity, record.moniker) == (STANDARD, 2, "new")
    assert list(record.runtimes) == ["onnxruntime"]
    assert asks(chain) == []
    assert asks(chain, version="1.1.0") == [(ADDRS[0], STANDARD, "90")]
    update.offers[0].model_id, update.offers[0].version = 2, "1.0.0"  # on-chain
    assert code(chain.deliver(KEYS[0], update)) == ("compute", 10)
    assert asks(chain, version="1.1.0") == [(ADDRS[0], STANDARD, "90")]  # unchanged
    assert chain.app.check_invariants() == []


def test_pause_and_resume_take_offers_out_and_back(chain: Chain) -> None:
    assert register(chain, 0).code == 0
    assert code(chain.deliver(KEYS[0], compute_pb2.MsgResumeProvider(operator=ADDRS[0]))) == (
        "compute",
        13,
    )
    paused = chain.deliver(KEYS[0], compute_pb2.MsgPauseProvider(operator=ADDRS[0]))
    assert paused.code == 0 and events(paused, "compute_provider_pause")
    assert asks(chain) == [] and not provider(chain, 0).available
    assert provider(chain, 0).provider.status == compute_pb2.PROVIDER_STATUS_PAUSED
    assert code(chain.deliver(KEYS[0], compute_pb2.MsgPauseProvider(operator=ADDRS[0]))) == (
        "compute",
        13,
    )
    update = compute_pb2.MsgUpdateProvider(
        operator=ADDRS[0],
        hardware=hardware(80),
        runtimes=["torch"],
        offers=[offer(60)],
        capacity=1,
    )
    assert chain.deliver(KEYS[0], update).code == 0
    assert asks(chain) == []  # a paused provider's new offers stay out
    assert chain.deliver(KEYS[0], compute_pb2.MsgResumeProvider(operator=ADDRS[0])).code == 0
    assert asks(chain) == [(ADDRS[0], HIGH, "60")]
    assert chain.app.check_invariants() == []


def test_availability_follows_heartbeats(chain: Chain) -> None:
    assert register(chain, 0).code == 0
    registered_at = chain.height
    keeper = chain.app.manager.keepers.get("compute", ComputeKeeper)
    while chain.height < registered_at + 5:
        chain.block([])
    assert provider(chain, 0).available  # 5 blocks unseen: the timeout
    ctx = chain.app.query_context(chain.height)
    assert keeper.is_available(ctx, KEYS[0].pubkey.address())
    chain.block([])
    assert not provider(chain, 0).available
    assert asks(chain) == [(ADDRS[0], HIGH, "100")]  # still indexed; matching checks availability
    _, value = chain.query(
        Q + "Asks",
        compute_pb2.QueryAsksRequest(model_id=1, version="1.0.0"),
        compute_pb2.QueryAsksResponse,
    )
    assert not value.asks[0].available
    beat = chain.deliver(KEYS[0], compute_pb2.MsgProviderHeartbeat(operator=ADDRS[0]))
    assert beat.code == 0
    assert events(beat, "compute_provider_heartbeat") == [
        {"operator": ADDRS[0], "height": str(chain.height)}
    ]
    assert provider(chain, 0).available
    assert beat.gas_used < 120_000


def test_add_collateral(chain: Chain) -> None:
    assert register(chain, 0).code == 0
    top_up = compute_pb2.MsgAddCollateral(
        operator=ADDRS[0], amount=pb.coin.Coin(denom=DENOM, amount="1500")
    )
    result = chain.deliver(KEYS[0], top_up)
    assert result.code == 0 and events(result, "compute_add_collateral")[0]["collateral"] == (
        f"6500{DENOM}"
    )
    assert provider(chain, 0).provider.collateral == "6500"
    assert chain.balance(COMPUTE_ACCOUNT) == 6_500
    top_up.amount.denom = "uatom"
    assert code(chain.deliver(KEYS[0], top_up)) == ("compute", 5)


# -- exit -------------------------------------------------------------------------------------


def test_exit_returns_the_collateral_after_the_unbonding_time(chain: Chain) -> None:
    assert register(chain, 0).code == 0
    raw = chain.msgs_tx(KEYS[0], [compute_pb2.MsgExitProvider(operator=ADDRS[0])])
    response = chain.block([raw])
    assert response.tx_results[0].code == 0, response.tx_results[0].log
    data = pb.sdk_abci.TxMsgData.FromString(response.tx_results[0].data)
    done = compute_pb2.MsgExitProviderResponse.FromString(data.msg_responses[0].value)
    assert done.completion_time_ns == (chain.time_s + UNBONDING_S) * 10**9
    record = provider(chain, 0).provider
    assert record.status == compute_pb2.PROVIDER_STATUS_EXITING
    assert record.exit_completion_time_ns == done.completion_time_ns
    assert asks(chain) == []
    for msg in (
        compute_pb2.MsgExitProvider(operator=ADDRS[0]),
        compute_pb2.MsgProviderHeartbeat(operator=ADDRS[0]),
        compute_pb2.MsgResumeProvider(operator=ADDRS[0]),
        compute_pb2.MsgUpdateProvider(
            operator=ADDRS[0], hardware=hardware(), runtimes=["dsm"], capacity=1
        ),
    ):
        assert code(chain.deliver(KEYS[0], msg)) == ("compute", 13)
    assert chain.app.check_invariants() == []
    balance = chain.balance(KEYS[0].pubkey.address())
    chain.block([], seconds=done.completion_time_ns // 10**9 - chain.time_s - 1)
    assert chain.balance(COMPUTE_ACCOUNT) == 5_000
    last = chain.block([], seconds=1)
    assert chain.time_s * 10**9 == done.completion_time_ns
    assert events(last, "compute_provider_exit_complete") == [
        {"operator": ADDRS[0], "amount": f"5000{DENOM}"}
    ]
    assert chain.balance(KEYS[0].pubkey.address()) == balance + 5_000
    assert chain.balance(COMPUTE_ACCOUNT) == 0
    result, _ = chain.query(
        Q + "Provider",
        compute_pb2.QueryProviderRequest(operator=ADDRS[0]),
        compute_pb2.QueryProviderResponse,
    )
    assert result.code == ErrProviderNotFound.code
    assert chain.app.check_invariants() == []
    assert register(chain, 0).code == 0  # may register again


# -- slash and jail (keeper API) ----------------------------------------------------------------


def test_slash_and_jail_through_the_keeper(chain: Chain) -> None:
    assert register(chain, 0, collateral=pb.coin.Coin(denom=DENOM, amount="10001")).code == 0
    keeper, ctx = keeper_ctx(chain)
    address = KEYS[0].pubkey.address()
    for call, error in (
        (lambda: keeper.slash_provider(ctx, address, Dec("0.1"), 99, b""), ErrUnknownReason),
        (lambda: keeper.slash_provider(ctx, address, Dec("0"), 1, b""), ErrInvalidFraction),
        (lambda: keeper.slash_provider(ctx, address, Dec("1.01"), 1, b""), ErrInvalidFraction),
        (lambda: keeper.slash_provider(ctx, address, Dec("0.1"), 1, b"x" * 65), ErrInvalidEvidence),
        (
            lambda: keeper.slash_provider(ctx, KEYS[1].pubkey.address(), Dec("0.1"), 1, b""),
            ErrProviderNotFound,
        ),
        (lambda: keeper.jail_provider(ctx, address, -1), ErrInvalidEvidence),
    ):
        with pytest.raises(AivmError) as info:
            call()
        assert error.is_(info.value)
    assert keeper.slash_provider(ctx, address, Dec("0.25"), 3, b"\x07" * 32) == 2500  # truncated
    keeper.jail_provider(ctx, address, 10 * 10**9)
    response = chain.block([])
    assert events(response, "compute_provider_slash") == []  # emitted outside a tx, not recorded
    record = provider(chain, 0).provider
    assert (record.collateral, record.status) == ("7501", compute_pb2.PROVIDER_STATUS_JAILED)
    assert chain.balance(COMPUTE_ACCOUNT) == 7_501
    assert asks(chain) == []
    assert chain.app.check_invariants() == []
    _, value = chain.query(
        Q + "SlashRecords",
        compute_pb2.QuerySlashRecordsRequest(operator=ADDRS[0]),
        compute_pb2.QuerySlashRecordsResponse,
    )
    (slash,) = value.records
    assert (slash.reason, slash.reason_code, slash.burned) == ("sla_violation", 3, "2500")
    assert slash.evidence_hash == b"\x07" * 32
    unjail = compute_pb2.MsgUnjailProvider(operator=ADDRS[0])
    assert code(chain.deliver(KEYS[0], unjail)) == ("compute", 15)
    assert code(chain.deliver(KEYS[1], compute_pb2.MsgUnjailProvider(operator=ADDRS[1]))) == (
        "compute",
        2,
    )
    chain.block([], seconds=10)
    result = chain.deliver(KEYS[0], unjail)
    assert result.code == 0, result.log
    assert provider(chain, 0).provider.status == compute_pb2.PROVIDER_STATUS_ACTIVE
    assert asks(chain) == [(ADDRS[0], HIGH, "100")]
    assert code(chain.deliver(KEYS[0], unjail)) == ("compute", 14)
    _, codes = chain.query(
        Q + "ReasonCodes",
        compute_pb2.QueryReasonCodesRequest(),
        compute_pb2.QueryReasonCodesResponse,
    )
    assert [c.name for c in codes.codes][:3] == ["downtime", "wrong_result", "sla_violation"]


def test_an_exiting_provider_is_slashed_before_its_collateral_returns(chain: Chain) -> None:
    assert register(chain, 0).code == 0
    assert chain.deliver(KEYS[0], compute_pb2.MsgExitProvider(operator=ADDRS[0])).code == 0
    keeper, ctx = keeper_ctx(chain)
    assert keeper.slash_provider(ctx, KEYS[0].pubkey.address(), Dec("0.5"), 2, b"") == 2_500
    keeper.jail_provider(ctx, KEYS[0].pubkey.address())
    chain.block([])
    assert provider(chain, 0).provider.status == compute_pb2.PROVIDER_STATUS_EXITING
    balance = chain.balance(KEYS[0].pubkey.address())
    chain.block([], seconds=UNBONDING_S)
    assert chain.balance(KEYS[0].pubkey.address()) == balance + 2_500
    assert chain.balance(COMPUTE_ACCOUNT) == 0


# -- params, queries, genesis, invariants ------------------------------------------------------


def test_params_change_through_the_authority_only(chain: Chain) -> None:
    new = compute_pb2.Params()
    json_format.ParseDict(params(max_offers=1), new)
    result = chain.deliver(KEYS[0], compute_pb2.MsgUpdateParams(authority=ADDRS[0], params=new))
    assert result.code != 0
    result = chain.deliver(
        AUTHORITY, compute_pb2.MsgUpdateParams(authority=AUTHORITY_ADDR, params=new)
    )
    assert result.code == 0, result.log
    assert code(register(chain, 0, offers=[offer(1), offer(2, version="1.1.0")])) == ("compute", 8)
    _, value = chain.query(
        Q + "Params", compute_pb2.QueryParamsRequest(), compute_pb2.QueryParamsResponse
    )
    assert value.params.max_offers == 1
    for field, bad in (("initial_reputation", "1.5"), ("min_collateral", "0"), ("max_offers", 65)):
        broken = compute_pb2.Params()
        broken.CopyFrom(new)
        setattr(broken, field, bad)
        msg = compute_pb2.MsgUpdateParams(authority=AUTHORITY_ADDR, params=broken)
        assert code(chain.deliver(AUTHORITY, msg)) == ("compute", 18)


def test_providers_query_filters_and_paginates(chain: Chain) -> None:
    for i in range(3):
        assert register(chain, i, hardware=hardware(80 if i else 0)).code == 0
    assert chain.deliver(KEYS[2], compute_pb2.MsgPauseProvider(operator=ADDRS[2])).code == 0

    def listed(**request: Any) -> compute_pb2.QueryProvidersResponse:
        result, value = chain.query(
            Q + "Providers",
            compute_pb2.QueryProvidersRequest(**request),
            compute_pb2.QueryProvidersResponse,
        )
        assert result.code == 0, result.log
        return value

    assert len(listed().providers) == 3
    paused = listed(status=compute_pb2.PROVIDER_STATUS_PAUSED).providers
    assert [p.operator for p in paused] == [ADDRS[2]]
    assert [p.operator for p in listed(tier=ENTRY).providers] == [ADDRS[0]]
    page = listed(pagination=pb.pagination.PageRequest(limit=2))
    assert len(page.providers) == 2 and page.pagination.next_key
    result, _ = chain.query(
        Q + "Providers",
        compute_pb2.QueryProvidersRequest(tier=9),  # type: ignore[arg-type]
        compute_pb2.QueryProvidersResponse,
    )
    assert result.code != 0


def test_genesis_export_import_round_trip(chain: Chain, tmp_path: Path) -> None:
    assert register(chain, 0, offers=[offer(100), offer(80, version="1.1.0")]).code == 0
    assert register(chain, 1, hardware=hardware(16)).code == 0
    assert register(chain, 2).code == 0
    assert chain.deliver(KEYS[1], compute_pb2.MsgPauseProvider(operator=ADDRS[1])).code == 0
    assert chain.deliver(KEYS[2], compute_pb2.MsgExitProvider(operator=ADDRS[2])).code == 0
    keeper, ctx = keeper_ctx(chain)
    keeper.slash_provider(ctx, KEYS[0].pubkey.address(), Dec("0.1"), 1, b"\x01" * 32)
    chain.block([])
    doc = chain.app.export_genesis()
    exported = doc.app_state["compute"]
    assert len(exported["providers"]) == 3 and len(exported["slash_records"]) == 1
    again = Chain.start(tmp_path / "b", {}, genesis=doc, differential=False)
    header = BlockHeader(again.height, 0, "aivm-test-1")
    ctx = Context(again.app.store.working, GasMeter(None), header, ExecMode.QUERY)
    assert again.app.manager.export_genesis(ctx)["compute"] == exported
    again.block([])
    assert again.app.check_invariants() == []
    assert asks(again) == asks(chain) == [(ADDRS[0], HIGH, "100")]
    tampered = json_format.ParseDict(exported, compute_pb2.GenesisState())
    tampered.providers[0].collateral = str(int(tampered.providers[0].collateral) + 1)
    doc.app_state["compute"] = json_format.MessageToDict(tampered, preserving_proto_field_name=True)
    with pytest.raises(AivmError, match="compute account holds"):
        Chain.start(tmp_path / "c", {}, genesis=doc, differential=False)
    tampered.providers[0].collateral = str(int(tampered.providers[0].collateral) - 1)
    tampered.providers[0].offers[0].model_id = 2  # on-chain
    doc.app_state["compute"] = json_format.MessageToDict(tampered, preserving_proto_field_name=True)
    with pytest.raises(AivmError, match="off-chain"):
        Chain.start(tmp_path / "d", {}, genesis=doc, differential=False)


def test_invariants_catch_a_corrupted_index(chain: Chain) -> None:
    assert register(chain, 0).code == 0
    assert chain.app.check_invariants() == []
    keeper, ctx = keeper_ctx(chain)
    assert check_offer_index(ctx, keeper) == []
    stray = offer_key(1, "1.0.0", ENTRY, 1, KEYS[1].pubkey.address())
    ctx.store.set(b"compute/" + stray, b"\x01")
    chain.block([])
    broken = chain.app.check_invariants()
    assert broken == [f"compute/offer_index: stray offer index entry: {stray[1:].hex()}"]


def test_differential_replay_of_the_provider_lifecycle(tmp_path: Path) -> None:
    """Every node computes the same state (the harness's shadow replicas check each block)."""
    chain = start(tmp_path / "data", differential=True)
    assert register(chain, 0).code == 0
    assert register(chain, 1, offers=[offer(5)]).code == 0
    for msg, key in (
        (compute_pb2.MsgPauseProvider(operator=ADDRS[0]), KEYS[0]),
        (compute_pb2.MsgResumeProvider(operator=ADDRS[0]), KEYS[0]),
        (compute_pb2.MsgExitProvider(operator=ADDRS[1]), KEYS[1]),
    ):
        assert chain.deliver(key, msg).code == 0
    chain.block([], seconds=UNBONDING_S)
    assert chain.app.check_invariants() == []


# -- a devnet: CLI and REST ---------------------------------------------------------------------


def test_provider_flow_over_cli_and_rest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    import requests

    from aivm.client import Client, Wallet
    from chain_drivers import start_chain
    from cli_runner import cli_runner, import_keys

    with start_chain("devnet", tmp_path / "devnet") as endpoint:
        owner = Wallet.from_mnemonic(endpoint.accounts[1].mnemonic)
        with Client(endpoint.rpc_url) as client:
            store = storage_pb2.MsgStoreObject(
                owner=owner.address,
                cid=cid_of(ARTIFACT),
                retention_blocks=1000,
                root_block=ARTIFACT,
            )
            model = offchain_model("1.0.0")
            model.owner = owner.address
            for msg in (store, model):
                sent = client.sign_and_broadcast(owner, [msg])
                assert client.wait_for_tx(sent.hash, timeout=endpoint.tx_timeout).code == 0
            sdk = client.modules.compute  # the module's SDK helper
            assert isinstance(sdk, ComputeClient)
            assert sdk.params().min_collateral == str(DEFAULT_PARAMS.min_collateral)
            assert sdk.asks(1, "1.0.0") == [] and sdk.providers() == []
        run = import_keys(
            cli_runner(endpoint.rpc_url, tmp_path / "home", capsys, monkeypatch), endpoint, 0
        )
        address = endpoint.accounts[0].address
        code_, out, err = run(
            "tx",
            "compute",
            "register-provider",
            "--collateral",
            "100000000ucgpt",
            "--gpu-model",
            "L40S",
            "--gpu-count",
            "2",
            "--gpu-memory-mib",
            "49152",
            "--cpu-cores",
            "32",
            "--memory-mib",
            "262144",
            "--runtimes",
            "onnxruntime",
            "--offer",
            "1:1.0.0:250",
            "--capacity",
            "3",
            "--from",
            "dev0",
            "--yes",
            "--wait",
            "-o",
            "json",
        )
        assert code_ == 0, err
        assert json.loads(out)["code"] == 0, out
        code_, out, err = run("query", "compute", "provider", address, "-o", "json")
        assert code_ == 0, err
        shown = json.loads(out)
        assert shown["provider"]["tier"] == "TIER_HIGH_PERFORMANCE" and shown["available"]
        code_, out, err = run("query", "compute", "asks", "1", "1.0.0", "-o", "json")
        assert code_ == 0, err
        assert [(a["operator"], a["price_per_unit"]) for a in json.loads(out)["asks"]] == [
            (address, "250")
        ]
        code_, out, err = run(
            "tx", "compute", "pause", "--from", "dev0", "--yes", "--wait", "-o", "json"
        )
        assert code_ == 0 and json.loads(out)["code"] == 0, err + out
        code_, out, err = run(
            "tx", "compute", "pause", "--from", "dev0", "--yes", "--wait", "-o", "json"
        )
        assert code_ == 1 and "(compute code 13)" in err, err + out  # already paused
        base = endpoint.rest_url + "/aivm/compute/v1"
        body = requests.get(
            f"{base}/providers", params={"status": "PROVIDER_STATUS_PAUSED"}, timeout=30
        ).json()
        assert [p["operator"] for p in body["providers"]] == [address]
        body = requests.get(f"{base}/asks/1/1.0.0", timeout=30).json()
        assert body["asks"] == []
        body = requests.get(f"{base}/params", timeout=30).json()
        assert body["params"]["initial_reputation"] == "0.500000000000000000"
        missing = requests.get(f"{base}/providers/{endpoint.accounts[2].address}", timeout=30)
        assert missing.status_code >= 400 and missing.json()["code"] == 2
