"""DSM runtime: operator semantics against a pure-Python reference, overflow and limit checks,
canonical encoding and strict parsing."""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aivm.ai import runtime
from aivm.ai.runtime.model import (
    Add,
    Argmax,
    Dense,
    InputSpec,
    Lut,
    Model,
    Op,
    Relu,
    Requantize,
    Scorecard,
    Threshold,
    TreeEnsemble,
    int_array,
)


def spec(width: int, lo: int = -128, hi: int = 127) -> InputSpec:
    return InputSpec(width, lo, hi, (1,) * width, (1,) * width, (0,) * width)


# --- a reference interpreter in plain Python integers -----------------------------------


def reference(model: Model, row: list[int]) -> list[int]:
    tensors = [row]
    for op in model.ops:
        tensors.append(ref_op(op, [tensors[i] for i in op.inputs]))
    return tensors[-1]


def ref_op(op: Op, xs: list[list[int]]) -> list[int]:
    x = xs[0]
    if isinstance(op, Dense):
        return [
            int(b) + sum(int(w) * (v - op.zero_point) for w, v in zip(ws, x, strict=True))
            for ws, b in zip(op.weights.tolist(), op.bias.tolist(), strict=True)
        ]
    if isinstance(op, Requantize):
        m = op.multiplier.tolist() * (len(x) if op.multiplier.size == 1 else 1)
        s = op.shift.tolist() * (len(x) if op.shift.size == 1 else 1)
        out = []
        for v, mi, si in zip(x, m, s, strict=True):
            y = (v * mi + ((1 << si) >> 1)) // (1 << si) + op.zero_point
            if op.lo is not None and op.hi is not None:
                y = min(max(y, op.lo), op.hi)
            out.append(y)
        return out
    if isinstance(op, Add):
        return [a + b for a, b in zip(x, xs[1], strict=True)]
    if isinstance(op, Relu):
        return [max(v, op.zero_point) for v in x]
    if isinstance(op, Lut):
        t = op.table.tolist()
        return [t[min(max(v - op.offset, 0), len(t) - 1)] for v in x]
    if isinstance(op, Argmax):
        return [x.index(max(x))]
    if isinstance(op, Threshold):
        return [1 if v >= op.threshold else 0 for v in x]
    if isinstance(op, TreeEnsemble):
        total = op.base.tolist()
        for root in op.roots.tolist():
            node = root
            while not (op.left[node] == node and op.right[node] == node):
                go_left = x[op.feature[node]] <= op.threshold[node]
                node = int(op.left[node] if go_left else op.right[node])
            total = [a + int(b) for a, b in zip(total, op.values[node].tolist(), strict=True)]
        return total
    if isinstance(op, Scorecard):
        score = op.base
        for v, edges, points in zip(x, op.edges, op.points, strict=True):
            score += int(points[sum(1 for e in edges.tolist() if e < v)])
        return [score]
    raise TypeError(op)


def run(model: Model, rows: list[list[int]]) -> list[list[int]]:
    program = runtime.load(runtime.serialize(model))
    return program.run(runtime.check_rows(program, runtime.as_rows(rows))).tolist()


# --- random models ----------------------------------------------------------------------


@st.composite
def mlp(draw: st.DrawFn) -> tuple[Model, list[list[int]]]:
    width = draw(st.integers(1, 12))
    hidden = draw(st.integers(1, 12))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    w1 = int_array(rng.integers(-127, 128, (hidden, width)), 2)
    zp = draw(st.integers(-20, 20))
    ops: list[Op] = [
        Dense((0,), w1, int_array(rng.integers(-(2**20), 2**20, hidden)), zp),
        Requantize(
            (1,),
            int_array(rng.integers(-(2**30), 2**30, draw(st.sampled_from([1, hidden])))),
            int_array(rng.integers(0, 40, 1)),
            draw(st.integers(-10, 10)),
            -128,
            127,
        ),
        Relu((2,), draw(st.integers(-128, 0))),
        Add((3, 3)),
        Lut((4,), int_array(rng.integers(-1000, 1000, draw(st.integers(1, 300)))), -256),
        Dense((5,), int_array(rng.integers(-127, 128, (3, hidden)), 2), int_array([0, 1, 2])),
    ]
    ops.append(draw(st.sampled_from([Argmax((6,)), Threshold((6,), 0), Relu((6,))])))
    rows = [
        [int(v) for v in rng.integers(-128, 128, width)] for _ in range(draw(st.integers(1, 5)))
    ]
    return Model(spec(width), tuple(ops)), rows


@st.composite
def forest(draw: st.DrawFn) -> tuple[Model, list[list[int]]]:
    width = draw(st.integers(1, 6))
    outputs = draw(st.integers(1, 3))
    depth = draw(st.integers(0, 5))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    feature, threshold, left, right, values, roots = [], [], [], [], [], []

    def grow(level: int) -> int:
        node = len(feature)
        feature.append(int(rng.integers(0, width)))
        threshold.append(int(rng.integers(-20, 20)))
        left.append(node)
        right.append(node)
        values.append([0] * outputs)
        if level < depth and rng.random() < 0.8:
            left[node] = grow(level + 1)
            right[node] = grow(level + 1)
        else:
            values[node] = [int(v) for v in rng.integers(-(2**30), 2**30, outputs)]
        return node

    for _ in range(draw(st.integers(1, 8))):
        roots.append(grow(0))
    op = TreeEnsemble(
        (0,),
        int_array(roots),
        int_array(feature),
        int_array(threshold),
        int_array(left),
        int_array(right),
        int_array(values, 2),
        int_array(rng.integers(-99, 99, outputs)),
        depth,
    )
    rows = [[int(v) for v in rng.integers(-25, 25, width)] for _ in range(draw(st.integers(1, 6)))]
    return Model(spec(width), (op,)), rows


@settings(max_examples=60, deadline=None)
@given(mlp())
def test_mlp_matches_reference(case: tuple[Model, list[list[int]]]) -> None:
    model, rows = case
    assert run(model, rows) == [reference(model, r) for r in rows]


@settings(max_examples=60, deadline=None)
@given(forest())
def test_trees_match_reference(case: tuple[Model, list[list[int]]]) -> None:
    model, rows = case
    assert run(model, rows) == [reference(model, r) for r in rows]


def test_scorecard_matches_reference() -> None:
    card = Scorecard(
        (0,), (int_array([0, 10]), int_array([5])), (int_array([1, 2, 3]), int_array([-1, 4])), 7
    )
    model = Model(spec(2), (card,))
    rows = [[-1, 5], [0, 6], [1, 4], [10, 5], [11, 100]]
    assert run(model, rows) == [reference(model, r) for r in rows] == [[7], [12], [8], [8], [14]]


# --- safety: overflow and limits --------------------------------------------------------


def test_dense_that_could_overflow_is_rejected() -> None:
    dense = Dense((0,), int_array([[2**40] * 8], 2), int_array([0]))
    with pytest.raises(runtime.AivmError if hasattr(runtime, "AivmError") else Exception) as err:
        runtime.load(runtime.serialize(Model(spec(8, -(2**30), 2**30), (dense,))))
    assert runtime.ErrOverflow.is_(err.value)


def test_requantize_that_could_overflow_is_rejected() -> None:
    ops = (Requantize((0,), int_array([2**40]), int_array([0])),)
    with pytest.raises(Exception) as err:
        runtime.load(runtime.serialize(Model(spec(1, -(2**30), 2**30), ops)))
    assert runtime.ErrOverflow.is_(err.value)


def test_chained_growth_is_tracked_across_operators() -> None:
    big = Dense((0,), int_array([[2**20, 2**20]], 2), int_array([0]))
    ops = (
        big,
        Dense((1,), int_array([[2**20]], 2), int_array([0])),
        Dense((2,), int_array([[2**20]], 2), int_array([0])),
    )
    with pytest.raises(Exception) as err:
        runtime.load(runtime.serialize(Model(spec(2), ops)))
    assert runtime.ErrOverflow.is_(err.value)


def test_limits_reject_large_models() -> None:
    model = Model(
        spec(4), (Dense((0,), int_array(np.ones((300, 4)), 2), int_array(np.zeros(300))),)
    )
    artifact = runtime.serialize(model)
    with pytest.raises(Exception) as err:
        runtime.load(artifact, runtime.Limits(max_model_bytes=len(artifact) - 1))
    assert runtime.ErrModelLimit.is_(err.value)
    with pytest.raises(Exception) as err:
        runtime.load(artifact, runtime.Limits(max_gas_per_inference=1000), runtime.GasTable())
    assert runtime.ErrModelLimit.is_(err.value)
    assert (
        runtime.load(artifact, runtime.Limits(), runtime.GasTable()).gas_per_row(runtime.GasTable())
        == 1200 + 100
    )


@pytest.mark.parametrize(
    "rows",
    [[[1, 2, 3]], [[1, 2, 3, 4, 5]], [[128, 0, 0, 0]], [[-129, 0, 0, 0]]],
    ids=["too-few", "too-many", "above-range", "below-range"],
)
def test_bad_input_rows(rows: list[list[int]]) -> None:
    program = runtime.load(runtime.serialize(Model(spec(4), (Argmax((0,)),))))
    with pytest.raises(Exception) as err:
        runtime.check_rows(program, runtime.as_rows(rows))
    assert runtime.ErrInvalidInput.is_(err.value)


def test_non_integer_rows_rejected() -> None:
    for bad in ([[1.5, 2]], [[True, 1]], [[2**64, 1]], [], [[1], [1, 2]]):
        with pytest.raises(Exception) as err:
            runtime.as_rows(bad)  # type: ignore[arg-type]
        assert runtime.ErrInvalidInput.is_(err.value)


# --- input quantization -----------------------------------------------------------------


def test_decimal_quantization_rounds_half_to_even() -> None:
    quant = InputSpec(3, -1000, 1000, (10, 1, 3), (1, 2, 1), (0, 5, 0))
    program = runtime.load(runtime.serialize(Model(quant, (Relu((0,), -1000),))))
    assert runtime.quantize_row(program, ["1.25", "3", "-0.5"]) == [12, 7, -2]
    assert runtime.quantize_row(program, ["1.35", 1, "0.5"]) == [14, 5, 2]
    for bad in (
        ["1e3", "1", "1"],
        ["nan", "1", "1"],
        ["1", "1"],
        ["200", "1", "1"],
        [1.5, "1", "1"],
    ):
        with pytest.raises(Exception) as err:
            runtime.quantize_row(program, bad)  # type: ignore[arg-type]
        assert runtime.ErrInvalidInput.is_(err.value)


# --- canonical encoding -----------------------------------------------------------------


def sample() -> Model:
    return Model(
        spec(2),
        (Dense((0,), int_array([[1, -300]], 2), int_array([70000])), Argmax((1,))),
        name="sample",
    )


def test_round_trip_and_minimal_dtypes() -> None:
    artifact = runtime.serialize(sample())
    doc = json.loads(artifact)
    assert doc["ops"][0]["weights"]["dtype"] == "int16"
    assert doc["ops"][0]["bias"]["dtype"] == "int32"
    assert runtime.serialize(runtime.parse(artifact)) == artifact


def mutate(artifact: bytes, change: object) -> bytes:
    doc = json.loads(artifact)
    change(doc)  # type: ignore[operator]
    return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()


@pytest.mark.parametrize(
    "make_bad",
    [
        lambda a: a + b" ",
        lambda a: a.replace(b'"format":"aivm-dsm/1"', b'"format":"aivm-dsm/2"'),
        lambda a: json.dumps(json.loads(a), indent=1).encode(),
        lambda a: mutate(
            a,
            lambda d: d["ops"][0]["weights"].update(
                dtype="int64", data=base64.b64encode(np.array([1, -300], "<i8").tobytes()).decode()
            ),
        ),
        lambda a: mutate(a, lambda d: d["ops"][0]["weights"].update(shape=[2, 2])),
        lambda a: mutate(a, lambda d: d["ops"][0].update(extra=1)),
        lambda a: mutate(a, lambda d: d["ops"].append({"op": "softmax", "inputs": [2]})),
        lambda a: mutate(a, lambda d: d["ops"][1].update(inputs=[5])),
        lambda a: mutate(a, lambda d: d["input"].update(lo=0.5)),
        lambda a: a.replace(b'"lo":-128', b'"lo":-128,"lo":-128'),
        lambda a: b"\xff" + a,
        lambda a: b"[]",
    ],
    ids=[
        "trailing-space",
        "format",
        "whitespace",
        "wide-dtype",
        "shape",
        "unknown-key",
        "unknown-op",
        "forward-reference",
        "float",
        "duplicate-key",
        "not-ascii",
        "not-object",
    ],
)
def test_bad_artifacts_are_rejected_with_a_code(make_bad: object) -> None:
    bad = make_bad(runtime.serialize(sample()))  # type: ignore[operator]
    with pytest.raises(Exception) as err:
        runtime.load(bad)
    assert runtime.ErrInvalidArtifact.is_(err.value), err.value


def test_malformed_trees_are_rejected() -> None:
    base = dict(
        roots=int_array([0]),
        feature=int_array([0, 0, 0]),
        threshold=int_array([0, 0, 0]),
        left=int_array([1, 1, 2]),
        right=int_array([2, 1, 2]),
        values=int_array([[0], [1], [2]], 2),
        base=int_array([0]),
        depth=1,
    )
    runtime.load(runtime.serialize(Model(spec(1), (TreeEnsemble((0,), **base),))))  # type: ignore[arg-type]
    for change in (
        {"depth": 0},
        {"left": int_array([1, 0, 2])},
        {"left": int_array([1, 1, 1])},
        {"feature": int_array([3, 0, 0])},
        {"roots": int_array([0, 1])},
        {"left": int_array([1, 1, 7])},
    ):
        op = TreeEnsemble((0,), **{**base, **change})  # type: ignore[arg-type]
        with pytest.raises(Exception) as err:
            runtime.load(runtime.serialize(Model(spec(1), (op,))))
        assert runtime.ErrInvalidArtifact.is_(err.value), change


def test_trees_of_single_leaves_with_slack_depth() -> None:
    op = TreeEnsemble(
        (0,),
        int_array([0, 1]),
        int_array([0, 0]),
        int_array([0, 0]),
        int_array([0, 1]),
        int_array([0, 1]),
        int_array([[5], [-2]], 2),
        int_array([1]),
        3,
    )
    model = Model(spec(1), (op,))
    assert run(model, [[0]]) == [[4]] and run(model, [[1], [2]]) == [[4], [4]]
