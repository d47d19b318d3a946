"""ONNX → DSM: multilayer perceptrons, already quantized or quantized here from calibration data.

Accepted graphs (one 2-D float input ``(N, width)`` with a fixed ``width``; the first graph
output is the model output):

- **QOperator** (``onnxruntime.quantization`` with ``QuantFormat.QOperator``):
  ``QuantizeLinear`` on the input, ``QLinearMatMul``, ``QGemm`` (com.microsoft),
  ``QLinearAdd`` (com.microsoft), ``QLinearSigmoid`` (com.microsoft), ``QLinearSoftmax``
  (dropped, see below), ``DequantizeLinear``, ``ArgMax``.
- **QDQ** (``QuantFormat.QDQ``): float ``MatMul``/``Gemm``/``Add``/``Relu``/``Sigmoid``/
  ``Tanh``/``Softmax`` whose operands come from ``DequantizeLinear`` and whose results go to
  ``QuantizeLinear``; each ``DQ → op → Q`` group is folded into integer operators.
- **Float** graphs (``Gemm``, ``MatMul`` + ``Add``, ``Relu``, ``Sigmoid``, ``Tanh``,
  ``Softmax``, ``ArgMax``, ``Flatten``/``Reshape``/``Identity`` as no-ops on rows) with a
  calibration set: the importer quantizes them itself (below).

Dynamic quantization (``MatMulInteger``, ``DynamicQuantizeLinear``), convolutions and any
other operator are rejected with an :class:`~aivm.ai.importers.common.ImporterError` naming
the operator and the node.

Quantization math (real value ``r = s * (q - z)`` for a tensor of scale ``s``, zero point
``z``):

- **Input**: ``q = clamp(round_half_even(v / s_in) + z_in, qmin, qmax)`` like ONNX
  ``QuantizeLinear``. On chain this is the input spec ``q = round_half_even(v * num / den) +
  z_in`` with ``num / den = 1 / s_in`` — the *exact* rational inverse of the float32 scale of a
  quantized graph, and for float graphs ``1 / s_in = Fraction(255 / (max - min))
  .limit_denominator(2**16)`` from the calibration range (``s_in`` is then defined as the
  inverse of that fraction) — followed by a ``Requantize`` (multiplier 1, shift 0) that clamps
  to ``[qmin, qmax]`` (saturation, as onnxruntime does). The declared input range is
  ``±2**31`` (quantized values beyond it are refused by the chain).
- **Dense + Requantize** (``QLinearMatMul``, ``QGemm``, ``DQ→MatMul/Gemm→Q``): with integer
  weights ``W = q_w - z_w`` (``out × in``) and per output channel scale ``s_w[j]``, the
  accumulator ``acc_j = b_j + sum_i W_ji * (x_i - z_x)`` has real scale ``s_x * s_w[j]``; the
  bias is ``b_j = round(bias_real_j / (s_x * s_w[j]))`` (ONNX int32 biases are exactly that).
  ``Requantize`` maps it to the output grid with ``M_j = s_x * s_w[j] / s_y ≈ m_j / 2**sh_j``
  (31-bit ``m_j``, see :func:`~aivm.ai.importers.quantize.quantize_multiplier`), adds ``z_y``
  and clamps to ``[qmin, qmax]`` (``[max(qmin, z_y), qmax]`` when a ``Relu`` is fused).
  onnxruntime rounds ``acc * M`` in float32 half-to-even; DSM rounds half up in exact integer
  arithmetic, so rare ties and float32 rounding can move a value by one step.
- **Add of two tensors** (``QLinearAdd``): both sides are brought to a common fine grid
  ``c = max(s_a, s_b) / 2**20`` with exact integer multipliers (``Requantize`` shift 0,
  zero point ``-z * A``), added, and requantized by ``c / s_y``. **Add of a constant**
  (``DQ(x) + DQ(bias)``): a diagonal ``Dense`` with weights ``2**16`` and the bias on the grid
  ``s_x / 2**16``, then ``Requantize``.
- **Sigmoid / Tanh / Relu between different grids**: a 256-entry ``Lut`` over the input's
  integer domain, ``table[q - qmin] = clamp(round_half_even(f(s_x (q - z_x)) / s_y) + z_y)``.
  A ``Relu`` on an unchanged grid is the DSM ``Relu(z)``.
- **Float graphs** (``calibration`` required): the float graph is run in numpy (float64) on
  the calibration rows to get each tensor's ``[min, max]``; activations are asymmetric int8
  (``s = (max' - min') / 255``, ``z = round(-128 - min' / s)`` with ``min' = min(min, 0)``,
  ``max' = max(max, 0)``); weights are symmetric int8 per output channel
  (``s_w[j] = max|w_j| / 127``); biases are integers at ``s_x * s_w[j]``; a ``Relu`` after a
  linear layer is fused into the clamp; ``Sigmoid`` outputs use ``s = 1/256, z = -128`` and
  ``Tanh`` outputs ``s = 1/127, z = 0``.
- **Outputs**: ``output="class"`` ends with ``Argmax`` (or, for one output column,
  ``Threshold`` = "real logit > 0", i.e. ``p > 0.5`` after a sigmoid). A trailing ``Softmax``
  (or ``QLinearSoftmax``, or a sigmoid/tanh not yet quantized) is **dropped**: it is monotonic
  so the argmax is unchanged. When the last layer is not quantized by the graph (float graphs),
  the logits are requantized to a fine grid (about 2**20 steps per calibrated peak, clamped
  at ±2**24) so that ties are rare. ``output="raw"`` returns the last quantized tensor with
  its scale in the :class:`~aivm.ai.runtime.model.OutputSpec` (``real = (y - z) * num / den``,
  the exact float scale); a trailing ``Softmax`` is dropped there too, so raw outputs are
  logits (the model name says ``softmax dropped``). Float graphs give int8 raw outputs.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import onnx
from onnx import numpy_helper

from aivm.ai.importers.common import ImportedModel, ImporterError, class_labels, finish
from aivm.ai.importers.quantize import (
    INT8,
    UINT8,
    FloatArray,
    QParams,
    activation_table,
    affine_params,
    exact_inverse,
    quantize_multiplier,
    sigmoid,
    symmetric_per_channel,
)
from aivm.ai.runtime.model import (
    Add,
    Argmax,
    Dense,
    InputSpec,
    IntArray,
    Lut,
    Model,
    Op,
    OutputSpec,
    Relu,
    Requantize,
    Threshold,
    int_array,
)

__all__ = ["from_onnx", "quantize_floats"]

INPUT_BOUND = 2**31
"""Declared range of quantized input values (before the saturating clamp)."""
FINE_BITS = 20
"""Steps per calibrated peak of unquantized logits before ``Argmax``."""
FINE_CLAMP = 2**24
ADD_BITS = 20
DIAG_BITS = 16

_FUNCS: dict[str, Callable[[FloatArray], FloatArray]] = {
    "Sigmoid": sigmoid,
    "Tanh": np.tanh,
    "Relu": lambda x: np.maximum(x, 0.0),
    "Identity": lambda x: x,
}
_MONOTONE = {"Sigmoid", "Tanh", "Identity"}

_QUANT_OPS = {
    "QuantizeLinear",
    "DequantizeLinear",
    "QLinearMatMul",
    "QGemm",
    "QLinearAdd",
    "QLinearSigmoid",
    "QLinearSoftmax",
    "MatMulInteger",
    "DynamicQuantizeLinear",
    "QLinearConv",
    "ConvInteger",
}


# --- symbolic values ----------------------------------------------------------------------


@dataclass(frozen=True)
class _QT:
    """A materialized integer DSM tensor and its quantization."""

    index: int
    width: int
    qp: QParams
    origin: str = ""


@dataclass(frozen=True)
class _Deq:
    """The real view of a quantized tensor (output of ``DequantizeLinear``)."""

    qt: _QT


@dataclass(frozen=True)
class _Const:
    """A constant; ``ints``/``scale``/``zero`` (full shape) when it is a dequantized integer."""

    values: FloatArray
    ints: npt.NDArray[np.int64] | None = None
    scale: FloatArray | None = None
    zero: npt.NDArray[np.int64] | None = None
    dtype: str = "float64"
    """The original element type (``int8``/``uint8`` zero points select the integer range)."""


@dataclass(frozen=True)
class _Input:
    """The float graph input (not yet quantized)."""

    name: str
    width: int


@dataclass(frozen=True)
class _Linear:
    """``real_j = acc_scale_j * sum_i W_ji (x_i - z_x) + bias_j`` (then ``Relu`` if set)."""

    src: _QT
    weights: npt.NDArray[np.int64]
    acc_scale: FloatArray
    bias: FloatArray
    name: str
    relu: bool = False

    @property
    def width(self) -> int:
        return int(self.weights.shape[0])


@dataclass(frozen=True)
class _Sum:
    """Sum of the real values of two quantized tensors (then ``Relu`` if set)."""

    a: _QT
    b: _QT
    name: str
    relu: bool = False


@dataclass(frozen=True)
class _Func:
    """An element-wise function of a value."""

    src: Value
    fn: str
    name: str


@dataclass(frozen=True)
class _Softmax:
    """``Softmax(inner)``: only allowed at the output, where it is dropped."""

    inner: Value


@dataclass(frozen=True)
class _ArgMax:
    """``ArgMax(inner)`` over the last axis: only allowed at the output."""

    inner: Value


Value = _QT | _Deq | _Const | _Input | _Linear | _Sum | _Func | _Softmax | _ArgMax


# --- public API ---------------------------------------------------------------------------


def from_onnx(
    model_or_path: onnx.ModelProto | str | Path | bytes,
    *,
    calibration: npt.ArrayLike | None = None,
    labels: Sequence[Any] | None = None,
    output: Literal["class", "raw"] = "class",
) -> ImportedModel:
    """Import an ONNX MLP (QOperator, QDQ, or float with ``calibration``) as a DSM model.

    ``calibration`` (rows of float inputs) is required for float graphs and ignored for
    graphs that are already quantized. ``labels`` name the classes (one per output column;
    ``predict`` then returns them). ``output="class"`` returns a class index, ``"raw"`` the
    last quantized tensor (its real scale in ``model.output``). See the module docstring for
    the exact math. Raises :class:`~aivm.ai.importers.common.ImporterError` for anything
    unsupported.
    """
    if output not in ("class", "raw"):
        raise ImporterError(f"output must be 'class' or 'raw', got {output!r}")
    proto = _load(model_or_path)
    graph = proto.graph
    quantized = any(node.op_type in _QUANT_OPS for node in graph.node)
    calib: npt.NDArray[np.float64] | None = None
    if not quantized:
        if calibration is None:
            raise ImporterError(
                "this ONNX graph is float (no QuantizeLinear/QLinear* nodes): pass "
                "calibration=<rows of typical inputs> so the importer can quantize it"
            )
        calib = np.asarray(calibration, dtype=np.float64)
        if calib.ndim != 2 or calib.shape[0] < 1 or not np.all(np.isfinite(calib)):
            raise ImporterError("calibration must be a non-empty 2-D array of finite floats")
    builder = _Builder(graph, calib)
    builder.run()
    model = builder.finish(output, labels, proto)
    classes = None if labels is None or output != "class" else np.asarray(labels)
    return finish(model, "class" if output == "class" else "score", classes)


def quantize_floats(imported: ImportedModel, X: npt.ArrayLike) -> IntArray:
    """Fast, vectorized :meth:`ImportedModel.quantize` for float rows (same integers).

    Computes ``round_half_even(x * num / den) + zero_point`` in float64 and redoes exactly
    (decimal string → :class:`~fractions.Fraction`, as the chain does) every value within
    ``1e-6`` of a rounding tie; raises ``ValueError`` for values outside the input range.
    """
    spec = imported.model.input
    rows = np.asarray(X, dtype=np.float64)
    if rows.ndim != 2 or rows.shape[1] != spec.width or not np.all(np.isfinite(rows)):
        raise ValueError(f"expected finite rows of {spec.width} features")
    num = np.asarray(spec.scale_num, dtype=np.float64)
    den = np.asarray(spec.scale_den, dtype=np.float64)
    scaled = rows * num / den
    q = np.rint(scaled)
    near = np.abs(np.abs(scaled - np.floor(scaled)) - 0.5) < 1e-6
    for r, c in zip(*np.nonzero(near), strict=True):
        text = np.format_float_positional(rows[r, c], unique=True, trim="-")
        q[r, c] = round(Fraction(text) * spec.scale_num[c] / spec.scale_den[c])
    out = q.astype(np.int64) + np.asarray(spec.zero_point, dtype=np.int64)
    if out.size and (int(out.min()) < spec.lo or int(out.max()) > spec.hi):
        raise ValueError(f"inputs quantize outside [{spec.lo}, {spec.hi}]")
    return out


# --- the graph walk -----------------------------------------------------------------------


def _load(source: onnx.ModelProto | str | Path | bytes) -> onnx.ModelProto:
    if isinstance(source, onnx.ModelProto):
        return source
    try:
        if isinstance(source, bytes):
            return onnx.load_from_string(source)
        return onnx.load(str(source))
    except Exception as err:  # onnx raises several kinds
        raise ImporterError(f"cannot read the ONNX model: {err}") from err


def _node_name(node: onnx.NodeProto) -> str:
    return f"{node.op_type} node {node.name or '(unnamed)'!r} -> {list(node.output)}"


class _Builder:
    """Walks an ONNX graph once, turning values into DSM operators."""

    def __init__(self, graph: onnx.GraphProto, calib: npt.NDArray[np.float64] | None) -> None:
        self.graph = graph
        self.calib = calib
        self.ops: list[Op] = []
        self.widths: list[int] = []
        self.values: dict[str, Value] = {}
        self.notes: list[str] = []
        self.input_spec: InputSpec | None = None
        self.ranges: dict[str, tuple[float, float]] = {}
        initializers = {init.name for init in graph.initializer}
        for init in graph.initializer:
            self.values[init.name] = _const(numpy_helper.to_array(init))
        inputs = [i for i in graph.input if i.name not in initializers]
        if len(inputs) != 1:
            raise ImporterError(f"the graph must have exactly one input, has {len(inputs)}")
        self.input_name = inputs[0].name
        self.width = _input_width(inputs[0])
        self.values[self.input_name] = _Input(self.input_name, self.width)
        self.widths.append(self.width)
        if calib is not None:
            if calib.shape[1] != self.width:
                raise ImporterError(
                    f"calibration rows have {calib.shape[1]} features, the model {self.width}"
                )
            tensors = _float_eval(graph, self.input_name, calib)
            self.ranges = {k: (float(v.min()), float(v.max())) for k, v in tensors.items()}

    # -- emitting -------------------------------------------------------------------------

    def _emit(self, op: Op, width: int, qp: QParams, origin: str = "") -> _QT:
        self.ops.append(op)
        self.widths.append(width)
        return _QT(len(self.ops), width, qp, origin)

    def _input_qt(self, qp: QParams, inverse: Fraction) -> _QT:
        if self.input_spec is not None:
            raise ImporterError("the graph input is quantized twice")
        self.input_spec = InputSpec(
            width=self.width,
            lo=-INPUT_BOUND,
            hi=INPUT_BOUND,
            scale_num=(inverse.numerator,) * self.width,
            scale_den=(inverse.denominator,) * self.width,
            zero_point=(qp.zero_point,) * self.width,
        )
        clamp = Requantize((0,), int_array([1]), int_array([0]), 0, qp.lo, qp.hi)
        return self._emit(clamp, self.width, qp)

    def _float_input(self, value: _Input) -> _QT:
        lo, hi = self.ranges[value.name]
        rough = affine_params(lo, hi)
        inverse = Fraction(1.0 / rough.scale).limit_denominator(1 << 16)
        scale = float(1 / inverse)
        zero = int(np.clip(round(-128 - min(lo, 0.0) / scale), -128, 127))
        return self._input_qt(QParams(scale, zero, *INT8), inverse)

    def as_qt(self, value: Value, where: str) -> _QT:
        """The value as an integer tensor (quantizing it from calibration in float mode)."""
        if isinstance(value, _QT):
            return value
        if isinstance(value, _Deq):
            return value.qt
        if isinstance(value, _Softmax | _ArgMax):
            raise ImporterError(f"{where}: Softmax/ArgMax results may only be the graph output")
        if isinstance(value, _Const):
            raise ImporterError(f"{where}: a constant cannot be the data input")
        if self.calib is None:
            raise ImporterError(
                f"{where}: its input is not quantized (no QuantizeLinear before it) in a "
                "quantized graph"
            )
        if isinstance(value, _Input):
            return self._float_input(value)
        if isinstance(value, _Func) and value.fn in ("Sigmoid", "Tanh"):
            qp = (
                QParams(1 / 256, -128, *INT8)
                if value.fn == "Sigmoid"
                else QParams(1 / 127, 0, *INT8)
            )
            return self.quantize(value, qp, where)
        lo, hi = self.ranges[value.name]
        return self.quantize(value, affine_params(lo, hi), where)

    def quantize(self, value: Value, qp: QParams, where: str) -> _QT:
        """Materialize ``value`` on the grid ``qp``."""
        if isinstance(value, _QT | _Deq):
            qt = value if isinstance(value, _QT) else value.qt
            if qt.qp.same(qp):
                return _QT(qt.index, qt.width, qp, qt.origin)
            return self._lut(qt, "Identity", qp)
        if isinstance(value, _Input):
            if self.calib is not None:
                return self._float_input(value)
            return self._input_qt(qp, exact_inverse(qp.scale))
        if isinstance(value, _Linear):
            return self._linear(value, qp)
        if isinstance(value, _Sum):
            return self._sum(value, qp)
        if isinstance(value, _Func):
            src = self.as_qt(value.src, where)
            if value.fn == "Relu" and src.qp.same(qp):
                return self._emit(Relu((src.index,), qp.zero_point), src.width, qp)
            return self._lut(src, value.fn, qp)
        raise ImporterError(f"{where}: cannot quantize a {type(value).__name__.strip('_')}")

    def _lut(self, src: _QT, fn: str, qp: QParams) -> _QT:
        table = activation_table(_FUNCS[fn], src.qp, qp)
        return self._emit(Lut((src.index,), table, src.qp.lo), src.width, qp, fn)

    def _requantize(
        self, source: _QT | int, ratios: FloatArray, qp: QParams, lo: int, width: int
    ) -> _QT:
        pairs = [quantize_multiplier(float(r)) for r in ratios]
        index = source.index if isinstance(source, _QT) else source
        op = Requantize(
            (index,),
            int_array([m for m, _ in pairs]),
            int_array([s for _, s in pairs]),
            qp.zero_point,
            lo,
            qp.hi,
        )
        return self._emit(op, width, qp)

    def _linear(self, lin: _Linear, qp: QParams) -> _QT:
        bias = np.rint(lin.bias / lin.acc_scale).astype(np.int64)
        dense = Dense((lin.src.index,), lin.weights, bias, lin.src.qp.zero_point)
        acc = self._emit(dense, lin.width, qp)
        ratios = lin.acc_scale / qp.scale
        if np.all(ratios == ratios[0]):
            ratios = ratios[:1]
        lo = max(qp.lo, qp.zero_point) if lin.relu else qp.lo
        return self._requantize(acc, ratios, qp, lo, lin.width)

    def _sum(self, total: _Sum, qp: QParams) -> _QT:
        if total.a.width != total.b.width:
            raise ImporterError(f"Add of widths {total.a.width} and {total.b.width}")
        fine = max(total.a.qp.scale, total.b.qp.scale) / 2**ADD_BITS
        parts = []
        for qt in (total.a, total.b):
            factor = round(qt.qp.scale / fine)
            op = Requantize(
                (qt.index,), int_array([factor]), int_array([0]), -factor * qt.qp.zero_point
            )
            parts.append(self._emit(op, qt.width, qt.qp))
        added = self._emit(Add((parts[0].index, parts[1].index)), total.a.width, qp)
        lo = max(qp.lo, qp.zero_point) if total.relu else qp.lo
        return self._requantize(added, np.array([fine / qp.scale]), qp, lo, total.a.width)

    # -- walking --------------------------------------------------------------------------

    def run(self) -> None:
        """Evaluate every node in (topological) order."""
        for node in self.graph.node:
            handler = getattr(self, f"_op_{node.op_type}", None)
            if node.op_type in ("MatMulInteger", "DynamicQuantizeLinear"):
                raise ImporterError(
                    f"{_node_name(node)}: dynamic quantization is not supported; quantize "
                    "statically (onnxruntime.quantization.quantize_static)"
                )
            if handler is None or node.domain not in ("", "ai.onnx", "com.microsoft"):
                raise ImporterError(
                    f"unsupported ONNX operator {node.op_type!r} ({_node_name(node)})"
                )
            ins = [self._get(name, node) if name else None for name in node.input]
            where = _node_name(node)
            outs = handler(node, ins, where)
            for name, value in zip(node.output, outs, strict=False):
                if name:
                    self.values[name] = value

    def _get(self, name: str, node: onnx.NodeProto) -> Value:
        if name not in self.values:
            raise ImporterError(f"{_node_name(node)} reads {name!r}, which is not defined before")
        return self.values[name]

    # -- output ---------------------------------------------------------------------------

    def finish(self, output: str, labels: Sequence[Any] | None, proto: onnx.ModelProto) -> Model:
        """Build the DSM model from the value of the first graph output."""
        if not self.graph.output:
            raise ImporterError("the graph has no output")
        name = self.graph.output[0].name
        value = self.values.get(name)
        if value is None:
            raise ImporterError(f"graph output {name!r} is not produced by any node")
        if isinstance(value, _ArgMax):
            if output == "raw":
                self.notes.append("argmax dropped")
            value = value.inner
        value = self._strip(value, output)
        where = f"graph output {name!r}"
        if isinstance(value, _Linear | _Sum | _Func) and (output == "class" or self.calib is None):
            qt = self.quantize(value, self._fine(value), where)
        else:
            qt = self.as_qt(value, where)
        if self.input_spec is None:
            raise ImporterError("the graph input is never quantized")
        if output == "class":
            if qt.width == 1:
                real = 0.5 if qt.origin == "Sigmoid" else 0.0
                threshold = math.floor(real / qt.qp.scale + qt.qp.zero_point) + 1
                self._emit(Threshold((qt.index,), threshold), 1, qt.qp)
            else:
                self._emit(Argmax((qt.index,)), 1, qt.qp)
            names = () if labels is None else class_labels(list(labels))
            if names and len(names) != max(qt.width, 2 if qt.width == 1 else 0):
                raise ImporterError(f"{len(names)} labels for {max(qt.width, 2)} classes")
            spec = OutputSpec(labels=names)
        else:
            if labels is not None and len(labels) != qt.width:
                raise ImporterError(f"{len(labels)} labels for {qt.width} output columns")
            scale = Fraction(float(qt.qp.scale))
            spec = OutputSpec(
                labels=() if labels is None else class_labels(list(labels)),
                scale_num=scale.numerator,
                scale_den=scale.denominator,
                zero_point=qt.qp.zero_point,
            )
        kind = "float+calibration" if self.calib is not None else "quantized"
        note = f" ({', '.join(self.notes)})" if self.notes else ""
        title = f"onnx {kind} {proto.producer_name or 'model'} {self.graph.name}".strip()
        return Model(self.input_spec, tuple(self.ops), spec, title + note)

    def _strip(self, value: Value, output: str) -> Value:
        while True:
            if isinstance(value, _Softmax):
                self.notes.append("softmax dropped")
                value = value.inner
            elif output == "class" and isinstance(value, _Func) and value.fn in _MONOTONE:
                self.notes.append(f"{value.fn.lower()} dropped")
                value = value.src
            else:
                return value

    def _fine(self, value: Value) -> QParams:
        """A fine output grid for unquantized logits (calibrated peak, else a proven bound)."""
        name = getattr(value, "name", "")
        if self.calib is not None and name in self.ranges:
            lo, hi = self.ranges[name]
            peak = max(abs(lo), abs(hi))
        elif isinstance(value, _Linear):
            src = value.src.qp
            centered = max(abs(src.lo - src.zero_point), abs(src.hi - src.zero_point))
            reach = np.abs(value.weights).sum(axis=1) * centered * value.acc_scale
            peak = float(np.max(reach + np.abs(value.bias)))
        else:
            raise ImporterError("the graph output must be quantized (end with QuantizeLinear)")
        scale = max(peak, 1e-12) / 2**FINE_BITS
        return QParams(scale, 0, -FINE_CLAMP, FINE_CLAMP)

    # -- operators ------------------------------------------------------------------------

    def _params(self, scale: Value | None, zero: Value | None, where: str) -> QParams:
        if not isinstance(scale, _Const) or scale.values.size != 1:
            raise ImporterError(f"{where}: quantization scale must be a constant scalar")
        s = float(scale.values.reshape(-1)[0])
        if zero is None:
            return QParams(s, 0, *UINT8)
        if not isinstance(zero, _Const) or zero.values.size != 1 or zero.ints is None:
            raise ImporterError(f"{where}: zero point must be a constant integer scalar")
        qrange = _qrange(zero.dtype, where)
        return QParams(s, int(zero.values.reshape(-1)[0]), *qrange)

    def _op_QuantizeLinear(self, node: onnx.NodeProto, ins: list[Any], where: str) -> list[Value]:
        x = ins[0]
        if isinstance(x, _Softmax):
            return [x]
        qp = self._params(ins[1], ins[2] if len(ins) > 2 else None, where)
        if isinstance(x, _Const):
            raise ImporterError(f"{where}: quantizing a float constant at run time")
        return [self.quantize(x, qp, where)]

    def _op_DequantizeLinear(self, node: onnx.NodeProto, ins: list[Any], where: str) -> list[Value]:
        x = ins[0]
        if isinstance(x, _Softmax):
            return [x]
        zero = ins[2] if len(ins) > 2 else None
        if isinstance(x, _Const):
            return [_dequantize_const(x, ins[1], zero, _attr(node, "axis", 1), where)]
        if not isinstance(x, _QT):
            raise ImporterError(f"{where}: DequantizeLinear of a non-quantized tensor")
        qp = self._params(ins[1], zero, where)
        return [_Deq(_QT(x.index, x.width, QParams(qp.scale, qp.zero_point, x.qp.lo, x.qp.hi)))]

    def _matmul(
        self, x: Value, w: Value, where: str, transpose: bool = False, alpha: float = 1.0
    ) -> _Linear:
        if not isinstance(w, _Const) or w.values.ndim != 2:
            raise ImporterError(f"{where}: the weight operand must be a 2-D constant")
        src = self.as_qt(x, where)
        weights, scales = self._weights(w, transpose, where)
        if weights.shape[1] != src.width:
            raise ImporterError(
                f"{where}: weights expect {weights.shape[1]} inputs, the tensor has {src.width}"
            )
        acc_scale = src.qp.scale * scales * alpha
        return _Linear(src, weights, acc_scale, np.zeros(weights.shape[0]), "")

    def _weights(
        self, w: _Const, transpose: bool, where: str
    ) -> tuple[npt.NDArray[np.int64], FloatArray]:
        """Integer weights ``out × in`` and their per-output scale."""

        def out_major(a: npt.NDArray[Any]) -> npt.NDArray[Any]:
            return a if transpose else a.T

        if w.ints is None or w.scale is None or w.zero is None:
            if self.calib is None:
                raise ImporterError(f"{where}: float weights in a quantized graph")
            q, scales = symmetric_per_channel(out_major(w.values).astype(np.float64))
            return q, scales
        scale = out_major(w.scale)
        if not np.all(scale == scale[:, :1]):
            raise ImporterError(f"{where}: weight scales must be per tensor or per output")
        ints = out_major(w.ints) - out_major(w.zero)
        return ints.astype(np.int64), scale[:, 0].astype(np.float64)

    def _op_MatMul(self, node: onnx.NodeProto, ins: list[Any], where: str) -> list[Value]:
        lin = self._matmul(ins[0], ins[1], where)
        return [_Linear(lin.src, lin.weights, lin.acc_scale, lin.bias, node.output[0])]

    def _op_Gemm(self, node: onnx.NodeProto, ins: list[Any], where: str) -> list[Value]:
        if _attr(node, "transA", 0):
            raise ImporterError(f"{where}: transA=1 is not supported")
        alpha, beta = float(_attr(node, "alpha", 1.0)), float(_attr(node, "beta", 1.0))
        lin = self._matmul(ins[0], ins[1], where, bool(_attr(node, "transB", 0)), alpha)
        bias = lin.bias
        if len(ins) > 2 and ins[2] is not None:
            bias = bias + beta * _bias(ins[2], lin.width, where)
        return [_Linear(lin.src, lin.weights, lin.acc_scale, bias, node.output[0])]

    def _op_Add(self, node: onnx.NodeProto, ins: list[Any], where: str) -> list[Value]:
        return [self._add(ins[0], ins[1], node.output[0], where)]

    def _add(self, a: Value, b: Value, name: str, where: str) -> Value:
        if isinstance(a, _Const):
            a, b = b, a
        if isinstance(b, _Const):
            if isinstance(a, _Linear) and not a.relu:
                bias = a.bias + _bias(b, a.width, where)
                return _Linear(a.src, a.weights, a.acc_scale, bias, name)
            src = self.as_qt(a, where)
            eye = np.eye(src.width, dtype=np.int64) << DIAG_BITS
            acc = np.full(src.width, src.qp.scale / 2**DIAG_BITS)
            return _Linear(src, eye, acc, _bias(b, src.width, where), name)
        return _Sum(self.as_qt(a, where), self.as_qt(b, where), name)

    def _op_Relu(self, node: onnx.NodeProto, ins: list[Any], where: str) -> list[Value]:
        x, name = ins[0], node.output[0]
        if isinstance(x, _Linear):
            return [_Linear(x.src, x.weights, x.acc_scale, x.bias, name, True)]
        if isinstance(x, _Sum):
            return [_Sum(x.a, x.b, name, True)]
        return [_Func(self._data(x, where), "Relu", name)]

    def _data(self, x: Value, where: str) -> Value:
        if isinstance(x, _Const | _Softmax | _ArgMax):
            raise ImporterError(f"{where}: unsupported operand {type(x).__name__.strip('_')}")
        return x

    def _op_Sigmoid(self, node: onnx.NodeProto, ins: list[Any], where: str) -> list[Value]:
        return [_Func(self._data(ins[0], where), "Sigmoid", node.output[0])]

    def _op_Tanh(self, node: onnx.NodeProto, ins: list[Any], where: str) -> list[Value]:
        return [_Func(self._data(ins[0], where), "Tanh", node.output[0])]

    def _op_Softmax(self, node: onnx.NodeProto, ins: list[Any], where: str) -> list[Value]:
        if _attr(node, "axis", -1) not in (-1, 1):
            raise ImporterError(f"{where}: Softmax must be over the feature axis")
        return [_Softmax(self._data(ins[0], where))]

    def _op_ArgMax(self, node: onnx.NodeProto, ins: list[Any], where: str) -> list[Value]:
        if _attr(node, "axis", 0) not in (-1, 1) or _attr(node, "select_last_index", 0):
            raise ImporterError(f"{where}: ArgMax must be over axis 1 (first maximum)")
        return [_ArgMax(self._data(ins[0], where))]

    def _op_Identity(self, node: onnx.NodeProto, ins: list[Any], where: str) -> list[Value]:
        return [ins[0]]

    def _op_Flatten(self, node: onnx.NodeProto, ins: list[Any], where: str) -> list[Value]:
        if _attr(node, "axis", 1) != 1:
            raise ImporterError(f"{where}: only Flatten(axis=1) of rows is supported")
        return [ins[0]]

    def _op_Reshape(self, node: onnx.NodeProto, ins: list[Any], where: str) -> list[Value]:
        shape = ins[1]
        if not isinstance(shape, _Const):
            raise ImporterError(f"{where}: Reshape needs a constant shape")
        dims = [int(d) for d in shape.values.reshape(-1)]
        if len(dims) != 2 or dims[0] not in (-1, 0, 1) or dims[1] in (0,):
            raise ImporterError(f"{where}: only a reshape to rows (-1, width) is supported")
        return [ins[0]]

    def _op_Constant(self, node: onnx.NodeProto, ins: list[Any], where: str) -> list[Value]:
        for attribute in node.attribute:
            if attribute.name == "value":
                return [_const(numpy_helper.to_array(attribute.t))]
        raise ImporterError(f"{where}: only Constant(value=tensor) is supported")

    def _op_QLinearMatMul(self, node: onnx.NodeProto, ins: list[Any], where: str) -> list[Value]:
        x = self._qinput(ins[0], ins[1], ins[2], where)
        w = _dequantize_const(_need_const(ins[3], where), ins[4], ins[5], 1, where)
        lin = self._matmul(x, w, where)
        return [self.quantize(lin, self._params(ins[6], ins[7], where), where)]

    def _op_QGemm(self, node: onnx.NodeProto, ins: list[Any], where: str) -> list[Value]:
        if _attr(node, "transA", 0):
            raise ImporterError(f"{where}: transA=1 is not supported")
        transpose = bool(_attr(node, "transB", 0))
        alpha = float(_attr(node, "alpha", 1.0))
        x = self._qinput(ins[0], ins[1], ins[2], where)
        w = _dequantize_const(
            _need_const(ins[3], where), ins[4], ins[5], 0 if transpose else 1, where
        )
        lin = self._matmul(x, w, where, transpose, alpha)
        bias = lin.bias
        if len(ins) > 6 and ins[6] is not None:
            c = _need_const(ins[6], where)
            bias = bias + c.values.reshape(-1) * lin.acc_scale  # int32 at a_scale * b_scale
        lin = _Linear(lin.src, lin.weights, lin.acc_scale, bias, node.output[0])
        if len(ins) > 7 and ins[7] is not None:
            return [self.quantize(lin, self._params(ins[7], ins[8], where), where)]
        return [lin]

    def _op_QLinearAdd(self, node: onnx.NodeProto, ins: list[Any], where: str) -> list[Value]:
        a = self._qinput(ins[0], ins[1], ins[2], where)
        b = self._qinput(ins[3], ins[4], ins[5], where)
        total = self._add(a, b, node.output[0], where)
        return [self.quantize(total, self._params(ins[6], ins[7], where), where)]

    def _op_QLinearSigmoid(self, node: onnx.NodeProto, ins: list[Any], where: str) -> list[Value]:
        x = self._qinput(ins[0], ins[1], ins[2], where)
        func = _Func(x, "Sigmoid", node.output[0])
        return [self.quantize(func, self._params(ins[3], ins[4], where), where)]

    def _op_QLinearSoftmax(self, node: onnx.NodeProto, ins: list[Any], where: str) -> list[Value]:
        return [_Softmax(self._qinput(ins[0], ins[1], ins[2], where))]

    def _qinput(self, x: Value, scale: Value, zero: Value, where: str) -> Value:
        """A QOperator operand: a quantized tensor, or an integer constant, dequantized."""
        if isinstance(x, _Const):
            return _dequantize_const(x, scale, zero, 1, where)
        if not isinstance(x, _QT):
            raise ImporterError(f"{where}: operand is not a quantized tensor")
        qp = self._params(scale, zero, where)
        return _Deq(_QT(x.index, x.width, QParams(qp.scale, qp.zero_point, x.qp.lo, x.qp.hi)))


# --- helpers ------------------------------------------------------------------------------


def _attr(node: onnx.NodeProto, name: str, default: Any) -> Any:
    for attribute in node.attribute:
        if attribute.name == name:
            return onnx.helper.get_attribute_value(attribute)
    return default


def _const(array: npt.NDArray[Any]) -> _Const:
    if np.issubdtype(array.dtype, np.integer):
        ints = array.astype(np.int64)
        return _Const(ints.astype(np.float64), ints, dtype=str(array.dtype))
    return _Const(np.asarray(array, dtype=np.float64))


def _need_const(value: Any, where: str) -> _Const:
    if not isinstance(value, _Const):
        raise ImporterError(f"{where}: expected a constant (initializer) operand")
    return value


def _qrange(dtype: str, where: str) -> tuple[int, int]:
    if dtype == "int8":
        return INT8
    if dtype == "uint8":
        return UINT8
    raise ImporterError(f"{where}: only int8/uint8 activations are supported, got {dtype}")


def _dequantize_const(x: _Const, scale: Any, zero: Any, axis: int, where: str) -> _Const:
    """``DequantizeLinear`` of an integer constant (per tensor or along ``axis``)."""
    if x.ints is None:
        raise ImporterError(f"{where}: DequantizeLinear of a float constant")
    s = _need_const(scale, where).values
    z = np.zeros_like(s, dtype=np.int64) if zero is None else _need_const(zero, where).ints
    if z is None:
        raise ImporterError(f"{where}: zero point must be integer")
    if s.size > 1:
        if x.ints.ndim == 0:
            raise ImporterError(f"{where}: per-axis scale for a scalar")
        shape = [1] * x.ints.ndim
        shape[axis] = -1
        s, z = s.reshape(shape), z.reshape(shape)
    full_s = np.broadcast_to(s, x.ints.shape).astype(np.float64)
    full_z = np.broadcast_to(z, x.ints.shape).astype(np.int64)
    return _Const((x.ints - full_z) * full_s, x.ints, full_s, full_z, x.dtype)


def _bias(value: Value, width: int, where: str) -> FloatArray:
    if not isinstance(value, _Const):
        raise ImporterError(f"{where}: bias must be a constant")
    flat = value.values.reshape(-1)
    if flat.size == 1:
        return np.full(width, float(flat[0]))
    if flat.size != width:
        raise ImporterError(f"{where}: bias of {flat.size} values for {width} columns")
    return flat.astype(np.float64)


def _input_width(info: onnx.ValueInfoProto) -> int:
    tensor = info.type.tensor_type
    if not info.type.HasField("tensor_type") or tensor.elem_type not in (
        onnx.TensorProto.FLOAT,
        onnx.TensorProto.DOUBLE,
        onnx.TensorProto.FLOAT16,
    ):
        raise ImporterError(f"graph input {info.name!r} must be a float tensor")
    dims = list(tensor.shape.dim)
    if len(dims) != 2:
        raise ImporterError(
            f"graph input {info.name!r} must be 2-D (rows, features), has rank {len(dims)}"
        )
    last = dims[1]
    if not last.HasField("dim_value") or last.dim_value < 1:
        raise ImporterError(
            f"graph input {info.name!r} needs a fixed number of features, got "
            f"{last.dim_param or 'an unknown dimension'!r}"
        )
    if dims[0].HasField("dim_value") and dims[0].dim_value not in (1,) and dims[0].dim_value < 1:
        raise ImporterError(f"graph input {info.name!r} has a bad batch dimension")
    return int(last.dim_value)


def _float_eval(
    graph: onnx.GraphProto, input_name: str, X: npt.NDArray[np.float64]
) -> dict[str, FloatArray]:
    """Run a float graph in numpy (float64) and return every tensor (for calibration)."""
    env: dict[str, Any] = {init.name: numpy_helper.to_array(init) for init in graph.initializer}
    env[input_name] = X
    for node in graph.node:
        ins: list[Any] = [env[name] if name else None for name in node.input]
        op = node.op_type
        if op == "MatMul":
            out = ins[0] @ ins[1]
        elif op == "Gemm":
            b = ins[1].T if _attr(node, "transB", 0) else ins[1]
            out = float(_attr(node, "alpha", 1.0)) * (ins[0] @ b)
            if len(ins) > 2 and ins[2] is not None:
                out = out + float(_attr(node, "beta", 1.0)) * ins[2]
        elif op == "Add":
            out = ins[0] + ins[1]
        elif op == "Relu":
            out = np.maximum(ins[0], 0.0)
        elif op == "Sigmoid":
            out = sigmoid(ins[0])
        elif op == "Tanh":
            out = np.tanh(ins[0])
        elif op == "Softmax":
            e = np.exp(ins[0] - ins[0].max(axis=-1, keepdims=True))
            out = e / e.sum(axis=-1, keepdims=True)
        elif op == "ArgMax":
            out = np.argmax(ins[0], axis=-1)
        elif op in ("Identity", "Flatten", "Reshape"):
            out = ins[0]
        elif op == "Constant":
            out = numpy_helper.to_array(node.attribute[0].t)
        else:
            raise ImporterError(f"unsupported ONNX operator {op!r} ({_node_name(node)})")
        env[node.output[0]] = np.asarray(out, dtype=np.float64)
    return env
