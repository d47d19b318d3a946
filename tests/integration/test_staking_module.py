"""staking over ABCI: gen_txs make the initial CometBFT set, MsgCreateValidator adds a
validator at EndBlock, delegations change voting power, unbondings pay out at the exact block
whose time passes their completion time, redelegation limits, slashing of unbonding entries,
jail and unjail at EndBlock, genesis export round-trip and the invariants."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from aivm.app.application import AivmApp
from aivm.app.genesis import GenesisDoc
from aivm.modules.framework import BlockHeader, Context, ExecMode
from aivm.modules.staking import genesis as staking_genesis
from aivm.modules.staking.api import BONDED_POOL, NOT_BONDED_POOL, POWER_REDUCTION
from aivm.modules.staking.codec import ed25519_any, val_str
from aivm.modules.staking.invariants import invariants
from aivm.modules.staking.keeper import StakingKeeper
from aivm.store import GasMeter
from aivm.types import pb
from aivm.types.address import acc_address, module_address
from aivm.types.dec import Dec
from harness import Chain, genesis_doc, make_key

OP_A, OP_B, OP_C, DELEGATOR = make_key(31), make_key(32), make_key(33), make_key(34)
ADDR = {k: k.pubkey.address() for k in (OP_A, OP_B, OP_C, DELEGATOR)}
CGPT = POWER_REDUCTION
FUNDS = 1_000 * CGPT
UNBONDING_S = 10


def cons_key(name: str) -> bytes:
    return hashlib.sha256(b"cons-" + name.encode()).digest()


def valoper(key: Any) -> str:
    return val_str(key.pubkey.address())


def start(
    path: Path,
    gen_txs: tuple[tuple[Any, int], ...] = ((OP_A, 10 * CGPT), (OP_B, 5 * CGPT)),
    max_entries: int = 7,
    differential: bool = True,
) -> tuple[Chain, pb.abci.ResponseInitChain]:
    """A chain whose initial set comes from ``gen_txs`` (operator, self-bond)."""
    funded = {a: FUNDS for a in ADDR.values()}
    doc = genesis_doc(funded, with_accounts=True)
    params = staking_genesis.default_genesis()["params"]
    params.update(unbonding_time=f"{UNBONDING_S}s", max_entries=max_entries)
    doc.app_state["staking"] = {
        "params": params,
        "gen_txs": [
            staking_genesis.gentx(
                acc_address(key.pubkey.address()), cons_key(str(i)), bond, f"val{i}"
            )
            for i, (key, bond) in enumerate(gen_txs)
        ],
    }
    app_holder: list[AivmApp] = []
    chain = Chain.start(path, funded, genesis=doc, differential=differential)
    app_holder.append(chain.app)
    init = _init_response(chain)
    return chain, init


def _init_response(chain: Chain) -> list[pb.abci.ValidatorUpdate]:
    return chain.app.validators()


def keeper(chain: Chain) -> StakingKeeper:
    return chain.app.manager.keepers.get("staking", StakingKeeper)


def query_ctx(chain: Chain) -> Context:
    return chain.app.query_context(chain.height)


def powers(chain: Chain) -> dict[bytes, int]:
    return {bytes(v.pub_key.ed25519): v.power for v in chain.app.validators()}


def create_validator(
    key: Any, cons: bytes, amount: int, **overrides: Any
) -> pb.staking_tx.MsgCreateValidator:
    msg = pb.staking_tx.MsgCreateValidator(
        description=pb.staking.Description(moniker="new"),
        commission=pb.staking.CommissionRates(
            rate=Dec("0.05").to_proto_str(),
            max_rate=Dec("0.2").to_proto_str(),
            max_change_rate=Dec("0.01").to_proto_str(),
        ),
        min_self_delegation="1",
        validator_address=valoper(key),
        pubkey=ed25519_any(cons),
        value=pb.coin.Coin(denom="ucgpt", amount=str(amount)),
    )
    for name, value in overrides.items():
        if name == "rate":
            msg.commission.rate = value
        elif name == "moniker":
            msg.description.moniker = value
        elif name == "denom":
            msg.value.denom = value
        elif name == "pubkey":
            msg.pubkey.CopyFrom(value)
        else:
            setattr(msg, name, value)
    return msg


def delegate(key: Any, val: Any, amount: int) -> pb.staking_tx.MsgDelegate:
    return pb.staking_tx.MsgDelegate(
        delegator_address=acc_address(key.pubkey.address()),
        validator_address=valoper(val),
        amount=pb.coin.Coin(denom="ucgpt", amount=str(amount)),
    )


def undelegate(key: Any, val: Any, amount: int) -> pb.staking_tx.MsgUndelegate:
    return pb.staking_tx.MsgUndelegate(
        delegator_address=acc_address(key.pubkey.address()),
        validator_address=valoper(val),
        amount=pb.coin.Coin(denom="ucgpt", amount=str(amount)),
    )


def redelegate(key: Any, src: Any, dst: Any, amount: int) -> pb.staking_tx.MsgBeginRedelegate:
    return pb.staking_tx.MsgBeginRedelegate(
        delegator_address=acc_address(key.pubkey.address()),
        validator_src_address=valoper(src),
        validator_dst_address=valoper(dst),
        amount=pb.coin.Coin(denom="ucgpt", amount=str(amount)),
    )


def events(result: Any, kind: str) -> list[dict[str, str]]:
    return [{a.key: a.value for a in e.attributes} for e in result.events if e.type == kind]


def check_invariants(chain: Chain) -> None:
    module = chain.app.manager.by_name["staking"]
    ctx = query_ctx(chain)
    problems = {name: check(ctx) for name, check in invariants(module).items()}  # type: ignore[arg-type]
    assert all(not p for p in problems.values()), problems


# -- genesis ----------------------------------------------------------------------------------


def test_gen_txs_make_the_initial_set(tmp_path: Path) -> None:
    chain, initial = start(tmp_path / "data")
    assert {bytes(v.pub_key.ed25519): v.power for v in initial} == {
        cons_key("0"): 10,
        cons_key("1"): 5,
    }
    chain.block([])
    assert chain.balance(ADDR[OP_A]) == FUNDS - 10 * CGPT
    assert chain.balance(module_address(BONDED_POOL)) == 15 * CGPT
    assert chain.balance(module_address(NOT_BONDED_POOL)) == 0
    ctx = query_ctx(chain)
    validator = keeper(chain).get_validator(ctx, ADDR[OP_A])
    assert validator is not None and validator.is_bonded and validator.tokens == 10 * CGPT
    assert keeper(chain).get_last_total_power(ctx) == 15
    info = keeper(chain).get_historical_info(ctx, 1)
    assert info is not None and info.header.height == 1 and len(info.valset) == 2
    check_invariants(chain)


def test_genesis_without_validators_keeps_genesis_json_set(tmp_path: Path) -> None:
    funded = {ADDR[DELEGATOR]: FUNDS}
    chain = Chain.start(tmp_path / "data", funded)
    assert [v.power for v in chain.app.validators()] == [10]
    response = chain.block([])
    assert not response.validator_updates
    assert [v.power for v in chain.app.validators()] == [10]


def test_pool_mismatch_is_a_clear_genesis_error(tmp_path: Path) -> None:
    chain, _ = start(tmp_path / "data", differential=False)
    chain.block([])
    doc = chain.app.export_genesis()
    doc.app_state["bank"]["balances"] = [
        b
        for b in doc.app_state["bank"]["balances"]
        if b["address"] != acc_address(module_address(BONDED_POOL))
    ]
    doc.app_state["bank"]["supply"] = []
    with pytest.raises(Exception, match="bonded pool balance is different from bonded coins"):
        Chain.start(tmp_path / "other", {}, genesis=_as_new_chain(doc), differential=False)


def _as_new_chain(doc: GenesisDoc) -> GenesisDoc:
    return GenesisDoc(
        chain_id=doc.chain_id,
        app_state=doc.app_state,
        genesis_time="2026-09-21T00:00:00Z",
        validators=doc.validators,
        initial_height=doc.initial_height,
    )


def test_export_round_trip(tmp_path: Path) -> None:
    chain, _ = start(tmp_path / "data", differential=False)
    chain.block([])
    assert chain.deliver(DELEGATOR, delegate(DELEGATOR, OP_A, 7 * CGPT)).code == 0
    assert chain.deliver(DELEGATOR, undelegate(DELEGATOR, OP_A, 2 * CGPT)).code == 0
    assert chain.deliver(DELEGATOR, redelegate(DELEGATOR, OP_A, OP_B, CGPT)).code == 0
    doc = chain.app.export_genesis()
    exported = doc.app_state["staking"]
    assert exported["exported"] is True and exported["gen_txs"] == []
    assert exported["delegations"][0]["shares"].endswith(".000000000000000000")
    other = Chain.start(tmp_path / "other", {}, genesis=_as_new_chain(doc), differential=False)
    other.height, other.time_s = chain.height, chain.time_s
    assert powers(other) == powers(chain)
    response = other.block([])
    assert not response.validator_updates
    old, new = keeper(chain), keeper(other)
    ctx_old, ctx_new = query_ctx(chain), chain.app.query_context(chain.height)
    ctx_new = other.app.query_context(other.height)
    assert list(old.iterate_validator_protos(ctx_old)) == list(
        new.iterate_validator_protos(ctx_new)
    )
    assert list(old.iterate_all_delegations(ctx_old)) == list(new.iterate_all_delegations(ctx_new))
    assert list(old.iterate_all_unbonding_delegations(ctx_old)) == list(
        new.iterate_all_unbonding_delegations(ctx_new)
    )
    assert list(old.iterate_all_redelegations(ctx_old)) == list(
        new.iterate_all_redelegations(ctx_new)
    )
    assert new.get_last_total_power(ctx_new) == old.get_last_total_power(ctx_old)
    reexported = other.app.export_genesis().app_state["staking"]
    history = reexported.pop("historical_info")
    before = exported.pop("historical_info")
    assert [h["header"]["height"] for h in history] == [h["header"]["height"] for h in before] + [
        str(other.height)
    ]
    assert history[:-1] == before  # one block more
    assert reexported == exported
    check_invariants(other)


# -- create / edit ----------------------------------------------------------------------------


def test_create_validator_enters_the_set(tmp_path: Path) -> None:
    chain, _ = start(tmp_path / "data")
    chain.block([])
    raw = chain.msgs_tx(OP_C, [create_validator(OP_C, cons_key("c"), 3 * CGPT)])
    response = chain.block([raw])
    result = response.tx_results[0]
    assert result.code == 0, result.log
    assert events(result, "create_validator") == [
        {"validator": valoper(OP_C), "amount": f"{3 * CGPT}ucgpt", "msg_index": "0"}
    ] or events(result, "create_validator")[0]["validator"] == valoper(OP_C)
    updates = {bytes(u.pub_key.ed25519): u.power for u in response.validator_updates}
    assert updates == {cons_key("c"): 3}
    assert powers(chain)[cons_key("c")] == 3
    assert chain.balance(module_address(BONDED_POOL)) == 18 * CGPT
    check_invariants(chain)


@pytest.mark.parametrize(
    ("overrides", "key", "codespace", "code"),
    [
        ({}, OP_A, "staking", 4),  # operator already has a validator
        ({"pubkey": ed25519_any(cons_key("0"))}, OP_C, "staking", 5),  # key in use
        ({"denom": "uother"}, OP_C, "sdk", 18),
        ({"rate": Dec("0.3").to_proto_str()}, OP_C, "staking", 11),
        ({"min_self_delegation": str(4 * CGPT)}, OP_C, "staking", 16),
        ({"moniker": "m" * 71}, OP_C, "sdk", 18),
        (
            {"pubkey": pb.AnyProto(type_url="/cosmos.crypto.secp256k1.PubKey", value=b"")},
            OP_C,
            "staking",
            6,
        ),
    ],
)
def test_create_validator_failures(
    tmp_path: Path, overrides: dict[str, Any], key: Any, codespace: str, code: int
) -> None:
    chain, _ = start(tmp_path / "data", differential=False)
    chain.block([])
    result = chain.deliver(key, create_validator(key, cons_key("x"), 3 * CGPT, **overrides))
    assert (result.codespace, result.code) == (codespace, code), result.log


def test_edit_validator_commission_limits(tmp_path: Path) -> None:
    chain, _ = start(tmp_path / "data", differential=False)
    chain.block([])
    edit = pb.staking_tx.MsgEditValidator(
        description=pb.staking.Description(moniker="[do-not-modify]", details="hi"),
        validator_address=valoper(OP_A),
        commission_rate=Dec("0.105").to_proto_str(),
    )
    result = chain.deliver(OP_A, edit)
    assert (result.codespace, result.code) == ("staking", 12)  # within 24 h of creation
    chain.block([], seconds=24 * 3600)
    result = chain.deliver(OP_A, edit)
    assert result.code == 0, result.log
    assert events(result, "edit_validator")[0]["commission_rate"] == "0.105000000000000000"
    validator = keeper(chain).get_validator_proto(query_ctx(chain), ADDR[OP_A])
    assert validator is not None and validator.description.moniker == "val0"
    assert validator.description.details == "hi"
    chain.block([], seconds=24 * 3600)
    edit.commission_rate = Dec("0.2").to_proto_str()
    result = chain.deliver(OP_A, edit)
    assert (result.codespace, result.code) == ("staking", 15)  # > max change rate


# -- delegate / undelegate --------------------------------------------------------------------


def test_delegation_changes_power(tmp_path: Path) -> None:
    chain, _ = start(tmp_path / "data")
    chain.block([])
    raw = chain.msgs_tx(DELEGATOR, [delegate(DELEGATOR, OP_B, 3 * CGPT)])
    response = chain.block([raw])
    result = response.tx_results[0]
    assert result.code == 0, result.log
    assert events(result, "delegate")[0]["new_shares"] == f"{3 * CGPT}.000000000000000000"
    assert {bytes(u.pub_key.ed25519): u.power for u in response.validator_updates} == {
        cons_key("1"): 8
    }
    assert chain.balance(ADDR[DELEGATOR]) == FUNDS - 3 * CGPT - 20_000
    result = chain.deliver(DELEGATOR, delegate(DELEGATOR, OP_C, CGPT))
    assert (result.codespace, result.code) == ("staking", 3)
    check_invariants(chain)


def test_undelegate_completes_at_the_exact_block(tmp_path: Path) -> None:
    chain, _ = start(tmp_path / "data")
    chain.block([])
    assert chain.deliver(DELEGATOR, delegate(DELEGATOR, OP_A, 4 * CGPT)).code == 0
    raw = chain.msgs_tx(DELEGATOR, [undelegate(DELEGATOR, OP_A, 4 * CGPT)])
    response = chain.block([raw])
    result = response.tx_results[0]
    assert result.code == 0, result.log
    data = pb.sdk_abci.TxMsgData.FromString(result.data)
    answer = pb.staking_tx.MsgUndelegateResponse.FromString(data.msg_responses[0].value)
    assert answer.amount.amount == str(4 * CGPT)
    assert answer.completion_time.seconds == chain.time_s + UNBONDING_S
    assert {bytes(u.pub_key.ed25519): u.power for u in response.validator_updates} == {
        cons_key("0"): 10
    }
    assert chain.balance(module_address(NOT_BONDED_POOL)) == 4 * CGPT
    check_invariants(chain)
    before = chain.balance(ADDR[DELEGATOR])
    response = chain.block([], seconds=UNBONDING_S - 1)
    assert not [e for e in response.events if e.type == "complete_unbonding"]
    assert chain.balance(ADDR[DELEGATOR]) == before
    response = chain.block([], seconds=1)
    done = [e for e in response.events if e.type == "complete_unbonding"]
    assert len(done) == 1
    assert {a.key: a.value for a in done[0].attributes}["amount"] == f"{4 * CGPT}ucgpt"
    assert chain.balance(ADDR[DELEGATOR]) == before + 4 * CGPT
    assert chain.balance(module_address(NOT_BONDED_POOL)) == 0
    check_invariants(chain)


def test_undelegate_failures(tmp_path: Path) -> None:
    chain, _ = start(tmp_path / "data", max_entries=2, differential=False)
    chain.block([])
    result = chain.deliver(DELEGATOR, undelegate(DELEGATOR, OP_A, CGPT))
    assert (result.codespace, result.code) == ("staking", 19)  # no delegation
    assert chain.deliver(DELEGATOR, delegate(DELEGATOR, OP_A, 4 * CGPT)).code == 0
    result = chain.deliver(DELEGATOR, undelegate(DELEGATOR, OP_A, 5 * CGPT))
    assert (result.codespace, result.code) == ("sdk", 18)  # more than delegated
    assert chain.deliver(DELEGATOR, undelegate(DELEGATOR, OP_A, CGPT)).code == 0
    assert chain.deliver(DELEGATOR, undelegate(DELEGATOR, OP_A, CGPT)).code == 0
    result = chain.deliver(DELEGATOR, undelegate(DELEGATOR, OP_A, CGPT))
    assert (result.codespace, result.code) == ("staking", 27)  # max entries


def test_cancel_unbonding_delegation(tmp_path: Path) -> None:
    chain, _ = start(tmp_path / "data")
    chain.block([])
    assert chain.deliver(DELEGATOR, delegate(DELEGATOR, OP_A, 4 * CGPT)).code == 0
    assert chain.deliver(DELEGATOR, undelegate(DELEGATOR, OP_A, 3 * CGPT)).code == 0
    height = chain.height
    cancel = pb.staking_tx.MsgCancelUnbondingDelegation(
        delegator_address=acc_address(ADDR[DELEGATOR]),
        validator_address=valoper(OP_A),
        amount=pb.coin.Coin(denom="ucgpt", amount=str(CGPT)),
        creation_height=height + 5,
    )
    result = chain.deliver(DELEGATOR, cancel)
    assert (result.codespace, result.code) == ("sdk", 38)
    cancel.creation_height = height
    result = chain.deliver(DELEGATOR, cancel)
    assert result.code == 0, result.log
    assert events(result, "cancel_unbonding_delegation")[0]["creation_height"] == str(height)
    ubd = keeper(chain).get_unbonding_delegation(query_ctx(chain), ADDR[DELEGATOR], ADDR[OP_A])
    assert ubd is not None and ubd.entries[0].balance == str(2 * CGPT)
    assert powers(chain)[cons_key("0")] == 12
    check_invariants(chain)


# -- redelegate -------------------------------------------------------------------------------


def test_redelegation_limits(tmp_path: Path) -> None:
    gen = ((OP_A, 10 * CGPT), (OP_B, 5 * CGPT), (OP_C, 5 * CGPT))
    chain, _ = start(tmp_path / "data", gen_txs=gen, max_entries=2)
    chain.block([])
    assert chain.deliver(DELEGATOR, delegate(DELEGATOR, OP_A, 10 * CGPT)).code == 0
    result = chain.deliver(DELEGATOR, redelegate(DELEGATOR, OP_A, OP_A, CGPT))
    assert (result.codespace, result.code) == ("staking", 29)
    result = chain.deliver(DELEGATOR, redelegate(DELEGATOR, OP_A, OP_B, CGPT))
    assert result.code == 0, result.log
    assert events(result, "redelegate")[0]["destination_validator"] == valoper(OP_B)
    result = chain.deliver(DELEGATOR, redelegate(DELEGATOR, OP_B, OP_C, CGPT // 2))
    assert (result.codespace, result.code) == ("staking", 32)  # transitive
    assert chain.deliver(DELEGATOR, redelegate(DELEGATOR, OP_A, OP_B, CGPT)).code == 0
    result = chain.deliver(DELEGATOR, redelegate(DELEGATOR, OP_A, OP_B, CGPT))
    assert (result.codespace, result.code) == ("staking", 33)  # max entries
    assert powers(chain)[cons_key("1")] == 7
    check_invariants(chain)
    response = chain.block([], seconds=UNBONDING_S)
    assert len([e for e in response.events if e.type == "complete_redelegation"]) == 1
    assert chain.deliver(DELEGATOR, redelegate(DELEGATOR, OP_B, OP_C, CGPT)).code == 0
    check_invariants(chain)


# -- slash and jail ---------------------------------------------------------------------------


def _next_block_ctx(chain: Chain) -> Context:
    """A context writing into the next block's state (non-differential chains only)."""
    header = BlockHeader(chain.height + 1, (chain.time_s + 1) * 10**9, "aivm-test-1")
    return Context(chain.app.store.working, GasMeter(None), header, ExecMode.FINALIZE)


def test_slash_takes_unbonding_entries_first(tmp_path: Path) -> None:
    chain, _ = start(tmp_path / "data", differential=False)
    chain.block([])
    infraction = chain.height
    assert chain.deliver(DELEGATOR, delegate(DELEGATOR, OP_A, 10 * CGPT)).code == 0
    chain.block([])
    infraction = chain.height
    assert chain.deliver(DELEGATOR, undelegate(DELEGATOR, OP_A, 4 * CGPT)).code == 0
    ctx = _next_block_ctx(chain)
    k = keeper(chain)
    burned = k.slash(ctx, hashlib.sha256(cons_key("0")).digest()[:20], infraction, 20, Dec("0.1"))
    # 10% of power 20 = 2 CGPT: 0.4 from the unbonding entry, 1.6 from the validator
    assert burned == 16 * CGPT // 10
    ubd = k.get_unbonding_delegation(ctx, ADDR[DELEGATOR], ADDR[OP_A])
    assert ubd is not None and ubd.entries[0].balance == str(36 * CGPT // 10)
    validator = k.get_validator(ctx, ADDR[OP_A])
    assert validator is not None and validator.tokens == 16 * CGPT - 16 * CGPT // 10
    chain.block([])
    assert chain.balance(module_address(NOT_BONDED_POOL)) == 36 * CGPT // 10
    assert chain.balance(module_address(BONDED_POOL)) == 21 * CGPT - 16 * CGPT // 10
    check_invariants(chain)


def test_jail_leaves_the_set_and_unjail_returns(tmp_path: Path) -> None:
    chain, _ = start(tmp_path / "data", differential=False)
    chain.block([])
    cons_a = hashlib.sha256(cons_key("0")).digest()[:20]
    keeper(chain).jail(_next_block_ctx(chain), cons_a)
    response = chain.block([])
    assert {bytes(u.pub_key.ed25519): u.power for u in response.validator_updates} == {
        cons_key("0"): 0
    }
    assert cons_key("0") not in powers(chain)
    assert chain.balance(module_address(NOT_BONDED_POOL)) == 10 * CGPT
    check_invariants(chain)
    keeper(chain).unjail(_next_block_ctx(chain), cons_a)
    response = chain.block([])
    assert {bytes(u.pub_key.ed25519): u.power for u in response.validator_updates} == {
        cons_key("0"): 10
    }
    assert chain.balance(module_address(BONDED_POOL)) == 15 * CGPT
    check_invariants(chain)


def test_self_undelegation_below_minimum_jails(tmp_path: Path) -> None:
    chain, _ = start(tmp_path / "data")
    chain.block([])
    raw = chain.msgs_tx(OP_B, [undelegate(OP_B, OP_B, 5 * CGPT)])
    response = chain.block([raw])
    assert response.tx_results[0].code == 0, response.tx_results[0].log
    assert {bytes(u.pub_key.ed25519): u.power for u in response.validator_updates} == {
        cons_key("1"): 0
    }
    ctx = query_ctx(chain)
    validator = keeper(chain).get_validator(ctx, ADDR[OP_B])
    assert validator is not None and validator.jailed and validator.tokens == 0
    chain.block([], seconds=UNBONDING_S)
    chain.block([])
    assert keeper(chain).get_validator(query_ctx(chain), ADDR[OP_B]) is None  # removed
    check_invariants(chain)


def test_update_params_needs_the_authority(tmp_path: Path) -> None:
    chain, _ = start(tmp_path / "data", differential=False)
    chain.block([])
    params = keeper(chain).get_params_proto(query_ctx(chain))
    params.max_validators = 1
    msg = pb.staking_tx.MsgUpdateParams(authority=acc_address(ADDR[DELEGATOR]), params=params)
    result = chain.deliver(DELEGATOR, msg)
    assert result.code != 0


def test_invariants_hold_after_a_random_sequence(tmp_path: Path) -> None:
    import random

    gen = ((OP_A, 10 * CGPT), (OP_B, 5 * CGPT), (OP_C, 3 * CGPT))
    chain, _ = start(tmp_path / "data", gen_txs=gen, max_entries=3)
    chain.block([])
    rng = random.Random(7)
    vals = [OP_A, OP_B, OP_C]
    codes: list[int] = []
    for step in range(40):
        src, dst = rng.sample(vals, 2)
        amount = rng.randrange(1, 4 * CGPT)
        msg = rng.choice(
            [
                delegate(DELEGATOR, src, amount),
                undelegate(DELEGATOR, src, amount),
                redelegate(DELEGATOR, src, dst, amount),
            ]
        )
        raw = chain.msgs_tx(DELEGATOR, [msg])
        codes.append(chain.block([raw], seconds=rng.choice((1, 2, UNBONDING_S))).tx_results[0].code)
        if step % 10 == 9:
            check_invariants(chain)
    assert codes.count(0) > 10 and any(codes)
    chain.block([], seconds=2 * UNBONDING_S)
    check_invariants(chain)
    ctx = query_ctx(chain)
    assert not list(keeper(chain).iterate_all_unbonding_delegations(ctx))
    assert chain.balance(module_address(NOT_BONDED_POOL)) == 0
