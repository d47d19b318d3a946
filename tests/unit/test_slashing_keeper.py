"""The slashing keeper against a fake staking keeper: the liveness window arithmetic (SDK
``HandleValidatorSignature``), equivocation filtering, unjail checks, params and genesis."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace

import pytest

from aivm.modules.framework import BlockHeader, Context, ExecMode, Misbehavior, VoteInfo
from aivm.modules.slashing import genesis
from aivm.modules.slashing.errors import (
    ErrMissingSelfDelegation,
    ErrNoValidatorForAddress,
    ErrSelfDelegationTooLowToUnjail,
    ErrValidatorJailed,
    ErrValidatorNotJailed,
)
from aivm.modules.slashing.keeper import (
    DOUBLE_SIGN_JAIL_END_NS,
    SlashingHooks,
    SlashingKeeper,
    timestamp_ns,
)
from aivm.modules.slashing.params import NS_PER_S, SlashingParams
from aivm.modules.staking.api import (
    BondStatus,
    Commission,
    Delegation,
    StakingParamValues,
    Validator,
    cons_address,
)
from aivm.store import GasMeter, MemStore
from aivm.types import pb
from aivm.types.address import valcons_address
from aivm.types.dec import Dec
from aivm.types.errors import AivmError, ErrInvalidRequest

T0 = 1_790_000_000 * NS_PER_S
PUBKEY = bytes(range(32))
CONS = cons_address(PUBKEY)
OPERATOR = b"\x07" * 20
HUNDRED = Dec.from_int(100)


@dataclass
class FakeStaking:
    """Just enough of StakingReader: one validator, a log of slashes and jails."""

    validator: Validator | None
    self_shares: Dec | None = HUNDRED
    slashes: list[tuple[int, int, Dec]] = field(default_factory=list)
    fail_slash: bool = False

    def get_params(self, ctx: Context) -> StakingParamValues:
        return StakingParamValues(21 * 86400 * NS_PER_S, 100, 7, 0, "ucgpt", Dec.zero())

    def get_validator_by_cons_addr(self, ctx: Context, cons_addr: bytes) -> Validator | None:
        v = self.validator
        return v if v is not None and v.cons_address == cons_addr else None

    def get_validator(self, ctx: Context, val_addr: bytes) -> Validator | None:
        v = self.validator
        return v if v is not None and v.operator == val_addr else None

    def get_delegation(self, ctx: Context, d: bytes, v: bytes) -> Delegation | None:
        if self.self_shares is None or d != v:
            return None
        return Delegation(d, v, self.self_shares)

    def iterate_bonded_validators_by_power(self, ctx: Context) -> Iterator[Validator]:
        if self.validator is not None and self.validator.is_bonded:
            yield self.validator

    def slash(self, ctx: Context, cons: bytes, height: int, power: int, fraction: Dec) -> int:
        if self.fail_slash:
            raise ErrInvalidRequest.wrap("staking refused")
        self.slashes.append((height, power, fraction))
        return fraction.mul_int(power * 1_000_000).truncate_int()

    def jail(self, ctx: Context, cons: bytes) -> None:
        assert self.validator is not None
        self.validator = replace(self.validator, jailed=True)

    def unjail(self, ctx: Context, cons: bytes) -> None:
        assert self.validator is not None
        self.validator = replace(self.validator, jailed=False)


def make_validator(**kw: object) -> Validator:
    base = Validator(
        operator=OPERATOR,
        cons_pubkey=PUBKEY,
        jailed=False,
        status=BondStatus.BONDED,
        tokens=100_000_000,
        delegator_shares=Dec.from_int(100),
        commission=Commission(Dec.zero(), Dec.one(), Dec.one(), 0),
        min_self_delegation=1,
        unbonding_height=0,
        unbonding_time_ns=0,
    )
    return replace(base, **kw)  # type: ignore[arg-type]


def ctx_at(store: MemStore, height: int, time_ns: int | None = None, **kw: object) -> Context:
    header = BlockHeader(
        height=height,
        time_ns=T0 + height * NS_PER_S if time_ns is None else time_ns,
        chain_id="t",
        **kw,  # type: ignore[arg-type]
    )
    return Context(store=store, gas_meter=GasMeter(None), header=header, mode=ExecMode.FINALIZE)


@pytest.fixture
def setup() -> tuple[MemStore, FakeStaking, SlashingKeeper]:
    store = MemStore()
    staking = FakeStaking(make_validator())
    keeper = SlashingKeeper(staking)  # type: ignore[arg-type]
    keeper.set_params(ctx_at(store, 0), SlashingParams(signed_blocks_window=10))
    SlashingHooks(keeper).after_validator_bonded(ctx_at(store, 1), CONS, OPERATOR)
    return store, staking, keeper


def test_params_defaults_and_validation() -> None:
    params = SlashingParams()
    assert (params.signed_blocks_window, params.max_missed_blocks()) == (100, 50)
    assert SlashingParams.from_proto(params.to_proto()) == params
    assert SlashingParams.from_json(params.to_json()) == params
    assert params.to_json()["downtime_jail_duration"] == "600s"
    assert params.to_json()["min_signed_per_window"] == "0.500000000000000000"
    for bad in (
        {"signed_blocks_window": "0"},
        {"min_signed_per_window": "1.1"},
        {"slash_fraction_downtime": "-0.1"},
        {"downtime_jail_duration": "0s"},
    ):
        with pytest.raises(AivmError):
            SlashingParams.from_json(bad)
    proto = params.to_proto()
    proto.slash_fraction_double_sign = b""
    with pytest.raises(AivmError):
        SlashingParams.from_proto(proto)
    # min signed rounds half to even, as LegacyDec.RoundInt64
    assert SlashingParams(signed_blocks_window=5).min_signed_blocks() == 2


def test_missed_bits_and_counter(setup: tuple[MemStore, FakeStaking, SlashingKeeper]) -> None:
    store, staking, keeper = setup
    params = keeper.get_params(ctx_at(store, 1))
    # heights 2..6 missed, 7..11 signed: counter 5, not over (max missed 5)
    for height in range(2, 12):
        vote = VoteInfo(CONS, 100, signed=height > 6)
        keeper.handle_validator_signature(ctx_at(store, height), params, vote)
    info = keeper.get_signing_info(ctx_at(store, 11), CONS)
    assert info is not None
    assert (info.index_offset, info.missed_blocks_counter) == (10, 5)
    assert list(keeper.iterate_missed(ctx_at(store, 11), CONS)) == [0, 1, 2, 3, 4]
    assert staking.slashes == []
    # signing again clears the old misses as the window wraps
    keeper.handle_validator_signature(ctx_at(store, 12), params, VoteInfo(CONS, 100, True))
    assert list(keeper.iterate_missed(ctx_at(store, 12), CONS)) == [1, 2, 3, 4]


def test_downtime_slashes_and_jails_once(
    setup: tuple[MemStore, FakeStaking, SlashingKeeper],
) -> None:
    store, staking, keeper = setup
    params = keeper.get_params(ctx_at(store, 1))
    jailed_at = None
    for height in range(2, 20):
        ctx = ctx_at(store, height)
        keeper.handle_validator_signature(ctx, params, VoteInfo(CONS, 100, signed=False))
        if staking.validator is not None and staking.validator.jailed and jailed_at is None:
            jailed_at = height
            kinds = [e.type for e in ctx.events]
            assert kinds == ["liveness", "slash"]
            assert dict(ctx.events[-1].attributes)["burned_coins"] == "1000000"
    # start 1, window 10: the first height past 11 with 6 misses
    assert jailed_at == 12
    assert staking.slashes == [(10, 100, Dec.from_str("0.01"))]
    info = keeper.get_signing_info(ctx_at(store, 20), CONS)
    assert info is not None
    assert (info.missed_blocks_counter, info.index_offset) == (0, 0)
    assert timestamp_ns(info) == T0 + 12 * NS_PER_S + 600 * NS_PER_S
    assert list(keeper.iterate_missed(ctx_at(store, 20), CONS)) == []


def test_failed_slash_leaves_no_trace(setup: tuple[MemStore, FakeStaking, SlashingKeeper]) -> None:
    store, staking, keeper = setup
    staking.fail_slash = True
    params = keeper.get_params(ctx_at(store, 1))
    for height in range(2, 14):
        keeper.handle_validator_signature(ctx_at(store, height), params, VoteInfo(CONS, 1, False))
    assert staking.validator is not None and not staking.validator.jailed
    info = keeper.get_signing_info(ctx_at(store, 14), CONS)
    assert info is not None and info.missed_blocks_counter == 10


def test_unknown_votes_are_skipped(setup: tuple[MemStore, FakeStaking, SlashingKeeper]) -> None:
    store, _, keeper = setup
    params = keeper.get_params(ctx_at(store, 1))
    keeper.handle_validator_signature(ctx_at(store, 2), params, VoteInfo(b"\x01" * 20, 5, False))
    assert [a for a, _ in keeper.iterate_signing_infos(ctx_at(store, 2))] == [CONS]


def test_equivocation(setup: tuple[MemStore, FakeStaking, SlashingKeeper]) -> None:
    store, staking, keeper = setup
    params = keeper.get_params(ctx_at(store, 1))
    ctx = ctx_at(store, 50)
    now = ctx.header.time_ns

    def evidence(**kw: object) -> Misbehavior:
        base = Misbehavior(1, CONS, 100, 40, now - 10 * NS_PER_S, 100)
        return replace(base, **kw)  # type: ignore[arg-type]

    assert not keeper.handle_misbehavior(ctx, params, evidence(kind=0))
    assert not keeper.handle_misbehavior(ctx, params, evidence(kind=3))
    assert not keeper.handle_misbehavior(ctx, params, evidence(power=0))
    assert not keeper.handle_misbehavior(ctx, params, evidence(height=51))
    assert not keeper.handle_misbehavior(ctx, params, evidence(address=b"\x02" * 20))
    too_old = now - 21 * 86400 * NS_PER_S - 1
    assert not keeper.handle_misbehavior(ctx, params, evidence(time_ns=too_old))
    assert staking.slashes == []
    assert keeper.handle_misbehavior(ctx, params, evidence(kind=2))
    assert staking.slashes == [(39, 100, Dec.from_str("0.05"))]
    assert [dict(e.attributes).get("reason") for e in ctx.events] == ["double_sign", None]
    info = keeper.get_signing_info(ctx, CONS)
    assert info is not None and info.tombstoned
    assert timestamp_ns(info) == DOUBLE_SIGN_JAIL_END_NS
    assert info.jailed_until.ToJsonString() == "9999-12-31T23:59:59Z"
    assert not keeper.handle_misbehavior(ctx, params, evidence())  # tombstoned: ignored
    with pytest.raises(AivmError) as err:
        keeper.unjail(ctx_at(store, 10**6), OPERATOR)
    assert ErrValidatorJailed.is_(err.value)


def test_unjail_checks(setup: tuple[MemStore, FakeStaking, SlashingKeeper]) -> None:
    store, staking, keeper = setup
    ctx = ctx_at(store, 5)
    with pytest.raises(AivmError) as err:
        keeper.unjail(ctx, b"\x09" * 20)
    assert ErrNoValidatorForAddress.is_(err.value)
    with pytest.raises(AivmError) as err:
        keeper.unjail(ctx, OPERATOR)
    assert ErrValidatorNotJailed.is_(err.value)
    staking.validator = make_validator(jailed=True, min_self_delegation=200_000_000)
    with pytest.raises(AivmError) as err:
        keeper.unjail(ctx, OPERATOR)
    assert ErrSelfDelegationTooLowToUnjail.is_(err.value)
    staking.self_shares = None
    with pytest.raises(AivmError) as err:
        keeper.unjail(ctx, OPERATOR)
    assert ErrMissingSelfDelegation.is_(err.value)
    staking.self_shares = Dec.from_int(100)
    staking.validator = make_validator(jailed=True)
    info = keeper.get_signing_info(ctx, CONS)
    assert info is not None
    info.jailed_until.seconds = ctx.header.time_ns // NS_PER_S + 1
    keeper.set_signing_info(ctx, CONS, info)
    with pytest.raises(AivmError) as err:
        keeper.unjail(ctx, OPERATOR)
    assert ErrValidatorJailed.is_(err.value)
    keeper.unjail(ctx_at(store, 6), OPERATOR)
    assert not staking.validator.jailed


def test_genesis_round_trip(setup: tuple[MemStore, FakeStaking, SlashingKeeper]) -> None:
    store, _, keeper = setup
    params = keeper.get_params(ctx_at(store, 1))
    for height in (2, 3, 5):
        keeper.handle_validator_signature(ctx_at(store, height), params, VoteInfo(CONS, 1, False))
    exported = genesis.export_genesis(ctx_at(store, 5), keeper)
    assert exported["signing_infos"][0]["address"] == valcons_address(CONS)
    assert exported["missed_blocks"][0]["missed_blocks"] == [
        {"index": str(i), "missed": True} for i in (0, 1, 2)
    ]
    fresh = MemStore()
    other = SlashingKeeper(FakeStaking(None))  # type: ignore[arg-type]
    genesis.init_genesis(ctx_at(fresh, 0), other, exported)
    assert genesis.export_genesis(ctx_at(fresh, 0), other) == exported
    broken = {**exported, "signing_infos": [dict(exported["signing_infos"][0])]}
    broken["signing_infos"][0]["validator_signing_info"] = {
        **exported["signing_infos"][0]["validator_signing_info"],
        "missed_blocks_counter": "2",
    }
    with pytest.raises(AivmError):
        genesis.parse_genesis(broken)


def test_window_change_restarts_windows(
    setup: tuple[MemStore, FakeStaking, SlashingKeeper],
) -> None:
    store, _, keeper = setup
    params = keeper.get_params(ctx_at(store, 1))
    keeper.handle_validator_signature(ctx_at(store, 2), params, VoteInfo(CONS, 1, False))
    keeper.set_params(ctx_at(store, 3), replace(params, signed_blocks_window=4))
    info = keeper.get_signing_info(ctx_at(store, 3), CONS)
    assert info is not None and (info.missed_blocks_counter, info.index_offset) == (0, 0)
    assert list(keeper.iterate_missed(ctx_at(store, 3), CONS)) == []


def test_removed_validator_forgotten_unless_tombstoned(
    setup: tuple[MemStore, FakeStaking, SlashingKeeper],
) -> None:
    store, _, keeper = setup
    hooks = SlashingHooks(keeper)
    hooks.after_validator_removed(ctx_at(store, 2), CONS, OPERATOR)
    assert keeper.get_signing_info(ctx_at(store, 2), CONS) is None
    hooks.after_validator_bonded(ctx_at(store, 3), CONS, OPERATOR)
    info = keeper.get_signing_info(ctx_at(store, 3), CONS)
    assert info is not None and info.start_height == 3
    info.tombstoned = True
    keeper.set_signing_info(ctx_at(store, 3), CONS, info)
    hooks.after_validator_removed(ctx_at(store, 4), CONS, OPERATOR)
    assert keeper.get_signing_info(ctx_at(store, 4), CONS) is not None
    assert pb.slashing.ValidatorSigningInfo  # the SDK type is what is stored
