"""Fixed-point helpers shared by the neural-network importers (off-chain; floats allowed).

- :func:`quantize_multiplier`: a positive real ratio ``M`` as ``(m, s)`` with ``M ≈ m / 2**s``
  and ``2**30 <= m < 2**31`` (31-bit multiplier, gemmlowp style), so that the DSM
  ``Requantize`` computes ``(x * m + 2**(s-1)) >> s ≈ round(x * M)`` (ties up).
- :func:`affine_params`: an asymmetric int8/uint8 ``(scale, zero_point)`` covering a
  calibrated range (always containing 0, so real 0 is exactly representable).
- :func:`symmetric_per_channel`: symmetric int8 weights, one scale per output channel.
- :func:`activation_table`: a ``Lut`` table applying a real function to every integer of a
  quantized input domain and requantizing the result.
- :func:`exact_inverse`: the exact rational ``1 / scale`` of a float scale (input quantization).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import numpy.typing as npt

MULTIPLIER_BITS = 31
MAX_SHIFT = 62

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class QParams:
    """Affine quantization of a tensor: ``real = scale * (q - zero_point)``, ``q ∈ [lo, hi]``."""

    scale: float
    zero_point: int
    lo: int
    hi: int

    def quantize(self, real: npt.ArrayLike) -> npt.NDArray[np.int64]:
        """``clamp(round_half_even(real / scale) + zero_point, lo, hi)`` (float math)."""
        q = np.rint(np.asarray(real, dtype=np.float64) / self.scale) + self.zero_point
        out: npt.NDArray[np.int64] = np.clip(q, self.lo, self.hi).astype(np.int64)
        return out

    def same(self, other: QParams) -> bool:
        """Same grid and range (up to float32 rounding of the scale)."""
        return (
            math.isclose(self.scale, other.scale, rel_tol=1e-6)
            and self.zero_point == other.zero_point
            and (self.lo, self.hi) == (other.lo, other.hi)
        )


INT8 = (-128, 127)
UINT8 = (0, 255)


def quantize_multiplier(real: float) -> tuple[int, int]:
    """``(m, s)`` with ``real ≈ m / 2**s``: 31-bit ``m`` when ``s`` allows, ``0 <= s <= 62``.

    ``real`` must be positive and finite. Large ratios (``>= 2**30``) get ``s = 0`` and
    ``m = round(real)``; tiny ones get ``s = 62`` and a short ``m`` (possibly 0).
    """
    if not math.isfinite(real) or real <= 0:
        raise ValueError(f"requantization ratio must be positive and finite, got {real!r}")
    _, exponent = math.frexp(real)  # real = mantissa * 2**exponent, 0.5 <= mantissa < 1
    shift = MULTIPLIER_BITS - exponent
    if shift < 0:
        return round(real), 0
    if shift > MAX_SHIFT:
        shift = MAX_SHIFT
    multiplier = round(Fraction(real) * (1 << shift))
    if multiplier >= 1 << MULTIPLIER_BITS and shift > 0:  # mantissa rounded up to 1.0
        multiplier //= 2
        shift -= 1
    return multiplier, shift


def affine_params(lo: float, hi: float, qrange: tuple[int, int] = INT8) -> QParams:
    """Asymmetric params covering ``[min(lo, 0), max(hi, 0)]`` on ``qrange`` (ORT's MinMax)."""
    qmin, qmax = qrange
    lo, hi = min(float(lo), 0.0), max(float(hi), 0.0)
    if hi - lo <= 0:
        return QParams(1.0, qmin if lo == 0 else qmax, qmin, qmax)
    scale = (hi - lo) / (qmax - qmin)
    zero = int(np.clip(round(qmin - lo / scale), qmin, qmax))
    return QParams(scale, zero, qmin, qmax)


def symmetric_per_channel(
    weights: FloatArray, bits: int = 8
) -> tuple[npt.NDArray[np.int64], FloatArray]:
    """Quantize ``weights`` (``out × in``) symmetrically per output row.

    ``scale_j = max_i |w_ji| / (2**(bits-1) - 1)`` (1.0 for an all-zero row) and
    ``q_ji = round_half_even(w_ji / scale_j)`` in ``[-127, 127]`` for 8 bits.
    """
    limit = (1 << (bits - 1)) - 1
    peak = np.abs(weights).max(axis=1)
    scales = np.where(peak > 0, peak / limit, 1.0)
    q = np.clip(np.rint(weights / scales[:, None]), -limit, limit).astype(np.int64)
    return q, scales.astype(np.float64)


def activation_table(
    fn: Callable[[FloatArray], FloatArray], source: QParams, target: QParams
) -> npt.NDArray[np.int64]:
    """``table[q - source.lo] = target.quantize(fn(source.scale * (q - source.zero_point)))``."""
    q = np.arange(source.lo, source.hi + 1, dtype=np.float64)
    return target.quantize(fn(source.scale * (q - source.zero_point)))


def exact_inverse(scale: float) -> Fraction:
    """The exact rational ``1 / scale`` of a positive float (float32 scales are exact too)."""
    if not math.isfinite(scale) or scale <= 0:
        raise ValueError(f"scale must be positive and finite, got {scale!r}")
    return 1 / Fraction(float(scale))


def sigmoid(x: FloatArray) -> FloatArray:
    """Numerically stable logistic function."""
    out: FloatArray = 0.5 * (1.0 + np.tanh(0.5 * np.asarray(x, dtype=np.float64)))
    return out
