"""Shared pieces of the importers: the imported-model wrapper, input specs, fixed point.

Every importer returns an :class:`ImportedModel`: the canonical DSM :class:`~aivm.ai.runtime.
Model`, its serialized artifact, and helpers that quantize float or decimal inputs *exactly as
the chain does* and run the integer program, so agreement with the source model can be
measured off-chain.

Input quantization (all importers): feature ``i`` declared with ``d_i`` decimals is scaled by
``10**d_i`` (``scale_num = 10**d_i``, ``scale_den = 1``, ``zero_point = 0``), i.e. the chain
computes ``q = round_half_even(v * 10**d_i)``. Quantized values must lie in
``[-input_bound, input_bound]`` (default ``2**40``: ``|v| <= 1.09e6`` at six decimals); that
declared range is what the runtime analysis uses to prove no overflow can happen. Float inputs
given to :meth:`ImportedModel.quantize` are first written as their shortest round-trip decimal
(``repr``), which is what a client submitting decimal strings would send. NaN/inf inputs are
rejected (the chain has no missing values).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import cached_property
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from aivm.ai import runtime
from aivm.ai.runtime.interpreter import Program
from aivm.ai.runtime.model import InputSpec, IntArray, Model
from aivm.types.errors import AivmError

Output = Literal["class", "score"]
"""``class``: the model outputs a class index (``Threshold`` or ``Argmax``); ``score``: the raw
fixed-point sum / logit (regressors always output their score)."""

DEFAULT_DECIMALS = 6
DEFAULT_LEAF_SCALE_BITS = 24
DEFAULT_INPUT_BOUND = 2**40
"""Default bound on every quantized input value (documented in the module docstring)."""

MAX_FIXED = 2**62
"""No fixed-point constant may reach this magnitude (the runtime's value bound)."""


class ImporterError(ValueError):
    """The model cannot be imported (unsupported type or feature, unfitted, bad arguments)."""


@dataclass(frozen=True, eq=False)
class ImportedModel:
    """A model converted to DSM, with helpers to run it off-chain exactly like the chain."""

    model: Model
    """The canonical DSM model."""
    artifact: bytes
    """``runtime.serialize(model)``: the bytes stored on chain."""
    output: Output = "score"
    """Whether the output is a class index or a fixed-point score."""
    classes: npt.NDArray[Any] | None = None
    """Class labels of a classifier (original values; ``model.output.labels`` has strings)."""

    @cached_property
    def program(self) -> Program:
        """The checked, compiled model (parsed back from :attr:`artifact`)."""
        return runtime.load(self.artifact)

    def quantize(self, X: Any) -> IntArray:
        """Quantize rows of floats, ints or decimal strings exactly like the chain.

        Floats are converted to their shortest round-trip decimal string first; every value is
        then quantized by :func:`aivm.ai.runtime.quantize_row` (exact rational arithmetic,
        range-checked; NaN and out-of-range values raise ``ErrInvalidInput``).
        """
        rows = _as_2d(X)
        quantized = [runtime.quantize_row(self.program, [_decimal(v) for v in row]) for row in rows]
        return np.array(quantized, dtype=np.int64).reshape(len(quantized), self.model.input.width)

    def run(self, X: Any) -> IntArray:
        """Quantize ``X`` and run the DSM program; return the raw int64 output rows."""
        rows = self.quantize(X)
        result: IntArray = self.program.run(runtime.check_rows(self.program, rows))
        return result

    def predict(self, X: Any) -> npt.NDArray[Any]:
        """Predict like the source model would, but through the DSM program.

        Class output: the class labels (``classes[index]``; the index itself when there are
        no ``classes``). Score output: the real score
        ``(y - zero_point) * scale_num / scale_den`` as float64, shape ``(n,)`` for one output
        column, else ``(n, outputs)``.
        """
        raw = self.run(X)
        if self.output == "class":
            index = raw[:, 0]
            if self.classes is None:
                return index
            labels: npt.NDArray[Any] = np.asarray(self.classes)[index]
            return labels
        spec = self.model.output
        scores = (raw - spec.zero_point).astype(np.float64) * spec.scale_num / spec.scale_den
        return scores[:, 0] if scores.shape[1] == 1 else scores


def finish(model: Model, output: Output, classes: npt.NDArray[Any] | None) -> ImportedModel:
    """Serialize, re-parse (the artifact must round-trip) and compile ``model``."""
    artifact = runtime.serialize(model)
    try:
        program = runtime.load(artifact)
    except AivmError as err:  # ErrOverflow / ErrInvalidArtifact from the runtime checks
        raise ImporterError(f"the imported model does not pass the DSM checks: {err}") from err
    imported = ImportedModel(model=program.model, artifact=artifact, output=output, classes=classes)
    imported.__dict__["program"] = program  # prime the cached property
    return imported


def resolve_decimals(decimals: int | Sequence[int], width: int) -> tuple[int, ...]:
    """One decimals count per feature (a single int applies to all)."""
    values = (decimals,) * width if isinstance(decimals, int) else tuple(decimals)
    if len(values) != width:
        raise ImporterError(f"decimals needs one value per feature ({width}), got {len(values)}")
    for d in values:
        if isinstance(d, bool) or not isinstance(d, int | np.integer) or not 0 <= d <= 18:
            raise ImporterError(f"decimals must be integers in 0..18, got {d!r}")
    return tuple(int(d) for d in values)


def input_spec(
    width: int,
    decimals: tuple[int, ...],
    input_bound: int,
    names: Sequence[str] | None,
) -> InputSpec:
    """The input spec: scale ``10**d`` per feature, zero point 0, range ``±input_bound``."""
    if not isinstance(input_bound, int) or not 0 < input_bound <= MAX_FIXED:
        raise ImporterError(f"input_bound must be an int in 1..2**62, got {input_bound!r}")
    feature_names: tuple[str, ...] = ()
    if names is not None:
        feature_names = tuple(str(n) for n in names)
        if len(feature_names) != width:
            raise ImporterError(f"expected {width} feature names, got {len(feature_names)}")
    return InputSpec(
        width=width,
        lo=-input_bound,
        hi=input_bound,
        scale_num=tuple(10**d for d in decimals),
        scale_den=(1,) * width,
        zero_point=(0,) * width,
        names=feature_names,
    )


def fixed_point(value: float, bits: int) -> int:
    """``round_half_even(value * 2**bits)`` exactly; raise if not finite or too large."""
    if not np.isfinite(value):
        raise ImporterError(f"cannot import the non-finite value {value!r}")
    scaled = round(Fraction(float(value)) * (1 << bits))
    if abs(scaled) >= MAX_FIXED:
        raise ImporterError(f"{value!r} * 2**{bits} exceeds the DSM value bound (2**62)")
    return scaled


def check_output(output: str) -> Output:
    """Validate the ``output`` argument."""
    if output not in ("class", "score"):
        raise ImporterError(f"output must be 'class' or 'score', got {output!r}")
    return "class" if output == "class" else "score"


def class_labels(classes: npt.NDArray[Any] | Sequence[Any]) -> tuple[str, ...]:
    """Class labels as the strings stored in ``OutputSpec.labels``."""
    return tuple(str(c.item() if isinstance(c, np.generic) else c) for c in classes)


def _as_2d(X: Any) -> list[list[Any]]:
    if isinstance(X, np.ndarray):
        array = X
    elif hasattr(X, "to_numpy"):  # pandas
        array = X.to_numpy()
    else:
        array = np.asarray(X, dtype=object)
    if array.ndim == 1:
        array = array.reshape(1, -1)
    if array.ndim != 2:
        raise ImporterError("inputs must be a 2-D array of rows")
    rows: list[list[Any]] = array.tolist()
    return rows


def _decimal(value: Any) -> str | int:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        raise ImporterError("booleans are not numeric inputs")
    if isinstance(value, int | np.integer):
        return int(value)
    number = float(value)
    if not np.isfinite(number):
        return repr(number)  # rejected by the runtime as not a decimal number
    return np.format_float_positional(number, unique=True, trim="-")
