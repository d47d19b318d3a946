"""storage × roles over ABCI (issue 15, data validators): every stored CID gets holders drawn
from the data role's active set; EndBlock opens scheduled availability challenges that name one
assigned holder; only that holder's key may answer; a pass records data-role work, a miss
slashes the holder's data bond (reason 5) and is counted and reported. Holders that leave the
active set are replaced, and the scheduler's work per block is bounded by a param."""

from __future__ import annotations

import hashlib
import json
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import json_format

from aivm.app.application import AivmApp
from aivm.app.genesis import GenesisDoc
from aivm.client import Client, Wallet
from aivm.crypto import unixfs
from aivm.modules.bank.keeper import BankKeeper
from aivm.modules.framework import BlockHeader, Context, ExecMode
from aivm.modules.roles import roles_pb2
from aivm.modules.roles.params import DEFAULT_PARAMS as ROLES_DEFAULTS
from aivm.modules.storage import holders as scheduler
from aivm.modules.storage import keys as storage_keys
from aivm.modules.storage.holders import Candidate, miss_evidence, weighted_draw
from aivm.modules.storage.invariants import check_assigned, check_holders
from aivm.modules.storage.keeper import DEFAULT_PARAMS, StorageKeeper, check_params
from aivm.modules.storage.msgs import handle_store
from aivm.store import CacheStore, CommitStore, GasMeter, PrefixStore
from aivm.types import pb
from aivm.types.address import acc_address, acc_address_bytes
from aivm.types.errors import AivmError
from aivm.types.protogen import storage_pb2
from chain_drivers import ChainEndpoint
from cli_runner import Run, import_keys
from harness import DENOM, Chain, genesis_doc, make_key

OPS = [make_key(300 + i) for i in range(4)]
OP_ADDRS = [acc_address(k.pubkey.address()) for k in OPS]
BONDS = [10_000, 20_000, 30_000, 40_000]
OWNER = make_key(310)
OWNER_ADDR = acc_address(OWNER.pubkey.address())
OUTSIDER = make_key(311)
OUTSIDER_ADDR = acc_address(OUTSIDER.pubkey.address())
DATA = roles_pb2.ROLE_DATA
SQ = "/aivm.storage.v1.Query/"
RQ = "/aivm.roles.v1.Query/"
INTERVAL = 4
RESPONSE = 3
BIG = bytes(hashlib.sha256(b"h%d" % i).digest()[0] for i in range(2 * unixfs.CHUNK_SIZE + 77))
BIG_DAG = unixfs.build_dag(BIG)
SMALL_DAGS = [unixfs.build_dag(b"holder test object %d" % i) for i in range(5)]
DAGS = {dag.root_cid: dag for dag in [BIG_DAG, *SMALL_DAGS]}


def storage_params(**changes: Any) -> dict[str, Any]:
    base = json_format.MessageToDict(DEFAULT_PARAMS, preserving_proto_field_name=True)
    base.update(
        holders_per_object=2,
        challenge_interval_blocks=str(INTERVAL),
        max_scheduled_challenges_per_block=4,
        holder_response_blocks=str(RESPONSE),
        missed_challenge_slash_fraction="0.1",
    )
    base.update(changes)
    return base


def roles_params() -> dict[str, Any]:
    base = json_format.MessageToDict(ROLES_DEFAULTS.to_proto(), preserving_proto_field_name=True)
    base.update(
        min_bond_data="1000",
        unbonding_time_ns=str(30 * 10**9),
        reward_share_ai="0",
        reward_share_compute="0",
        reward_share_data="0",
    )
    return base


def start(path: Path, differential: bool = False, operators: int = 4, **changes: Any) -> Chain:
    """A chain whose first ``operators`` keys are active data-role operators (height 2)."""
    funded = {k.pubkey.address(): 10**12 for k in [*OPS, OWNER, OUTSIDER]}
    doc = genesis_doc(funded, with_accounts=True)
    doc.app_state["roles"] = {"params": roles_params()}
    doc.app_state["storage"] = {"params": storage_params(**changes)}
    chain = Chain.start(path, funded, genesis=doc, differential=differential)
    chain.block([])
    txs = [chain.msgs_tx(OPS[i], [register_msg(i)]) for i in range(operators)]
    response = chain.block(txs)
    assert all(r.code == 0 for r in response.tx_results), response.tx_results
    return chain


def register_msg(i: int) -> roles_pb2.MsgRegisterRole:
    return roles_pb2.MsgRegisterRole(
        operator=OP_ADDRS[i],
        role=DATA,
        bond=pb.coin.Coin(denom=DENOM, amount=str(BONDS[i])),
        capability=roles_pb2.Capability(data=roles_pb2.DataCapability(storage_bytes=1 << 40)),
        moniker=f"data{i}",
    )


def store_msg(dag: unixfs.Dag, blocks: int = 200) -> storage_pb2.MsgStoreObject:
    return storage_pb2.MsgStoreObject(
        owner=OWNER_ADDR,
        cid=dag.root_cid,
        retention_blocks=blocks,
        root_block=unixfs.root_block_of(dag),
    )


def answer_msg(challenge: storage_pb2.Challenge, responder: str) -> storage_pb2.MsgAnswerChallenge:
    dag = DAGS[challenge.cid]
    index = challenge.chunk_index
    return storage_pb2.MsgAnswerChallenge(
        responder=responder,
        challenge_id=challenge.id,
        chunk=dag.blocks[dag.leaves[index]],
        proof=unixfs.chunk_proof(dag, index).encode(),
    )


def events(
    result: pb.abci.ExecTxResult | pb.abci.ResponseFinalizeBlock, kind: str
) -> list[dict[str, str]]:
    return [
        {a.key: a.value for a in e.attributes if a.key != "mode"}
        for e in result.events
        if e.type == kind
    ]


def holders(chain: Chain, cid: str) -> list[str]:
    result, value = chain.query(
        SQ + "Holders", storage_pb2.QueryHoldersRequest(cid=cid), storage_pb2.QueryHoldersResponse
    )
    assert result.code == 0, result.log
    return list(value.holders.holders)


def holder_objects(chain: Chain, holder: str) -> list[str]:
    _, value = chain.query(
        SQ + "HolderObjects",
        storage_pb2.QueryHolderObjectsRequest(holder=holder),
        storage_pb2.QueryHolderObjectsResponse,
    )
    return list(value.cids)


def stats(chain: Chain, holder: str) -> tuple[int, int]:
    _, value = chain.query(
        SQ + "HolderStats",
        storage_pb2.QueryHolderStatsRequest(holder=holder),
        storage_pb2.QueryHolderStatsResponse,
    )
    return value.stats.missed, value.stats.passed


def assigned(chain: Chain, assignee: str) -> list[storage_pb2.Challenge]:
    _, value = chain.query(
        SQ + "AssignedChallenges",
        storage_pb2.QueryAssignedChallengesRequest(assignee=assignee),
        storage_pb2.QueryAssignedChallengesResponse,
    )
    return list(value.challenges)


def challenge(chain: Chain, challenge_id: int) -> storage_pb2.Challenge:
    _, value = chain.query(
        SQ + "Challenge",
        storage_pb2.QueryChallengeRequest(id=challenge_id),
        storage_pb2.QueryChallengeResponse,
    )
    return value.challenge


def operator(chain: Chain, address: str) -> roles_pb2.RoleOperator:
    result, value = chain.query(
        RQ + "Operator",
        roles_pb2.QueryOperatorRequest(operator=address, role=DATA),
        roles_pb2.QueryOperatorResponse,
    )
    assert result.code == 0, result.log
    return value.operator


def active(chain: Chain) -> set[str]:
    _, value = chain.query(
        RQ + "ActiveSet",
        roles_pb2.QueryActiveSetRequest(role=DATA),
        roles_pb2.QueryActiveSetResponse,
    )
    return {m.operator for m in value.members}


def slashes(chain: Chain, address: str) -> list[roles_pb2.SlashRecord]:
    _, value = chain.query(
        RQ + "SlashRecords",
        roles_pb2.QuerySlashRecordsRequest(operator=address),
        roles_pb2.QuerySlashRecordsResponse,
    )
    return list(value.records)


def work(chain: Chain, address: str) -> int:
    _, value = chain.query(
        RQ + "WorkCounters",
        roles_pb2.QueryWorkCountersRequest(role=DATA, operator=address),
        roles_pb2.QueryWorkCountersResponse,
    )
    return sum(c.units for c in value.counters)


def to_schedule(chain: Chain, txs: list[bytes] | None = None) -> pb.abci.ResponseFinalizeBlock:
    """Empty blocks up to the next scheduling height; return that block's response."""
    while (chain.height + 1) % INTERVAL:
        chain.block([])
    return chain.block(txs or [])


def opened(response: pb.abci.ResponseFinalizeBlock) -> list[dict[str, str]]:
    return events(response, "aivm.storage.v1.EventChallengeOpened")


def answer_all(chain: Chain) -> pb.abci.ResponseFinalizeBlock:
    """One block in which every operator answers its open scheduled challenges."""
    txs = []
    for key, address in zip(OPS, OP_ADDRS, strict=True):
        mine = assigned(chain, address)
        if mine:
            txs.append(chain.msgs_tx(key, [answer_msg(c, address) for c in mine]))
    response = chain.block(txs)
    assert all(r.code == 0 for r in response.tx_results), [r.log for r in response.tx_results]
    return response


def test_holders_are_drawn_at_store_from_the_active_set_and_deterministic(tmp_path: Path) -> None:
    chains = [start(tmp_path / "a"), start(tmp_path / "b")]
    drawn = []
    for chain in chains:
        assert active(chain) == set(OP_ADDRS)
        response = chain.block([chain.msgs_tx(OWNER, [store_msg(BIG_DAG)])])
        assert response.tx_results[0].code == 0, response.tx_results[0].log
        chosen = holders(chain, BIG_DAG.root_cid)
        assert len(chosen) == 2 and len(set(chosen)) == 2 and set(chosen) <= set(OP_ADDRS)
        for holder in OP_ADDRS:
            assert holder_objects(chain, holder) == ([BIG_DAG.root_cid] if holder in chosen else [])
        drawn.append((chosen, response.app_hash))
    assert drawn[0] == drawn[1]  # same blocks, same holders, same state
    # a CID nobody stored has no holders
    result, _ = chains[0].query(
        SQ + "Holders",
        storage_pb2.QueryHoldersRequest(cid=SMALL_DAGS[0].root_cid),
        storage_pb2.QueryHoldersResponse,
    )
    assert (result.codespace, result.code) == ("storage", 3)


def test_the_draw_is_stake_weighted() -> None:
    pool = [Candidate("light", 1), Candidate("heavy", 99)]
    firsts = [weighted_draw(pool, 1, hashlib.sha256(b"%d" % i).digest())[0] for i in range(400)]
    assert 0 < firsts.count("light") < 20  # ~1% of the draws
    both = weighted_draw(pool, 5, b"seed")
    assert sorted(both) == ["heavy", "light"]  # capped by the pool, no repeats
    assert weighted_draw([Candidate("a", 0), Candidate("b", 0)], 1, b"s") in (["a"], ["b"])


def test_scheduled_challenge_names_an_assignee_and_only_it_may_answer(tmp_path: Path) -> None:
    chain = start(tmp_path / "data", differential=True)
    assert chain.deliver(OWNER, store_msg(BIG_DAG)).code == 0
    chosen = holders(chain, BIG_DAG.root_cid)
    response = to_schedule(chain)
    (event,) = opened(response)
    assert event["assignee"] in chosen and event["cid"] == BIG_DAG.root_cid
    assert int(event["deadline_height"]) == chain.height + RESPONSE
    scheduled = challenge(chain, int(event["challenge_id"]))
    assert scheduled.assignee == event["assignee"]
    assert scheduled.status == storage_pb2.CHALLENGE_STATUS_OPEN
    assert [c.id for c in assigned(chain, scheduled.assignee)] == [scheduled.id]
    holder = OPS[OP_ADDRS.index(scheduled.assignee)]
    other_holder = next(a for a in chosen if a != scheduled.assignee)
    # the right chunk from a non-assignee (another holder, or anyone) is refused
    for key, address in (
        (OPS[OP_ADDRS.index(other_holder)], other_holder),
        (OUTSIDER, OUTSIDER_ADDR),
    ):
        refused = chain.deliver(key, answer_msg(scheduled, address))
        assert (refused.codespace, refused.code) == ("storage", 15), refused.log
        assert challenge(chain, scheduled.id).status == storage_pb2.CHALLENGE_STATUS_OPEN
    assert chain.height <= scheduled.deadline_height
    bond_before = operator(chain, scheduled.assignee).bond
    performance_before = operator(chain, scheduled.assignee).performance
    passed = chain.deliver(holder, answer_msg(scheduled, scheduled.assignee))
    assert passed.code == 0, passed.log
    assert challenge(chain, scheduled.id).status == storage_pb2.CHALLENGE_STATUS_PASSED
    assert challenge(chain, scheduled.id).responder == scheduled.assignee
    assert events(passed, "role_work")[0]["operator"] == scheduled.assignee
    assert work(chain, scheduled.assignee) == 1  # the block's counter, paid by the next one
    assert stats(chain, scheduled.assignee) == (0, 1)
    assert operator(chain, scheduled.assignee).performance > performance_before
    assert assigned(chain, scheduled.assignee) == []
    assert chain.height == scheduled.deadline_height  # answered in the last block allowed
    assert events(chain.block([]), "storage_challenge_missed") == []
    assert operator(chain, scheduled.assignee).bond == bond_before
    assert slashes(chain, scheduled.assignee) == []


def test_a_miss_slashes_the_assignee_and_is_counted(tmp_path: Path) -> None:
    chain = start(tmp_path / "data")
    assert chain.deliver(OWNER, store_msg(BIG_DAG)).code == 0
    (event,) = opened(to_schedule(chain))
    scheduled = challenge(chain, int(event["challenge_id"]))
    holder = scheduled.assignee
    bond = int(operator(chain, holder).bond)
    performance = operator(chain, holder).performance
    for _ in range(RESPONSE - 1):
        assert events(chain.block([]), "storage_challenge_missed") == []
    response = chain.block([])  # EndBlock of the deadline block
    assert chain.height == scheduled.deadline_height
    (missed,) = events(response, "storage_challenge_missed")
    burned = bond // 10
    assert missed == {
        "challenge_id": str(scheduled.id),
        "cid": BIG_DAG.root_cid,
        "assignee": holder,
        "chunk_index": str(scheduled.chunk_index),
        "deadline_height": str(scheduled.deadline_height),
        "burned": str(burned),
    }
    assert int(operator(chain, holder).bond) == bond - burned
    assert operator(chain, holder).performance < performance
    (record,) = slashes(chain, holder)
    assert (record.reason_code, record.reason, record.burned) == (
        5,
        "data_unavailable",
        str(burned),
    )
    assert record.evidence_hash == miss_evidence(scheduled)
    assert stats(chain, holder) == (1, 0)
    assert challenge(chain, scheduled.id).status == storage_pb2.CHALLENGE_STATUS_EXPIRED
    assert assigned(chain, holder) == []
    late = chain.deliver(OPS[OP_ADDRS.index(holder)], answer_msg(scheduled, holder))
    assert (late.codespace, late.code) == ("storage", 11)  # too late: still slashed once
    assert len(slashes(chain, holder)) == 1


def test_honest_holders_that_answer_are_never_slashed(tmp_path: Path) -> None:
    chain = start(tmp_path / "data")
    txs = [chain.msgs_tx(OWNER, [store_msg(dag) for dag in [BIG_DAG, *SMALL_DAGS[:3]]])]
    assert chain.block(txs).tx_results[0].code == 0
    bonds = {a: operator(chain, a).bond for a in OP_ADDRS}
    answered = 0
    for _ in range(4):
        answered += len(opened(to_schedule(chain)))
        response = answer_all(chain)
        assert events(response, "storage_challenge_missed") == []
    for _ in range(RESPONSE + 1):
        assert events(chain.block([]), "storage_challenge_missed") == []
    assert answered == 16  # 4 CIDs per round (the param allows 4)
    assert sum(stats(chain, a)[1] for a in OP_ADDRS) == answered
    assert all(stats(chain, a)[0] == 0 for a in OP_ADDRS)
    assert {a: operator(chain, a).bond for a in OP_ADDRS} == bonds
    assert all(slashes(chain, a) == [] for a in OP_ADDRS)


def test_a_holder_leaving_the_active_set_is_replaced(tmp_path: Path) -> None:
    chain = start(tmp_path / "data")
    assert chain.deliver(OWNER, store_msg(BIG_DAG)).code == 0
    leaving, staying = holders(chain, BIG_DAG.root_cid)
    to_schedule(chain)  # so that the unbond is not in a scheduling block
    key = OPS[OP_ADDRS.index(leaving)]
    unbond = roles_pb2.MsgUnbondRole(operator=leaving, role=DATA, all=True)
    assert chain.deliver(key, unbond).code == 0
    assert leaving not in active(chain)
    response = to_schedule(chain)
    now = holders(chain, BIG_DAG.root_cid)
    assert leaving not in now and staying in now and len(now) == 2
    assert set(now) <= active(chain)
    assert holder_objects(chain, leaving) == []
    (reassigned,) = events(response, "storage_holders_assigned")
    assert reassigned["dropped"] == leaving
    assert all(e["assignee"] != leaving for e in opened(response))


def test_holders_are_capped_by_the_active_set_and_topped_up(tmp_path: Path) -> None:
    chain = start(tmp_path / "data", operators=1)
    assert chain.deliver(OWNER, store_msg(BIG_DAG)).code == 0
    assert holders(chain, BIG_DAG.root_cid) == [OP_ADDRS[0]]
    assert chain.deliver(OPS[1], register_msg(1)).code == 0
    to_schedule(chain)
    assert sorted(holders(chain, BIG_DAG.root_cid)) == sorted(OP_ADDRS[:2])


def test_no_active_operator_no_holders_and_no_challenge(tmp_path: Path) -> None:
    chain = start(tmp_path / "data", operators=0)
    assert chain.deliver(OWNER, store_msg(BIG_DAG)).code == 0
    assert holders(chain, BIG_DAG.root_cid) == []
    assert opened(to_schedule(chain)) == []


def test_scheduling_work_per_block_is_bounded_by_the_param(tmp_path: Path) -> None:
    chain = start(tmp_path / "data", max_scheduled_challenges_per_block=2)
    txs = [chain.msgs_tx(OWNER, [store_msg(dag) for dag in SMALL_DAGS])]
    assert chain.block(txs).tx_results[0].code == 0
    rounds = []
    for _ in range(3):
        response = to_schedule(chain)
        rounds.append([e["cid"] for e in opened(response)])
        for _ in range(INTERVAL - 1):  # no challenge between scheduling heights
            assert opened(chain.block([])) == []
    assert [len(r) for r in rounds] == [2, 2, 2]
    visited = [cid for r in rounds for cid in r]
    in_key_order = sorted(dag.root_cid for dag in SMALL_DAGS)  # same length: string order
    assert visited[:5] == in_key_order and visited[5] == in_key_order[0]  # the cursor wraps


def test_expired_retention_releases_the_holders(tmp_path: Path) -> None:
    chain = start(tmp_path / "data")
    assert chain.deliver(OWNER, store_msg(SMALL_DAGS[0], blocks=10)).code == 0
    assert len(holders(chain, SMALL_DAGS[0].root_cid)) == 2
    while chain.height <= 15:
        chain.block([])
    assert opened(to_schedule(chain)) == []
    assert holders(chain, SMALL_DAGS[0].root_cid) == []
    assert chain.deliver(OWNER, store_msg(SMALL_DAGS[0], blocks=50)).code == 0  # paid again
    assert len(holders(chain, SMALL_DAGS[0].root_cid)) == 2


def test_genesis_round_trip_keeps_holders_stats_and_open_assignments(tmp_path: Path) -> None:
    chain = start(tmp_path / "data")
    txs = [chain.msgs_tx(OWNER, [store_msg(dag) for dag in [BIG_DAG, SMALL_DAGS[0]]])]
    assert chain.block(txs).tx_results[0].code == 0
    to_schedule(chain)
    answer_all(chain)
    to_schedule(chain)  # these stay open
    doc = GenesisDoc.from_json(json.loads(json.dumps(chain.app.export_genesis().to_json())))
    state = doc.app_state["storage"]
    assert {h["cid"] for h in state["holders"]} == {BIG_DAG.root_cid, SMALL_DAGS[0].root_cid}
    assert sum(int(s.get("passed", 0)) for s in state["holder_stats"]) == 2
    assert state["schedule_cursor"]
    open_assigned = [c for c in state["challenges"] if c["status"] == "CHALLENGE_STATUS_OPEN"]
    assert len(open_assigned) == 2 and all(c["assignee"] for c in open_assigned)
    fresh = Chain(app=AivmApp(CommitStore.open(tmp_path / "reimport")), path=tmp_path)
    assert fresh.app.init_chain(doc.init_chain_request()).app_hash == chain.app.store.last_hash
    fresh.block([])
    for c in open_assigned:
        expected = sorted(int(o["id"]) for o in open_assigned if o["assignee"] == c["assignee"])
        assert [x.id for x in assigned(fresh, c["assignee"])] == expected
    fresh.app.store.close()


@pytest.mark.parametrize(
    "change",
    [
        {"holders_per_object": 0},
        {"holders_per_object": 21},
        {"challenge_interval_blocks": 0},
        {"max_scheduled_challenges_per_block": 1001},
        {"holder_response_blocks": 0},
        {"holder_response_blocks": 101},
        {"missed_challenge_slash_fraction": "1.5"},
        {"missed_challenge_slash_fraction": "-0.1"},
        {"missed_challenge_slash_fraction": "lots"},
    ],
)
def test_params_out_of_range_are_refused(change: dict[str, Any]) -> None:
    params = storage_pb2.Params()
    params.CopyFrom(DEFAULT_PARAMS)
    for name, value in change.items():
        setattr(params, name, value)
    with pytest.raises(AivmError) as caught:
        check_params(params)
    assert caught.value.codespace == "sdk"
    check_params(DEFAULT_PARAMS)  # the defaults pass


def test_a_genesis_without_the_new_params_gets_the_defaults(tmp_path: Path) -> None:
    old = storage_params()
    for name in (
        "holders_per_object",
        "challenge_interval_blocks",
        "max_scheduled_challenges_per_block",
        "holder_response_blocks",
        "missed_challenge_slash_fraction",
    ):
        del old[name]
    funded = {OWNER.pubkey.address(): 10**12}
    doc = genesis_doc(funded, with_accounts=True)
    doc.app_state["storage"] = {"params": old}
    chain = Chain.start(tmp_path / "data", funded, genesis=doc, differential=False)
    chain.block([])
    _, value = chain.query(
        SQ + "Params", storage_pb2.QueryParamsRequest(), storage_pb2.QueryParamsResponse
    )
    assert value.params.holders_per_object == DEFAULT_PARAMS.holders_per_object
    assert value.params.holder_response_blocks == DEFAULT_PARAMS.holder_response_blocks


def test_a_slash_below_the_minimum_bond_leaves_the_active_set_in_the_same_block(
    tmp_path: Path,
) -> None:
    chain = start(tmp_path / "data", missed_challenge_slash_fraction="0.99")
    assert chain.deliver(OWNER, store_msg(BIG_DAG)).code == 0
    (event,) = opened(to_schedule(chain))
    holder = event["assignee"]
    while chain.height < int(event["deadline_height"]) - 1:
        chain.block([])
    response = chain.block([])
    assert [e["assignee"] for e in events(response, "storage_challenge_missed")] == [holder]
    assert int(operator(chain, holder).bond) < 1000  # below min_bond_data
    assert {"operator": holder, "role": "data"} in events(response, "role_active_leave")
    assert holder not in active(chain)


@pytest.mark.parametrize("chain", ["devnet"], indirect=True)
def test_cli_holders_and_answer_assigned_on_a_devnet(chain: ChainEndpoint, run: Run) -> None:
    """On a running devnet: dev1 becomes the data role, dev0 stores a file, the CLI shows dev1
    as its holder, and ``aivm tx storage answer-assigned`` answers the scheduled challenge
    from the node's content store (the authority gives it 100 blocks of 100 ms)."""
    dev0, dev1 = (Wallet.from_mnemonic(m) for m in chain.mnemonics[:2])
    data = bytes(hashlib.sha256(b"devnet %d" % i).digest()[0] for i in range(unixfs.CHUNK_SIZE + 9))
    with Client(chain.rpc_url, rest=chain.rest_url) as client:
        current = client.query(
            SQ + "Params", storage_pb2.QueryParamsRequest(), storage_pb2.QueryParamsResponse
        ).params
        current.holder_response_blocks = 100
        current.challenge_interval_blocks = 5
        update = storage_pb2.MsgUpdateParams(authority=dev0.address, params=current)
        client.wait_for_tx(client.sign_and_broadcast(dev0, [update]).hash)
        register = register_msg(0)
        register.operator = dev1.address
        register.bond.amount = str(500 * 10**6)
        client.wait_for_tx(client.sign_and_broadcast(dev1, [register]).hash)
        stat = client.storage.put(data)
        client.modules.storage.store(dev0, stat.cid, 1000)
    import_keys(run, chain, 1)
    code, out, err = run("query", "storage", "holders", stat.cid, "-o", "json")
    assert code == 0, err
    assert json.loads(out)["holders"] == [dev1.address]
    code, out, err = run("query", "storage", "holder-objects", dev1.address, "-o", "json")
    assert code == 0 and json.loads(out)["cids"] == [stat.cid], err
    with Client(chain.rpc_url, rest=chain.rest_url) as client:
        for _ in range(100):
            if client.modules.storage.assigned_challenges(dev1.address):
                break
            chain.wait_height(chain.height() + 1)
        assert client.modules.storage.assigned_challenges(dev1.address)
    rest = ["--rest", chain.rest_url, "-o", "json"]
    code, out, err = run("tx", "storage", "answer-assigned", "--from", "dev1", "--yes", *rest)
    assert code == 0, err
    answered = json.loads(out)["answered"]
    assert answered and all(a["error"] == "" and a["cid"] == stat.cid for a in answered)
    code, out, err = run("query", "storage", "holder-stats", dev1.address, "-o", "json")
    assert code == 0, err
    assert int(json.loads(out)["passed"]) == len(answered)
    for path, field in (
        (f"holders/{stat.cid}", "holders"),
        (f"holder_objects/{dev1.address}", "cids"),
        (f"holder_stats/{dev1.address}", "stats"),
    ):
        with urllib.request.urlopen(f"{chain.rest_url}/aivm/storage/v1/{path}") as response:
            assert field in json.loads(response.read()), path
    for a in answered:  # (the schedule keeps opening new ones every 5 blocks)
        code, out, err = run("query", "storage", "challenge", a["challenge_id"], "-o", "json")
        assert code == 0, err
        done = json.loads(out)
        assert (done["status"], done["responder"]) == ("CHALLENGE_STATUS_PASSED", dev1.address)
    code, out, err = run("query", "storage", "assigned", dev1.address, "-o", "json")
    assert code == 0, err
    still_open = {c["id"] for c in json.loads(out)["challenges"]}
    assert not still_open & {a["challenge_id"] for a in answered}


def branch_ctx(chain: Chain, height: int) -> Context:
    """A FINALIZE context at ``height`` on a throwaway branch of the committed state."""
    header = BlockHeader(height, (chain.time_s + 1) * 10**9, "aivm-test-1", seed=b"s" * 32)
    store = CacheStore(chain.app.store.working)
    return Context(store, GasMeter(None), header, ExecMode.FINALIZE)


def test_without_the_roles_module_nothing_is_assigned_or_scheduled(tmp_path: Path) -> None:
    chain = start(tmp_path / "data")
    bank = chain.app.manager.keepers.get("bank", BankKeeper)
    keeper = StorageKeeper(bank, None)  # as built by an app without roles
    ctx = branch_ctx(chain, INTERVAL * 10)
    handle_store(keeper, ctx, store_msg(BIG_DAG))
    entry = keeper.get_holders(ctx, BIG_DAG.root_cid)
    assert entry is not None and list(entry.holders) == []
    assert scheduler.schedule(keeper, ctx) == []
    assert check_holders(ctx, keeper) == [] and check_assigned(ctx, keeper) == []


def test_the_invariants_catch_a_broken_index(tmp_path: Path) -> None:
    chain = start(tmp_path / "data")
    assert chain.deliver(OWNER, store_msg(BIG_DAG)).code == 0
    to_schedule(chain)
    keeper = chain.app.manager.keepers.get("storage", StorageKeeper)
    ctx = branch_ctx(chain, chain.height + 1)
    assert check_holders(ctx, keeper) == [] and check_assigned(ctx, keeper) == []
    holder = holders(chain, BIG_DAG.root_cid)[0]
    store = PrefixStore(ctx.store, storage_keys.STORE_PREFIX)
    store.delete(storage_keys.by_holder_key(acc_address_bytes(holder), BIG_DAG.root_cid))
    assert check_holders(ctx, keeper)  # the by-holder index lost an entry
    (scheduled,) = [c for a in OP_ADDRS for c in assigned(chain, a)]
    store.delete(storage_keys.assigned_key(acc_address_bytes(scheduled.assignee), scheduled.id))
    assert check_assigned(ctx, keeper)  # an open scheduled challenge is not indexed
