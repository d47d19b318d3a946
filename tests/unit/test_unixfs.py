"""UnixFS DAGs, CIDs and chunk proofs: known CIDs, streaming, proofs for every chunk, and
every kind of tampering rejected."""

from __future__ import annotations

import hashlib

import pytest

from aivm.crypto import unixfs
from aivm.crypto.cid import CidError, cid_of, validate_cid

CHUNK = unixfs.CHUNK_SIZE


def content(size: int) -> bytes:
    seed = hashlib.sha256(b"t-%d" % size).digest()
    return b"".join(
        hashlib.sha256(seed + i.to_bytes(8, "big")).digest() for i in range(size // 32 + 1)
    )[:size]


def test_known_cids() -> None:
    # `ipfs add --cid-version=1` of an empty file, and of "hello world\n"
    assert cid_of(b"") == "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"
    assert cid_of(b"hello world\n") == "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4"


@pytest.mark.parametrize(
    "size", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK + 7, 175 * CHUNK + 5]
)
def test_stream_and_proofs(size: int) -> None:
    data = content(size)
    dag = unixfs.build_dag(data)
    assert dag.chunks == unixfs.chunk_count(size)
    pieces = [data[i : i + 100_003] for i in range(0, len(data), 100_003)]
    assert unixfs.cid_of_stream(pieces) == dag.root_cid
    assert dag.root_cid.startswith(unixfs.RAW_CID_PREFIX) == (dag.chunks == 1)
    for index in sorted({0, dag.chunks // 2, dag.chunks - 1}):
        chunk = data[index * CHUNK : (index + 1) * CHUNK]
        proof = unixfs.ChunkProof.decode(unixfs.chunk_proof(dag, index).encode())
        unixfs.verify_chunk(dag.root_cid, size, index, chunk, proof)


def tamper_cases() -> list[str]:
    return [
        "chunk",
        "index",
        "size",
        "root",
        "proof-node",
        "proof-bytes",
        "short-proof",
        "extra-node",
    ]


@pytest.mark.parametrize("case", tamper_cases())
def test_tampered_proofs_are_rejected(case: str) -> None:
    size = 180 * CHUNK + 11  # two-level DAG
    data = content(size)
    dag = unixfs.build_dag(data)
    index = 177
    chunk = data[index * CHUNK : (index + 1) * CHUNK]
    proof = unixfs.chunk_proof(dag, index)
    root, claimed_size, claimed_index, encoded = dag.root_cid, size, index, proof.encode()
    if case == "chunk":
        chunk = chunk[:-1] + bytes([chunk[-1] ^ 1])
    elif case == "index":
        claimed_index = 176
    elif case == "size":
        claimed_size = size - 1
    elif case == "root":
        root = cid_of(b"something else entirely" * 20000)
    elif case == "proof-node":
        node = bytearray(proof.nodes[1])
        node[40] ^= 1
        encoded = unixfs.ChunkProof((proof.nodes[0], bytes(node))).encode()
    elif case == "proof-bytes":
        encoded = encoded[:-1]
    elif case == "short-proof":
        encoded = unixfs.ChunkProof(proof.nodes[:1]).encode()
    elif case == "extra-node":
        encoded = unixfs.ChunkProof((*proof.nodes, proof.nodes[-1])).encode()
    with pytest.raises(CidError):
        unixfs.verify_chunk(
            root, claimed_size, claimed_index, chunk, unixfs.ChunkProof.decode(encoded)
        )


@pytest.mark.parametrize(
    "text",
    [
        "",
        "Qmabc",
        "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyk",
        "BAFKREIHDWDCEFGH4DQKJV67UZCMW7OJEE6XEDZDETOJUZJEVTENXQUVYKU",
        "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyk1",
        "b" + "a" * 58,
    ],
)
def test_bad_cids(text: str) -> None:
    with pytest.raises(CidError):
        validate_cid(text)


def test_challenge_index_is_deterministic_and_in_range() -> None:
    root = cid_of(content(10 * CHUNK))
    picks = {unixfs.challenge_index(b"block-%d" % h, root, 10) for h in range(200)}
    assert picks == set(range(10))
    assert unixfs.challenge_index(b"x", root, 10) == unixfs.challenge_index(b"x", root, 10)
