"""The canonical on-chain (DSM) model: an integer-only graph of operators.

A model reads one integer input row of ``InputSpec.width`` features (or a batch of rows) and
runs its operators in order. Tensor 0 is the input; operator ``i`` produces tensor ``i + 1``;
every operator names the tensors it reads (``inputs``), so graphs with skips (``Add``) work.
The model's output is the last tensor. Every tensor is a 2-D ``int64`` array
``(rows, width)``; widths are fixed by the model, values are integers and stay inside bounds
the loader proves before anything runs (see :mod:`aivm.ai.runtime.analysis`).

Operators and their exact semantics (``>>`` is an arithmetic shift, i.e. floor division by a
power of two):

- ``Dense``:  ``y[j] = bias[j] + sum_i weights[j][i] * (x[i] - zero_point)``
- ``Requantize``: ``y = clamp(((x * multiplier + 2**(shift-1)) >> shift) + zero_point, lo, hi)``
  (rounding half up, toward +inf; no rounding term when ``shift == 0``); ``multiplier`` and
  ``shift`` are one value or one per column.
- ``Add``: ``y = a + b``.
- ``Relu``: ``y = max(x, zero_point)``.
- ``Lut``: ``y = table[clamp(x - offset, 0, len(table) - 1)]`` (sigmoid/tanh tables).
- ``Argmax``: index of the first maximum of the row (one column).
- ``Threshold``: ``y = 1 if x >= threshold else 0``.
- ``TreeEnsemble``: every tree is walked from its root: at an inner node go ``left`` when
  ``x[feature] <= threshold`` else ``right``; the leaf values (``values[node]``, one per
  output) of all trees are summed and added to ``base``. The declared ``depth`` is the true
  depth of the deepest tree.
- ``Scorecard``: ``y = base + sum_f points[f][bin_f]`` where ``bin_f`` is the number of edges
  of feature ``f`` strictly below ``x[f]`` (``x <= edges[0]`` is bin 0).

Input quantization: a decimal feature value ``v`` becomes ``round_half_even(v * num / den) +
zero_point`` (exact rational arithmetic), which must lie in ``[lo, hi]``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

FORMAT = "aivm-dsm/1"
"""Format tag carried by every serialized model."""

IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, eq=False)
class InputSpec:
    """Shape, range and quantization of the model input."""

    width: int
    """Number of features in one row."""
    lo: int
    """Smallest allowed quantized value of any feature."""
    hi: int
    """Largest allowed quantized value of any feature."""
    scale_num: tuple[int, ...]
    """Per-feature quantization numerator: ``q = round(v * num / den) + zero_point``."""
    scale_den: tuple[int, ...]
    """Per-feature quantization denominator (positive)."""
    zero_point: tuple[int, ...]
    """Per-feature zero point added after scaling."""
    names: tuple[str, ...] = ()
    """Optional feature names (empty, or one per feature)."""


@dataclass(frozen=True, eq=False)
class OutputSpec:
    """How to read the output tensor (informational: the chain stores the integers)."""

    labels: tuple[str, ...] = ()
    """Class labels: for an ``Argmax`` output, ``labels[index]``; else per column names."""
    scale_num: int = 1
    """Output real value = ``(y - zero_point) * scale_num / scale_den``."""
    scale_den: int = 1
    zero_point: int = 0


@dataclass(frozen=True, eq=False)
class Dense:
    """Fully connected layer with integer weights (``out × in``) and bias."""

    inputs: tuple[int, ...]
    weights: IntArray
    bias: IntArray
    zero_point: int = 0


@dataclass(frozen=True, eq=False)
class Requantize:
    """Integer rescale: multiplier, rounding right shift, zero point, optional clamp."""

    inputs: tuple[int, ...]
    multiplier: IntArray
    shift: IntArray
    zero_point: int = 0
    lo: int | None = None
    hi: int | None = None


@dataclass(frozen=True, eq=False)
class Add:
    """Element-wise sum of two tensors of the same width."""

    inputs: tuple[int, ...]


@dataclass(frozen=True, eq=False)
class Relu:
    """``max(x, zero_point)``."""

    inputs: tuple[int, ...]
    zero_point: int = 0


@dataclass(frozen=True, eq=False)
class Lut:
    """Table lookup activation."""

    inputs: tuple[int, ...]
    table: IntArray
    offset: int


@dataclass(frozen=True, eq=False)
class Argmax:
    """Index of the first maximum of each row."""

    inputs: tuple[int, ...]


@dataclass(frozen=True, eq=False)
class Threshold:
    """1 where ``x >= threshold``, else 0."""

    inputs: tuple[int, ...]
    threshold: int


@dataclass(frozen=True, eq=False)
class TreeEnsemble:
    """Decision trees over integer features, flattened into node arrays.

    Node ``n`` is a leaf when ``left[n] == right[n] == n`` (it loops to itself). ``depth`` is
    the number of inner nodes on the longest root-to-leaf path of any tree: it must be exactly
    that (a loader refuses any other value) and within the limits' ``max_tree_depth``; every
    tree is walked ``depth`` steps, which lands on a leaf since leaves loop to themselves.
    """

    inputs: tuple[int, ...]
    roots: IntArray
    feature: IntArray
    threshold: IntArray
    left: IntArray
    right: IntArray
    values: IntArray
    """``(nodes, outputs)`` fixed-point leaf values (zero on inner nodes)."""
    base: IntArray
    """``(outputs,)`` added to the sum of leaves."""
    depth: int


@dataclass(frozen=True, eq=False)
class Scorecard:
    """Points per bin of each feature, summed with a base score."""

    inputs: tuple[int, ...]
    edges: tuple[IntArray, ...]
    points: tuple[IntArray, ...]
    base: int


Op = Dense | Requantize | Add | Relu | Lut | Argmax | Threshold | TreeEnsemble | Scorecard

OP_NAMES: dict[type, str] = {
    Dense: "dense",
    Requantize: "requantize",
    Add: "add",
    Relu: "relu",
    Lut: "lut",
    Argmax: "argmax",
    Threshold: "threshold",
    TreeEnsemble: "tree_ensemble",
    Scorecard: "scorecard",
}


@dataclass(frozen=True, eq=False)
class Model:
    """A complete DSM model."""

    input: InputSpec
    ops: tuple[Op, ...]
    output: OutputSpec = field(default_factory=OutputSpec)
    name: str = ""
    """Free-form description (e.g. which importer made it)."""


def int_array(values: object, ndim: int = 1) -> IntArray:
    """An ``int64`` array from nested integer sequences (helper for builders and importers)."""
    array = np.asarray(values, dtype=np.int64)
    if array.ndim != ndim:
        array = array.reshape((-1,) if ndim == 1 else (array.shape[0], -1))
    return array
