"""Execution traces of a model and their Merkle commitment (optimistic verification, method 2).

A *trace* is the list of every tensor a model run produces, the input first: for a DSM model
tensor 0 is the quantized input and tensor ``i`` (``i ≥ 1``) is the output of operator
``i - 1`` (:mod:`aivm.ai.runtime.model`); for an ONNX model it is the graph inputs, then every
node output in graph order. Step ``i`` of a trace is tensor ``i``; a trace of ``n + 1``
tensors has steps ``0 .. n`` (``n_steps = n``, the number of operators of a DSM model).

Tensor hash (:func:`tensor_hash`)::

    sha256("aivm/tensor/v1" || dtype code (1 byte) || ndim (1 byte)
           || each dimension as u64 little-endian || the values, little-endian, row-major)

with the dtype codes of :data:`DTYPE_CODES` (``int64`` = 1, ``float32`` = 2, ...). Float
values are hashed by their exact bits (no NaN or ``-0.0`` canonicalization): a float trace is
compared bit for bit, and a disagreement on a float operator goes to a vote, not to a rule.

Commitment. Merkle trees are RFC 6962 / RFC 9162 trees (the ones CometBFT uses): a leaf is
``sha256(0x00 || data)``, an inner node ``sha256(0x01 || left || right)``, and a tree of ``k``
leaves splits at the largest power of two below ``k``. With ``th_j`` the hash of tensor ``j``:

- the *leaf of step i* is the **prefix root** ``P_i = MTH(th_0 .. th_i)``;
- the commitment is ``root = MTH(P_0 .. P_n)``.

Why prefix roots: a party's leaf at step ``i`` fixes (up to sha256 collisions) every tensor
``0 .. i``, so two parties who agree on ``P_lo`` agree on all earlier tensors, and the game can
bisect on single leaves. And any one of those tensors is opened under ``P_lo`` with an
O(log n) inclusion proof (:func:`prove_tensor`), which the final one-operator check needs for
operators that read old tensors (skip connections, ``Add``). A plain hash chain
``c_i = H(c_{i-1} || th_i)`` gives the first property too, but opening tensor ``j`` under
``c_lo`` needs all of ``th_{j+1} .. th_lo`` — O(n) per tensor. Building all prefix roots costs
O(n log n) hashes of 65 bytes with the incremental peaks below (``n + 1`` leaf hashes, fewer
than ``2n`` merges, and at most ``log2(n)`` folds per prefix), so the commitment stays small
beside hashing the tensors themselves. Extending ``P_lo`` by one tensor needs only the *peaks*
of the prefix tree (its perfect subtrees, at most ``log2(lo + 1)`` hashes, :func:`prove_prefix`):
the chain recomputes ``P_lo`` from them, appends the hash of the tensor it computed, and gets
the only correct ``P_{lo+1}``.

The DSM functions are state-machine code (integers only, no I/O); the ONNX functions at the
end are off-chain helpers (provider and AI-validator side) and import onnx/onnxruntime lazily.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from aivm.ai.runtime.analysis import Cost
from aivm.ai.runtime.errors import ErrInvalidInput
from aivm.ai.runtime.interpreter import Program, check_rows
from aivm.ai.runtime.limits import GasTable, Limits
from aivm.ai.runtime.model import IntArray

if TYPE_CHECKING:
    import onnx
    import onnxruntime

HASH_SIZE = 32
TENSOR_DOMAIN = b"aivm/tensor/v1"
LEAF_PREFIX = b"\x00"
INNER_PREFIX = b"\x01"
MAX_PROOF_HASHES = 64
"""No tree here is deeper than 64 levels; longer proofs are refused unread."""

DTYPE_CODES: dict[str, int] = {
    "int64": 1,
    "float32": 2,
    "int32": 3,
    "float64": 4,
    "float16": 5,
    "int8": 6,
    "uint8": 7,
    "bool": 8,
    "int16": 9,
    "uint16": 10,
    "uint32": 11,
    "uint64": 12,
}
"""Dtype byte of a tensor hash (DSM traces are all ``int64``; ONNX traces use the others)."""

_CODE_OF: dict[tuple[str, int], int] = {
    (np.dtype(name).kind, np.dtype(name).itemsize): code for name, code in DTYPE_CODES.items()
}
"""The same table keyed by (kind, itemsize): much faster to look up than ``dtype.name``."""

_sha256 = hashlib.sha256

# --- tensors -----------------------------------------------------------------------------


def tensor_header(array: npt.NDArray[Any]) -> bytes:
    """The canonical header of a tensor: domain, dtype code, rank, dimensions (u64 LE)."""
    dtype = array.dtype
    code = _CODE_OF.get((dtype.kind, dtype.itemsize))
    if code is None:
        raise ErrInvalidInput.wrap(f"tensor dtype {dtype.name} cannot be hashed")
    ndim = array.ndim
    if ndim > 255:
        raise ErrInvalidInput.wrap("tensor rank above 255")
    return TENSOR_DOMAIN + bytes((code, ndim)) + struct.pack(f"<{ndim}Q", *array.shape)


def tensor_bytes(array: npt.NDArray[Any]) -> bytes:
    """Canonical bytes of a tensor: header, then its values little-endian in row-major order."""
    return tensor_header(array) + _values(array).tobytes()


def _values(array: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """The values little-endian and C-contiguous (the array itself when they already are)."""
    return np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<"))


def tensor_hash(array: npt.NDArray[Any]) -> bytes:
    """sha256 of :func:`tensor_bytes` (computed without copying the values)."""
    digest = _sha256(tensor_header(array))
    digest.update(_values(array).data)
    return digest.digest()


# --- RFC 6962 Merkle trees ---------------------------------------------------------------


def leaf_hash(data: bytes) -> bytes:
    """``sha256(0x00 || data)``."""
    return _sha256(LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """``sha256(0x01 || left || right)``."""
    return _sha256(INNER_PREFIX + left + right).digest()


def _split(size: int) -> int:
    """Largest power of two strictly below ``size`` (``size ≥ 2``)."""
    return 1 << ((size - 1).bit_length() - 1)


def merkle_root(items: Sequence[bytes]) -> bytes:
    """RFC 6962 root of one or more items (each hashed as a leaf)."""
    if not items:
        raise ErrInvalidInput.wrap("a Merkle tree needs at least one leaf")
    return _root_of_hashes([leaf_hash(item) for item in items])


def _root_of_hashes(hashes: Sequence[bytes]) -> bytes:
    """Root over already hashed leaves."""
    return _bag(_peaks(hashes))


def _peaks(hashes: Iterable[bytes]) -> list[bytes]:
    """Peaks (perfect subtrees, largest first) of the tree of leaf ``hashes``.

    A tree of ``k`` leaves has one peak per set bit of ``k``; appending leaf ``k + 1`` merges
    as many peaks as ``k + 1`` has trailing zero bits.
    """
    peaks: list[bytes] = []
    sha = _sha256
    for count, leaf in enumerate(hashes, start=1):
        h, carry = leaf, count
        while not carry & 1:
            h = sha(INNER_PREFIX + peaks.pop() + h).digest()
            carry >>= 1
        peaks.append(h)
    return peaks


def _bag(peaks: Sequence[bytes]) -> bytes:
    """The RFC 6962 root from the peaks, largest first: ``H(p1, H(p2, ... H(pm-1, pm)))``."""
    sha = _sha256
    root = peaks[-1]
    for index in range(len(peaks) - 2, -1, -1):
        root = sha(INNER_PREFIX + peaks[index] + root).digest()
    return root


def merkle_proof(items: Sequence[bytes], index: int) -> tuple[bytes, ...]:
    """RFC 6962 audit path of item ``index`` (siblings from the leaf up)."""
    if not 0 <= index < len(items):
        raise ErrInvalidInput.wrap(f"leaf {index} outside a tree of {len(items)}")
    return tuple(_path(index, [leaf_hash(item) for item in items]))


def _path(index: int, hashes: Sequence[bytes]) -> list[bytes]:
    if len(hashes) == 1:
        return []
    k = _split(len(hashes))
    if index < k:
        return [*_path(index, hashes[:k]), _root_of_hashes(hashes[k:])]
    return [*_path(index - k, hashes[k:]), _root_of_hashes(hashes[:k])]


def merkle_verify(root: bytes, size: int, index: int, item: bytes, proof: Sequence[bytes]) -> bool:
    """True when ``proof`` shows ``item`` at ``index`` of the ``size``-leaf tree ``root``.

    RFC 9162 §2.1.3.2; any malformed argument (wrong types or lengths, index out of range,
    a proof too long or too short) gives False, never an exception.
    """
    if not (_is_hash(root) and isinstance(item, bytes) and _is_path(proof)):
        return False
    if type(size) is not int or type(index) is not int or not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf_hash(item)
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def _is_hash(value: object) -> bool:
    return isinstance(value, bytes) and len(value) == HASH_SIZE


def _is_path(proof: object) -> bool:
    return (
        isinstance(proof, tuple | list)
        and len(proof) <= MAX_PROOF_HASHES
        and all(_is_hash(p) for p in proof)
    )


# --- trace commitment --------------------------------------------------------------------


@dataclass(frozen=True)
class TraceCommitment:
    """A trace's commitment and what its owner keeps to open it."""

    root: bytes
    """``MTH(P_0 .. P_n)``: what the provider posts on chain."""
    n_steps: int
    """``n``: the trace has tensors (and leaves) ``0 .. n``."""
    leaves: tuple[bytes, ...]
    """``P_i = MTH(th_0 .. th_i)`` for every step ``i``."""
    tensor_hashes: tuple[bytes, ...]
    """``th_0 .. th_n``."""


def prefix_roots(tensor_hashes: Sequence[bytes]) -> list[bytes]:
    """``P_i = MTH(th_0 .. th_i)`` for every ``i`` (incremental: O(n log n) hashes)."""
    sha = _sha256
    peaks: list[bytes] = []
    roots = []
    for count, th in enumerate(tensor_hashes, start=1):
        h = sha(LEAF_PREFIX + th).digest()
        carry = count
        while not carry & 1:
            h = sha(INNER_PREFIX + peaks.pop() + h).digest()
            carry >>= 1
        peaks.append(h)
        root = h
        for index in range(len(peaks) - 2, -1, -1):
            root = sha(INNER_PREFIX + peaks[index] + root).digest()
        roots.append(root)
    return roots


def commit_trace(tensor_hashes: Sequence[bytes]) -> TraceCommitment:
    """The commitment to a trace given the hashes of its tensors (input first)."""
    if not tensor_hashes or not all(_is_hash(h) for h in tensor_hashes):
        raise ErrInvalidInput.wrap("a trace is one or more 32-byte tensor hashes")
    leaves = prefix_roots(tensor_hashes)
    return TraceCommitment(
        merkle_root(leaves), len(leaves) - 1, tuple(leaves), tuple(tensor_hashes)
    )


def prove_step(commitment: TraceCommitment, step: int) -> tuple[bytes, ...]:
    """Proof that ``commitment.leaves[step]`` is leaf ``step`` under ``commitment.root``."""
    return merkle_proof(commitment.leaves, step)


def verify_step(root: bytes, n_steps: int, step: int, leaf: bytes, proof: Sequence[bytes]) -> bool:
    """True when ``leaf`` is the leaf of ``step`` in the trace of ``n_steps`` under ``root``."""
    if type(n_steps) is not int or n_steps < 0:
        return False
    return _is_hash(leaf) and merkle_verify(root, n_steps + 1, step, leaf, proof)


def prove_tensor(commitment: TraceCommitment, step: int, index: int) -> tuple[bytes, ...]:
    """Proof that tensor ``index``'s hash is committed under the leaf of ``step`` (index ≤ step)."""
    if not 0 <= step <= commitment.n_steps:
        raise ErrInvalidInput.wrap(f"step {step} outside 0..{commitment.n_steps}")
    return merkle_proof(commitment.tensor_hashes[: step + 1], index)


def verify_tensor(
    step_leaf: bytes, step: int, index: int, tensor_digest: bytes, proof: Sequence[bytes]
) -> bool:
    """True when ``tensor_digest`` is the hash of tensor ``index`` under ``P_step``."""
    if type(step) is not int or step < 0 or not _is_hash(tensor_digest):
        return False
    return merkle_verify(step_leaf, step + 1, index, tensor_digest, proof)


def prove_prefix(commitment: TraceCommitment, step: int) -> tuple[bytes, ...]:
    """The peaks of the prefix tree of ``step``: what :func:`extend_prefix` needs."""
    if not 0 <= step <= commitment.n_steps:
        raise ErrInvalidInput.wrap(f"step {step} outside 0..{commitment.n_steps}")
    return tuple(_peaks([leaf_hash(th) for th in commitment.tensor_hashes[: step + 1]]))


def extend_prefix(
    step_leaf: bytes, step: int, peaks: Sequence[bytes], tensor_digest: bytes
) -> bytes | None:
    """``P_{step+1}`` from ``P_step``, its peaks and the next tensor's hash.

    None when the peaks are malformed or do not give ``step_leaf`` (a tree of ``step + 1``
    leaves has one peak per set bit of ``step + 1``, largest first).
    """
    if type(step) is not int or step < 0 or not _is_path(peaks) or not _is_hash(tensor_digest):
        return None
    size = step + 1
    if len(peaks) != size.bit_count() or _bag(peaks) != step_leaf:
        return None
    stack, carry = list(peaks), size + 1
    h = leaf_hash(tensor_digest)
    while not carry & 1:  # merge the peaks of the trailing one bits of ``size``
        h = node_hash(stack.pop(), h)
        carry >>= 1
    stack.append(h)
    return _bag(stack)


@dataclass(frozen=True)
class OutputOpening:
    """Shows which output hash a commitment's last step carries (posted with the result)."""

    leaf: bytes
    """``P_n``."""
    step_proof: tuple[bytes, ...]
    """``P_n`` under the root."""
    tensor_proof: tuple[bytes, ...]
    """``th_n`` under ``P_n``."""


def open_output(commitment: TraceCommitment) -> OutputOpening:
    """The opening of the commitment's output tensor (its last step)."""
    n = commitment.n_steps
    return OutputOpening(
        commitment.leaves[n], prove_step(commitment, n), prove_tensor(commitment, n, n)
    )


def verify_output(root: bytes, n_steps: int, output_digest: bytes, opening: OutputOpening) -> bool:
    """True when the trace ``root`` ends with the tensor whose hash is ``output_digest``."""
    return verify_step(root, n_steps, n_steps, opening.leaf, opening.step_proof) and (
        verify_tensor(opening.leaf, n_steps, n_steps, output_digest, opening.tensor_proof)
    )


# --- DSM traces --------------------------------------------------------------------------


def dsm_trace(program: Program, rows: IntArray, limits: Limits | None = None) -> list[IntArray]:
    """Every tensor of a DSM run, input first (``len(model.ops) + 1`` tensors).

    Runs the program's per-operator kernels (never the fused chain), so every intermediate
    tensor exists; the last one equals ``program.run(rows)`` bit for bit.
    """
    tensors = [check_rows(program, rows, limits)]
    for sources, kernel in program.kernels:
        tensors.append(kernel([tensors[s] for s in sources]))
    return tensors


def dsm_trace_hashes(program: Program, rows: IntArray, limits: Limits | None = None) -> list[bytes]:
    """:func:`tensor_hash` of every tensor of :func:`dsm_trace`."""
    return [tensor_hash(t) for t in dsm_trace(program, rows, limits)]


def operator_sources(program: Program, op_index: int) -> tuple[int, ...]:
    """The tensor indices operator ``op_index`` reads (each ≤ ``op_index``)."""
    _check_op_index(program, op_index)
    return program.kernels[op_index][0]


def execute_operator(
    program: Program,
    op_index: int,
    inputs: Sequence[IntArray],
    limits: Limits | None = None,
) -> IntArray:
    """Operator ``op_index`` alone on its input tensors: tensor ``op_index + 1`` of the trace.

    Each input must be the 2-D ``int64`` tensor the operator reads (``operator_sources``),
    with the width and the value interval the loader proved for it (the kernels rely on that
    interval for overflow freedom), and all the same number of rows (at most
    ``limits.max_rows``). Anything else raises ErrInvalidInput. Same kernel as the full run,
    hence bit-exact with it.
    """
    sources = operator_sources(program, op_index)
    if not isinstance(inputs, Sequence) or len(inputs) != len(sources):
        raise ErrInvalidInput.wrap(f"operator {op_index} reads {len(sources)} tensor(s)")
    rows = None
    for source, tensor in zip(sources, inputs, strict=True):
        rows = _check_tensor(program, source, tensor, rows, limits)
    return program.kernels[op_index][1](list(inputs))


def _check_op_index(program: Program, op_index: int) -> None:
    if type(op_index) is not int or not 0 <= op_index < len(program.kernels):
        raise ErrInvalidInput.wrap(f"operator {op_index!r} outside 0..{len(program.kernels) - 1}")


def _check_tensor(
    program: Program, index: int, tensor: object, rows: int | None, limits: Limits | None
) -> int:
    """Check one tensor against the analysis; return its row count."""
    info = program.analysis.tensors[index]
    if not isinstance(tensor, np.ndarray) or tensor.dtype != np.int64 or tensor.ndim != 2:
        raise ErrInvalidInput.wrap(f"tensor {index} must be a 2-D int64 array")
    if tensor.shape[1] != info.width or tensor.shape[0] < 1:
        raise ErrInvalidInput.wrap(f"tensor {index} must have {info.width} columns")
    if rows is not None and tensor.shape[0] != rows:
        raise ErrInvalidInput.wrap("input tensors must have the same number of rows")
    if limits is not None and tensor.shape[0] > limits.max_rows:
        raise ErrInvalidInput.wrap(f"{tensor.shape[0]} rows exceed {limits.max_rows}")
    if int(tensor.min()) < info.lo or int(tensor.max()) > info.hi:
        raise ErrInvalidInput.wrap(f"tensor {index} leaves its proven range [{info.lo}, {info.hi}]")
    return int(tensor.shape[0])


def operator_cost(program: Program, op_index: int) -> Cost:
    """Per-row work of operator ``op_index`` alone, as the full run's gas counts it.

    The model's cost (``analysis.analyze``) is the sum, over its operators, of exactly this:
    the operator's own count plus one interpreter step.
    """
    _check_op_index(program, op_index)
    from aivm.ai.runtime import analysis

    op = program.model.ops[op_index]
    tensors = program.analysis.tensors
    _, cost = analysis._analyze_op(op, [tensors[s] for s in op.inputs])
    return cost + Cost(calls=1)  # and the interpreter's step to the operator


def operator_gas(program: Program, op_index: int, gas: GasTable, rows: int = 1) -> int:
    """DSM run gas of operator ``op_index`` alone on ``rows`` rows (the full run's rule)."""
    return gas.cost(operator_cost(program, op_index)) * rows


@dataclass(frozen=True)
class TraceGas:
    """Gas of the hashing a trace check does on chain (params of the ``verify`` module).

    ``hash_calls × per_hash + ceil(bytes × per_kilo_byte / 1000)``; defaults measured with
    ``benchmarks/optimistic.py`` on the development VM at the DSM gas scale (about 2.6 ns of
    work per gas unit): one short sha256 call ≈ 0.5 µs, sha256 ≈ 0.7 ns per byte.
    """

    per_hash: int = 200
    per_kilo_byte: int = 300

    def cost(self, hash_calls: int, hashed_bytes: int) -> int:
        """Gas of ``hash_calls`` sha256 calls over ``hashed_bytes`` bytes in all."""
        return hash_calls * self.per_hash + -(-hashed_bytes * self.per_kilo_byte // 1000)


def step_proof_gas(n_steps: int, trace_gas: TraceGas) -> int:
    """Gas of checking one leaf proof (a bisection move) in a trace of ``n_steps``: one leaf
    hash and at most ``ceil(log2(n_steps + 1))`` node hashes of 65 bytes."""
    calls = 1 + max(0, n_steps).bit_length()
    return trace_gas.cost(calls, 65 * calls)


def final_step_gas(
    program: Program, op_index: int, rows: int, gas: GasTable, trace_gas: TraceGas
) -> int:
    """Gas of deciding a dispute at operator ``op_index``: the operator itself, hashing its
    inputs and output, and the Merkle work (proofs and the prefix extension, bounded by
    ``4 × (log2(n) + 2)`` node hashes per tensor)."""
    sources = operator_sources(program, op_index)
    tensors = program.analysis.tensors
    widths = [tensors[s].width for s in sources] + [tensors[op_index + 1].width]
    hashed = sum(8 * rows * w + len(TENSOR_DOMAIN) + 2 + 16 for w in widths)
    depth = (len(program.kernels) + 1).bit_length() + 2
    merkle = 4 * depth * len(widths)
    return operator_gas(program, op_index, gas, rows) + trace_gas.cost(
        len(widths) + merkle, hashed + 65 * merkle
    )


# --- ONNX traces (off-chain: providers and AI validators) --------------------------------


def _load_onnx(model: str | Path | bytes | onnx.ModelProto) -> onnx.ModelProto:
    import onnx

    if isinstance(model, bytes):
        return onnx.load_from_string(model)
    if isinstance(model, str | Path):
        return onnx.load(str(model))
    return model


def _entry_names(graph: onnx.GraphProto) -> list[tuple[str, str]]:
    """``(trace name, tensor name)`` of every traced tensor: graph inputs, then node outputs."""
    initializers = {t.name for t in graph.initializer}
    entries = [(f"input:{i.name}", i.name) for i in graph.input if i.name not in initializers]
    for index, node in enumerate(graph.node):
        label = node.name or f"{node.op_type}_{index}"
        outputs = [o for o in node.output if o]
        for output in outputs:
            entries.append((label if len(outputs) == 1 else f"{label}/{output}", output))
    return entries


class OnnxTracer:
    """An onnxruntime session whose outputs are every node output of the graph (off-chain).

    Build once, run many times: ``tracer.run(feeds)`` returns ``[(name, array), ...]`` with
    the graph inputs first (``input:<name>``), then each node's output in graph order (the
    node name; ``node/output`` for nodes with several outputs). Exposing the intermediates
    can keep onnxruntime from fusing nodes, so a provider commits the traced run's output.
    """

    def __init__(
        self,
        model: str | Path | bytes | onnx.ModelProto,
        options: onnxruntime.SessionOptions | None = None,
    ) -> None:
        """Prepare the traced session (adds every node output to the graph outputs)."""
        import onnx
        import onnxruntime as ort

        proto = onnx.ModelProto()
        proto.CopyFrom(_load_onnx(model))
        self.entries = _entry_names(proto.graph)
        inputs = {i.name for i in proto.graph.input}
        present = {o.name for o in proto.graph.output}
        typed = {v.name: v for v in onnx.shape_inference.infer_shapes(proto).graph.value_info}
        for _, tensor in self.entries:
            if tensor not in present and tensor not in inputs:
                proto.graph.output.append(typed.get(tensor, onnx.ValueInfoProto(name=tensor)))
        self.input_names = [t for _, t in self.entries if t in inputs]
        self.output_names = [t for _, t in self.entries if t not in inputs]
        self.session = ort.InferenceSession(
            proto.SerializeToString(), options, providers=["CPUExecutionProvider"]
        )

    def run(self, feeds: Mapping[str, npt.NDArray[Any]]) -> list[tuple[str, npt.NDArray[Any]]]:
        """Every tensor of one run, in trace order."""
        outputs = self.session.run(self.output_names, dict(feeds))
        values: dict[str, npt.NDArray[Any]] = {name: np.asarray(feeds[name]) for name in feeds}
        values.update(zip(self.output_names, outputs, strict=True))
        return [(label, values[tensor]) for label, tensor in self.entries]

    def hashes(self, feeds: Mapping[str, npt.NDArray[Any]]) -> list[bytes]:
        """:func:`tensor_hash` of every tensor of :meth:`run`."""
        return [tensor_hash(array) for _, array in self.run(feeds)]


def onnx_trace(
    model: str | Path | bytes | onnx.ModelProto, feeds: Mapping[str, npt.NDArray[Any]]
) -> list[tuple[str, npt.NDArray[Any]]]:
    """Every tensor of one onnxruntime run of ``model`` (see :class:`OnnxTracer`)."""
    return OnnxTracer(model).run(feeds)


def onnx_trace_hashes(
    model: str | Path | bytes | onnx.ModelProto, feeds: Mapping[str, npt.NDArray[Any]]
) -> list[bytes]:
    """Tensor hashes of :func:`onnx_trace` (commit them with :func:`commit_trace`)."""
    return [tensor_hash(array) for _, array in onnx_trace(model, feeds)]


def onnx_step_node(
    model: str | Path | bytes | onnx.ModelProto, step: int
) -> tuple[onnx.NodeProto, list[int]]:
    """The node that produces trace step ``step`` and the steps of its non-constant inputs
    (initializer inputs are part of the model, hence agreed): what a disputed float step's
    re-execution needs."""
    graph = _load_onnx(model).graph
    entries = _entry_names(graph)
    if not 0 <= step < len(entries):
        raise ErrInvalidInput.wrap(f"step {step} outside 0..{len(entries) - 1}")
    step_of = {tensor: i for i, (_, tensor) in enumerate(entries)}
    tensor = entries[step][1]
    for node in graph.node:
        if tensor in node.output:
            return node, [step_of[i] for i in node.input if i in step_of]
    raise ErrInvalidInput.wrap(f"step {step} is a graph input, not a node output")


def run_onnx_node(
    model: str | Path | bytes | onnx.ModelProto,
    step: int,
    inputs: Iterable[npt.NDArray[Any]],
) -> list[npt.NDArray[Any]]:
    """Re-execute the node of ``step`` alone on the tensors of its input steps (in the order
    :func:`onnx_step_node` lists them), with the model's initializers; returns its outputs."""
    import onnx
    import onnxruntime as ort
    from onnx import helper

    proto = _load_onnx(model)
    node, input_steps = onnx_step_node(proto, step)
    entries = _entry_names(proto.graph)
    arrays = list(inputs)
    if len(arrays) != len(input_steps):
        raise ErrInvalidInput.wrap(f"node {node.name} needs {len(input_steps)} input tensors")
    names = [entries[s][1] for s in input_steps]
    used = set(node.input)
    inits = [t for t in proto.graph.initializer if t.name in used and t.name not in names]
    graph = helper.make_graph(
        [node],
        "step",
        [
            helper.make_tensor_value_info(
                n, helper.np_dtype_to_tensor_dtype(a.dtype), list(a.shape)
            )
            for n, a in zip(names, arrays, strict=True)
        ],
        [onnx.ValueInfoProto(name=o) for o in node.output if o],
        inits,
    )
    single = helper.make_model(graph, opset_imports=list(proto.opset_import))
    single.ir_version = proto.ir_version
    session = ort.InferenceSession(single.SerializeToString(), providers=["CPUExecutionProvider"])
    return list(session.run(None, dict(zip(names, arrays, strict=True))))
