"""Write the per-operator golden vectors (run once; the files are committed).

    .venv/bin/python tests/vectors/make_op_vectors.py

Models are small and built from fixed integers (a seeded numpy generator), so the vectors
exercise every operator, rounding rule and edge (ties, clamps, negative shifts of negative
numbers) of the DSM runtime.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aivm.ai.runtime.model import (
    Add,
    Argmax,
    Dense,
    InputSpec,
    Lut,
    Model,
    Relu,
    Requantize,
    Scorecard,
    Threshold,
    TreeEnsemble,
    int_array,
)
from vector_files import write_vector


def spec(width: int, lo: int = -128, hi: int = 127) -> InputSpec:
    """Identity quantization over [lo, hi]."""
    return InputSpec(width, lo, hi, (1,) * width, (1,) * width, (0,) * width)


def main() -> None:
    """Write every operator vector."""
    rng = np.random.default_rng(20261124)
    rows8 = [[int(v) for v in rng.integers(-128, 128, 6)] for _ in range(7)] + [[-128] * 6]

    dense = Dense((0,), int_array(rng.integers(-127, 128, (4, 6)), 2), int_array([5, -5, 0, 99]), 3)
    write_vector("op_dense", Model(spec(6), (dense,)), rows8, "dense 6→4, zero point 3")

    requant = Requantize(
        (1,), int_array([1518500250, 1073741824, -7, 1]), int_array([31, 30, 0, 2]), -3, -128, 127
    )
    write_vector(
        "op_requantize_per_channel",
        Model(spec(6), (dense, requant)),
        rows8,
        "dense then per-channel requantize (half-up rounding, clamp, negative multiplier)",
    )
    ties = Requantize((0,), int_array([1]), int_array([1]))
    write_vector(
        "op_requantize_ties",
        Model(spec(3, -9, 9), (ties,)),
        [[-3, -1, 1], [3, 5, -5], [0, 9, -9]],
        "x/2 rounded half up: -1.5→-1, 1.5→2",
    )

    relu_add = (Relu((0,), -5), Add((0, 1)), Relu((2,)))
    write_vector("op_relu_add", Model(spec(6), relu_add), rows8, "relu with zero point, skip add")

    table = int_array([int(v) for v in np.arange(-40, 41) ** 2 // 7])
    write_vector(
        "op_lut",
        Model(spec(6), (Lut((0,), table, -40),)),
        rows8,
        "lookup with clamping at both ends",
    )

    write_vector(
        "op_argmax_ties",
        Model(spec(4), (Argmax((0,)),)),
        [[1, 7, 7, 0], [3, 3, 3, 3], [-1, -2, -3, -1], [0, 0, 0, 9]],
        "first maximum wins",
    )

    write_vector(
        "op_threshold",
        Model(spec(4), (Threshold((0,), 2),)),
        [[1, 2, 3, -4], [2, 2, 2, 2]],
        "x >= 2",
    )

    trees = TreeEnsemble(
        (0,),
        roots=int_array([0, 5]),
        feature=int_array([0, 1, 0, 0, 0, 2, 0, 0]),
        threshold=int_array([10, -3, 0, 0, 0, 50, 0, 0]),
        left=int_array([1, 3, 2, 3, 4, 6, 6, 7]),
        right=int_array([2, 4, 2, 3, 4, 7, 6, 7]),
        values=int_array(
            [[0, 0], [0, 0], [300, -1], [-7, 2], [11, 11], [0, 0], [1000, 0], [-1000, 5]], 2
        ),
        base=int_array([-50, 4]),
        depth=2,
    )
    tree_rows = [[10, -3, 50], [11, 0, 51], [9, -4, -1], [-100, 100, 50], [10, -2, 49]]
    write_vector(
        "op_tree_ensemble",
        Model(spec(3), (trees,)),
        tree_rows,
        "two trees, uneven depth, x <= threshold goes left, ties at thresholds",
    )

    card = Scorecard(
        (0,),
        (int_array([0, 10]), int_array([-5]), int_array([1, 2, 3])),
        (int_array([-10, 0, 10]), int_array([7, -7]), int_array([0, 1, 2, 3])),
        600,
    )
    write_vector(
        "op_scorecard",
        Model(spec(3), (card,)),
        [[0, -5, 1], [1, -4, 2], [10, 100, 3], [11, -100, 4], [-1, -6, 0]],
        "bins: x <= edges[0] is bin 0; edge values fall in the lower bin",
    )

    wide = Dense((0,), int_array([[2**40, -(2**40)]], 2), int_array([2**61]), 0)
    write_vector(
        "op_dense_wide",
        Model(spec(2, -(2**19), 2**19), (wide,)),
        [[2**19, -(2**19)], [-(2**19), 2**19], [1, 1]],
        "int64 accumulation near 2**62",
    )


if __name__ == "__main__":
    main()
