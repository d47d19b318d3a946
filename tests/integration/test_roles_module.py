"""roles module over ABCI: registration per role with its capability, per-role active sets
ordered by bond × capability × performance, unbonding at the exact block, role slashing and
jailing through the keeper API, the roles' share of the fee collector, and its split by
selection score and by the work recorded through ``record_work``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from google.protobuf import json_format

from aivm.modules.framework import BlockHeader, Context, ExecMode
from aivm.modules.roles import RolesKeeper, roles_pb2
from aivm.modules.roles.capability import capability_score
from aivm.modules.roles.errors import (
    ErrInvalidFraction,
    ErrInvalidRole,
    ErrInvalidWork,
    ErrOperatorNotFound,
    ErrUnknownReason,
)
from aivm.modules.roles.invariants import check_work
from aivm.modules.roles.keeper import MAX_WORK_COUNTER, MAX_WORK_UNITS
from aivm.modules.roles.params import DEFAULT_PARAMS
from aivm.store import GasMeter
from aivm.types import pb
from aivm.types.address import acc_address, module_address
from aivm.types.dec import Dec
from aivm.types.errors import AivmError
from harness import DENOM, Chain, genesis_doc, make_key

KEYS = [make_key(100 + i) for i in range(5)]
ADDRS = [acc_address(k.pubkey.address()) for k in KEYS]
AUTHORITY = make_key(99)
Q = "/aivm.roles.v1.Query/"
AI, COMPUTE, DATA = roles_pb2.ROLE_AI, roles_pb2.ROLE_COMPUTE, roles_pb2.ROLE_DATA
ROLES_ACCOUNT = module_address("roles")
FEE_COLLECTOR = module_address("fee_collector")
UNBONDING_S = 30


def params(**changes: Any) -> dict[str, Any]:
    base = json_format.MessageToDict(DEFAULT_PARAMS.to_proto(), preserving_proto_field_name=True)
    base.update(
        min_bond_ai="1000",
        min_bond_compute="1000",
        min_bond_data="1000",
        max_active_compute=2,
        unbonding_time_ns=str(UNBONDING_S * 10**9),
        reward_share_ai="0",  # the rewards test sets the shares; others keep the pool exact
        reward_share_compute="0",
        reward_share_data="0",
    )
    base.update(
        {
            k: str(v) if isinstance(v, int) and "max_active" not in k else v
            for k, v in changes.items()
        }
    )
    return base


def start(path: Path, differential: bool = True, **changes: Any) -> Chain:
    funded = {k.pubkey.address(): 10**12 for k in [*KEYS, AUTHORITY]}
    doc = genesis_doc(funded, with_accounts=True, inflation=True)
    doc.app_state["roles"] = {"params": params(**changes)}
    doc.app_state["authority"] = {"authority": acc_address(AUTHORITY.pubkey.address())}
    chain = Chain.start(path, funded, genesis=doc, differential=differential)
    chain.block([])
    return chain


def compute_cap(
    hardware: int = roles_pb2.HARDWARE_CLASS_GPU_FLAGSHIP, tflops: int = 989, memory: int = 141
) -> roles_pb2.Capability:
    return roles_pb2.Capability(
        compute=roles_pb2.ComputeCapability(
            hardware_class=hardware,  # type: ignore[arg-type]
            accelerators=1,
            memory_gib=memory,
            benchmark_tflops=tflops,
            benchmark_tokens_per_second=3000,
        )
    )


def ai_cap(
    runtimes: tuple[str, ...] = ("dsm", "onnxruntime"), methods: int = 2
) -> roles_pb2.Capability:
    return roles_pb2.Capability(
        ai=roles_pb2.AiCapability(runtimes=list(runtimes), methods=list(range(1, methods + 1)))
    )


def data_cap(storage: int = 1 << 40) -> roles_pb2.Capability:
    return roles_pb2.Capability(data=roles_pb2.DataCapability(storage_bytes=storage))


CAPS = {AI: ai_cap, COMPUTE: compute_cap, DATA: data_cap}


def register(
    chain: Chain,
    i: int,
    role: int,
    bond: int,
    cap: roles_pb2.Capability | None = None,
    denom: str = DENOM,
) -> pb.abci.ExecTxResult:
    msg = roles_pb2.MsgRegisterRole(
        operator=ADDRS[i],
        role=role,  # type: ignore[arg-type]
        bond=pb.coin.Coin(denom=denom, amount=str(bond)),
        capability=cap if cap is not None else CAPS[role](),
        moniker=f"op{i}",
    )
    return chain.deliver(KEYS[i], msg)


def operator(chain: Chain, i: int, role: int) -> roles_pb2.QueryOperatorResponse:
    result, value = chain.query(
        Q + "Operator",
        roles_pb2.QueryOperatorRequest(operator=ADDRS[i], role=role),  # type: ignore[arg-type]
        roles_pb2.QueryOperatorResponse,
    )
    assert result.code == 0, result.log
    return value


def active(chain: Chain, role: int) -> list[str]:
    _, value = chain.query(
        Q + "ActiveSet",
        roles_pb2.QueryActiveSetRequest(role=role),  # type: ignore[arg-type]
        roles_pb2.QueryActiveSetResponse,
    )
    return [m.operator for m in value.members]


def events(
    result: pb.abci.ExecTxResult | pb.abci.ResponseFinalizeBlock, kind: str
) -> list[dict[str, str]]:
    return [
        {a.key: a.value for a in e.attributes if a.key != "mode"}
        for e in result.events
        if e.type == kind
    ]


def keeper_ctx(chain: Chain) -> tuple[RolesKeeper, Context]:
    """The roles keeper and a FINALIZE context on the app's working state (what it writes
    is committed with the next block)."""
    keeper = chain.app.manager.keepers.get("roles", RolesKeeper)
    header = BlockHeader(chain.height + 1, (chain.time_s + 1) * 10**9, "aivm-test-1")
    return keeper, Context(chain.app.store.working, GasMeter(None), header, ExecMode.FINALIZE)


@pytest.fixture
def chain(tmp_path: Path) -> Chain:
    return start(tmp_path / "data")


def test_each_role_registers_with_its_capability(chain: Chain) -> None:
    before = chain.balance(KEYS[0].pubkey.address())
    for i, role in enumerate((AI, COMPUTE, DATA)):
        result = register(chain, i, role, 5_000)
        assert result.code == 0, result.log
        assert events(result, "role_register")[0]["role"] == ("ai", "compute", "data")[i]
    record = operator(chain, 1, COMPUTE).operator
    assert record.bond == "5000"
    assert record.capability.compute.benchmark_tflops == 989
    assert Dec(record.capability_score) == capability_score(compute_cap())
    assert Dec(record.performance) == Dec.one()
    assert record.status == roles_pb2.OPERATOR_STATUS_ACTIVE
    assert Dec(operator(chain, 0, AI).operator.capability_score) == Dec("1.4")  # 1 + 0.2 + 0.2
    assert Dec(operator(chain, 2, DATA).operator.capability_score) == Dec("1.55")  # 1 TiB: 11/20
    assert chain.balance(ROLES_ACCOUNT) == 15_000
    assert chain.balance(KEYS[0].pubkey.address()) == before - 5_000 - 20_000  # bond + fee
    assert active(chain, COMPUTE) == [ADDRS[1]]


@pytest.mark.parametrize(
    ("role", "bond", "cap", "denom", "code"),
    [
        (COMPUTE, 999, None, DENOM, 5),  # below the minimum bond
        (COMPUTE, 5_000, ai_cap(), DENOM, 6),  # an ai declaration for the compute role
        (AI, 5_000, ai_cap(runtimes=("cuda-magic",)), DENOM, 6),
        (AI, 5_000, ai_cap(methods=0), DENOM, 6),
        (DATA, 5_000, data_cap(0), DENOM, 6),
        (COMPUTE, 5_000, compute_cap(hardware=9), DENOM, 6),
        (COMPUTE, 5_000, None, "uatom", 7),
        (0, 5_000, ai_cap(), DENOM, 2),
    ],
    ids=[
        "low-bond",
        "wrong-kind",
        "runtime",
        "no-methods",
        "no-storage",
        "hardware",
        "denom",
        "role",
    ],
)
def test_bad_registrations_are_refused(
    chain: Chain, role: int, bond: int, cap: roles_pb2.Capability | None, denom: str, code: int
) -> None:
    result = register(chain, 0, role, bond, cap, denom)
    assert (result.codespace, result.code) == ("roles", code), result.log
    assert chain.balance(ROLES_ACCOUNT) == 0


def test_registering_twice_is_refused(chain: Chain) -> None:
    assert register(chain, 0, AI, 5_000).code == 0
    result = register(chain, 0, AI, 5_000)
    assert (result.codespace, result.code) == ("roles", 4)
    assert register(chain, 0, DATA, 5_000).code == 0  # another role is another record


def test_active_set_is_limited_and_ordered_by_score(chain: Chain) -> None:
    for i, bond in enumerate((3_000, 2_000, 1_000)):
        assert register(chain, i, COMPUTE, bond).code == 0
    assert active(chain, COMPUTE) == [ADDRS[0], ADDRS[1]]
    assert operator(chain, 2, COMPUTE).operator.status == roles_pb2.OPERATOR_STATUS_STANDBY
    top = operator(chain, 0, COMPUTE).operator
    assert int(top.selection_score) == 3_000 * Dec(top.capability_score).bigint() // 10**18
    # a better declaration with the smallest bond overtakes op1: CPU vs flagship matters
    weak = compute_cap(hardware=roles_pb2.HARDWARE_CLASS_CPU, tflops=1, memory=1)
    update = roles_pb2.MsgUpdateCapability(operator=ADDRS[1], role=COMPUTE, capability=weak)
    assert chain.deliver(KEYS[1], update).code == 0
    add = roles_pb2.MsgAddRoleBond(
        operator=ADDRS[2], role=COMPUTE, amount=pb.coin.Coin(denom=DENOM, amount="1500")
    )
    raw = chain.msgs_tx(KEYS[2], [add])
    response = chain.block([raw])
    assert response.tx_results[0].code == 0
    assert active(chain, COMPUTE) == [ADDRS[0], ADDRS[2]]
    assert events(response, "role_active_leave") == [{"operator": ADDRS[1], "role": "compute"}]
    assert [e["operator"] for e in events(response, "role_active_enter")] == [ADDRS[2]]
    assert operator(chain, 1, COMPUTE).operator.status == roles_pb2.OPERATOR_STATUS_STANDBY


def test_ties_go_to_the_lower_address(chain: Chain) -> None:
    for i in range(3):
        assert register(chain, i, COMPUTE, 2_000).code == 0
    assert active(chain, COMPUTE) == sorted(ADDRS[:3], key=lambda a: acc_to_bytes(a))[:2]


def acc_to_bytes(address: str) -> bytes:
    from aivm.modules.addr import addr_bytes

    return addr_bytes(address)


def test_performance_moves_the_score_and_the_set(tmp_path: Path) -> None:
    chain = start(tmp_path / "data", differential=False)
    for i, bond in enumerate((3_000, 2_800, 2_000)):
        assert register(chain, i, COMPUTE, bond).code == 0
    assert active(chain, COMPUTE) == [ADDRS[0], ADDRS[1]]
    keeper, ctx = keeper_ctx(chain)
    op0 = KEYS[0].pubkey.address()
    assert keeper.record_performance(ctx, op0, COMPUTE, False) == Dec("0.95")
    assert keeper.record_performance(ctx, op0, COMPUTE, False) == Dec("0.905")
    for _ in range(4):  # 0.5 + 0.5 × 0.9**6 = 0.7657…: 3000 × 0.77 < 2000 × 1.2
        keeper.record_performance(ctx, op0, COMPUTE, False)
    op2 = KEYS[2].pubkey.address()
    for _ in range(5):
        keeper.record_performance(ctx, op2, COMPUTE, True)
    chain.block([])
    record = operator(chain, 2, COMPUTE).operator
    expected = Dec(1)
    for _ in range(5):
        expected = expected + (Dec("1.5") - expected) * Dec("0.1")
    assert Dec(record.performance) == expected
    assert active(chain, COMPUTE) == [ADDRS[1], ADDRS[2]]  # op0 dropped below op2
    keeper, ctx = keeper_ctx(chain)
    for _ in range(200):  # bounded: never below performance_min
        keeper.record_performance(ctx, op0, COMPUTE, False)
    chain.block([])
    floor = Dec(operator(chain, 0, COMPUTE).operator.performance)
    assert Dec("0.5") <= floor < Dec("0.500000001")
    with pytest.raises(AivmError) as info:
        keeper.record_performance(ctx, KEYS[4].pubkey.address(), COMPUTE, True)
    assert ErrOperatorNotFound.is_(info.value)


def test_unbond_completes_at_the_exact_block(chain: Chain) -> None:
    assert register(chain, 0, DATA, 5_000).code == 0
    partial = roles_pb2.MsgUnbondRole(
        operator=ADDRS[0], role=DATA, amount=pb.coin.Coin(denom=DENOM, amount="4500")
    )
    result = chain.deliver(KEYS[0], partial)  # 500 would stay: below the minimum
    assert (result.codespace, result.code) == ("roles", 5)
    too_much = roles_pb2.MsgUnbondRole(
        operator=ADDRS[0], role=DATA, amount=pb.coin.Coin(denom=DENOM, amount="6000")
    )
    assert chain.deliver(KEYS[0], too_much).code == 8
    raw = chain.msgs_tx(KEYS[0], [roles_pb2.MsgUnbondRole(operator=ADDRS[0], role=DATA, all=True)])
    response = chain.block([raw])
    assert response.tx_results[0].code == 0, response.tx_results[0].log
    data = pb.sdk_abci.TxMsgData.FromString(response.tx_results[0].data)
    done = roles_pb2.MsgUnbondRoleResponse.FromString(data.msg_responses[0].value)
    entry = operator(chain, 0, DATA).unbonding_entries[0]
    assert (
        done.completion_time_ns
        == entry.completion_time_ns
        == chain.time_s * 10**9 + (UNBONDING_S * 10**9)
        or chain.app.manager.keepers.find("staking", object) is not None
    )
    assert entry.balance == "5000"
    assert events(response, "role_active_leave") == [{"operator": ADDRS[0], "role": "data"}]
    assert operator(chain, 0, DATA).operator.status == roles_pb2.OPERATOR_STATUS_UNBONDED
    balance = chain.balance(KEYS[0].pubkey.address())
    remaining_s = entry.completion_time_ns // 10**9 - chain.time_s
    chain.block([], seconds=remaining_s - 1)
    assert chain.balance(KEYS[0].pubkey.address()) == balance
    assert chain.balance(ROLES_ACCOUNT) == 5_000
    last = chain.block([], seconds=1)  # block time == completion time
    assert chain.time_s * 10**9 == entry.completion_time_ns
    assert chain.balance(KEYS[0].pubkey.address()) == balance + 5_000
    assert chain.balance(ROLES_ACCOUNT) == 0
    assert events(last, "role_unbond_complete")[0]["amount"] == f"5000{DENOM}"
    assert not operator(chain, 0, DATA).unbonding_entries


def test_unbond_all_and_register_again_in_one_block_stays_active(chain: Chain) -> None:
    assert register(chain, 0, DATA, 5_000).code == 0
    assert operator(chain, 0, DATA).operator.status == roles_pb2.OPERATOR_STATUS_ACTIVE
    again = roles_pb2.MsgRegisterRole(
        operator=ADDRS[0],
        role=DATA,
        bond=pb.coin.Coin(denom=DENOM, amount="6000"),
        capability=data_cap(),
        moniker="op0",
    )
    unbond = roles_pb2.MsgUnbondRole(operator=ADDRS[0], role=DATA, all=True)
    response = chain.block([chain.msgs_tx(KEYS[0], [unbond, again])])
    assert response.tx_results[0].code == 0, response.tx_results[0].log
    assert active(chain, DATA) == [ADDRS[0]]
    assert operator(chain, 0, DATA).operator.status == roles_pb2.OPERATOR_STATUS_ACTIVE


def test_slash_role_burns_the_fraction_records_and_jails(tmp_path: Path) -> None:
    chain = start(tmp_path / "data", differential=False)
    assert register(chain, 0, AI, 10_000).code == 0
    unbond = roles_pb2.MsgUnbondRole(
        operator=ADDRS[0], role=AI, amount=pb.coin.Coin(denom=DENOM, amount="3001")
    )
    assert chain.deliver(KEYS[0], unbond).code == 0
    keeper, ctx = keeper_ctx(chain)
    supply_before = keeper.bank.get_supply(ctx, DENOM)
    op = KEYS[0].pubkey.address()
    evidence = bytes(range(32))
    with pytest.raises(AivmError) as info:
        keeper.slash_role(ctx, op, AI, Dec("0.1"), 77, evidence)
    assert ErrUnknownReason.is_(info.value)
    for bad in (Dec(0), Dec("1.01"), Dec("-0.1")):
        with pytest.raises(AivmError) as info:
            keeper.slash_role(ctx, op, AI, bad, 2, evidence)
        assert ErrInvalidFraction.is_(info.value)
    with pytest.raises(AivmError) as info:
        keeper.slash_role(ctx, op, DATA, Dec("0.1"), 2, evidence)
    assert ErrOperatorNotFound.is_(info.value)
    burned = keeper.slash_role(ctx, op, AI, Dec("0.1"), 2, evidence)
    assert burned == 699 + 300  # 10% of the 6999 bonded (truncated) + 10% of 3001 unbonding
    assert [e.type for e in ctx.events if e.type.startswith("role_")] == ["role_slash"]
    assert keeper.bank.get_supply(ctx, DENOM) == supply_before - burned
    keeper.jail_role(ctx, op, AI, 60 * 10**9)
    chain.block([])
    state = operator(chain, 0, AI)
    assert state.operator.bond == str(6_999 - 699)
    assert state.unbonding_entries[0].balance == str(3_001 - 300)
    assert state.operator.status == roles_pb2.OPERATOR_STATUS_JAILED
    assert active(chain, AI) == []
    assert chain.balance(ROLES_ACCOUNT) == 6_300 + 2_701
    _, records = chain.query(
        Q + "SlashRecords",
        roles_pb2.QuerySlashRecordsRequest(operator=ADDRS[0]),
        roles_pb2.QuerySlashRecordsResponse,
    )
    (record,) = records.records
    assert (record.reason_code, record.reason, record.evidence_hash) == (
        2,
        "wrong_result",
        evidence,
    )
    assert (Dec(record.fraction), record.burned, record.height) == (Dec("0.1"), "999", chain.height)
    unjail = roles_pb2.MsgUnjailRole(operator=ADDRS[0], role=AI)
    result = chain.deliver(KEYS[0], unjail)
    assert (result.codespace, result.code) == ("roles", 11)
    chain.block([], seconds=60)
    assert chain.deliver(KEYS[0], unjail).code == 0
    assert active(chain, AI) == [ADDRS[0]]
    assert chain.app.check_invariants() == []


def has_distribution(chain: Chain) -> bool:
    return chain.app.manager.keepers.find("distribution", object) is not None


def rewards_of(keeper: RolesKeeper, ctx: Context, i: int) -> Dec:
    return keeper.get_rewards(ctx, KEYS[i].pubkey.address(), AI).get(DENOM, Dec(0))


def supply(chain: Chain) -> int:
    _, value = chain.query(
        "/cosmos.bank.v1beta1.Query/SupplyOf",
        pb.bank_query.QuerySupplyOfRequest(denom=DENOM),
        pb.bank_query.QuerySupplyOfResponse,
    )
    return int(value.amount.amount)


def test_reason_codes_are_registered_and_queryable(chain: Chain) -> None:
    keeper = chain.app.manager.keepers.get("roles", RolesKeeper)
    with pytest.raises(ValueError, match="already registered"):
        keeper.register_reason(1, "again", "test")
    _, value = chain.query(
        Q + "ReasonCodes", roles_pb2.QueryReasonCodesRequest(), roles_pb2.QueryReasonCodesResponse
    )
    names = {c.code: c.name for c in value.codes}
    assert names[1] == "downtime" and names[5] == "data_unavailable"


def test_rewards_are_routed_from_the_fee_collector_by_share_and_score(tmp_path: Path) -> None:
    shares = {
        "reward_share_ai": "0.05",
        "reward_share_compute": "0.05",
        "reward_share_data": "0.02",
    }
    chain = start(tmp_path / "data", **shares)
    assert register(chain, 0, AI, 3_000).code == 0
    assert register(chain, 1, AI, 1_000, ai_cap(runtimes=("dsm",), methods=1)).code == 0
    assert register(chain, 2, COMPUTE, 7_000).code == 0
    chain.block([])
    taken = {AI: 0, COMPUTE: 0}
    for _ in range(3):
        collector = chain.balance(FEE_COLLECTOR)
        response = chain.block([])
        minted = sum(
            int(e["amount"].removesuffix(DENOM)) for e in events(response, "mint") if "amount" in e
        )
        pool = collector + minted
        routed = {
            e["role"]: int(e["amount"].removesuffix(DENOM))
            for e in events(response, "role_rewards")
        }
        assert routed.keys() == {"ai", "compute"}  # no data operator: its share stays
        assert routed["ai"] == Dec("0.05").mul_int(pool).truncate_int()
        assert routed["compute"] == Dec("0.05").mul_int(pool).truncate_int()
        # the rest stays in the collector, where distribution (listed after roles) takes it
        left = pool - routed["ai"] - routed["compute"]
        assert chain.balance(FEE_COLLECTOR) == (0 if has_distribution(chain) else left)
        taken[AI] += routed["ai"]
        taken[COMPUTE] += routed["compute"]
    assert taken[AI] > 0, "mint or fees must fill the fee collector"
    rewards = {}
    for i in range(3):
        _, value = chain.query(
            Q + "Rewards",
            roles_pb2.QueryRewardsRequest(operator=ADDRS[i]),
            roles_pb2.QueryRewardsResponse,
        )
        rewards[i] = sum((Dec.from_proto_str(c.amount) for c in value.total), Dec(0))
    keeper = chain.app.manager.keepers.get("roles", RolesKeeper)
    ctx = chain.app.query_context(chain.height)
    remainders = sum(
        (a for r in (AI, COMPUTE, DATA) for a in keeper.get_remainder(ctx, r).values()), Dec(0)
    )
    bonds = 3_000 + 1_000 + 7_000
    # no dust lost: the account holds the bonds and exactly the claims and the remainders
    assert rewards[0] + rewards[1] + rewards[2] + remainders == Dec(
        chain.balance(ROLES_ACCOUNT) - bonds
    )
    assert remainders < Dec(1)
    s0 = int(operator(chain, 0, AI).operator.selection_score)
    s1 = int(operator(chain, 1, AI).operator.selection_score)
    before0, before1 = rewards_of(keeper, ctx, 0), rewards_of(keeper, ctx, 1)
    remainder = keeper.get_remainder(ctx, AI).get(DENOM, Dec(0))
    response = chain.block([])
    routed = int(events(response, "role_rewards")[0]["amount"].removesuffix(DENOM))
    ctx = chain.app.query_context(chain.height)
    pool = Dec(routed) + remainder
    # one block's split: pool × score / Σ scores, truncated at 18 decimals
    assert rewards_of(keeper, ctx, 0) - before0 == Dec.raw(pool.bigint() * s0 // (s0 + s1))
    assert rewards_of(keeper, ctx, 1) - before1 == Dec.raw(pool.bigint() * s1 // (s0 + s1))
    before = chain.balance(KEYS[0].pubkey.address())
    withdraw = roles_pb2.MsgWithdrawRoleRewards(operator=ADDRS[0])
    result = chain.deliver(KEYS[0], withdraw)
    assert result.code == 0, result.log
    paid = int(events(result, "role_withdraw_rewards")[0]["amount"].removesuffix(DENOM) or 0)
    assert paid >= rewards_of(keeper, ctx, 0).truncate_int() > 0
    assert chain.balance(KEYS[0].pubkey.address()) == before + paid - 20_000
    left = rewards_of(keeper, chain.app.query_context(chain.height), 0)
    assert Dec(0) <= left < Dec(1)  # the decimal change stays claimable
    assert chain.app.check_invariants() == []


def test_params_change_through_the_authority_only(chain: Chain) -> None:
    for i, bond in enumerate((3_000, 2_000)):
        assert register(chain, i, COMPUTE, bond).code == 0
    assert len(active(chain, COMPUTE)) == 2
    new = roles_pb2.Params()
    json_format.ParseDict(params(max_active_compute=1), new)
    result = chain.deliver(KEYS[0], roles_pb2.MsgUpdateParams(authority=ADDRS[0], params=new))
    assert result.code != 0
    result = chain.deliver(
        AUTHORITY,
        roles_pb2.MsgUpdateParams(authority=acc_address(AUTHORITY.pubkey.address()), params=new),
    )
    assert result.code == 0, result.log
    assert active(chain, COMPUTE) == [ADDRS[0]]
    bad = roles_pb2.Params()
    bad.CopyFrom(new)
    bad.reward_share_ai = "0.6"
    bad.reward_share_compute = "0.6"  # the shares add up to more than 1
    result = chain.deliver(
        AUTHORITY,
        roles_pb2.MsgUpdateParams(authority=acc_address(AUTHORITY.pubkey.address()), params=bad),
    )
    assert (result.codespace, result.code) == ("roles", 15)


def test_genesis_export_import_round_trip(tmp_path: Path) -> None:
    chain = start(tmp_path / "a", differential=False, reward_share_ai="0.05")
    assert register(chain, 0, AI, 3_000).code == 0
    assert register(chain, 1, COMPUTE, 4_000).code == 0
    unbond = roles_pb2.MsgUnbondRole(
        operator=ADDRS[1], role=COMPUTE, amount=pb.coin.Coin(denom=DENOM, amount="1000")
    )
    assert chain.deliver(KEYS[1], unbond).code == 0
    keeper, ctx = keeper_ctx(chain)
    keeper.slash_role(ctx, KEYS[0].pubkey.address(), AI, Dec("0.5"), 1, b"\x01" * 32)
    chain.block([])
    chain.block([])
    doc = chain.app.export_genesis()
    exported = doc.app_state["roles"]
    assert exported["operators"] and exported["unbonding_entries"] and exported["slash_records"]
    assert exported["rewards"]
    again = Chain.start(tmp_path / "b", {}, genesis=doc, differential=False)
    header = BlockHeader(again.height, 0, "aivm-test-1")
    ctx = Context(again.app.store.working, GasMeter(None), header, ExecMode.QUERY)
    assert again.app.manager.export_genesis(ctx)["roles"] == exported
    again.block([])
    assert again.app.check_invariants() == []
    assert active(again, AI) == active(chain, AI) == [ADDRS[0]]
    tampered = json_format.ParseDict(exported, roles_pb2.GenesisState())
    tampered.operators[0].bond = str(int(tampered.operators[0].bond) + 1)
    doc.app_state["roles"] = json_format.MessageToDict(tampered, preserving_proto_field_name=True)
    with pytest.raises(AivmError, match="roles account holds"):
        Chain.start(tmp_path / "c", {}, genesis=doc, differential=False)


def test_queries_filter_and_paginate(chain: Chain) -> None:
    for i in range(3):
        assert register(chain, i, COMPUTE, 1_000 * (i + 1)).code == 0
    assert register(chain, 3, DATA, 2_000).code == 0
    request = roles_pb2.QueryOperatorsRequest(role=COMPUTE)
    request.pagination.limit = 2
    _, page = chain.query(Q + "Operators", request, roles_pb2.QueryOperatorsResponse)
    assert len(page.operators) == 2 and page.pagination.next_key
    request = roles_pb2.QueryOperatorsRequest(
        role=COMPUTE, status=roles_pb2.OPERATOR_STATUS_STANDBY
    )
    _, standby = chain.query(Q + "Operators", request, roles_pb2.QueryOperatorsResponse)
    assert [o.operator for o in standby.operators] == [ADDRS[0]]
    _, everyone = chain.query(
        Q + "Operators", roles_pb2.QueryOperatorsRequest(), roles_pb2.QueryOperatorsResponse
    )
    assert len(everyone.operators) == 4
    result, _ = chain.query(
        Q + "Operator",
        roles_pb2.QueryOperatorRequest(operator=ADDRS[4], role=AI),
        roles_pb2.QueryOperatorResponse,
    )
    assert (result.codespace, result.code) == ("roles", 3)


def test_invariants_catch_a_bond_the_account_does_not_hold(tmp_path: Path) -> None:
    chain = start(tmp_path / "data", differential=False)
    assert register(chain, 0, COMPUTE, 2_000).code == 0
    assert chain.app.check_invariants() == []
    keeper, ctx = keeper_ctx(chain)
    record = keeper.require_operator(ctx, KEYS[0].pubkey.address(), COMPUTE)
    record.bond = "2001"  # no coin moved
    keeper.write_operator(ctx, record)
    chain.block([])
    broken = chain.app.check_invariants()
    assert any(line.startswith("roles/pool: roles account holds 2000ucgpt") for line in broken)


# -- recorded work ---------------------------------------------------------------------------


def work_counters(chain: Chain, **request: Any) -> list[tuple[str, int, int]]:
    """(operator, role, units) of the WorkCounters query."""
    result, value = chain.query(
        Q + "WorkCounters",
        roles_pb2.QueryWorkCountersRequest(**request),
        roles_pb2.QueryWorkCountersResponse,
    )
    assert result.code == 0, result.log
    return [(c.operator, c.role, c.units) for c in value.counters]


def role_rewards(chain: Chain, i: int, role: int) -> Dec:
    ctx = chain.app.query_context(chain.height)
    keeper = chain.app.manager.keepers.get("roles", RolesKeeper)
    return keeper.get_rewards(ctx, KEYS[i].pubkey.address(), role).get(DENOM, Dec(0))


def scores(chain: Chain, role: int) -> dict[str, int]:
    _, value = chain.query(
        Q + "ActiveSet",
        roles_pb2.QueryActiveSetRequest(role=role),  # type: ignore[arg-type]
        roles_pb2.QueryActiveSetResponse,
    )
    return {m.operator: int(m.selection_score) for m in value.members}


def test_record_work_refuses_bad_units_and_unknown_operators(tmp_path: Path) -> None:
    chain = start(tmp_path / "data", differential=False)
    assert register(chain, 0, COMPUTE, 2_000).code == 0
    keeper, ctx = keeper_ctx(chain)
    op = KEYS[0].pubkey.address()
    for bad in (0, -5, MAX_WORK_UNITS + 1, True, 1.5, "3"):
        with pytest.raises(AivmError) as info:
            keeper.record_work(ctx, op, COMPUTE, bad)  # type: ignore[arg-type]
        assert ErrInvalidWork.is_(info.value), bad
        assert (info.value.codespace, info.value.code) == ("roles", 17)
    with pytest.raises(AivmError) as info:
        keeper.record_work(ctx, op, DATA, 1)  # not registered in that role
    assert ErrOperatorNotFound.is_(info.value)
    with pytest.raises(AivmError) as info:
        keeper.record_work(ctx, op, 9, 1)
    assert ErrInvalidRole.is_(info.value)
    assert keeper.get_work(ctx, op, COMPUTE) == 0  # nothing refused was counted
    assert keeper.record_work(ctx, op, COMPUTE, MAX_WORK_UNITS) == MAX_WORK_UNITS
    assert keeper.record_work(ctx, op, COMPUTE, 3) == MAX_WORK_UNITS + 3
    work_events = [dict(e.attributes) for e in ctx.events if e.type == "role_work"]
    assert work_events[-1] == {
        "operator": ADDRS[0],
        "role": "compute",
        "units": "3",
        "period_units": str(MAX_WORK_UNITS + 3),
    }
    keeper.set_work(ctx, op, COMPUTE, MAX_WORK_COUNTER - 1)
    with pytest.raises(AivmError) as info:
        keeper.record_work(ctx, op, COMPUTE, 2)  # the uint64 counter would overflow
    assert ErrInvalidWork.is_(info.value)
    assert keeper.record_work(ctx, op, COMPUTE, 1) == MAX_WORK_COUNTER


def test_rewards_split_by_score_and_recorded_work_exactly(tmp_path: Path) -> None:
    chain = start(tmp_path / "data", differential=False, reward_share_ai="0.05")
    assert register(chain, 0, AI, 3_000).code == 0
    assert register(chain, 1, AI, 1_000, ai_cap(runtimes=("dsm",), methods=1)).code == 0
    assert register(chain, 2, AI, 2_000).code == 0
    keeper, ctx = keeper_ctx(chain)
    op = [KEYS[i].pubkey.address() for i in range(3)]
    keeper.record_performance(ctx, op[1], AI, False)  # 0.95: weighs op1's work
    chain.block([])
    chain.block([])  # the active set carries op1's new score
    s = [scores(chain, AI)[ADDRS[i]] for i in range(3)]
    before = [role_rewards(chain, i, AI) for i in range(3)]
    remainder = keeper.get_remainder(chain.app.query_context(chain.height), AI).get(DENOM, Dec(0))
    keeper, ctx = keeper_ctx(chain)
    keeper.record_work(ctx, op[0], AI, 4)
    keeper.record_work(ctx, op[1], AI, 2)
    keeper.record_work(ctx, op[1], AI, 4)  # adds up: 6
    assert keeper.get_work(ctx, op[1], AI) == 6
    response = chain.block([])
    (event,) = events(response, "role_rewards")
    assert event["work_units"] == "10"
    pool = (Dec(int(event["amount"].removesuffix(DENOM))) + remainder).bigint()
    # work_weight 0.5: half by score, half by units × performance (18-decimal integers)
    work = [4 * 10**18, 6 * 95 * 10**16, 0]
    one, half = 10**18, 5 * 10**17
    weights = [half * s[i] * sum(work) + half * work[i] * sum(s) for i in range(3)]
    assert sum(weights) == one * sum(s) * sum(work)
    gained = [role_rewards(chain, i, AI) - before[i] for i in range(3)]
    for i in range(3):
        assert gained[i] == Dec.raw(pool * weights[i] // sum(weights)), i
    # op2 recorded nothing: it gets only half of its score share; op1 more than its score share
    assert gained[2] < Dec.raw(pool * s[2] // sum(s))
    assert gained[1] > Dec.raw(pool * s[1] // sum(s))
    assert work_counters(chain) == []  # the period's counters went with the split
    # a block without recorded work splits by score only
    before = [role_rewards(chain, i, AI) for i in range(3)]
    remainder = keeper.get_remainder(chain.app.query_context(chain.height), AI).get(DENOM, Dec(0))
    response = chain.block([])
    (event,) = events(response, "role_rewards")
    assert event["work_units"] == "0"
    pool = (Dec(int(event["amount"].removesuffix(DENOM))) + remainder).bigint()
    for i in range(3):
        assert role_rewards(chain, i, AI) - before[i] == Dec.raw(pool * s[i] // sum(s))
    assert chain.app.check_invariants() == []


def test_work_counters_reset_every_block_and_only_active_work_pays(tmp_path: Path) -> None:
    chain = start(tmp_path / "data", differential=False, reward_share_compute="0.05")
    for i, bond in enumerate((3_000, 2_000, 1_000)):
        assert register(chain, i, COMPUTE, bond).code == 0
    assert register(chain, 3, DATA, 2_000).code == 0  # the data share is 0
    assert active(chain, COMPUTE) == [ADDRS[0], ADDRS[1]]  # op2 stands by
    keeper, ctx = keeper_ctx(chain)
    keeper.record_work(ctx, KEYS[2].pubkey.address(), COMPUTE, 1_000)
    keeper.record_work(ctx, KEYS[0].pubkey.address(), COMPUTE, 1)
    keeper.record_work(ctx, KEYS[3].pubkey.address(), DATA, 5)
    response = chain.block([])
    (event,) = events(response, "role_rewards")  # no data event: its share is 0
    assert (event["role"], event["work_units"]) == ("compute", "1")  # op2's work is not paid
    assert role_rewards(chain, 2, COMPUTE) == Dec(0)
    assert role_rewards(chain, 0, COMPUTE) > role_rewards(chain, 1, COMPUTE) > Dec(0)
    assert work_counters(chain) == []  # every role's counters reset, paid or not
    assert chain.app.check_invariants() == []


def record_in_end_block(
    monkeypatch: pytest.MonkeyPatch, chain: Chain, work: list[tuple[int, int, int]]
) -> None:
    """Record ``(key index, role, units)`` in the next EndBlock, after the reward split, as a
    module listed after roles will (compute marketplace, verification)."""
    keeper = chain.app.manager.keepers.get("roles", RolesKeeper)
    original = keeper.update_active_sets

    def update_and_record(ctx: Context) -> None:
        original(ctx)
        for i, role, units in work:
            keeper.record_work(ctx, KEYS[i].pubkey.address(), role, units)
        monkeypatch.setattr(keeper, "update_active_sets", original)

    monkeypatch.setattr(keeper, "update_active_sets", update_and_record)


def test_work_counters_query_and_genesis_round_trip(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    chain = start(tmp_path / "a", differential=False, reward_share_ai="0.05")
    assert register(chain, 0, AI, 3_000).code == 0
    assert register(chain, 1, AI, 2_000).code == 0
    assert register(chain, 0, COMPUTE, 3_000).code == 0
    record_in_end_block(monkeypatch, chain, [(0, AI, 7), (1, AI, 2), (0, COMPUTE, 3)])
    response = chain.block([])
    assert len(events(response, "role_work")) == 3
    by_key = sorted(
        [(ADDRS[0], AI, 7), (ADDRS[1], AI, 2), (ADDRS[0], COMPUTE, 3)],
        key=lambda c: (c[1], acc_to_bytes(c[0])),
    )
    assert work_counters(chain) == by_key
    ai_only = [c for c in by_key if c[1] == AI]
    assert work_counters(chain, role=AI) == ai_only
    assert work_counters(chain, operator=ADDRS[0]) == [(ADDRS[0], AI, 7), (ADDRS[0], COMPUTE, 3)]
    assert work_counters(chain, operator=ADDRS[0], role=COMPUTE) == [(ADDRS[0], COMPUTE, 3)]
    assert work_counters(chain, operator=ADDRS[4]) == []
    request = roles_pb2.QueryWorkCountersRequest(role=AI)
    request.pagination.limit = 1
    _, page = chain.query(Q + "WorkCounters", request, roles_pb2.QueryWorkCountersResponse)
    assert len(page.counters) == 1 and page.pagination.next_key
    for bad, code in (({"role": 7}, ("roles", 2)), ({"operator": "aivm1nope"}, None)):
        result, _ = chain.query(
            Q + "WorkCounters",
            roles_pb2.QueryWorkCountersRequest(**bad),
            roles_pb2.QueryWorkCountersResponse,
        )
        assert result.code != 0 and (code is None or (result.codespace, result.code) == code)
    assert chain.app.check_invariants() == []
    doc = chain.app.export_genesis()
    exported = doc.app_state["roles"]
    assert [(c["operator"], c["role"], c["units"]) for c in exported["work_counters"]] == [
        (a, roles_pb2.Role.Name(r), str(u)) for a, r, u in by_key
    ]
    again = Chain.start(tmp_path / "b", {}, genesis=doc, differential=False)
    header = BlockHeader(again.height, 0, "aivm-test-1")
    ctx = Context(again.app.store.working, GasMeter(None), header, ExecMode.QUERY)
    assert again.app.manager.export_genesis(ctx)["roles"] == exported
    response = again.block([])  # the imported period is paid by the first block
    assert {e["role"]: e["work_units"] for e in events(response, "role_rewards")} == {"ai": "9"}
    assert work_counters(again) == []
    assert again.app.check_invariants() == []
    tampering = (
        ({"units": "0"}, "must be positive"),
        ({"operator": ADDRS[4]}, "unknown operator"),
        ({"role": "ROLE_DATA"}, "unknown operator"),
    )
    for n, (change, message) in enumerate(tampering):
        tampered = dict(exported)
        tampered["work_counters"] = [{**exported["work_counters"][0], **change}]
        doc.app_state["roles"] = tampered
        with pytest.raises(AivmError, match=message):
            Chain.start(tmp_path / f"c{n}", {}, genesis=doc, differential=False)
    tampered = dict(exported)
    tampered["work_counters"] = [exported["work_counters"][0]] * 2
    doc.app_state["roles"] = tampered
    with pytest.raises(AivmError, match="two work counters"):
        Chain.start(tmp_path / "dup", {}, genesis=doc, differential=False)


def test_invariant_catches_a_work_counter_of_no_operator(tmp_path: Path) -> None:
    chain = start(tmp_path / "data", differential=False)
    assert register(chain, 0, COMPUTE, 2_000).code == 0
    keeper, ctx = keeper_ctx(chain)
    stranger = KEYS[4].pubkey.address()
    assert check_work(ctx, keeper) == []
    keeper.set_work(ctx, stranger, COMPUTE, 5)  # bypasses record_work's check
    assert check_work(ctx, keeper) == [
        f"work counter {(bytes([COMPUTE, 20]) + stranger).hex()} of an unregistered operator"
    ]


def test_work_query_over_rest_and_cli(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    import requests

    from chain_drivers import start_chain
    from cli_runner import cli_runner

    with start_chain("devnet", tmp_path / "devnet") as endpoint:
        run = cli_runner(endpoint.rpc_url, tmp_path / "home", capsys, monkeypatch)
        code, out, err = run("query", "roles", "work", "--role", "compute", "-o", "json")
        assert code == 0, err
        assert json.loads(out) == {"counters": []}  # no module records work yet
        address = endpoint.accounts[0].address
        code, out, err = run("query", "roles", "work", "--operator", address, "-o", "json")
        assert code == 0, err
        assert json.loads(out) == {"counters": []}
        code, out, err = run("query", "roles", "work", "--operator", "aivm1nope", "-o", "json")
        assert code != 0 and "invalid address" in err
        base = endpoint.rest_url + "/aivm/roles/v1/work"
        body = requests.get(base, params={"role": "ROLE_AI"}, timeout=30).json()
        assert body["counters"] == []
        bad = requests.get(base, params={"role": "7"}, timeout=30)
        assert bad.status_code >= 400 and bad.json()["code"] == 2, bad.text  # invalid role
