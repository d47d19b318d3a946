"""UnixFS DAGs, CIDs and chunk proofs: known CIDs, streaming, proofs for every chunk, and
every kind of tampering rejected."""

from __future__ import annotations

import pytest

from aivm.crypto import unixfs
from aivm.crypto.cid import CidError, cid_of, validate_cid
from sample_data import sample_bytes

CHUNK = unixfs.CHUNK_SIZE


def test_known_cids() -> None:
    # `ipfs add --cid-version=1` of an empty file, and of "hello world\n"
    assert cid_of(b"") == "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"
    assert cid_of(b"hello world\n") == "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4"


@pytest.mark.parametrize(
    "size", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK + 7, 175 * CHUNK + 5]
)
def test_stream_and_proofs(size: int) -> None:
    data = sample_bytes(size)
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
    data = sample_bytes(size)
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
    root = cid_of(sample_bytes(10 * CHUNK))
    picks = {unixfs.challenge_index(b"block-%d" % h, root, 10) for h in range(200)}
    assert picks == set(range(10))
    assert unixfs.challenge_index(b"x", root, 10) == unixfs.challenge_index(b"x", root, 10)


def chunked(n_chunks: int, tail: int = 0) -> bytes:
    """``n_chunks`` full chunks, each distinct, and ``tail`` more bytes (cheap to make)."""
    body = b"".join(i.to_bytes(4, "big") * (CHUNK // 4) for i in range(n_chunks))
    return body + b"t" * tail


@pytest.mark.parametrize(("n_chunks", "depth"), [(2, 1), (174, 1), (175, 2)])
def test_every_chunk_has_a_valid_proof(n_chunks: int, depth: int) -> None:
    data = chunked(n_chunks)
    dag = unixfs.build_dag(data)
    assert dag.chunks == n_chunks and dag.root_cid.startswith("bafybei")  # dag-pb root
    for index in range(n_chunks):
        proof = unixfs.chunk_proof(dag, index)
        assert len(proof.nodes) == depth
        chunk = data[index * CHUNK : (index + 1) * CHUNK]
        unixfs.verify_chunk(dag.root_cid, len(data), index, chunk, proof)
        # the answer for one index never proves another
        other = (index + 1) % n_chunks
        with pytest.raises(CidError):
            unixfs.verify_chunk(dag.root_cid, len(data), other, chunk, proof)


def test_streaming_builder_emits_every_block_once() -> None:
    data = chunked(175, tail=3)
    builder = unixfs.DagBuilder()
    blocks: dict[str, bytes] = {}
    for start in range(0, len(data), CHUNK):
        cid, block = builder.add_chunk(data[start : start + CHUNK])
        blocks[cid] = block
    root, nodes = builder.finish()
    blocks.update({cid: node for cid, node, _, _ in nodes})
    dag = unixfs.build_dag(data)
    assert root == dag.root_cid and blocks == dag.blocks
    assert [cid for cid, _, _, _ in nodes][-1] == root  # the root comes last


def test_chunk_count() -> None:
    assert [unixfs.chunk_count(n) for n in (0, 1, CHUNK, CHUNK + 1, 175 * CHUNK)] == [
        1,
        1,
        1,
        2,
        175,
    ]


def test_proof_encoding_is_strict() -> None:
    dag = unixfs.build_dag(chunked(3))
    encoded = unixfs.chunk_proof(dag, 1).encode()
    assert unixfs.ChunkProof.decode(encoded).encode() == encoded
    bad = [
        encoded + b"\x08\x01",  # an unknown field
        b"\x0a\x80\x00",  # a non-minimal length varint
        encoded[:-3],  # truncated
        b"".join([b"\x0a\x01x"] * (unixfs.MAX_PROOF_DEPTH + 1)),  # too deep
    ]
    for data in bad:
        with pytest.raises(CidError):
            unixfs.ChunkProof.decode(data)
    assert unixfs.ChunkProof.decode(b"").nodes == ()


def test_out_of_range_requests() -> None:
    dag = unixfs.build_dag(chunked(2))
    with pytest.raises(CidError):
        unixfs.chunk_proof(dag, 2)
    with pytest.raises(CidError):
        unixfs.verify_chunk(dag.root_cid, 2 * CHUNK, -1, b"", unixfs.ChunkProof(()))
    with pytest.raises(CidError):
        unixfs.challenge_index(b"seed", dag.root_cid, 0)


def test_single_chunk_files_prove_with_an_empty_proof() -> None:
    for data in (b"", b"x", chunked(1)):
        root = cid_of(data)
        unixfs.verify_chunk(root, len(data), 0, data, unixfs.ChunkProof(()))
        with pytest.raises(CidError):
            unixfs.verify_chunk(root, len(data), 0, data + b"!", unixfs.ChunkProof(()))


@pytest.mark.parametrize("size", [0, 1, CHUNK, CHUNK + 1, 3 * CHUNK + 7, 175 * CHUNK + 5])
def test_file_root_is_the_root_block_and_proves_the_size(size: int) -> None:
    data = chunked(size // CHUNK, size % CHUNK)
    dag = unixfs.build_dag(data)
    pieces = [data[i : i + 100_003] for i in range(0, len(data), 100_003)]
    for given in ([data], pieces, []):
        if given == [] and size:
            continue
        root = unixfs.file_root(given)
        assert (root.cid, root.block, root.size) == (dag.root_cid, dag.blocks[dag.root_cid], size)
    assert unixfs.root_block_of(dag) == dag.blocks[dag.root_cid]
    if dag.chunks > 1:
        assert unixfs.file_size(unixfs.root_block_of(dag)) == size


def test_file_size_needs_a_consistent_unixfs_file_node() -> None:
    dag = unixfs.build_dag(chunked(3, 5))
    links, sizes = unixfs.decode_node(unixfs.root_block_of(dag))
    field = unixfs._field
    link_bytes = b"".join(
        field(2, 2, field(1, 2, link.cid) + field(2, 2, b"") + field(3, 0, link.tsize))
        for link in links
    )

    def node(*data_fields: bytes) -> bytes:
        return link_bytes + field(1, 2, b"".join(data_fields))

    blocksizes = b"".join(field(4, 0, n) for n in sizes)
    short = b"".join(field(4, 0, n) for n in sizes[:-1])
    assert unixfs.file_size(node(field(1, 0, 2), field(3, 0, sum(sizes)), blocksizes)) == sum(sizes)
    bad = [
        node(field(1, 0, 2), blocksizes),  # no filesize
        node(field(1, 0, 2), field(3, 0, sum(sizes) + 1), blocksizes),  # not the sum
        node(field(1, 0, 1), field(3, 0, sum(sizes)), blocksizes),  # a directory, not a file
        node(field(1, 0, 2), field(3, 0, sum(sizes[:-1])), short),  # a blocksize missing
        b"raw bytes, not a dag-pb node",
    ]
    for data in bad:
        with pytest.raises(CidError):
            unixfs.file_size(data)
