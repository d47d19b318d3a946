"""Small DSM models and traces for the optimistic-verification tests
(``tests/unit/test_verify_trace.py``, ``tests/unit/test_bisection.py``) and
``benchmarks/optimistic.py``.

- :func:`mlp6`: a 6-operator int8 MLP chain (dense, requantize, relu, dense, requantize,
  argmax), 8 → 16 → 4 features;
- :func:`skip6`: a 6-operator graph with a skip connection (operator 3 adds tensors 2 and 3);
- :func:`gbdt`: a small scikit-learn GradientBoostingClassifier imported by the tree importer
  (tree ensemble + threshold: 2 operators).

Tampering: :func:`tampered_trace` changes one tensor of an honest trace and recomputes every
later tensor from it with the model's own kernels, as a consistent cheater would.
"""

from __future__ import annotations

import numpy as np

from aivm.ai import runtime
from aivm.ai.runtime.interpreter import Program
from aivm.ai.runtime.model import (
    Add,
    Argmax,
    Dense,
    InputSpec,
    IntArray,
    Model,
    Relu,
    Requantize,
    int_array,
)
from aivm.ai.verify import trace


def spec(width: int, lo: int = -128, hi: int = 127) -> InputSpec:
    """An int8 input of ``width`` features (scale 1, zero point 0)."""
    return InputSpec(width, lo, hi, (1,) * width, (1,) * width, (0,) * width)


def mlp6(seed: int = 0) -> Program:
    """A 6-operator int8 MLP chain 8 → 16 → 4 with an argmax."""
    rng = np.random.default_rng(seed)
    ops = (
        Dense(
            (0,),
            int_array(rng.integers(-127, 128, (16, 8)), 2),
            int_array(rng.integers(-999, 999, 16)),
            3,
        ),
        Requantize((1,), int_array([1 << 20]), int_array([28]), -5, -128, 127),
        Relu((2,), -5),
        Dense(
            (3,),
            int_array(rng.integers(-127, 128, (4, 16)), 2),
            int_array(rng.integers(-99, 99, 4)),
        ),
        Requantize(
            (4,), int_array(rng.integers(1 << 18, 1 << 20, 4)), int_array([24]), 0, -128, 127
        ),
        Argmax((5,)),
    )
    return runtime.compile_model(Model(spec(8), ops))


def skip6(seed: int = 0) -> Program:
    """6 operators with a skip: tensor 4 = tensor 2 + tensor 3 (operator 3 reads an old tensor)."""
    rng = np.random.default_rng(seed)
    ops = (
        Dense(
            (0,),
            int_array(rng.integers(-127, 128, (12, 6)), 2),
            int_array(rng.integers(-99, 99, 12)),
        ),
        Requantize((1,), int_array([1 << 16]), int_array([20]), 0, -128, 127),
        Relu((2,)),
        Add((2, 3)),
        Dense((4,), int_array(rng.integers(-127, 128, (3, 12)), 2), int_array([0, 0, 0])),
        Argmax((5,)),
    )
    return runtime.compile_model(Model(spec(6), ops))


def gbdt(seed: int = 0) -> Program:
    """A 12-tree depth-3 GBDT on 5 features, imported from scikit-learn (2 operators)."""
    from sklearn.ensemble import GradientBoostingClassifier

    from aivm.ai.importers.sklearn import from_sklearn

    rng = np.random.default_rng(seed)
    x = rng.normal(size=(300, 5)).round(2)
    y = (x[:, 0] + x[:, 1] * x[:, 2] > 0).astype(int)
    model = GradientBoostingClassifier(n_estimators=12, max_depth=3, random_state=seed).fit(x, y)
    return from_sklearn(model, decimals=2).program


def rows_for(program: Program, count: int = 3, seed: int = 1) -> IntArray:
    """Random valid quantized input rows (kept well inside the declared range)."""
    spec_ = program.model.input
    lo, hi = max(spec_.lo, -128), min(spec_.hi, 127)
    rng = np.random.default_rng(seed)
    return rng.integers(lo, hi + 1, (count, spec_.width), dtype=np.int64)


def tampered_trace(program: Program, rows: IntArray, step: int, delta: int = 1) -> list[IntArray]:
    """An honest trace with tensor ``step`` changed (one value moved by ``delta``, kept in
    its proven range) and every later tensor recomputed from it."""
    tensors = trace.dsm_trace(program, rows)
    bad = tensors[step].copy()
    info = program.analysis.tensors[step]
    value = int(bad[0, 0])
    bad[0, 0] = value + delta if value + delta <= info.hi else value - delta
    tensors[step] = bad
    for index in range(step, len(program.kernels)):
        sources, kernel = program.kernels[index]
        tensors[index + 1] = kernel([tensors[s] for s in sources])
    return tensors


def commit(tensors: list[IntArray]) -> trace.TraceCommitment:
    """The commitment of a list of tensors."""
    return trace.commit_trace([trace.tensor_hash(t) for t in tensors])
