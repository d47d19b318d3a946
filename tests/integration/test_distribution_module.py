"""distribution over ABCI, with the staking module: fees of each block go to the validators
of the previous commit by power (the genesis validator, which is not a staking validator,
sends its share to the community pool), commission to the operator, rewards to delegators
by F1; withdrawals, withdraw addresses, the community pool, queries, REST routes, genesis
export and the invariants. The exact F1 arithmetic is in ``tests/unit/test_distribution_f1.py``.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from aivm.app.application import AivmApp
from aivm.app.modules import MODULES
from aivm.modules.addr import addr_str
from aivm.modules.framework import ModuleDefinition
from aivm.store import CommitStore
from aivm.types import pb
from aivm.types.address import module_address, valoper_address
from aivm.types.dec import Dec
from harness import CHAIN_ID, Chain, genesis_doc, make_key

staking_module = pytest.importorskip("aivm.modules.staking.module")
distribution = pytest.importorskip("aivm.modules.distribution")

OPERATOR, DELEGATOR, OTHER = make_key(41), make_key(42), make_key(43)
OP_ADDR = OPERATOR.pubkey.address()
DEL_ADDR = DELEGATOR.pubkey.address()
OTHER_ADDR = OTHER.pubkey.address()
VALOPER = valoper_address(OP_ADDR)
CONS_KEY = hashlib.sha256(b"distribution-test-validator").digest()
Q = "/cosmos.distribution.v1beta1.Query/"
DIST = module_address("distribution")
FEE_COLLECTOR = module_address("fee_collector")
DENOM = "ucgpt"


def module_list() -> tuple[ModuleDefinition, ...]:
    """The app's modules, with staking and distribution added where not wired in yet."""
    names = [d.name for d in MODULES]
    modules = list(MODULES)
    if "staking" not in names:
        modules.insert(names.index("bank") + 1 + ("feemarket" in names), staking_module.DEFINITION)
        names = [d.name for d in modules]
    if "distribution" not in names:
        after = max(names.index(n) for n in ("staking", "mint", "roles") if n in names)
        modules.insert(after + 1, distribution.DEFINITION)
    return tuple(modules)


def start(path: Path) -> Chain:
    funded = {OP_ADDR: 10**12, DEL_ADDR: 10**12, OTHER_ADDR: 10**12}
    doc = genesis_doc(funded, with_accounts=True, inflation=True)
    modules = module_list()
    if modules == MODULES:
        chain = Chain.start(path, funded, genesis=doc)
    else:
        app = AivmApp(CommitStore.open(path), None, modules)
        app.init_chain(doc.init_chain_request())
        chain = Chain(app=app, path=path)
    chain.block([])
    return chain


def create_validator(rate: str = "0.1", amount: int = 10_000_000) -> pb.Message:
    msg = pb.staking_tx.MsgCreateValidator(
        validator_address=VALOPER,
        delegator_address=addr_str(OP_ADDR),
        min_self_delegation="1",
        value=pb.coin.Coin(denom=DENOM, amount=str(amount)),
    )
    msg.description.moniker = "op"
    rates = msg.commission
    rates.rate = Dec(rate).to_proto_str()
    rates.max_rate = Dec("0.5").to_proto_str()
    rates.max_change_rate = Dec("0.01").to_proto_str()
    msg.pubkey.type_url = "/cosmos.crypto.ed25519.PubKey"
    msg.pubkey.value = pb.ed25519.PubKey(key=CONS_KEY).SerializeToString()
    return msg


def delegate(amount: int) -> pb.Message:
    return pb.staking_tx.MsgDelegate(
        delegator_address=addr_str(DEL_ADDR),
        validator_address=VALOPER,
        amount=pb.coin.Coin(denom=DENOM, amount=str(amount)),
    )


def withdraw(delegator: bytes = DEL_ADDR) -> pb.Message:
    return pb.distribution_tx.MsgWithdrawDelegatorReward(
        delegator_address=addr_str(delegator), validator_address=VALOPER
    )


def events(result: pb.abci.ExecTxResult, kind: str) -> list[dict[str, str]]:
    return [{a.key: a.value for a in e.attributes} for e in result.events if e.type == kind]


def dec_amount(items: list[pb.coin.DecCoin]) -> Dec:
    return sum((Dec.from_proto_str(c.amount) for c in items if c.denom == DENOM), Dec.zero())


def pool(chain: Chain) -> Dec:
    _, value = chain.query(
        Q + "CommunityPool",
        pb.distribution_query.QueryCommunityPoolRequest(),
        pb.distribution_query.QueryCommunityPoolResponse,
    )
    return dec_amount(list(value.pool))


def rewards(chain: Chain, delegator: bytes = DEL_ADDR) -> Dec:
    response, value = chain.query(
        Q + "DelegationRewards",
        pb.distribution_query.QueryDelegationRewardsRequest(
            delegator_address=addr_str(delegator), validator_address=VALOPER
        ),
        pb.distribution_query.QueryDelegationRewardsResponse,
    )
    assert response.code == 0, response.log
    return dec_amount(list(value.rewards))


def check_invariants(chain: Chain) -> None:
    from aivm.modules.distribution.invariants import invariants

    module = next(m for m in chain.app.modules if m.name == "distribution")
    ctx = chain.app.query_context(chain.app.store.version)
    for name, check in invariants(module).items():  # type: ignore[arg-type]
        assert check(ctx) == [], name


def taken_from_fee_collector(response: pb.abci.ResponseFinalizeBlock) -> int:
    """ucgpt moved from the fee collector to the distribution account in BeginBlock."""
    total = 0
    for event in response.events:
        attrs = {a.key: a.value for a in event.attributes}
        if (
            event.type == "transfer"
            and attrs.get("sender") == addr_str(FEE_COLLECTOR)
            and attrs.get("recipient") == addr_str(DIST)
        ):
            total += int(attrs["amount"].removesuffix(DENOM) or 0)
    return total


@pytest.fixture
def chain(tmp_path: Path) -> Chain:
    return start(tmp_path / "data")


def test_fees_of_a_non_staking_genesis_validator_go_to_the_pool(chain: Chain) -> None:
    """Only the genesis validator (not a staking validator) votes: everything taken from the
    fee collector lands in the community pool, to the last decimal."""
    chain.deliver(
        OTHER,
        pb.bank_tx.MsgSend(
            from_address=addr_str(OTHER_ADDR),
            to_address=addr_str(DEL_ADDR),
            amount=[pb.coin.Coin(denom=DENOM, amount="1")],
        ),
    )
    before = pool(chain)
    response = chain.block([])
    taken = taken_from_fee_collector(response)
    assert taken > 0
    assert pool(chain) == before + Dec.from_int(taken)
    assert chain.balance(FEE_COLLECTOR) == 0
    check_invariants(chain)


def test_rewards_commission_and_withdrawals(chain: Chain) -> None:
    result = chain.deliver(OPERATOR, create_validator())
    assert result.code == 0, result.log
    result = chain.deliver(DELEGATOR, delegate(30_000_000))
    assert result.code == 0, result.log
    for _ in range(4):
        chain.block([])
    owed = rewards(chain)
    assert owed > Dec.zero()

    # the validator's share of a block: (taken × 0.98) × power / total, 10% of it commission
    votes = {v.pub_key.ed25519: v.power for v in chain.app.validators()}
    assert votes.get(CONS_KEY) == 40
    pool_before = pool(chain)
    response = chain.block([])
    taken = Dec.from_int(taken_from_fee_collector(response))
    share = taken.mul_truncate(Dec("0.98")).mul_truncate(
        Dec.from_int(40).quo_truncate(Dec.from_int(sum(votes.values())))
    )
    reward_events = [
        {a.key: a.value for a in e.attributes} for e in response.events if e.type == "rewards"
    ]
    assert [e["amount"] for e in reward_events] == [f"{share}{DENOM}"]
    assert pool(chain) == pool_before + taken - share

    balance = chain.balance(DEL_ADDR)
    owed = rewards(chain)
    result = chain.deliver(DELEGATOR, withdraw())
    assert result.code == 0, result.log
    (event,) = events(result, "withdraw_rewards")
    paid = int(event["amount"].removesuffix(DENOM))
    assert event["validator"] == VALOPER and event["delegator"] == addr_str(DEL_ADDR)
    assert paid >= owed.truncate_int()  # one more block of rewards came in before the tx
    assert chain.balance(DEL_ADDR) == balance + paid - 20_000  # fee
    assert rewards(chain) < owed  # started afresh

    result = chain.deliver(
        OPERATOR, pb.distribution_tx.MsgWithdrawValidatorCommission(validator_address=VALOPER)
    )
    assert result.code == 0, result.log
    assert int(events(result, "withdraw_commission")[0]["amount"].removesuffix(DENOM)) > 0
    check_invariants(chain)


def test_errors(chain: Chain) -> None:
    assert chain.deliver(OPERATOR, create_validator()).code == 0
    result = chain.deliver(DELEGATOR, withdraw())
    assert (result.codespace, result.code) == ("distribution", 5)
    own = valoper_address(OTHER_ADDR)
    result = chain.deliver(
        OTHER, pb.distribution_tx.MsgWithdrawValidatorCommission(validator_address=own)
    )
    assert (result.codespace, result.code) == ("distribution", 7)
    result = chain.deliver(
        DELEGATOR,
        pb.distribution_tx.MsgSetWithdrawAddress(
            delegator_address=addr_str(DEL_ADDR), withdraw_address=addr_str(DIST)
        ),
    )
    assert (result.codespace, result.code) == ("sdk", 4)
    result = chain.deliver(
        DELEGATOR,
        pb.distribution_tx.MsgFundCommunityPool(
            depositor=addr_str(DEL_ADDR), amount=[pb.coin.Coin(denom=DENOM, amount=str(10**15))]
        ),
    )
    assert (result.codespace, result.code) == ("sdk", 5)


def test_withdraw_address_and_fund_pool(chain: Chain) -> None:
    assert chain.deliver(OPERATOR, create_validator()).code == 0
    assert chain.deliver(DELEGATOR, delegate(5_000_000)).code == 0
    result = chain.deliver(
        DELEGATOR,
        pb.distribution_tx.MsgSetWithdrawAddress(
            delegator_address=addr_str(DEL_ADDR), withdraw_address=addr_str(OTHER_ADDR)
        ),
    )
    assert result.code == 0, result.log
    assert events(result, "set_withdraw_address") == [
        {"withdraw_address": addr_str(OTHER_ADDR), "msg_index": "0"}
    ]
    _, value = chain.query(
        Q + "DelegatorWithdrawAddress",
        pb.distribution_query.QueryDelegatorWithdrawAddressRequest(
            delegator_address=addr_str(DEL_ADDR)
        ),
        pb.distribution_query.QueryDelegatorWithdrawAddressResponse,
    )
    assert value.withdraw_address == addr_str(OTHER_ADDR)
    for _ in range(3):
        chain.block([])
    other_before = chain.balance(OTHER_ADDR)
    result = chain.deliver(DELEGATOR, withdraw())
    paid = int(events(result, "withdraw_rewards")[0]["amount"].removesuffix(DENOM))
    assert paid > 0 and chain.balance(OTHER_ADDR) == other_before + paid

    before = pool(chain)
    result = chain.deliver(
        OTHER,
        pb.distribution_tx.MsgFundCommunityPool(
            depositor=addr_str(OTHER_ADDR), amount=[pb.coin.Coin(denom=DENOM, amount="12345")]
        ),
    )
    assert result.code == 0, result.log
    # the block that carried the deposit also allocated fees; the deposit is exact on top
    assert pool(chain) - before >= Dec.from_int(12345)
    check_invariants(chain)


def test_supply_unchanged_by_distribution_and_genesis_round_trip(chain: Chain) -> None:
    assert chain.deliver(OPERATOR, create_validator()).code == 0
    assert chain.deliver(DELEGATOR, delegate(5_000_000)).code == 0
    for _ in range(3):
        chain.block([])
    supply = chain.app.bank.get_total_supply(chain.app.query_context(chain.app.store.version))
    result = chain.deliver(DELEGATOR, withdraw())
    assert result.code == 0
    ctx = chain.app.query_context(chain.app.store.version)
    minted = [e for e in result.events if e.type == "coinbase"]
    assert minted == []
    after = chain.app.bank.get_total_supply(ctx)
    assert after.amount_of(DENOM) >= supply.amount_of(DENOM)  # only mint adds, in BeginBlock

    module = next(m for m in chain.app.modules if m.name == "distribution")
    exported = module.export_genesis(ctx)
    assert exported["params"]["community_tax"] == "0.020000000000000000"
    assert exported["previous_proposer"] == ""
    assert {r["validator_address"] for r in exported["validator_current_rewards"]} == {VALOPER}
    starts = {
        (s["delegator_address"], s["validator_address"])
        for s in exported["delegator_starting_infos"]
    }
    assert (addr_str(DEL_ADDR), VALOPER) in starts
    module.validate_genesis(exported)
    # importing the export into an empty branch and exporting again gives the same document
    from aivm.modules.framework import Context, ExecMode
    from aivm.store import CacheStore, PrefixStore

    branch = CacheStore(ctx.store)
    store = PrefixStore(branch, b"distribution/")
    for key in [k for k, _ in store.iterate()]:
        store.delete(key)
    fresh = Context(branch, ctx.gas_meter, ctx.header, ExecMode.GENESIS)
    module.init_genesis(fresh, exported)
    assert module.export_genesis(fresh) == exported


def test_rest_routes_are_the_sdk_gateway_paths() -> None:
    paths = {r.path for r in distribution.DEFINITION.rest_routes}
    base = "/cosmos/distribution/v1beta1"
    assert paths == {
        base + "/delegators/{delegator_address}/rewards",
        base + "/delegators/{delegator_address}/rewards/{validator_address}",
        base + "/delegators/{delegator_address}/withdraw_address",
        base + "/delegators/{delegator_address}/validators",
        base + "/validators/{validator_address}",
        base + "/validators/{validator_address}/commission",
        base + "/validators/{validator_address}/outstanding_rewards",
        base + "/validators/{validator_address}/slashes",
        base + "/community_pool",
        base + "/params",
    }
    assert CHAIN_ID
