"""Trace commitments (aivm.ai.verify.trace): canonical tensor hashes, RFC 6962 Merkle trees,
prefix-root commitments and their openings, DSM traces and single-operator execution, ONNX
traces.

The RFC 6962 vectors (leaf inputs, roots of sizes 1..8, peaks, an inclusion proof) are the
reference data of transparency-dev/merkle, ``testonly/constants.go``, shared by the
Certificate Transparency implementations."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from aivm.ai import runtime
from aivm.ai.verify import trace
from aivm.types.errors import AivmError
from trace_models import commit, gbdt, mlp6, rows_for, skip6, tampered_trace

CT_LEAVES = [
    bytes.fromhex(h)
    for h in (
        *("", "00", "10", "2021", "3031", "40414243", "5051525354555657"),
        "606162636465666768696a6b6c6d6e6f",
    )
]
CT_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
CT_PROOF_0_OF_8 = [
    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
]
CT_PEAKS_7 = [  # compact tree of size 7: nh[2][0], nh[1][2], nh[0][6]
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
    "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
]


def digests(count: int) -> list[bytes]:
    return [hashlib.sha256(bytes([i])).digest() for i in range(count)]


# --- tensor hashes -------------------------------------------------------------------------


def test_tensor_bytes_layout() -> None:
    t = np.array([[1, -2, 3]], dtype=np.int64)
    expected = (
        b"aivm/tensor/v1"
        + bytes((1, 2))
        + (1).to_bytes(8, "little")
        + (3).to_bytes(8, "little")
        + b"".join(v.to_bytes(8, "little", signed=True) for v in (1, -2, 3))
    )
    assert trace.tensor_bytes(t) == expected
    assert trace.tensor_hash(t) == hashlib.sha256(expected).digest()


def test_tensor_hash_canonical_and_distinguishing() -> None:
    t = np.arange(12, dtype=np.int64).reshape(3, 4)
    big_endian = t.astype(">i8")
    fortran = np.asfortranarray(t)
    assert trace.tensor_hash(t) == trace.tensor_hash(big_endian) == trace.tensor_hash(fortran)
    assert trace.tensor_hash(t) != trace.tensor_hash(t.reshape(4, 3))  # shape is hashed
    assert trace.tensor_hash(t) != trace.tensor_hash(t.reshape(1, 12))
    f = np.zeros((2, 2), np.float32)
    g = f.copy()
    g[1, 1] = -0.0  # float bits, not values, are hashed
    assert trace.tensor_hash(f) != trace.tensor_hash(g)
    assert trace.tensor_hash(np.zeros(2, np.int64)) != trace.tensor_hash(np.zeros(4, np.int32))
    changed = t.copy()
    changed[2, 3] += 1
    assert trace.tensor_hash(t) != trace.tensor_hash(changed)


def test_tensor_hash_refuses_unknown_dtype() -> None:
    with pytest.raises(AivmError):
        trace.tensor_hash(np.zeros(2, np.complex64))


# --- RFC 6962 ----------------------------------------------------------------------------


def test_merkle_matches_rfc6962_vectors() -> None:
    for size in range(1, 9):
        assert trace.merkle_root(CT_LEAVES[:size]).hex() == CT_ROOTS[size - 1]
    assert [p.hex() for p in trace.merkle_proof(CT_LEAVES, 0)] == CT_PROOF_0_OF_8
    # the prefix roots of a trace are the roots of every tree size
    assert [r.hex() for r in trace.prefix_roots(CT_LEAVES)] == CT_ROOTS


def test_prefix_peaks_match_rfc6962_compact_tree() -> None:
    peaks = trace._peaks([trace.leaf_hash(leaf) for leaf in CT_LEAVES[:7]])
    assert [h.hex() for h in peaks] == CT_PEAKS_7
    assert trace._bag(peaks).hex() == CT_ROOTS[6]


@pytest.mark.parametrize("size", [1, 2, 3, 5, 8, 13, 33])
def test_every_proof_verifies_and_nothing_else(size: int) -> None:
    items = digests(size)
    root = trace.merkle_root(items)
    for index in range(size):
        proof = trace.merkle_proof(items, index)
        assert trace.merkle_verify(root, size, index, items[index], proof)
        # (a path may also fit another tree size of the same shape: the game fixes sizes)
        assert (
            not trace.merkle_verify(
                trace.merkle_root(items[::-1]), size, index, items[index], proof
            )
            or size == 1
        )
        assert not trace.merkle_verify(root, size, index, b"\x00" * 32, proof)
        if size > 1:
            other = (index + 1) % size
            assert not trace.merkle_verify(root, size, other, items[index], proof)
            assert not trace.merkle_verify(root, size, index, items[index], proof[:-1])
            assert not trace.merkle_verify(root, size, index, items[index], (*proof, root))
            forged = bytearray(proof[0])
            forged[0] ^= 1
            assert not trace.merkle_verify(
                root, size, index, items[index], (bytes(forged), *proof[1:])
            )


def test_proof_of_a_smaller_tree_is_not_one_of_a_larger() -> None:
    """A path that ends early (the root of 2 leaves claimed for a tree of 4) is refused."""
    items = digests(2)
    root, proof = trace.merkle_root(items), trace.merkle_proof(items, 0)
    assert trace.merkle_verify(root, 2, 0, items[0], proof)
    assert not trace.merkle_verify(root, 4, 0, items[0], proof)
    assert not trace.merkle_verify(root, 3, 0, items[0], proof)


@pytest.mark.parametrize(
    "args",
    [
        (b"short", 2, 0),
        (None, 2, 0),
        ("root", 2, 0),
        (b"\x00" * 32, 0, 0),
        (b"\x00" * 32, 2, -1),
        (b"\x00" * 32, 2, 2),
        (b"\x00" * 32, 2.0, 0),
        (b"\x00" * 32, True, 0),
    ],
)
def test_merkle_verify_rejects_malformed_arguments(args: tuple[object, object, object]) -> None:
    root, size, index = args
    assert not trace.merkle_verify(root, size, index, b"x", ())  # type: ignore[arg-type]
    assert not trace.merkle_verify(b"\x00" * 32, 2, 0, b"x", "ab")  # type: ignore[arg-type]
    assert not trace.merkle_verify(b"\x00" * 32, 2, 0, b"x", [b"\x00" * 31])
    assert not trace.merkle_verify(b"\x00" * 32, 2, 0, b"x", [b"\x00" * 32] * 65)


# --- commitments -------------------------------------------------------------------------


@given(st.integers(1, 70), st.data())
def test_commitment_openings(count: int, data: st.DataObject) -> None:
    hashes = digests(count)
    c = trace.commit_trace(hashes)
    assert c.n_steps == count - 1 and len(c.leaves) == count
    step = data.draw(st.integers(0, c.n_steps))
    index = data.draw(st.integers(0, step))
    assert c.leaves[step] == trace.merkle_root(hashes[: step + 1])
    assert trace.verify_step(c.root, c.n_steps, step, c.leaves[step], trace.prove_step(c, step))
    proof = trace.prove_tensor(c, step, index)
    assert trace.verify_tensor(c.leaves[step], step, index, hashes[index], proof)
    assert not trace.verify_tensor(c.leaves[step], step, index, hashes[index][::-1], proof)
    if step < c.n_steps:
        peaks = trace.prove_prefix(c, step)
        assert len(peaks) == (step + 1).bit_count()
        assert (
            trace.extend_prefix(c.leaves[step], step, peaks, hashes[step + 1]) == c.leaves[step + 1]
        )
        assert (
            trace.extend_prefix(c.leaves[step], step, peaks, hashes[0][::-1]) != c.leaves[step + 1]
        )
        if step > 0:  # peaks of another prefix do not give this leaf
            other = trace.prove_prefix(c, step - 1)
            assert trace.extend_prefix(c.leaves[step], step, other, hashes[step + 1]) is None
    assert trace.verify_output(c.root, c.n_steps, hashes[-1], trace.open_output(c))
    assert not trace.verify_output(c.root, c.n_steps, hashes[0][::-1], trace.open_output(c))


def test_agreeing_leaf_implies_agreeing_prefix() -> None:
    """Changing any tensor changes that step's leaf and every later one, never an earlier one."""
    hashes = digests(9)
    honest = trace.commit_trace(hashes)
    for changed in range(9):
        other = list(hashes)
        other[changed] = hashlib.sha256(b"tampered").digest()
        c = trace.commit_trace(other)
        assert c.root != honest.root
        for step in range(9):
            assert (c.leaves[step] == honest.leaves[step]) == (step < changed)


def test_commit_trace_refuses_bad_hashes() -> None:
    with pytest.raises(AivmError):
        trace.commit_trace([])
    with pytest.raises(AivmError):
        trace.commit_trace([b"short"])


# --- DSM traces ----------------------------------------------------------------------------


@pytest.mark.parametrize("build", [mlp6, skip6, gbdt])
def test_dsm_trace_is_bit_exact_and_reproducible(build: object) -> None:
    program = build()  # type: ignore[operator]
    rows = rows_for(program, 4)
    tensors = trace.dsm_trace(program, rows)
    assert len(tensors) == len(program.model.ops) + 1
    assert np.array_equal(tensors[0], rows)
    assert np.array_equal(tensors[-1], program.run(rows))  # the fused chain gives the same
    again = build()  # type: ignore[operator]
    assert trace.dsm_trace_hashes(again, rows) == [trace.tensor_hash(t) for t in tensors]
    assert commit(tensors).root == trace.commit_trace(trace.dsm_trace_hashes(program, rows)).root
    for op_index in range(len(program.model.ops)):
        sources = trace.operator_sources(program, op_index)
        alone = trace.execute_operator(program, op_index, [tensors[s] for s in sources])
        assert np.array_equal(alone, tensors[op_index + 1])


def test_dsm_trace_checks_input() -> None:
    program = mlp6()
    with pytest.raises(AivmError):
        trace.dsm_trace(program, np.full((1, 8), 1000, np.int64))
    with pytest.raises(AivmError):
        trace.dsm_trace(program, np.zeros((1, 7), np.int64))


def test_tampered_operator_changes_root_from_its_step() -> None:
    program = mlp6()
    rows = rows_for(program)
    honest = commit(trace.dsm_trace(program, rows))
    bad = commit(tampered_trace(program, rows, 4))
    assert bad.root != honest.root
    assert bad.leaves[:4] == honest.leaves[:4]
    assert all(a != b for a, b in zip(bad.leaves[4:], honest.leaves[4:], strict=True))


def test_execute_operator_refuses_bad_inputs() -> None:
    program = skip6()
    tensors = trace.dsm_trace(program, rows_for(program))
    good = [tensors[2], tensors[3]]  # operator 3 adds tensors 2 and 3
    assert np.array_equal(trace.execute_operator(program, 3, good), tensors[4])
    bad_cases: list[list[object]] = [
        [tensors[2]],  # one input missing
        [tensors[2], tensors[3].astype(np.int32)],  # dtype
        [tensors[2], tensors[3][:, :5]],  # width
        [tensors[2], tensors[3][:2]],  # row counts differ
        [tensors[2], np.full_like(tensors[3], 10**6)],  # outside the proven range
        [tensors[2], tensors[3].ravel()],  # rank
        [tensors[2], "not an array"],
    ]
    for inputs in bad_cases:
        with pytest.raises(AivmError):
            trace.execute_operator(program, 3, inputs)  # type: ignore[arg-type]
    for index in (-1, 6, 1.0):
        with pytest.raises(AivmError):
            trace.execute_operator(program, index, good)  # type: ignore[arg-type]
    with pytest.raises(AivmError):
        trace.execute_operator(program, 3, good, runtime.Limits(max_rows=2))


@pytest.mark.parametrize("build", [mlp6, skip6, gbdt])
def test_operator_gas_sums_to_model_gas(build: object) -> None:
    program = build()  # type: ignore[operator]
    gas = runtime.GasTable()
    costs = [trace.operator_cost(program, i) for i in range(len(program.model.ops))]
    total = costs[0]
    for cost in costs[1:]:
        total = total + cost
    assert total == program.analysis.cost
    assert sum(trace.operator_gas(program, i, gas) for i in range(len(costs))) >= (
        program.gas_per_row(gas)
    )
    assert trace.operator_gas(program, 0, gas, rows=3) == 3 * trace.operator_gas(program, 0, gas)
    assert trace.final_step_gas(program, 0, 1, gas, trace.TraceGas()) > trace.operator_gas(
        program, 0, gas
    )
    assert (
        0 < trace.step_proof_gas(6, trace.TraceGas()) < trace.step_proof_gas(600, trace.TraceGas())
    )


# --- ONNX traces ---------------------------------------------------------------------------


def small_onnx() -> bytes:
    from onnx_fixtures import build_mnist_like_mlp

    return build_mnist_like_mlp(seed=3, sizes=(20, 16, 4)).SerializeToString()


def test_onnx_trace_exposes_every_node() -> None:
    import onnx
    import onnxruntime as ort

    model = small_onnx()
    proto = onnx.load_from_string(model)
    x = np.random.default_rng(0).random((3, 20)).astype(np.float32)
    entries = trace.onnx_trace(model, {"x": x})
    assert [name for name, _ in entries] == ["input:x"] + [n.name for n in proto.graph.node]
    assert np.array_equal(entries[0][1], x)
    plain = ort.InferenceSession(model, providers=["CPUExecutionProvider"]).run(None, {"x": x})
    np.testing.assert_allclose(entries[-1][1], plain[0], rtol=1e-5, atol=1e-6)
    hashes = trace.onnx_trace_hashes(model, {"x": x})
    assert hashes == [trace.tensor_hash(a) for _, a in entries]
    assert (
        trace.commit_trace(hashes).root
        == trace.commit_trace(trace.OnnxTracer(model).hashes({"x": x})).root
    )  # reproducible
    x2 = x.copy()
    x2[0, 0] += 1
    assert trace.onnx_trace_hashes(model, {"x": x2})[0] != hashes[0]


def test_onnx_single_node_reexecution() -> None:
    model = small_onnx()
    x = np.random.default_rng(1).random((2, 20)).astype(np.float32)
    entries = trace.onnx_trace(model, {"x": x})
    for step in range(1, len(entries)):
        _, input_steps = trace.onnx_step_node(model, step)
        assert all(s < step for s in input_steps)
        (out,) = trace.run_onnx_node(model, step, [entries[s][1] for s in input_steps])
        np.testing.assert_allclose(out, entries[step][1], rtol=1e-6, atol=1e-6)
    with pytest.raises(AivmError):
        trace.onnx_step_node(model, 0)  # the input is not a node output
    with pytest.raises(AivmError):
        trace.run_onnx_node(model, 1, [])
