"""slashing over ABCI: downtime from the last commit's votes (slash 1%, jail, leave the set,
unjail after the jail time and come back), double-sign evidence (slash 5% including an
unbonding delegation begun after the infraction, tombstone, unjail refused forever), evidence
that must be ignored (too old, unknown address, malformed), queries and genesis round trip.

Three genesis validators (gentxs of A, B, C; 10,000 CGPT each, power 10,000), a signing
window of 10 blocks of which 5 must be signed, a 60 s downtime jail."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from aivm.app.application import AivmApp
from aivm.app.genesis import GenesisDoc
from aivm.modules.staking.genesis import gentx
from aivm.store import CommitStore
from aivm.types import pb
from aivm.types.address import acc_address, valcons_address, valoper_address
from harness import Chain, genesis_doc, make_key

SQ = "/cosmos.slashing.v1beta1.Query/"
STQ = "/cosmos.staking.v1beta1.Query/"
A, B, C, D = make_key(61), make_key(62), make_key(63), make_key(64)
KEYS = (A, B, C)
ADDR = {k: acc_address(k.pubkey.address()) for k in (A, B, C, D)}
VALOPER = {k: valoper_address(k.pubkey.address()) for k in KEYS}
CONS_PUB = {k: hashlib.sha256(b"slashing-cons-%d" % i).digest() for i, k in enumerate(KEYS)}
CONS = {k: hashlib.sha256(CONS_PUB[k]).digest()[:20] for k in KEYS}
BOND = 10_000 * 1_000_000
WINDOW, JAIL_S = 10, 60
DOUBLE_SIGN_END = "9999-12-31T23:59:59Z"


def start(path: Path) -> Chain:
    """A chain at height 1 with three bonded validators."""
    funded = {k.pubkey.address(): 10**12 for k in (A, B, C, D)}
    doc = genesis_doc(funded, with_accounts=True)
    doc.app_state["staking"] = {
        "gen_txs": [gentx(ADDR[k], CONS_PUB[k], BOND, f"v{i}") for i, k in enumerate(KEYS)]
    }
    doc.app_state["slashing"] = {
        "params": {
            "signed_blocks_window": str(WINDOW),
            "min_signed_per_window": "0.5",
            "downtime_jail_duration": f"{JAIL_S}s",
        }
    }
    chain = Chain.start(path, funded, genesis=doc)
    chain.block([])
    return chain


def validator(chain: Chain, key: Any) -> pb.staking.Validator:
    response, value = chain.query(
        STQ + "Validator",
        pb.staking_query.QueryValidatorRequest(validator_addr=VALOPER[key]),
        pb.staking_query.QueryValidatorResponse,
    )
    assert response.code == 0, response.log
    found: pb.staking.Validator = value.validator
    return found


def signing_info(chain: Chain, key: Any) -> pb.slashing.ValidatorSigningInfo:
    response, value = chain.query(
        SQ + "SigningInfo",
        pb.slashing_query.QuerySigningInfoRequest(cons_address=valcons_address(CONS[key])),
        pb.slashing_query.QuerySigningInfoResponse,
    )
    assert response.code == 0, response.log
    found: pb.slashing.ValidatorSigningInfo = value.val_signing_info
    return found


def unjail(key: Any) -> pb.slashing_tx.MsgUnjail:
    return pb.slashing_tx.MsgUnjail(validator_addr=VALOPER[key])


def events_of(response: pb.abci.ResponseFinalizeBlock, kind: str) -> list[dict[str, str]]:
    return [
        {a.key: a.value for a in event.attributes if a.key != "mode"}
        for event in response.events
        if event.type == kind
    ]


def power_update(response: pb.abci.ResponseFinalizeBlock, key: Any) -> int | None:
    for update in response.validator_updates:
        if update.pub_key.ed25519 == CONS_PUB[key]:
            return int(update.power)
    return None


def evidence(
    key: Any, height: int, time_s: int, power: int = BOND // 1_000_000, kind: int = 1
) -> pb.abci.Misbehavior:
    item = pb.abci.Misbehavior(type=kind, height=height, total_voting_power=3 * power)
    item.validator.address = CONS[key]
    item.validator.power = power
    item.time.seconds = time_s
    return item


@pytest.fixture
def chain(tmp_path: Path) -> Iterator[Chain]:
    yield start(tmp_path / "data")


def test_genesis_validators_have_signing_infos(chain: Chain) -> None:
    for key in KEYS:
        info = signing_info(chain, key)
        assert info.address == valcons_address(CONS[key])
        assert (info.missed_blocks_counter, info.tombstoned) == (0, False)
    response, value = chain.query(
        SQ + "Params", pb.slashing_query.QueryParamsRequest(), pb.slashing_query.QueryParamsResponse
    )
    assert response.code == 0
    assert value.params.signed_blocks_window == WINDOW
    assert value.params.min_signed_per_window == b"500000000000000000"
    assert value.params.downtime_jail_duration.seconds == JAIL_S


def test_downtime_slashes_one_percent_jails_and_unjails(chain: Chain) -> None:
    start_height = signing_info(chain, A).start_height
    absent = frozenset({CONS[A]})
    # missed at block h: its vote for h-1 is absent; the first h past start+window with
    # more than window/2 misses jails
    expected = max(start_height + WINDOW + 1, chain.height + 1 + WINDOW // 2)
    while True:
        response = chain.block([], absent=absent)
        if events_of(response, "slash"):
            break
        assert chain.height < expected, "not jailed in time"
        assert events_of(response, "liveness")[0]["address"] == valcons_address(CONS[A])
    assert chain.height == expected
    (slash,) = events_of(response, "slash")
    assert slash == {
        "address": valcons_address(CONS[A]),
        "power": str(BOND // 1_000_000),
        "reason": "missing_signature",
        "jailed": valcons_address(CONS[A]),
        "burned_coins": str(BOND // 100),
    }
    assert power_update(response, A) == 0  # leaves the set at this block's EndBlock
    jailed = validator(chain, A)
    assert jailed.jailed and int(jailed.tokens) == BOND - BOND // 100
    info = signing_info(chain, A)
    assert (info.missed_blocks_counter, info.index_offset) == (0, 0)
    assert info.jailed_until.seconds == chain.time_s + JAIL_S
    # too early
    result = chain.deliver(A, unjail(A))
    assert (result.codespace, result.code) == ("slashing", 4)
    # the next blocks do not list A any more: nothing more is counted or slashed
    assert not events_of(chain.block([], absent=absent), "liveness")
    # after the jail time; CheckTx and Simulate see the last block's time (as the SDK's check
    # state does), so a client's gas estimate of the unjail succeeds as soon as it is due
    chain.block([], seconds=JAIL_S)
    outcome, _ = chain.app.simulate(chain.msgs_tx(A, [unjail(A)]))
    assert outcome.code == 0, outcome.log
    assert chain.check(chain.msgs_tx(A, [unjail(A)])).code == 0
    block = chain.block([chain.msgs_tx(A, [unjail(A)])])
    assert block.tx_results[0].code == 0, block.tx_results[0].log
    assert power_update(block, A) == (BOND - BOND // 100) // 1_000_000
    assert not validator(chain, A).jailed
    assert CONS_PUB[A] in {v.pub_key.ed25519 for v in chain.app.validators()}
    # unjailing a validator that is not jailed
    result = chain.deliver(B, unjail(B))
    assert (result.codespace, result.code) == ("slashing", 5)


def test_double_sign_tombstones_and_slashes_unbonding(chain: Chain) -> None:
    delegated = 1_000 * 1_000_000
    amount = pb.coin.Coin(denom="ucgpt", amount=str(delegated))
    delegate = pb.staking_tx.MsgDelegate(
        delegator_address=ADDR[D], validator_address=VALOPER[B], amount=amount
    )
    assert chain.deliver(D, delegate).code == 0
    chain.block([])  # B's power now counts the delegation
    infraction_height, infraction_time = chain.height + 1, chain.time_s + 1
    chain.block([])  # the infraction block
    power = int(validator(chain, B).tokens) // 1_000_000
    undelegate = pb.staking_tx.MsgUndelegate(
        delegator_address=ADDR[D], validator_address=VALOPER[B], amount=amount
    )
    assert chain.deliver(D, undelegate).code == 0  # begins after the infraction
    tokens_before = int(validator(chain, B).tokens)
    response = chain.block(
        [], misbehavior=[evidence(B, infraction_height, infraction_time, power=power)]
    )
    slash_total = power * 1_000_000 * 5 // 100
    ubd_slash = delegated * 5 // 100
    slashes = events_of(response, "slash")
    assert slashes[0] == {
        "address": valcons_address(CONS[B]),
        "power": str(power),
        "reason": "double_sign",
        "burned_coins": str(slash_total - ubd_slash),  # the validator's part, as the SDK
    }
    assert slashes[1] == {"jailed": valcons_address(CONS[B])}
    assert power_update(response, B) == 0
    after = validator(chain, B)
    assert after.jailed
    assert int(after.tokens) == tokens_before - (slash_total - ubd_slash)
    _, ubd = chain.query(
        STQ + "UnbondingDelegation",
        pb.staking_query.QueryUnbondingDelegationRequest(
            delegator_addr=ADDR[D], validator_addr=VALOPER[B]
        ),
        pb.staking_query.QueryUnbondingDelegationResponse,
    )
    assert int(ubd.unbond.entries[0].balance) == delegated - ubd_slash
    info = signing_info(chain, B)
    assert info.tombstoned
    assert info.jailed_until.ToJsonString() == DOUBLE_SIGN_END
    # evidence again: ignored (tombstoned)
    again = chain.block([], misbehavior=[evidence(B, infraction_height, infraction_time)])
    assert not events_of(again, "slash")
    # unjail refused, even much later
    chain.block([], seconds=365 * 86400)
    result = chain.deliver(B, unjail(B))
    assert (result.codespace, result.code) == ("slashing", 4)


def test_ignored_evidence(chain: Chain) -> None:
    chain.block([])
    _, params = chain.query(
        STQ + "Params",
        pb.staking_query.QueryParamsRequest(),
        pb.staking_query.QueryParamsResponse,
    )
    unbonding_s = params.params.unbonding_time.seconds
    stranger = pb.abci.Misbehavior(type=1, height=1, total_voting_power=30_000)
    stranger.validator.address = hashlib.sha256(b"nobody").digest()[:20]
    stranger.validator.power = 10
    stranger.time.seconds = chain.time_s
    bad = [
        evidence(C, 1, chain.time_s - unbonding_s - 1),  # older than the unbonding time
        stranger,  # not a validator
        evidence(C, 1, chain.time_s, power=0),  # no power
        evidence(C, 1, chain.time_s, kind=0),  # unknown kind
        evidence(C, 1, chain.time_s, kind=9),  # not a kind at all
        evidence(C, 10**6, chain.time_s),  # a height not yet reached
    ]
    for item in bad:
        response = chain.block([], misbehavior=[item])
        assert not events_of(response, "slash"), item
    assert not validator(chain, C).jailed
    assert not signing_info(chain, C).tombstoned
    assert int(validator(chain, C).tokens) == BOND


def test_queries(chain: Chain) -> None:
    response, _ = chain.query(
        SQ + "SigningInfo",
        pb.slashing_query.QuerySigningInfoRequest(
            cons_address=valcons_address(hashlib.sha256(b"x").digest()[:20])
        ),
        pb.slashing_query.QuerySigningInfoResponse,
    )
    assert (response.codespace, response.code) == ("slashing", 8)
    request = pb.slashing_query.QuerySigningInfosRequest()
    request.pagination.limit = 2
    request.pagination.count_total = True
    _, page = chain.query(SQ + "SigningInfos", request, pb.slashing_query.QuerySigningInfosResponse)
    assert len(page.info) == 2 and page.pagination.total == 3 and page.pagination.next_key
    request = pb.slashing_query.QuerySigningInfosRequest()
    request.pagination.key = page.pagination.next_key
    _, rest = chain.query(SQ + "SigningInfos", request, pb.slashing_query.QuerySigningInfosResponse)
    addresses = {i.address for i in (*page.info, *rest.info)}
    assert addresses == {valcons_address(CONS[k]) for k in KEYS}


def test_update_params_by_authority_only(chain: Chain) -> None:
    _, current = chain.query(
        SQ + "Params", pb.slashing_query.QueryParamsRequest(), pb.slashing_query.QueryParamsResponse
    )
    params = pb.slashing.Params()
    params.CopyFrom(current.params)
    params.slash_fraction_downtime = b"20000000000000000"  # 0.02
    msg = pb.slashing_tx.MsgUpdateParams(authority=ADDR[D], params=params)
    result = chain.deliver(D, msg)
    assert result.code != 0  # D is not the authority
    msg.params.slash_fraction_downtime = b"2000000000000000000"  # 2: invalid
    assert chain.check(chain.msgs_tx(D, [msg])).code != 0


def test_genesis_export_import(chain: Chain, tmp_path: Path) -> None:
    for _ in range(3):
        chain.block([], absent=frozenset({CONS[C]}))
    doc = GenesisDoc.from_json(json.loads(json.dumps(chain.app.export_genesis().to_json())))
    state = doc.app_state["slashing"]
    assert state["params"]["signed_blocks_window"] == str(WINDOW)
    missed = {m["address"]: m["missed_blocks"] for m in state["missed_blocks"]}
    assert len(missed[valcons_address(CONS[C])]) == 3
    infos = {i["address"]: i["validator_signing_info"] for i in state["signing_infos"]}
    assert infos[valcons_address(CONS[C])]["missed_blocks_counter"] == "3"
    before = signing_info(chain, C)
    fresh = Chain(
        app=AivmApp(CommitStore.open(tmp_path / "reimport")),
        path=tmp_path,
        height=chain.height,
        time_s=chain.time_s,
    )
    fresh.app.init_chain(doc.init_chain_request())
    fresh.block([])  # every validator signs
    after = signing_info(fresh, C)
    assert after.start_height == before.start_height
    assert after.missed_blocks_counter == 3
    assert after.index_offset == before.index_offset + 1
    again = fresh.app.export_genesis().to_json()["app_state"]["slashing"]
    assert again["missed_blocks"] == state["missed_blocks"]
    assert again["params"] == state["params"]
