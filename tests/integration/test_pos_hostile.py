"""Proof of stake against a hostile user (issue 13 consensus-safety review): edge states a
user can create cheaply must neither halt a block hook nor break the module invariants.

The chains run with the differential replay; the tests check every module's registered
invariants (``check_invariants`` of the app, the SDK's ``x/crisis``), and the harness fails any
block during which a block hook raised (the module manager logs ``BUG`` and drops that module's
writes for the block; ``tests/harness.py`` turns that line into a failure)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from aivm.modules.distribution.keeper import DistributionKeeper
from aivm.modules.mint import types as mint_types
from aivm.modules.mint.params import MintParams
from aivm.modules.roles import roles_pb2
from aivm.modules.slashing.keeper import SlashingKeeper
from aivm.modules.staking import genesis as staking_genesis
from aivm.modules.staking.api import POWER_REDUCTION
from aivm.modules.staking.codec import ed25519_any, val_str
from aivm.modules.staking.keeper import StakingKeeper
from aivm.types import pb
from aivm.types.address import acc_address
from aivm.types.dec import Dec
from harness import Chain, genesis_doc, make_key

OP_A, OP_B, OP_C, DEL = make_key(131), make_key(132), make_key(133), make_key(134)
KEYS = (OP_A, OP_B, OP_C, DEL)
CGPT = POWER_REDUCTION
FUNDS = 10_000 * CGPT
UNBONDING_S = 10


def cons_pub(name: str) -> bytes:
    return hashlib.sha256(b"hostile-cons-" + name.encode()).digest()


def cons_addr(name: str) -> bytes:
    return hashlib.sha256(cons_pub(name)).digest()[:20]


def valoper(key: Any) -> str:
    return val_str(key.pubkey.address())


def acc(key: Any) -> str:
    return acc_address(key.pubkey.address())


def start(path: Path) -> Chain:
    """Two genesis validators A (100 CGPT) and B (50 CGPT), a 10 s unbonding time."""
    funded = {k.pubkey.address(): FUNDS for k in KEYS}
    doc = genesis_doc(funded, with_accounts=True)
    params = staking_genesis.default_genesis()["params"]
    params.update(unbonding_time=f"{UNBONDING_S}s")
    doc.app_state["staking"] = {
        "params": params,
        "gen_txs": [
            staking_genesis.gentx(acc(OP_A), cons_pub("a"), 100 * CGPT, "a"),
            staking_genesis.gentx(acc(OP_B), cons_pub("b"), 50 * CGPT, "b"),
        ],
    }
    doc.app_state["authority"] = {"authority": acc(OP_A)}
    chain = Chain.start(path, funded, genesis=doc)
    chain.block([])
    return chain


def create_validator(
    key: Any, cons: str, amount: int, rate: str = "0.05", max_rate: str = "0.2"
) -> pb.staking_tx.MsgCreateValidator:
    return pb.staking_tx.MsgCreateValidator(
        description=pb.staking.Description(moniker=f"hostile-{cons}"),
        commission=pb.staking.CommissionRates(
            rate=Dec(rate).to_proto_str(),
            max_rate=Dec(max_rate).to_proto_str(),
            max_change_rate=Dec("0.01").to_proto_str(),
        ),
        min_self_delegation="1",
        validator_address=valoper(key),
        pubkey=ed25519_any(cons_pub(cons)),
        value=pb.coin.Coin(denom="ucgpt", amount=str(amount)),
    )


def delegate(key: Any, val: Any, amount: int) -> pb.staking_tx.MsgDelegate:
    return pb.staking_tx.MsgDelegate(
        delegator_address=acc(key),
        validator_address=valoper(val),
        amount=pb.coin.Coin(denom="ucgpt", amount=str(amount)),
    )


def undelegate(key: Any, val: Any, amount: int) -> pb.staking_tx.MsgUndelegate:
    return pb.staking_tx.MsgUndelegate(
        delegator_address=acc(key),
        validator_address=valoper(val),
        amount=pb.coin.Coin(denom="ucgpt", amount=str(amount)),
    )


def redelegate(key: Any, src: Any, dst: Any, amount: int) -> pb.staking_tx.MsgBeginRedelegate:
    return pb.staking_tx.MsgBeginRedelegate(
        delegator_address=acc(key),
        validator_src_address=valoper(src),
        validator_dst_address=valoper(dst),
        amount=pb.coin.Coin(denom="ucgpt", amount=str(amount)),
    )


def withdraw_commission(key: Any) -> pb.Message:
    return pb.distribution_tx.MsgWithdrawValidatorCommission(validator_address=valoper(key))


def withdraw_rewards(key: Any, val: Any) -> pb.Message:
    return pb.distribution_tx.MsgWithdrawDelegatorReward(
        delegator_address=acc(key), validator_address=valoper(val)
    )


def evidence(name: str, height: int, time_s: int, power: int) -> pb.abci.Misbehavior:
    item = pb.abci.Misbehavior(type=1, height=height, total_voting_power=power)
    item.validator.address = cons_addr(name)
    item.validator.power = power
    item.time.seconds = time_s
    return item


def staking(chain: Chain) -> StakingKeeper:
    return chain.app.manager.keepers.get("staking", StakingKeeper)


def distribution(chain: Chain) -> DistributionKeeper:
    return chain.app.manager.keepers.get("distribution", DistributionKeeper)


def assert_invariants(chain: Chain) -> None:
    broken = chain.app.check_invariants()
    assert broken == [], broken


def ok(result: pb.abci.ExecTxResult) -> None:
    assert result.code == 0, (result.codespace, result.code, result.log)


# -- tests ------------------------------------------------------------------------------------


def test_tiny_validators_cost_endblock_nothing(tmp_path: Path) -> None:
    """Validators with 1 ucgpt (power 0) never bond and never reach CometBFT; EndBlock only
    looks at the head of the power index."""
    chain = start(tmp_path / "data")
    spam = [make_key(200 + i) for i in range(6)]
    for key in spam:
        ok(
            chain.deliver(
                OP_A,
                pb.bank_tx.MsgSend(
                    from_address=acc(OP_A),
                    to_address=acc(key),
                    amount=[pb.coin.Coin(denom="ucgpt", amount=str(CGPT))],
                ),
            )
        )
    for i, key in enumerate(spam):
        response = chain.block([chain.msgs_tx(key, [create_validator(key, f"spam{i}", 1)])])
        ok(response.tx_results[0])
        assert not response.validator_updates
    response = chain.block([])
    assert not response.validator_updates
    ctx = chain.app.query_context(chain.height)
    assert sorted(p for _, p in staking(chain).iterate_last_validator_powers(ctx)) == [50, 100]
    assert_invariants(chain)


def test_commission_rate_one_pays_everything_to_the_operator(tmp_path: Path) -> None:
    """A commission of exactly 1: delegators earn 0, the operator gets every reward, and
    the distribution account still balances."""
    chain = start(tmp_path / "data")
    ok(chain.deliver(OP_C, create_validator(OP_C, "c", 30 * CGPT, rate="1", max_rate="1")))
    ok(chain.deliver(DEL, delegate(DEL, OP_C, 20 * CGPT)))
    for _ in range(4):
        chain.block([])
    ok(chain.deliver(DEL, withdraw_rewards(DEL, OP_C)))
    ok(chain.deliver(OP_C, withdraw_commission(OP_C)))
    assert_invariants(chain)


def test_validator_removed_with_outstanding_rewards(tmp_path: Path) -> None:
    """Every share of a bonded validator with rewards outstanding leaves: the validator is
    jailed (self-delegation below minimum), unbonds, is removed; its commission is paid, its
    dust goes to the community pool, and it can be created again with the same keys."""
    chain = start(tmp_path / "data")
    ok(chain.deliver(OP_C, create_validator(OP_C, "c", 30 * CGPT)))
    ok(chain.deliver(DEL, delegate(DEL, OP_C, 7 * CGPT)))
    for _ in range(3):
        chain.block([])
    ok(chain.deliver(DEL, undelegate(DEL, OP_C, 7 * CGPT)))
    ok(chain.deliver(OP_C, undelegate(OP_C, OP_C, 30 * CGPT)))
    chain.block([], seconds=UNBONDING_S + 1)
    chain.block([])
    ctx = chain.app.query_context(chain.height)
    assert staking(chain).get_validator(ctx, OP_C.pubkey.address()) is None
    assert OP_C.pubkey.address() not in distribution(chain).validators(ctx)
    assert_invariants(chain)
    ok(chain.deliver(OP_C, create_validator(OP_C, "c", 3 * CGPT)))
    chain.block([])
    assert_invariants(chain)


def test_slash_reaches_a_redelegation_whose_destination_was_removed(tmp_path: Path) -> None:
    """D redelegates A → C (C unbonded, 1 ucgpt), then C is emptied and removed at once; A's
    double sign before the redelegation still slashes D's unbonding at C and nothing else
    breaks (the destination delegation is gone)."""
    chain = start(tmp_path / "data")
    ok(chain.deliver(OP_C, create_validator(OP_C, "c", 1)))
    ok(chain.deliver(DEL, delegate(DEL, OP_A, 5 * CGPT)))
    infraction_height, infraction_time = chain.height + 1, chain.time_s + 1
    chain.block([])
    ok(chain.deliver(DEL, redelegate(DEL, OP_A, OP_C, CGPT // 2)))
    ok(chain.deliver(DEL, undelegate(DEL, OP_C, CGPT // 2)))
    ok(chain.deliver(OP_C, undelegate(OP_C, OP_C, 1)))
    ctx = chain.app.query_context(chain.height)
    assert staking(chain).get_validator(ctx, OP_C.pubkey.address()) is None
    chain.block([], misbehavior=[evidence("a", infraction_height, infraction_time, 100)])
    ctx = chain.app.query_context(chain.height)
    ubd = staking(chain).get_unbonding_delegation(ctx, DEL.pubkey.address(), OP_C.pubkey.address())
    assert ubd is not None and int(ubd.entries[0].balance) == CGPT // 2 - CGPT // 2 * 5 // 100
    assert_invariants(chain)
    chain.block([], seconds=UNBONDING_S + 1)
    chain.block([])
    assert_invariants(chain)


def test_genesis_json_validator_key_cannot_be_taken_over(tmp_path: Path) -> None:
    """A chain whose staking genesis has no validators keeps genesis.json's set; nobody may
    then create a staking validator with that set's consensus key (its EndBlock updates
    would change, then remove, a validator staking does not own: CometBFT halts on an empty
    set)."""
    chain = Chain.start(tmp_path / "data", {OP_C.pubkey.address(): FUNDS}, with_accounts=True)
    chain.block([])
    (genesis_validator,) = chain.app.validators()
    msg = create_validator(OP_C, "c", 3 * CGPT)
    msg.pubkey.CopyFrom(ed25519_any(bytes(genesis_validator.pub_key.ed25519)))
    response = chain.block([chain.msgs_tx(OP_C, [msg])])
    result = response.tx_results[0]
    assert (result.codespace, result.code) == ("staking", 5)
    assert "reserved" in result.log
    assert not response.validator_updates
    assert [v.power for v in chain.app.validators()] == [genesis_validator.power]


def test_unbonding_time_param_is_bounded(tmp_path: Path) -> None:
    """An unbonding time so long that block time + it leaves int64 nanoseconds is refused:
    10,000 years passed the SDK's check, then every MsgUnbondRole failed with an internal
    error (its completion time is int64 ns), and near the int64 maximum every undelegation
    did. 100 years still works for staking and roles."""
    chain = start(tmp_path / "data")
    ctx = chain.app.query_context(chain.height)
    params = staking(chain).get_params_proto(ctx)
    params.unbonding_time.seconds = 315_576_000_000  # 10,000 years
    update = pb.staking_tx.MsgUpdateParams(authority=acc(OP_A), params=params)
    result = chain.deliver(OP_A, update)
    assert result.code != 0 and "unbonding time" in result.log
    params.unbonding_time.seconds = 100 * 365 * 24 * 3600
    ok(chain.deliver(OP_A, pb.staking_tx.MsgUpdateParams(authority=acc(OP_A), params=params)))
    ok(chain.deliver(DEL, delegate(DEL, OP_B, CGPT)))
    ok(chain.deliver(DEL, undelegate(DEL, OP_B, CGPT)))
    role = roles_pb2.ROLE_DATA
    register = roles_pb2.MsgRegisterRole(
        operator=acc(DEL),
        role=role,  # type: ignore[arg-type]
        bond=pb.coin.Coin(denom="ucgpt", amount=str(1_000 * CGPT)),
        capability=roles_pb2.Capability(data=roles_pb2.DataCapability(storage_bytes=1 << 40)),
        moniker="d",
    )
    ok(chain.deliver(DEL, register))
    unbond = roles_pb2.MsgUnbondRole(operator=acc(DEL), role=role, all=True)  # type: ignore[arg-type]
    ok(chain.deliver(DEL, unbond))
    response = chain.block([chain.msgs_tx(OP_B, [undelegate(OP_B, OP_B, 50 * CGPT)])])
    ok(response.tx_results[0])
    assert [u.power for u in response.validator_updates] == [0]
    assert_invariants(chain)


def test_bond_denom_cannot_change_under_staked_tokens(tmp_path: Path) -> None:
    """Changing bond_denom while the pools hold the old one left every pool move of the
    EndBlock short of funds: staking's EndBlock raised (and was dropped) every block, so no
    unbonding ever completed again. MsgUpdateParams refuses it; other fields still change."""
    chain = start(tmp_path / "data")
    ctx = chain.app.query_context(chain.height)
    params = staking(chain).get_params_proto(ctx)
    params.bond_denom = "uother"
    result = chain.deliver(OP_A, pb.staking_tx.MsgUpdateParams(authority=acc(OP_A), params=params))
    assert result.code != 0 and "bond denom" in result.log
    params.bond_denom = "ucgpt"
    params.max_entries = 3
    ok(chain.deliver(OP_A, pb.staking_tx.MsgUpdateParams(authority=acc(OP_A), params=params)))
    ok(chain.deliver(DEL, delegate(DEL, OP_B, CGPT)))
    ok(chain.deliver(DEL, undelegate(DEL, OP_B, CGPT)))
    before = chain.balance(DEL.pubkey.address())
    chain.block([], seconds=UNBONDING_S + 1)
    assert chain.balance(DEL.pubkey.address()) == before + CGPT
    assert_invariants(chain)


def test_rewards_in_a_second_denom_reach_everyone(tmp_path: Path) -> None:
    """The mint denom switched to another denom: the fee collector then holds two denoms,
    which the roles take, distribution allocates (DecCoins of two denoms) and delegators,
    operators and role operators withdraw; every module account still balances."""
    chain = start(tmp_path / "data")
    role = roles_pb2.ROLE_DATA
    register = roles_pb2.MsgRegisterRole(
        operator=acc(DEL),
        role=role,  # type: ignore[arg-type]
        bond=pb.coin.Coin(denom="ucgpt", amount=str(1_000 * CGPT)),
        capability=roles_pb2.Capability(data=roles_pb2.DataCapability(storage_bytes=1 << 40)),
        moniker="d",
    )
    ok(chain.deliver(DEL, register))
    ok(chain.deliver(DEL, delegate(DEL, OP_A, 10 * CGPT)))
    params = MintParams(mint_denom="uother").to_proto()
    ok(chain.deliver(OP_A, mint_types.MsgUpdateParams(authority=acc(OP_A), params=params)))
    for _ in range(3):
        chain.block([])
    ok(chain.deliver(DEL, withdraw_rewards(DEL, OP_A)))
    ok(chain.deliver(OP_A, withdraw_commission(OP_A)))
    withdraw = roles_pb2.MsgWithdrawRoleRewards(operator=acc(DEL), role=role)  # type: ignore[arg-type]
    ok(chain.deliver(DEL, withdraw))
    assert chain.balance(DEL.pubkey.address(), "uother") > 0
    assert chain.balance(OP_A.pubkey.address(), "uother") > 0
    assert_invariants(chain)


def test_slashed_to_zero_tokens(tmp_path: Path) -> None:
    """A double-sign slash of 100 % leaves C with shares and no tokens: delegating to it is
    refused (invalid exchange rate), withdrawing the rewards earned before still works,
    further evidence is ignored (tombstoned), and every block hook and invariant holds while
    C unbonds."""
    chain = start(tmp_path / "data")
    slashing = chain.app.manager.keepers.get("slashing", SlashingKeeper)
    params = slashing.get_params(chain.app.query_context(chain.height)).to_proto()
    params.slash_fraction_double_sign = Dec.one().to_proto_str().encode()
    ok(chain.deliver(OP_A, pb.slashing_tx.MsgUpdateParams(authority=acc(OP_A), params=params)))
    ok(chain.deliver(OP_C, create_validator(OP_C, "c", 20 * CGPT)))
    ok(chain.deliver(DEL, delegate(DEL, OP_C, 5 * CGPT)))
    for _ in range(3):
        chain.block([])
    height, time_s = chain.height, chain.time_s
    chain.block([], misbehavior=[evidence("c", height, time_s, 25)])
    ctx = chain.app.query_context(chain.height)
    found = staking(chain).get_validator(ctx, OP_C.pubkey.address())
    assert found is not None and found.tokens == 0 and found.jailed
    assert chain.deliver(DEL, delegate(DEL, OP_C, CGPT)).code != 0
    ok(chain.deliver(DEL, withdraw_rewards(DEL, OP_C)))
    chain.block([], misbehavior=[evidence("c", height, time_s, 25)])
    chain.block([], seconds=UNBONDING_S + 1)
    chain.block([])
    ok(chain.deliver(DEL, withdraw_rewards(DEL, OP_C)))
    assert_invariants(chain)


def test_validator_slashes_query_to_the_last_height(tmp_path: Path) -> None:
    """ValidatorSlashes with ending_height = 2⁶⁴ − 1 (a uint64 a client may send for "to
    the end") answered an internal error (the key of height + 1 overflowed 8 bytes)."""
    chain = start(tmp_path / "data")
    request = pb.distribution_query.QueryValidatorSlashesRequest(
        validator_address=valoper(OP_A), starting_height=1, ending_height=(1 << 64) - 1
    )
    response, value = chain.query(
        "/cosmos.distribution.v1beta1.Query/ValidatorSlashes",
        request,
        pb.distribution_query.QueryValidatorSlashesResponse,
    )
    assert response.code == 0, response.log
    assert list(value.slashes) == []
