"""storage module over ABCI: object records with paid retention, references from the model
registry, and availability challenges answered with real UnixFS chunk proofs."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from aivm.app.application import AivmApp
from aivm.app.genesis import GenesisDoc
from aivm.crypto import unixfs
from aivm.crypto.cid import cid_of
from aivm.store import CommitStore
from aivm.types.address import acc_address
from aivm.types.protogen import storage_pb2
from harness import Chain, make_key

OWNER, OTHER = make_key(11), make_key(12)
Q = "/aivm.storage.v1.Query/"
BIG = bytes(hashlib.sha256(b"%d" % i).digest()[0] for i in range(3 * unixfs.CHUNK_SIZE + 1000))


@pytest.fixture
def chain(tmp_path: Path) -> Chain:
    funded = {OWNER.pubkey.address(): 10**12, OTHER.pubkey.address(): 10**12}
    chain = Chain.start(tmp_path / "data", funded, with_accounts=True)
    chain.block([])
    return chain


def store(cid: str, size: int, blocks: int = 100) -> storage_pb2.MsgStoreObject:
    return storage_pb2.MsgStoreObject(
        owner=acc_address(OWNER.pubkey.address()), cid=cid, size=size, retention_blocks=blocks
    )


def get_object(chain: Chain, cid: str) -> storage_pb2.StoredObject | None:
    _, value = chain.query(
        Q + "Object", storage_pb2.QueryObjectRequest(cid=cid), storage_pb2.QueryObjectResponse
    )
    return None if value is None else value.object


def test_store_pays_retention_and_extends(chain: Chain) -> None:
    dag = unixfs.build_dag(BIG)
    before = chain.balance(OWNER.pubkey.address())
    result = chain.deliver(OWNER, store(dag.root_cid, len(BIG), 100))
    assert result.code == 0, result.log
    kib = -(-len(BIG) // 1024)
    assert before - chain.balance(OWNER.pubkey.address()) == 20_000 + kib * 100  # fee + price
    record = get_object(chain, dag.root_cid)
    assert record is not None and record.size == len(BIG) and record.chunks == 4
    until = record.retained_until
    assert chain.deliver(OWNER, store(dag.root_cid, len(BIG), 50)).code == 0
    record = get_object(chain, dag.root_cid)
    assert record.retained_until == until + 50
    assert [(c.denom, c.amount) for c in record.paid] == [("ucgpt", str(kib * 150))]


@pytest.mark.parametrize(
    "make,expected",
    [
        (lambda: store(cid_of(b"x"), 10**6), ("storage", 6)),  # raw CID cannot hold 1 MB
        (lambda: store(cid_of(b"x"), 1, blocks=1), ("storage", 12)),  # below min retention
        (lambda: store("not-a-cid", 1), ("storage", 2)),
        (lambda: store(cid_of(b"x"), 1, blocks=0), ("storage", 12)),
    ],
    ids=["size-vs-cid", "short-retention", "bad-cid", "zero-blocks"],
)
def test_bad_store_changes_nothing(chain: Chain, make, expected) -> None:  # type: ignore[no-untyped-def]
    msg = make()
    result = chain.deliver(OWNER, msg)
    assert (result.codespace, result.code) == expected, result.log
    assert get_object(chain, msg.cid) is None


def test_challenge_answered_with_a_real_proof(chain: Chain) -> None:
    dag = unixfs.build_dag(BIG)
    assert chain.deliver(OWNER, store(dag.root_cid, len(BIG))).code == 0
    opened = chain.deliver(
        OTHER,
        storage_pb2.MsgOpenChallenge(
            challenger=acc_address(OTHER.pubkey.address()), cid=dag.root_cid
        ),
    )
    assert opened.code == 0, opened.log
    attrs = {
        a.key: a.value
        for e in opened.events
        if e.type == "aivm.storage.v1.EventChallengeOpened"
        for a in e.attributes
    }
    challenge_id, index = int(attrs["challenge_id"]), int(attrs["chunk_index"])
    assert 0 <= index < 4
    chunk = BIG[index * unixfs.CHUNK_SIZE : (index + 1) * unixfs.CHUNK_SIZE]
    proof = unixfs.chunk_proof(dag, index).encode()
    responder = acc_address(OWNER.pubkey.address())

    wrong = bytes([chunk[0] ^ 1]) + chunk[1:]
    bad = chain.deliver(
        OWNER,
        storage_pb2.MsgAnswerChallenge(
            responder=responder, challenge_id=challenge_id, chunk=wrong, proof=proof
        ),
    )
    assert (bad.codespace, bad.code) == ("storage", 5)
    other_index = (index + 1) % 4
    other_chunk = BIG[other_index * unixfs.CHUNK_SIZE : (other_index + 1) * unixfs.CHUNK_SIZE]
    bad = chain.deliver(
        OWNER,
        storage_pb2.MsgAnswerChallenge(
            responder=responder,
            challenge_id=challenge_id,
            chunk=other_chunk,
            proof=unixfs.chunk_proof(dag, other_index).encode(),
        ),
    )
    assert (bad.codespace, bad.code) == ("storage", 5)

    good = chain.deliver(
        OWNER,
        storage_pb2.MsgAnswerChallenge(
            responder=responder, challenge_id=challenge_id, chunk=chunk, proof=proof
        ),
    )
    assert good.code == 0, good.log
    _, value = chain.query(
        Q + "Challenge",
        storage_pb2.QueryChallengeRequest(id=challenge_id),
        storage_pb2.QueryChallengeResponse,
    )
    assert value.challenge.status == storage_pb2.CHALLENGE_STATUS_PASSED
    again = chain.deliver(
        OWNER,
        storage_pb2.MsgAnswerChallenge(
            responder=responder, challenge_id=challenge_id, chunk=chunk, proof=proof
        ),
    )
    assert (again.codespace, again.code) == ("storage", 11)


def test_unanswered_challenge_expires(chain: Chain) -> None:
    data = b"small object"
    assert chain.deliver(OWNER, store(cid_of(data), len(data))).code == 0
    assert (
        chain.deliver(
            OTHER,
            storage_pb2.MsgOpenChallenge(
                challenger=acc_address(OTHER.pubkey.address()), cid=cid_of(data)
            ),
        ).code
        == 0
    )
    for _ in range(51):
        chain.block([])
    _, value = chain.query(
        Q + "Challenge", storage_pb2.QueryChallengeRequest(id=1), storage_pb2.QueryChallengeResponse
    )
    assert value.challenge.status == storage_pb2.CHALLENGE_STATUS_EXPIRED


def test_genesis_round_trip_keeps_objects_and_challenge_ids(chain: Chain, tmp_path: Path) -> None:
    data = b"kept across genesis"
    assert chain.deliver(OWNER, store(cid_of(data), len(data))).code == 0
    challenge = storage_pb2.MsgOpenChallenge(
        challenger=acc_address(OTHER.pubkey.address()), cid=cid_of(data)
    )
    assert chain.deliver(OTHER, challenge).code == 0
    doc = GenesisDoc.from_json(json.loads(json.dumps(chain.app.export_genesis().to_json())))
    assert doc.app_state["storage"]["objects"][0]["cid"] == cid_of(data)
    fresh = Chain(app=AivmApp(CommitStore.open(tmp_path / "reimport")), path=tmp_path)
    assert fresh.app.init_chain(doc.init_chain_request()).app_hash == chain.app.store.last_hash
    fresh.block([])
    # the next challenge continues the id sequence
    opened = fresh.deliver(OTHER, challenge)
    assert opened.code == 0, opened.log
    ids = [a.value for e in opened.events for a in e.attributes if a.key == "challenge_id"]
    assert ids == ["2"]
    fresh.app.store.close()
