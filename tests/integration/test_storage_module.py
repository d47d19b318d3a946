"""storage module over ABCI: per-owner object records whose size is proven by the CID's root
block, paid retention, references from the model registry, and availability challenges
answered with real UnixFS chunk proofs. No account can lock another out of a CID, and no size
is recorded without evidence."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import json_format

from aivm.app.application import AivmApp
from aivm.app.genesis import GenesisDoc
from aivm.crypto import unixfs
from aivm.crypto.cid import cid_of
from aivm.modules.storage.keeper import DEFAULT_PARAMS
from aivm.store import CommitStore
from aivm.types import pb
from aivm.types.address import acc_address
from aivm.types.protogen import ai_pb2, storage_pb2
from harness import Chain, genesis_doc, make_key

OWNER, OTHER = make_key(11), make_key(12)
OWNER_ADDR, OTHER_ADDR = acc_address(OWNER.pubkey.address()), acc_address(OTHER.pubkey.address())
FEE = 20_000
Q = "/aivm.storage.v1.Query/"
BIG = bytes(hashlib.sha256(b"%d" % i).digest()[0] for i in range(3 * unixfs.CHUNK_SIZE + 1000))
BIG_DAG = unixfs.build_dag(BIG)
BIG_ROOT = unixfs.root_block_of(BIG_DAG)
SMALL = b"small object"
DEFAULT_PARAMS_JSON = json_format.MessageToDict(DEFAULT_PARAMS, preserving_proto_field_name=True)


def start(path: Path, storage_genesis: dict[str, Any] | None = None) -> Chain:
    funded = {OWNER.pubkey.address(): 10**12, OTHER.pubkey.address(): 10**12}
    doc = genesis_doc(funded, with_accounts=True)
    if storage_genesis is not None:
        doc.app_state["storage"] = storage_genesis
    chain = Chain.start(path, funded, genesis=doc)
    chain.block([])
    return chain


@pytest.fixture
def chain(tmp_path: Path) -> Chain:
    return start(tmp_path / "data")


def store(
    cid: str, root: bytes, size: int = 0, blocks: int = 100, owner: str = OWNER_ADDR
) -> storage_pb2.MsgStoreObject:
    return storage_pb2.MsgStoreObject(
        owner=owner, cid=cid, size=size, retention_blocks=blocks, root_block=root
    )


def store_small(owner: str = OWNER_ADDR) -> storage_pb2.MsgStoreObject:
    return store(cid_of(SMALL), SMALL, owner=owner)


def get_object(chain: Chain, cid: str, owner: str = "") -> storage_pb2.StoredObject | None:
    _, value = chain.query(
        Q + "Object",
        storage_pb2.QueryObjectRequest(cid=cid, owner=owner),
        storage_pb2.QueryObjectResponse,
    )
    return None if value is None else value.object


def records(chain: Chain, cid: str, **page: Any) -> storage_pb2.QueryObjectRecordsResponse:
    request = storage_pb2.QueryObjectRecordsRequest(cid=cid)
    for key, value in page.items():
        setattr(request.pagination, key, value)
    result, value = chain.query(
        Q + "ObjectRecords", request, storage_pb2.QueryObjectRecordsResponse
    )
    assert result.code == 0, result.log
    return value


def sequence(chain: Chain, key: Any) -> int:
    account = chain.account(key.pubkey.address())
    assert account is not None
    return int(account.sequence)


def attributes(result: pb.abci.ExecTxResult, kind: str) -> dict[str, str]:
    return {a.key: a.value for e in result.events if e.type == kind for a in e.attributes}


def test_store_pays_retention_and_extends(chain: Chain) -> None:
    before = chain.balance(OWNER.pubkey.address())
    result = chain.deliver(OWNER, store(BIG_DAG.root_cid, BIG_ROOT, blocks=100))
    assert result.code == 0, result.log
    response = pb.sdk_abci.TxMsgData.FromString(result.data).msg_responses[0]
    assert storage_pb2.MsgStoreObjectResponse.FromString(response.value).size == len(BIG)
    assert attributes(result, "aivm.storage.v1.EventStoreObject")["size"] == str(len(BIG))
    kib = -(-len(BIG) // 1024)
    assert before - chain.balance(OWNER.pubkey.address()) == FEE + kib * 100  # fee + price
    record = get_object(chain, BIG_DAG.root_cid, OWNER_ADDR)
    assert record is not None and record.size == len(BIG) and record.chunks == 4
    assert record.owner == OWNER_ADDR
    until = record.retained_until
    # extending: a declared size that matches the evidence is accepted
    assert chain.deliver(OWNER, store(BIG_DAG.root_cid, BIG_ROOT, len(BIG), 50)).code == 0
    record = get_object(chain, BIG_DAG.root_cid, OWNER_ADDR)
    assert record.retained_until == until + 50
    assert [(c.denom, c.amount) for c in record.paid] == [("ucgpt", str(kib * 150))]


def test_a_squatter_never_blocks_the_honest_owner(chain: Chain) -> None:
    # the squatter saw the CID (say, in the mempool) and records it first
    squat = chain.deliver(OTHER, store(BIG_DAG.root_cid, BIG_ROOT, blocks=10, owner=OTHER_ADDR))
    assert squat.code == 0, squat.log
    honest = chain.deliver(OWNER, store(BIG_DAG.root_cid, BIG_ROOT, blocks=100))
    assert honest.code == 0, honest.log
    assert chain.deliver(OWNER, store(BIG_DAG.root_cid, BIG_ROOT, blocks=20)).code == 0
    mine = get_object(chain, BIG_DAG.root_cid, OWNER_ADDR)
    theirs = get_object(chain, BIG_DAG.root_cid, OTHER_ADDR)
    assert mine is not None and theirs is not None
    assert (mine.owner, mine.size, mine.retained_until) == (OWNER_ADDR, len(BIG), 3 + 120)
    assert (theirs.owner, theirs.size, theirs.retained_until) == (OTHER_ADDR, len(BIG), 2 + 10)
    listed = records(chain, BIG_DAG.root_cid)
    assert sorted(r.owner for r in listed.records) == sorted([OWNER_ADDR, OTHER_ADDR])
    assert not listed.pagination.next_key
    # without an owner, Object answers the first record by owner address: same size
    first = get_object(chain, BIG_DAG.root_cid)
    assert first is not None and first.size == len(BIG)
    lowest = min((OWNER, OTHER), key=lambda key: key.pubkey.address())
    assert first.owner == acc_address(lowest.pubkey.address())


def test_records_are_paged_in_the_store(chain: Chain) -> None:
    assert chain.deliver(OWNER, store_small()).code == 0
    assert chain.deliver(OTHER, store_small(OTHER_ADDR)).code == 0
    everything = records(chain, cid_of(SMALL), count_total=True)
    assert everything.pagination.total == 2
    owners = [r.owner for r in everything.records]
    first = records(chain, cid_of(SMALL), limit=1)
    assert [r.owner for r in first.records] == owners[:1] and first.pagination.next_key
    second = records(chain, cid_of(SMALL), limit=1, key=first.pagination.next_key)
    assert [r.owner for r in second.records] == owners[1:] and not second.pagination.next_key
    assert [r.owner for r in records(chain, cid_of(SMALL), offset=1).records] == owners[1:]
    backward = records(chain, cid_of(SMALL), limit=1, reverse=True)
    assert [r.owner for r in backward.records] == owners[1:]
    assert not records(chain, cid_of(b"never stored")).records


def file_node(links: list[unixfs.Link], sizes: list[int], filesize: int) -> bytes:
    """A dag-pb UnixFS file node with these children and this ``filesize``."""
    field = unixfs._field
    data = field(1, 0, 2) + field(3, 0, filesize) + b"".join(field(4, 0, n) for n in sizes)
    body = b"".join(
        field(2, 2, field(1, 2, link.cid) + field(2, 2, b"") + field(3, 0, link.tsize))
        for link in links
    )
    return body + field(1, 2, data)


def forged_root() -> bytes:
    """The real root node claiming a larger file (filesize and last blocksize grown)."""
    links, sizes = unixfs.decode_node(BIG_ROOT)
    grown = [*sizes[:-1], sizes[-1] + len(BIG)]
    return file_node(links, grown, sum(grown))


def inconsistent_node() -> bytes:
    """A UnixFS file node whose filesize is not the sum of its blocksizes."""
    links, sizes = unixfs.decode_node(BIG_ROOT)
    return file_node(links, sizes, sum(sizes) + 1)


def dag_pb_cid(block: bytes) -> str:
    return unixfs.cid_str(unixfs.cid_bytes(unixfs.DAG_PB, hashlib.sha256(block).digest()))


BAD_STORES = {
    # raw CID: the root block is the content, so a declared 1 MB is a mismatch
    "declared-size-raw": (lambda: store(cid_of(SMALL), SMALL, 10**6), ("storage", 6)),
    "declared-size-dag": (
        lambda: store(BIG_DAG.root_cid, BIG_ROOT, len(BIG) + 1),
        ("storage", 6),
    ),
    "no-root-block": (lambda: store(BIG_DAG.root_cid, b"", len(BIG)), ("storage", 4)),
    "forged-root-block": (lambda: store(BIG_DAG.root_cid, forged_root()), ("storage", 4)),
    "root-of-other-content": (lambda: store(cid_of(SMALL), b"small objecT"), ("storage", 4)),
    "leaf-instead-of-root": (
        lambda: store(BIG_DAG.root_cid, BIG[: unixfs.CHUNK_SIZE]),
        ("storage", 4),
    ),
    "not-a-unixfs-node": (lambda: store(dag_pb_cid(b"garbage"), b"garbage"), ("storage", 14)),
    "filesize-not-sum": (
        lambda: store(dag_pb_cid(inconsistent_node()), inconsistent_node()),
        ("storage", 14),
    ),
    "dag-pb-of-one-chunk": (
        lambda: store(dag_pb_cid(unixfs.encode_node([], [])), unixfs.encode_node([], [])),
        ("storage", 6),
    ),
    "root-block-too-large": (
        lambda: store(cid_of(SMALL), bytes(unixfs.CHUNK_SIZE + 1)),
        ("storage", 14),
    ),
    "short-retention": (lambda: store(cid_of(SMALL), SMALL, blocks=1), ("storage", 12)),
    "bad-cid": (lambda: store("not-a-cid", SMALL), ("storage", 2)),
    "zero-blocks": (lambda: store(cid_of(SMALL), SMALL, blocks=0), ("storage", 12)),
}


@pytest.mark.parametrize("case", sorted(BAD_STORES))
def test_bad_store_changes_nothing_but_fee_and_sequence(chain: Chain, case: str) -> None:
    make, expected = BAD_STORES[case]
    msg = make()
    balance, seq = chain.balance(OWNER.pubkey.address()), sequence(chain, OWNER)
    result = chain.deliver(OWNER, msg)
    assert (result.codespace, result.code) == expected, result.log
    rejected_in_check_tx = case in ("root-block-too-large", "bad-cid", "zero-blocks")
    spent, bumped = (0, 0) if rejected_in_check_tx else (FEE, 1)
    assert chain.balance(OWNER.pubkey.address()) == balance - spent
    assert sequence(chain, OWNER) == seq + bumped
    if case != "bad-cid":
        assert not records(chain, msg.cid).records


def test_no_size_is_recorded_without_evidence(chain: Chain) -> None:
    # a squatter claims the CID with a wrong size and a made-up root block: refused
    lie = chain.deliver(OTHER, store(BIG_DAG.root_cid, b"trust me", 10**9, owner=OTHER_ADDR))
    assert (lie.codespace, lie.code) == ("storage", 4), lie.log
    assert not records(chain, BIG_DAG.root_cid).records
    assert chain.deliver(OWNER, store(BIG_DAG.root_cid, BIG_ROOT)).code == 0
    assert get_object(chain, BIG_DAG.root_cid).size == len(BIG)


def test_evidence_gas_is_charged_per_byte(tmp_path: Path) -> None:
    """Raising the hashing price by 10 per byte (10 KiB per KiB) and the parsing price by 10
    raises the gas of the same store and answer by exactly 10 × the bytes hashed and parsed
    (prices chosen so the params' encoded size is the same)."""

    def priced(name: str, hashed_per_kib: int, parsed: int) -> Chain:
        params = {**DEFAULT_PARAMS_JSON, "gas_per_kib_hashed": hashed_per_kib}
        params["gas_per_byte_parsed"] = parsed
        return start(tmp_path / name, {"params": params})

    base, dear = priced("base", 2048, 3), priced("dear", 12288, 13)
    msg = store(BIG_DAG.root_cid, BIG_ROOT)
    cheap, costly = base.deliver(OWNER, msg), dear.deliver(OWNER, msg)
    assert cheap.code == costly.code == 0
    assert costly.gas_used - cheap.gas_used == 2 * 10 * len(BIG_ROOT)
    raw = store(cid_of(SMALL), SMALL)
    cheap, costly = base.deliver(OWNER, raw), dear.deliver(OWNER, raw)
    assert costly.gas_used - cheap.gas_used == 10 * len(SMALL)  # hashed, not parsed
    # an answer: chunk and proof hashed, proof parsed
    challenge_id, index = open_challenge(base, BIG_DAG.root_cid)
    again = open_challenge(dear, BIG_DAG.root_cid)
    assert again == (challenge_id, index)  # same heights, same block hashes
    chunk = BIG[index * unixfs.CHUNK_SIZE : (index + 1) * unixfs.CHUNK_SIZE]
    proof = unixfs.chunk_proof(BIG_DAG, index).encode()
    reply = answer(challenge_id, chunk, proof)
    cheap, costly = base.deliver(OWNER, reply), dear.deliver(OWNER, reply)
    assert cheap.code == costly.code == 0, cheap.log
    assert costly.gas_used - cheap.gas_used == 10 * (len(chunk) + 2 * len(proof))
    for c in (base, dear):
        c.app.store.close()


def open_challenge(chain: Chain, cid: str) -> tuple[int, int]:
    opened = chain.deliver(OTHER, storage_pb2.MsgOpenChallenge(challenger=OTHER_ADDR, cid=cid))
    assert opened.code == 0, opened.log
    attrs = attributes(opened, "aivm.storage.v1.EventChallengeOpened")
    return int(attrs["challenge_id"]), int(attrs["chunk_index"])


def answer(challenge_id: int, chunk: bytes, proof: bytes) -> storage_pb2.MsgAnswerChallenge:
    return storage_pb2.MsgAnswerChallenge(
        responder=OWNER_ADDR, challenge_id=challenge_id, chunk=chunk, proof=proof
    )


def test_challenge_answered_with_a_real_proof(chain: Chain) -> None:
    assert chain.deliver(OTHER, store(BIG_DAG.root_cid, BIG_ROOT, owner=OTHER_ADDR)).code == 0
    assert chain.deliver(OWNER, store(BIG_DAG.root_cid, BIG_ROOT)).code == 0
    challenge_id, index = open_challenge(chain, BIG_DAG.root_cid)
    assert 0 <= index < 4
    chunk = BIG[index * unixfs.CHUNK_SIZE : (index + 1) * unixfs.CHUNK_SIZE]
    proof = unixfs.chunk_proof(BIG_DAG, index).encode()

    wrong = bytes([chunk[0] ^ 1]) + chunk[1:]
    bad = chain.deliver(OWNER, answer(challenge_id, wrong, proof))
    assert (bad.codespace, bad.code) == ("storage", 5)
    other_index = (index + 1) % 4
    other_chunk = BIG[other_index * unixfs.CHUNK_SIZE : (other_index + 1) * unixfs.CHUNK_SIZE]
    other_proof = unixfs.chunk_proof(BIG_DAG, other_index).encode()
    bad = chain.deliver(OWNER, answer(challenge_id, other_chunk, other_proof))
    assert (bad.codespace, bad.code) == ("storage", 5)

    good = chain.deliver(OWNER, answer(challenge_id, chunk, proof))
    assert good.code == 0, good.log
    _, value = chain.query(
        Q + "Challenge",
        storage_pb2.QueryChallengeRequest(id=challenge_id),
        storage_pb2.QueryChallengeResponse,
    )
    assert value.challenge.status == storage_pb2.CHALLENGE_STATUS_PASSED
    assert value.challenge.cid == BIG_DAG.root_cid
    again = chain.deliver(OWNER, answer(challenge_id, chunk, proof))
    assert (again.codespace, again.code) == ("storage", 11)


def test_challenging_an_unrecorded_cid_is_not_found(chain: Chain) -> None:
    result = chain.deliver(
        OTHER, storage_pb2.MsgOpenChallenge(challenger=OTHER_ADDR, cid=cid_of(b"nobody"))
    )
    assert (result.codespace, result.code) == ("storage", 3)


def challenge_status(chain: Chain, challenge_id: int, height: int = 0) -> int:
    _, value = chain.query(
        Q + "Challenge",
        storage_pb2.QueryChallengeRequest(id=challenge_id),
        storage_pb2.QueryChallengeResponse,
        height,
    )
    return int(value.challenge.status)


def test_unanswered_challenge_expires_in_the_end_block_of_its_deadline(chain: Chain) -> None:
    assert chain.deliver(OWNER, store_small()).code == 0
    challenge_id, index = open_challenge(chain, cid_of(SMALL))
    deadline = chain.height + DEFAULT_PARAMS.challenge_window
    while chain.height < deadline - 1:
        events = chain.block([]).events
        assert not [e for e in events if e.type.startswith("aivm.storage")]  # no expiry yet
    assert challenge_status(chain, challenge_id) == storage_pb2.CHALLENGE_STATUS_OPEN

    response = chain.block([])  # the deadline block: the last that could carry an answer
    (expired,) = [e for e in response.events if e.type == "aivm.storage.v1.EventChallengeExpired"]
    assert {a.key: a.value for a in expired.attributes} == {
        "challenge_id": str(challenge_id),
        "cid": cid_of(SMALL),
        "challenger": OTHER_ADDR,
        "deadline_height": str(deadline),
        "mode": "EndBlock",
    }
    assert challenge_status(chain, challenge_id) == storage_pb2.CHALLENGE_STATUS_EXPIRED
    assert challenge_status(chain, challenge_id, deadline - 1) == storage_pb2.CHALLENGE_STATUS_OPEN
    late = chain.deliver(
        OWNER,
        answer(challenge_id, SMALL, unixfs.chunk_proof(unixfs.build_dag(SMALL), index).encode()),
    )
    assert (late.codespace, late.code) == ("storage", 11)
    assert "CHALLENGE_STATUS_EXPIRED" in late.log


def test_a_challenge_answered_on_its_deadline_passes(chain: Chain) -> None:
    assert chain.deliver(OWNER, store_small()).code == 0
    challenge_id, index = open_challenge(chain, cid_of(SMALL))
    deadline = chain.height + DEFAULT_PARAMS.challenge_window
    while chain.height < deadline - 1:
        chain.block([])
    proof = unixfs.chunk_proof(unixfs.build_dag(SMALL), index).encode()
    result = chain.deliver(OWNER, answer(challenge_id, SMALL, proof))  # in block `deadline`
    assert (chain.height, result.code) == (deadline, 0), result.log
    assert challenge_status(chain, challenge_id) == storage_pb2.CHALLENGE_STATUS_PASSED


def offchain_model(
    owner: str, cid: str, size: int, name: str = "remote"
) -> ai_pb2.MsgRegisterModel:
    return ai_pb2.MsgRegisterModel(
        owner=owner,
        name=name,
        version="1.0.0",
        artifact_cid=cid,
        artifact_sha256=hashlib.sha256(BIG).digest(),
        artifact_size=size,
        format="onnx",
        execution_path="offchain",
        model_card_cid=cid_of(SMALL),
    )


def test_a_model_references_its_owners_record(chain: Chain) -> None:
    # the squatter's records of the artifact and card are theirs: the model owner needs its own
    assert chain.deliver(OTHER, store(BIG_DAG.root_cid, BIG_ROOT, owner=OTHER_ADDR)).code == 0
    assert chain.deliver(OTHER, store_small(OTHER_ADDR)).code == 0
    refused = chain.deliver(OWNER, offchain_model(OWNER_ADDR, BIG_DAG.root_cid, len(BIG)))
    assert (refused.codespace, refused.code) == ("ai", 6), refused.log
    assert chain.deliver(OWNER, store(BIG_DAG.root_cid, BIG_ROOT)).code == 0
    assert chain.deliver(OWNER, store_small()).code == 0
    registered = chain.deliver(OWNER, offchain_model(OWNER_ADDR, BIG_DAG.root_cid, len(BIG)))
    assert registered.code == 0, registered.log
    assert list(get_object(chain, BIG_DAG.root_cid, OWNER_ADDR).references) == ["ai/model/1@1.0.0"]
    assert list(get_object(chain, cid_of(SMALL), OWNER_ADDR).references) == [
        "ai/model/1@1.0.0#card"
    ]
    assert not get_object(chain, BIG_DAG.root_cid, OTHER_ADDR).references
    assert not get_object(chain, cid_of(SMALL), OTHER_ADDR).references


def test_genesis_round_trip_keeps_records_and_challenge_ids(chain: Chain, tmp_path: Path) -> None:
    assert chain.deliver(OWNER, store_small()).code == 0
    assert chain.deliver(OTHER, store_small(OTHER_ADDR)).code == 0
    assert chain.deliver(OWNER, store(BIG_DAG.root_cid, BIG_ROOT)).code == 0
    challenge = storage_pb2.MsgOpenChallenge(challenger=OTHER_ADDR, cid=cid_of(SMALL))
    assert chain.deliver(OTHER, challenge).code == 0
    doc = GenesisDoc.from_json(json.loads(json.dumps(chain.app.export_genesis().to_json())))
    exported = doc.app_state["storage"]["objects"]
    assert sorted((o["cid"], o["owner"]) for o in exported) == sorted(
        [
            (cid_of(SMALL), OWNER_ADDR),
            (cid_of(SMALL), OTHER_ADDR),
            (BIG_DAG.root_cid, OWNER_ADDR),
        ]
    )
    fresh = Chain(app=AivmApp(CommitStore.open(tmp_path / "reimport")), path=tmp_path)
    assert fresh.app.init_chain(doc.init_chain_request()).app_hash == chain.app.store.last_hash
    fresh.block([])
    assert {r.owner for r in records(fresh, cid_of(SMALL)).records} == {OWNER_ADDR, OTHER_ADDR}
    # the next challenge continues the id sequence
    opened = fresh.deliver(OTHER, challenge)
    assert opened.code == 0, opened.log
    assert attributes(opened, "aivm.storage.v1.EventChallengeOpened")["challenge_id"] == "2"
    fresh.app.store.close()


GENESIS_RECORD = {"cid": cid_of(SMALL), "size": str(len(SMALL)), "chunks": "1", "owner": OWNER_ADDR}


@pytest.mark.parametrize(
    "objects",
    [
        [GENESIS_RECORD, GENESIS_RECORD],  # two records of one (CID, owner)
        [GENESIS_RECORD, {**GENESIS_RECORD, "owner": OTHER_ADDR, "size": "13"}],  # sizes differ
        [{**GENESIS_RECORD, "chunks": "2"}],
        [{**GENESIS_RECORD, "size": str(10**6), "chunks": "4"}],  # a raw CID of 4 chunks
        [{**GENESIS_RECORD, "owner": "aivm1nope"}],
    ],
    ids=["duplicate", "sizes-differ", "chunks", "raw-too-big", "bad-owner"],
)
def test_invalid_genesis_records_are_refused(objects: list[dict[str, str]]) -> None:
    from aivm.modules.authority import AuthorityKeeper
    from aivm.modules.storage.keeper import StorageKeeper
    from aivm.modules.storage.module import StorageModule
    from aivm.types.errors import AivmError

    module = StorageModule(StorageKeeper(None), AuthorityKeeper())  # type: ignore[arg-type]
    with pytest.raises(AivmError):
        module.validate_genesis({**module.default_genesis(), "objects": objects})
