"""The distribution keeper's F1 arithmetic, on an in-memory store with a scripted staking
keeper that calls the hooks in the SDK's order (numbers worked out by hand in the docstrings).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest

from aivm.modules.auth.keeper import FEE_COLLECTOR, AccountKeeper
from aivm.modules.bank.keeper import BankKeeper
from aivm.modules.distribution import keys
from aivm.modules.distribution.deccoins import DecCoins
from aivm.modules.distribution.errors import ErrNoValidatorCommission
from aivm.modules.distribution.hooks import DistributionHooks
from aivm.modules.distribution.keeper import DistributionKeeper
from aivm.modules.framework import BlockHeader, Context, ExecMode, VoteInfo
from aivm.modules.staking.api import (
    BondStatus,
    Commission,
    Delegation,
    StakingParamValues,
    Validator,
)
from aivm.store import GasKVStore, GasMeter, MemStore
from aivm.types.coin import Coin, Coins
from aivm.types.dec import Dec

DENOM = "ucgpt"


def D(text: str) -> Dec:
    return Dec(text)


def ucgpt(amount: str) -> DecCoins:
    return DecCoins([(DENOM, Dec(amount))])


class ScriptedStaking:
    """Validators and delegations as Python values; calls the distribution hooks the way the
    SDK's staking keeper does."""

    def __init__(self) -> None:
        self.validators: dict[bytes, Validator] = {}
        self.delegations: dict[tuple[bytes, bytes], Delegation] = {}
        self.hooks: list[DistributionHooks] = []

    # StakingReader (the parts distribution uses)
    def add_hooks(self, hooks: DistributionHooks) -> None:
        self.hooks.append(hooks)

    def get_params(self, ctx: Context) -> StakingParamValues:
        raise NotImplementedError

    def get_validator(self, ctx: Context, val_addr: bytes) -> Validator | None:
        return self.validators.get(val_addr)

    def get_validator_by_cons_addr(self, ctx: Context, cons_addr: bytes) -> Validator | None:
        for validator in self.validators.values():
            if validator.cons_address == cons_addr:
                return validator
        return None

    def get_delegation(self, ctx: Context, del_addr: bytes, val_addr: bytes) -> Delegation | None:
        return self.delegations.get((del_addr, val_addr))

    def iterate_delegations_of(self, ctx: Context, del_addr: bytes) -> Iterator[Delegation]:
        for (d, _), delegation in sorted(self.delegations.items()):
            if d == del_addr:
                yield delegation

    def iterate_validator_delegations(self, ctx: Context, val_addr: bytes) -> Iterator[Delegation]:
        for (_, v), delegation in sorted(self.delegations.items()):
            if v == val_addr:
                yield delegation

    # scripted staking actions
    def create_validator(self, ctx: Context, op: bytes, tokens: int, rate: str) -> None:
        commission = Commission(D(rate), D("1"), D("1"), 0)
        self.validators[op] = Validator(
            operator=op,
            cons_pubkey=op * 2 if len(op) == 16 else (op + bytes(32))[:32],
            jailed=False,
            status=BondStatus.BONDED,
            tokens=0,
            delegator_shares=Dec.zero(),
            commission=commission,
            min_self_delegation=1,
            unbonding_height=0,
            unbonding_time_ns=0,
        )
        for hooks in self.hooks:
            hooks.after_validator_created(ctx, op)
        self.delegate(ctx, op, op, tokens)

    def delegate(self, ctx: Context, delegator: bytes, val: bytes, amount: int) -> None:
        existing = self.delegations.get((delegator, val))
        for hooks in self.hooks:
            if existing is None:
                hooks.before_delegation_created(ctx, delegator, val)
            else:
                hooks.before_delegation_shares_modified(ctx, delegator, val)
        validator = self.validators[val]
        if validator.tokens == 0:
            shares = Dec.from_int(amount)
        else:
            shares = validator.delegator_shares.mul_int(amount).quo_int(validator.tokens)
        self.validators[val] = replace(
            validator,
            tokens=validator.tokens + amount,
            delegator_shares=validator.delegator_shares + shares,
        )
        old = existing.shares if existing is not None else Dec.zero()
        self.delegations[(delegator, val)] = Delegation(delegator, val, old + shares)
        for hooks in self.hooks:
            hooks.after_delegation_modified(ctx, delegator, val)

    def slash(self, ctx: Context, val: bytes, fraction: str) -> None:
        for hooks in self.hooks:
            hooks.before_validator_slashed(ctx, val, D(fraction))
        validator = self.validators[val]
        burned = D(fraction).mul_int(validator.tokens).truncate_int()
        self.validators[val] = replace(validator, tokens=validator.tokens - burned)


A = b"\x0a" * 20
B = b"\x0b" * 20
DELEGATOR = b"\xdd" * 20


class World:
    """A bank, the scripted staking and the distribution keeper over one store."""

    def __init__(self) -> None:
        self.store = MemStore()
        self.accounts = AccountKeeper(
            {FEE_COLLECTOR: (), keys.MODULE_ACCOUNT: (), "mint": ("minter",)}
        )
        self.bank = BankKeeper(self.accounts, self.accounts.module_addresses.values())
        self.staking = ScriptedStaking()
        self.keeper = DistributionKeeper(self.bank, self.staking)  # type: ignore[arg-type]
        self.staking.add_hooks(DistributionHooks(self.keeper))
        self.height = 1

    def ctx(self, votes: tuple[VoteInfo, ...] = (), meter: GasMeter | None = None) -> Context:
        store = self.store if meter is None else GasKVStore(self.store, meter)
        header = BlockHeader(self.height, 0, "test", last_commit=votes)
        return Context(store, meter or GasMeter(None), header, ExecMode.FINALIZE)

    def fees(self, amount: int) -> None:
        ctx = self.ctx()
        self.bank.mint_coins(ctx, "mint", Coins([Coin(DENOM, amount)]))
        self.bank.send_coins(
            ctx,
            self.accounts.module_addresses["mint"],
            self.accounts.module_addresses[FEE_COLLECTOR],
            Coins([Coin(DENOM, amount)]),
        )

    def begin_block(self, powers: dict[bytes, int], fees: int = 1000) -> None:
        """Next height: fees collected, then the distribution BeginBlock with these votes."""
        self.height += 1
        self.fees(fees)
        votes = tuple(
            VoteInfo(self.staking.validators[op].cons_address, power, True)
            for op, power in powers.items()
        )
        self.keeper.begin_block(self.ctx(votes))

    def balance(self, address: bytes) -> int:
        return self.bank.get_balance(self.ctx(), address, DENOM)


def test_hand_computed_scenario() -> None:
    """Two validators, A (10% commission) and B (none), 100 tokens each, self-bonded at h1.

    Periods: creation starts period 1, the self-delegation ends it (A's delegation starts
    after period 1).
    h2: 1000 fees, powers 1:1. Tax 20 → pool; each gets 490; A's commission 49, rewards 441.
    h3: the same; then D delegates 100 to A: A's period 2 ends with 882/100 = 8.82 per token.
    h4: powers 2:1. A gets 980 × 0.666666666666666666 = 653.33333333333333268 (commission
        65.333333333333333268, rewards 587.999999999999999412); B 326.66666666666666634;
        the pool 20.00000000000000098.
    h5: A slashed 50%: period 3 ends with 587.999999999999999412/200 = 2.939999999999999997
        (truncated) per token, cumulative 11.759999999999999997; A's tokens become 100.
    h6: powers 1:1 again: A's period 4 gets 441 over 100 tokens.
    h7: D withdraws: 100 × 2.939999999999999997 + 50 × 4.41 = 514.4999999999999997 → 514
        paid, 0.4999999999999997 to the pool.
    """
    w = World()
    ctx = w.ctx()
    w.staking.create_validator(ctx, A, 100, "0.1")
    w.staking.create_validator(ctx, B, 100, "0")
    w.begin_block({A: 1, B: 1})
    assert w.keeper.get_community_pool(w.ctx()) == ucgpt("20")
    assert w.keeper.get_commission(w.ctx(), A) == ucgpt("49")
    assert w.keeper.get_current(w.ctx(), A) == (ucgpt("441"), 2)  # creation ended period 1
    assert w.keeper.get_outstanding(w.ctx(), B) == ucgpt("490")

    w.begin_block({A: 1, B: 1})
    w.staking.delegate(w.ctx(), DELEGATOR, A, 100)
    assert w.keeper.get_historical(w.ctx(), A, 2) == (ucgpt("8.82"), 2)
    info = w.keeper.get_starting_info(w.ctx(), A, DELEGATOR)
    assert info is not None and (info.previous_period, info.height) == (2, 3)
    assert Dec.from_proto_str(info.stake) == D("100")

    w.begin_block({A: 2, B: 1})
    assert w.keeper.get_commission(w.ctx(), A) == ucgpt("163.333333333333333268")
    assert w.keeper.get_current(w.ctx(), A) == (ucgpt("587.999999999999999412"), 3)
    assert w.keeper.get_community_pool(w.ctx()) == ucgpt("60.00000000000000098")

    w.height += 1
    w.staking.slash(w.ctx(), A, "0.5")
    assert w.keeper.get_historical(w.ctx(), A, 3) == (ucgpt("11.759999999999999997"), 2)
    events = list(w.keeper.iterate_slash_events(w.ctx(), A))
    assert [(h, e.validator_period) for h, e in events] == [(5, 3)]

    w.begin_block({A: 1, B: 1})
    w.height += 1
    paid = w.keeper.withdraw_delegation_rewards(w.ctx(), DELEGATOR, A)
    assert paid == Coins([Coin(DENOM, 514)])
    assert w.balance(DELEGATOR) == 514
    pool = D("80.00000000000000098") + D("0.4999999999999997")
    assert w.keeper.get_community_pool(w.ctx()) == DecCoins([(DENOM, pool)])
    assert w.keeper.get_historical(w.ctx(), A, 4) == (ucgpt("16.169999999999999997"), 2)
    assert w.keeper._store(w.ctx()).get(keys.historical_key(A, 2)) is None  # unreferenced
    restarted = w.keeper.get_starting_info(w.ctx(), A, DELEGATOR)
    assert restarted is not None and restarted.previous_period == 4
    assert Dec.from_proto_str(restarted.stake) == D("50")

    # A's own delegation: 100 × 11.759999999999999997 + 50 × 4.41 = 1396.4999999999999997
    assert w.keeper.withdraw_delegation_rewards(w.ctx(), A, A) == Coins([Coin(DENOM, 1396)])
    assert w.keeper.withdraw_validator_commission(w.ctx(), A) == Coins([Coin(DENOM, 212)])
    assert w.keeper.get_commission(w.ctx(), A) == ucgpt("0.333333333333333268")
    # what is left in A's outstanding: the commission change and 1.2e-17 of F1 dust
    assert w.keeper.get_outstanding(w.ctx(), A) == ucgpt("0.33333333333333328")

    # B: 1796.66666666666666634 over 100 tokens = 17.966666666666666663 per token (truncated)
    assert w.keeper.withdraw_delegation_rewards(w.ctx(), B, B) == Coins([Coin(DENOM, 1796)])
    assert w.keeper.get_outstanding(w.ctx(), B) == ucgpt("0.00000000000000004")
    with pytest.raises(Exception) as caught:
        w.keeper.withdraw_validator_commission(w.ctx(), B)
    assert caught.value.code == ErrNoValidatorCommission.code  # type: ignore[attr-defined]

    assert_conserved(w)


def assert_conserved(w: World) -> None:
    """Module account = community pool + Σ outstanding, to the last decimal."""
    ctx = w.ctx()
    held = DecCoins.from_coins(w.bank.get_all_balances(ctx, w.keeper.module_address))
    claims = w.keeper.get_community_pool(ctx)
    for val in w.keeper.validators(ctx):
        claims = claims + w.keeper.get_outstanding(ctx, val)
    assert held == claims


def test_votes_of_unknown_validators_and_height_one() -> None:
    """Height 1 and an empty commit allocate nothing; a voter that is no staking validator
    sends its share to the community pool."""
    w = World()
    w.staking.create_validator(w.ctx(), A, 100, "0")
    w.fees(1000)
    w.keeper.begin_block(w.ctx((VoteInfo(b"\x01" * 20, 5, True),)))  # height 1
    w.height += 1
    w.keeper.begin_block(w.ctx())  # no votes
    collector = w.accounts.module_addresses[FEE_COLLECTOR]
    assert w.balance(collector) == 1000
    stranger = VoteInfo(b"\x01" * 20, 3, True)
    mine = VoteInfo(w.staking.validators[A].cons_address, 1, False)  # did not sign: still paid
    w.height += 1
    w.keeper.begin_block(w.ctx((stranger, mine)))
    assert w.balance(collector) == 0
    # 980 × 0.25 = 245 to A; the pool gets 20 + 735
    assert w.keeper.get_outstanding(w.ctx(), A) == ucgpt("245")
    assert w.keeper.get_community_pool(w.ctx()) == ucgpt("755")
    assert_conserved(w)


def _withdraw_cost(blocks: int) -> tuple[int, list[str]]:
    """Gas and the store operations of a withdrawal ``blocks`` blocks after the delegation."""
    w = World()
    w.staking.create_validator(w.ctx(), A, 1_000_000, "0.05")
    w.staking.create_validator(w.ctx(), B, 1_000_000, "0.05")
    w.staking.delegate(w.ctx(), DELEGATOR, A, 500_000)
    for _ in range(blocks):
        w.begin_block({A: 3, B: 2}, fees=777_777)
    w.height += 1
    log: list[str] = []
    meter = GasMeter(None)
    ctx = w.ctx(meter=meter)
    counting = _CountingStore(ctx.store, log)
    ctx.store = counting
    w.keeper.withdraw_delegation_rewards(ctx, DELEGATOR, A)
    return meter.consumed, log


class _CountingStore:
    def __init__(self, parent: object, log: list[str]) -> None:
        self.parent = parent
        self.log = log

    def __getattr__(self, name: str) -> object:
        method = getattr(self.parent, name)

        def call(*args: object, **kwargs: object) -> object:
            self.log.append(
                f"{name} {args[0].hex() if args and isinstance(args[0], bytes) else ''}"
            )
            return method(*args, **kwargs)

        return call


def test_withdraw_cost_does_not_grow_with_blocks() -> None:
    """F1: a withdrawal after 200 blocks reads and writes the same keys as one after 5; gas
    differs only by the bytes of larger amounts (a few digits)."""
    gas_5, ops_5 = _withdraw_cost(5)
    gas_200, ops_200 = _withdraw_cost(200)
    assert ops_5 == ops_200
    assert abs(gas_200 - gas_5) < 500, (gas_5, gas_200)


def test_decimal_dust_never_leaks() -> None:
    """Many awkward allocations and withdrawals: every decimal stays in the pool or in
    outstanding rewards, and the supply does not move."""
    w = World()
    w.staking.create_validator(w.ctx(), A, 333_333, "0.07")
    w.staking.create_validator(w.ctx(), B, 777_777, "0.13")
    supply = w.bank.get_supply(w.ctx(), DENOM)
    for i in range(30):
        w.begin_block({A: 1, B: 3}, fees=1_001 + 7 * i)
        if i % 7 == 3:
            w.staking.delegate(w.ctx(), DELEGATOR, A if i % 2 else B, 12_345 + i)
        if i % 11 == 5:
            w.keeper.withdraw_delegation_rewards(w.ctx(), A, A)
        if i == 17:
            w.staking.slash(w.ctx(), B, "0.01")
    for val in (A, B):
        for delegation in list(w.staking.iterate_validator_delegations(w.ctx(), val)):
            w.keeper.withdraw_delegation_rewards(w.ctx(), delegation.delegator, val)
        w.keeper.withdraw_validator_commission(w.ctx(), val)
    assert_conserved(w)
    fees = sum(1_001 + 7 * i for i in range(30))
    assert w.bank.get_supply(w.ctx(), DENOM) == supply + fees  # minted as fees by the test only
    for val in (A, B):
        left = w.keeper.get_outstanding(w.ctx(), val).amount_of(DENOM)
        assert left < D("1"), left  # commission change and F1 dust only


def test_removed_validator_pays_commission_and_moves_dust() -> None:
    w = World()
    w.staking.create_validator(w.ctx(), A, 100, "0.5")
    w.begin_block({A: 1}, fees=101)
    # 101 × 0.98 = 98.98: commission 49.49, the rest 49.49; the pool gets 2.02, then the
    # change of both payouts (0.49 each)
    w.keeper.withdraw_delegation_rewards(w.ctx(), A, A)
    w.keeper.remove_validator(w.ctx(), A)
    assert w.balance(A) == 49 + 49
    assert w.keeper.get_community_pool(w.ctx()) == ucgpt("3")
    assert w.keeper.validators(w.ctx()) == []
    assert_conserved(w)


def test_deccoins_rounding() -> None:
    coins = DecCoins([("ucgpt", D("10")), ("uzzz", D("0.000000000000000003"))])
    assert coins.mul_dec_truncate(D("0.5")) == DecCoins(
        [("ucgpt", D("5")), ("uzzz", D("0.000000000000000001"))]
    )
    assert coins.mul_dec(D("0.5")) == DecCoins(
        [("ucgpt", D("5")), ("uzzz", D("0.000000000000000002"))]
    )  # 1.5e-18 rounds half to even
    whole, change = DecCoins([("ucgpt", D("2.75"))]).truncate_decimal()
    assert whole == Coins([Coin("ucgpt", 2)]) and change == ucgpt("0.75")
    assert ucgpt("3").intersect(ucgpt("2.5")) == ucgpt("2.5")
    assert str(ucgpt("1.5")) == "1.500000000000000000ucgpt"
    assert DecCoins.from_proto(ucgpt("1.5").to_proto()) == ucgpt("1.5")
