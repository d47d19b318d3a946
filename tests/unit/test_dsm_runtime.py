"""DSM runtime: operator semantics against a pure-Python reference, overflow and limit checks,
canonical encoding and strict parsing."""

from __future__ import annotations

import base64
import json
import sys
from fractions import Fraction

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
from aivm.types.errors import AivmError
from dsm_reference import reference_run


def spec(width: int, lo: int = -128, hi: int = 127) -> InputSpec:
    return InputSpec(width, lo, hi, (1,) * width, (1,) * width, (0,) * width)


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
    deepest = [0]

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
            deepest[0] = max(deepest[0], level)
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
        deepest[0],  # the true depth, as the runtime requires
    )
    rows = [[int(v) for v in rng.integers(-25, 25, width)] for _ in range(draw(st.integers(1, 6)))]
    return Model(spec(width), (op,)), rows


@settings(max_examples=60, deadline=None)
@given(mlp())
def test_mlp_matches_reference(case: tuple[Model, list[list[int]]]) -> None:
    model, rows = case
    assert run(model, rows) == [reference_run(model, r) for r in rows]


@settings(max_examples=60, deadline=None)
@given(forest())
def test_trees_match_reference(case: tuple[Model, list[list[int]]]) -> None:
    model, rows = case
    assert run(model, rows) == [reference_run(model, r) for r in rows]


def test_scorecard_matches_reference() -> None:
    card = Scorecard(
        (0,), (int_array([0, 10]), int_array([5])), (int_array([1, 2, 3]), int_array([-1, 4])), 7
    )
    model = Model(spec(2), (card,))
    rows = [[-1, 5], [0, 6], [1, 4], [10, 5], [11, 100]]
    expected = [[7], [12], [8], [8], [14]]
    assert run(model, rows) == [reference_run(model, r) for r in rows] == expected
    assert [run(model, [r])[0] for r in rows] == [[7], [12], [8], [8], [14]]  # one row at a time


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_scorecards_with_features_without_edges_match_reference(data: st.DataObject) -> None:
    width = data.draw(st.integers(1, 6))
    edges, points = [], []
    for _ in range(width):
        chosen = sorted(data.draw(st.sets(st.integers(-30, 30), max_size=4)))
        edges.append(int_array(chosen))
        points.append(
            int_array(
                data.draw(
                    st.lists(st.integers(-9, 9), min_size=len(chosen) + 1, max_size=len(chosen) + 1)
                )
            )
        )
    model = Model(spec(width), (Scorecard((0,), tuple(edges), tuple(points), 3),))
    rows = data.draw(
        st.lists(
            st.lists(st.integers(-40, 40), min_size=width, max_size=width), min_size=1, max_size=4
        )
    )
    expected = [reference_run(model, r) for r in rows]
    assert run(model, rows) == expected
    assert [run(model, [r])[0] for r in rows] == expected


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
        runtime.load(artifact, runtime.Limits(max_gas_per_inference=500), runtime.GasTable())
    assert runtime.ErrModelLimit.is_(err.value)
    gas = runtime.GasTable()
    # calls: 5 for the dense kernel + 1 interpreter step; elements: 4 inputs + 300 outputs
    calls, elements, macs = 6, 4 + 300, 300 * 4
    expected = calls * gas.per_call + -(
        -(elements * gas.per_kilo_element + macs * gas.per_kilo_mac) // 1000
    )
    assert runtime.load(artifact, runtime.Limits(), gas).gas_per_row(gas) == expected


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
        {"depth": 2},  # declared deeper than the tree: the depth must be the true one
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


def leaves_only(depth: int) -> TreeEnsemble:
    """Two trees that are single leaves, declaring ``depth``."""
    return TreeEnsemble(
        (0,),
        int_array([0, 1]),
        int_array([0, 0]),
        int_array([0, 0]),
        int_array([0, 1]),
        int_array([0, 1]),
        int_array([[5], [-2]], 2),
        int_array([1]),
        depth,
    )


def test_trees_of_single_leaves() -> None:
    model = Model(spec(1), (leaves_only(0),))
    assert run(model, [[0]]) == [[4]] and run(model, [[1], [2]]) == [[4], [4]]


def chain_tree(depth: int, declared: int | None = None) -> TreeEnsemble:
    """One tree with one inner node per level (a leaf on the left) down to ``depth``."""
    left, right = [], []
    for level in range(depth):
        left.append(2 * level + 1)
        right.append(2 * level + 2)
        left.append(2 * level + 1)
        right.append(2 * level + 1)
    left.append(2 * depth)
    right.append(2 * depth)
    # node 2i is inner (children 2i+1, 2i+2), node 2i+1 a leaf; the last node a leaf
    nodes = 2 * depth + 1
    feature = [0] * nodes
    is_leaf = [left[n] == n and right[n] == n for n in range(nodes)]
    values = [[n] if is_leaf[n] else [0] for n in range(nodes)]
    return TreeEnsemble(
        (0,),
        int_array([0]),
        int_array(feature),
        int_array(list(range(nodes))),
        int_array(left),
        int_array(right),
        int_array(values, 2),
        int_array([0]),
        depth if declared is None else declared,
    )


def test_declared_tree_depth_must_be_the_true_depth() -> None:
    """A 617-byte model declaring a depth of millions once cost ~10M gas and ran ~10 s."""
    for declared in (0, 1, 3, 5_000_000):
        bad = runtime.serialize(Model(spec(1), (leaves_only(declared),)))
        if declared == 0:
            runtime.load(bad)
            continue
        with pytest.raises(Exception) as err:
            runtime.load(bad)
        assert runtime.ErrInvalidArtifact.is_(err.value), declared
    deep = runtime.serialize(Model(spec(1, 0, 100), (chain_tree(6, declared=9),)))
    with pytest.raises(Exception) as err:
        runtime.load(deep)
    assert runtime.ErrInvalidArtifact.is_(err.value)
    model = Model(spec(1, 0, 100), (chain_tree(6),))
    rows = [[v] for v in range(0, 9)]
    assert run(model, rows) == [reference_run(model, r) for r in rows]


def test_tree_depth_is_capped_by_the_limits() -> None:
    limits = runtime.Limits(max_tree_depth=8)
    runtime.load(runtime.serialize(Model(spec(1, 0, 100), (chain_tree(8),))), limits)
    too_deep = runtime.serialize(Model(spec(1, 0, 100), (chain_tree(9),)))
    with pytest.raises(Exception) as err:
        runtime.load(too_deep, limits)
    assert runtime.ErrModelLimit.is_(err.value)
    program = runtime.load(too_deep)  # off-chain, without limits: accepted
    with pytest.raises(Exception) as err:  # and refused by the same check the chain runs
        limits.check_model(program.model, program.analysis)
    assert runtime.ErrModelLimit.is_(err.value)


def complete_tree(depth: int) -> TreeEnsemble:
    """One complete binary tree of ``depth``, nodes numbered breadth first."""
    nodes = 2 ** (depth + 1) - 1
    inner = 2**depth - 1
    left = [2 * n + 1 if n < inner else n for n in range(nodes)]
    right = [2 * n + 2 if n < inner else n for n in range(nodes)]
    values = [[0] if n < inner else [n] for n in range(nodes)]
    return TreeEnsemble(
        (0,),
        int_array([0]),
        int_array([0] * nodes),
        int_array(list(range(nodes))),
        int_array(left),
        int_array(right),
        int_array(values, 2),
        int_array([0]),
        depth,
    )


def test_tree_gas_grows_with_depth_and_with_the_nodes_compared() -> None:
    gas = runtime.GasTable()

    def row_gas(op: TreeEnsemble) -> int:
        return runtime.load(runtime.serialize(Model(spec(1, 0, 100), (op,)))).gas_per_row(gas)

    # same depth, one tree: a complete tree compares 63 inner nodes, a chain 6
    assert row_gas(complete_tree(6)) > row_gas(chain_tree(6))
    # same inner-node count (6): a chain walks six levels, the complete tree of 7 nodes two
    assert row_gas(chain_tree(6)) > row_gas(complete_tree(2)) - 3 * gas.per_call
    assert row_gas(chain_tree(32)) - row_gas(chain_tree(16)) >= 16 * gas.per_call


@pytest.mark.parametrize("digits_limit", [0, 640, 4300])
def test_huge_json_integers_are_invalid_artifacts_under_any_interpreter_setting(
    digits_limit: int,
) -> None:
    """Python refuses str → int past ``sys.get_int_max_str_digits()`` with a ValueError that
    used to escape the parser; whatever the node's setting, the answer is now the same code."""
    artifact = runtime.serialize(sample())
    huge = artifact.replace(b'"lo":-128', b'"lo":-' + b"9" * 5000)
    before = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(digits_limit)
    try:
        for bad in (huge, artifact.replace(b'"lo":-128', b'"lo":' + b"1" * 20)):
            with pytest.raises(AivmError) as err:
                runtime.load(bad)
            assert runtime.ErrInvalidArtifact.is_(err.value)
    finally:
        sys.set_int_max_str_digits(before)
    # the longest int64 values still parse
    edge = artifact.replace(b'"lo":-128', b'"lo":-9223372036854775808')
    with pytest.raises(AivmError) as err:  # parsed, then refused by the analysis: lo > 2**62
        runtime.load(edge)
    assert runtime.ErrOverflow.is_(err.value)


def test_int64_minimum_cannot_slip_past_the_overflow_analysis() -> None:
    """|-2**63| does not exist in int64: numpy's abs of it is negative, which once let such
    weights and leaf values pass the bound checks."""
    weights = Dense((0,), int_array([[-(2**63), 1]], 2), int_array([0]))
    with pytest.raises(AivmError) as err:
        runtime.load(runtime.serialize(Model(spec(2), (weights,))))
    assert runtime.ErrOverflow.is_(err.value)
    leaves = leaves_only(0)
    bad_leaf = TreeEnsemble(
        **{**leaves.__dict__, "values": int_array([[-(2**63)], [1]], 2)}  # type: ignore[arg-type]
    )
    with pytest.raises(AivmError) as err:
        runtime.load(runtime.serialize(Model(spec(1), (bad_leaf,))))
    assert runtime.ErrOverflow.is_(err.value)
    # a zero point near -2**63 took (x·m + r) >> s + zp out of int64 before the clamp, and the
    # clamped result came out as 127 instead of -128 (found by scripts/fuzz.py)
    requantize = Requantize((0,), int_array([14]), int_array([7]), -(2**63), -128, 127)
    with pytest.raises(AivmError) as err:
        runtime.load(runtime.serialize(Model(spec(1, -(10**6), 10**6), (requantize,))))
    assert runtime.ErrOverflow.is_(err.value)
    # points summing to 0 whose partial sums pass 2**63 in some order
    big = 2**62
    card = Scorecard(
        (0,),
        tuple(int_array([0]) for _ in range(4)),
        (
            int_array([big, big]),
            int_array([big, big]),
            int_array([-big, -big]),
            int_array([-big, -big]),
        ),
        0,
    )
    with pytest.raises(AivmError) as err:
        runtime.load(runtime.serialize(Model(spec(4), (card,))))
    assert runtime.ErrOverflow.is_(err.value)
    lut_index = Lut((0,), int_array([1, 2]), -(2**62))
    with pytest.raises(AivmError) as err:  # x - offset would pass int64 for x = 2**62
        runtime.load(runtime.serialize(Model(spec(1, 0, 2**62), (lut_index,))))
    assert runtime.ErrOverflow.is_(err.value)


@settings(max_examples=300, deadline=None)
@given(
    st.from_regex(r"-?([0-9]{0,6}(\.[0-9]{0,5})?)", fullmatch=True),
    st.integers(-50, 50).filter(bool),
    st.integers(1, 40),
)
def test_decimal_quantization_is_exact_rational_rounding(text: str, num: int, den: int) -> None:
    quant = InputSpec(1, -(10**12), 10**12, (num,), (den,), (0,))
    program = runtime.load(runtime.serialize(Model(quant, (Relu((0,), -(10**12)),))))
    try:
        exact = Fraction(text)
    except ValueError:
        with pytest.raises(AivmError) as err:
            runtime.quantize_row(program, [text])
        assert runtime.ErrInvalidInput.is_(err.value)
        return
    assert runtime.quantize_row(program, [text]) == [round(exact * num / den)]


def test_load_work_is_charged_in_two_stages_before_the_work() -> None:
    """What the raw bytes show is charged before the JSON is read, what the JSON shows before
    anything is decoded; the two stages add up to the program's load gas."""
    artifact = runtime.serialize(sample())
    program = runtime.load(artifact)
    before, after = program.load_work.stages()
    containers = artifact.count(b"[") + artifact.count(b"{")
    assert before == runtime.LoadWork(artifacts=1, bytes=len(artifact), containers=containers)
    assert after == runtime.LoadWork(ops=2, arrays=2, items=3)
    gas = runtime.GasTable()
    assert gas.load(before) + gas.load(after) == program.load_gas(gas)
    for stop_at, expected in ((1, [before]), (2, [before, after])):
        seen: list[runtime.LoadWork] = []

        def charge(
            work: runtime.LoadWork, stop_at: int = stop_at, seen: list[runtime.LoadWork] = seen
        ) -> None:
            seen.append(work)
            if len(seen) == stop_at:
                raise runtime.ErrModelLimit.wrap("no gas left")

        with pytest.raises(AivmError) as err:
            runtime.load(artifact, charge=charge)
        assert runtime.ErrModelLimit.is_(err.value) and seen == expected
    seen = []
    with pytest.raises(AivmError) as err:  # not JSON: only the first stage was charged
        runtime.load(b"[[[" + b"x" * 100, charge=seen.append)
    assert runtime.ErrInvalidArtifact.is_(err.value)
    assert seen == [runtime.LoadWork(artifacts=1, bytes=103, containers=3)]
