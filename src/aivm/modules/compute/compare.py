"""Comparing the results of redundant off-chain runs by the model's declared rule (issue 14).

Pure functions, no state: the job logic checks each submitted result with
:func:`check_result`, compares pairs with :func:`agree` (charging :func:`comparison_gas`
each) and picks the agreeing majority with :func:`majority`.

Rules (declared at registration, :mod:`aivm.modules.ai.comparison`):

* ``exact`` — the output digests are equal (integer outputs, byte-identical output files);
* ``tokens`` — ``comparison_data`` holds the output as little-endian uint32 token ids; two
  results agree when the sequences are equal, which (``check_result`` having tied the data to
  the digest) is when the digests are equal; :func:`first_difference` names the first token
  where they part, for events;
* ``tolerance`` — ``comparison_data`` holds the output as little-endian IEEE-754 float32
  elements, every one finite; two results agree when they have the same length and for every
  element pair ``|x − y| ≤ atol + rtol · max(|x|, |y|)``.

No floating-point arithmetic is used. A finite float32 is ``±M · 2^E`` with integers ``M`` <
2^24 and ``−149 ≤ E ≤ 104``, so it is the integer ``N = ±M · 2^(E+149)`` times ``2^−149``;
``atol`` and ``rtol`` are 18-place decimals ``A / 10^18`` and ``R / 10^18``. Multiplying the
condition by ``10^18 · 2^149`` leaves integers only::

    |Nx − Ny| · 10^18  ≤  A · 2^149 + R · max(|Nx|, |Ny|)

which Python's integers decide exactly (about 340 bits at most). The condition is symmetric in
x and y, +0 and −0 are the same value, and results with equal digests always agree.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Sequence
from dataclasses import dataclass

from aivm.modules.ai.comparison import EXACT, TOKENS, TOLERANCE, parse_rule
from aivm.modules.compute import compute_pb2
from aivm.modules.compute.errors import CODESPACE
from aivm.types.dec import PRECISION, Dec
from aivm.types.errors import register
from aivm.types.protogen import ai_pb2

ErrInvalidResult = register(CODESPACE, 40, "invalid result")

DIGEST_BYTES = 32
ELEMENT_BYTES = 4
_SCALE_BITS = 149
"""float32 values are integer multiples of 2^-149 (the smallest subnormal)."""
_DEC_ONE = 10**PRECISION
_EXPONENT_MASK = 0x7F800000
_MANTISSA_MASK = 0x007FFFFF
_IMPLICIT_BIT = 0x00800000
_SIGN_BIT = 0x80000000

# Gas (ADR 0010: one gas unit ≈ 2.6-2.9 ns on the development VM), set from the figures
# benchmarks/compute_compare.py measures there: an agree() call whose digests are equal (or
# with the tokens rule) ≈ 0.3 µs; the tolerance rule ≈ 1 µs to start and ≈ 0.4 µs per
# element when every element differs (decoded and compared exactly; less when many are
# bit-equal, but the charge is the worst case); check_result ≈ 0.5 ns per byte for the
# sha256, ≈ 15 ns per byte with the tolerance rule's finiteness scan.
COMPARE_BASE_GAS = 100
"""One agree() call: digest comparison, argument handling."""
TOLERANCE_SETUP_GAS = 300
"""The tolerance rule's set-up: unpacking both arrays, scaling the tolerances."""
TOLERANCE_GAS_PER_ELEMENT = 150
"""One float32 pair decoded and compared exactly (the worst case: every element differs)."""
CHECK_GAS_PER_KILO_BYTE = 200
"""check_result: sha256 of 1,000 bytes of comparison data."""
CHECK_TOLERANCE_GAS_PER_KILO_BYTE = 5_500
"""check_result with the tolerance rule: sha256 and the finiteness scan of 1,000 bytes."""


@dataclass(frozen=True)
class ComparisonRule:
    """How results of one model version are compared (see the module docstring)."""

    kind: str
    """``exact`` | ``tolerance`` | ``tokens``."""
    atol: Dec
    """Absolute tolerance (``tolerance`` only; else 0)."""
    rtol: Dec
    """Relative tolerance (``tolerance`` only; else 0)."""


EXACT_RULE = ComparisonRule(EXACT, Dec.zero(), Dec.zero())


def rule_of(version: ai_pb2.ModelVersion) -> ComparisonRule:
    """The rule a model version declared (``""``, from versions registered before rules
    existed, is ``exact``); ai ErrInvalidComparison if the stored rule is not valid."""
    rule = parse_rule(
        version.comparison,
        version.comparison_atol,
        version.comparison_rtol,
        offchain=version.execution_path == "offchain",
    )
    return ComparisonRule(rule.kind, rule.atol, rule.rtol)


# -- checking one result --------------------------------------------------------------------


def check_result(
    rule: ComparisonRule, output_digest: bytes, comparison_data: bytes, max_bytes: int
) -> None:
    """Refuse (ErrInvalidResult) a result that cannot be compared by ``rule``.

    The digest is 32 bytes. ``comparison_data``, when given (required by ``tolerance`` and
    ``tokens``), is at most ``max_bytes`` and hashes (sha256) to the digest; for
    ``tolerance`` and ``tokens`` it is a whole number of 4-byte elements, and for
    ``tolerance`` every float32 element is finite (no NaN, no infinity).
    """
    if len(output_digest) != DIGEST_BYTES:
        raise ErrInvalidResult.wrap(f"output digest must be {DIGEST_BYTES} bytes")
    if len(comparison_data) > max_bytes:
        raise ErrInvalidResult.wrap(
            f"comparison data of {len(comparison_data)} bytes exceeds {max_bytes}"
        )
    if rule.kind == EXACT:
        if comparison_data:
            _check_digest(output_digest, comparison_data)
        return
    if rule.kind not in (TOLERANCE, TOKENS):
        raise ErrInvalidResult.wrap(f"unknown comparison rule {rule.kind!r}")
    if not comparison_data:
        raise ErrInvalidResult.wrap(f"the {rule.kind} rule needs the output as comparison data")
    if len(comparison_data) % ELEMENT_BYTES:
        raise ErrInvalidResult.wrap(
            f"comparison data of {len(comparison_data)} bytes is not whole 4-byte elements"
        )
    _check_digest(output_digest, comparison_data)
    if rule.kind == TOLERANCE:
        bad = _first_non_finite(_words(comparison_data))
        if bad is not None:
            raise ErrInvalidResult.wrap(f"element {bad} is not a finite float32 (NaN or Inf)")


def _check_digest(output_digest: bytes, comparison_data: bytes) -> None:
    if hashlib.sha256(comparison_data).digest() != output_digest:
        raise ErrInvalidResult.wrap("sha256 of the comparison data differs from the digest")


def _words(data: bytes) -> tuple[int, ...]:
    """The little-endian uint32 words of ``data`` (whole words only)."""
    return struct.unpack(f"<{len(data) // ELEMENT_BYTES}I", data[: len(data) & ~3])


def _first_non_finite(words: Sequence[int]) -> int | None:
    """Index of the first NaN or infinity (exponent bits all ones), None if all finite."""
    for index, word in enumerate(words):
        if word & _EXPONENT_MASK == _EXPONENT_MASK:
            return index
    return None


def float32_scaled(word: int) -> int:
    """The finite float32 with bits ``word`` as an exact integer multiple of 2^-149
    (``value = float32_scaled(word) / 2**149``); ValueError for NaN and infinities."""
    exponent = (word & _EXPONENT_MASK) >> 23
    if exponent == 0xFF:
        raise ValueError("NaN or infinity")
    mantissa = word & _MANTISSA_MASK
    magnitude = mantissa if exponent == 0 else (mantissa | _IMPLICIT_BIT) << (exponent - 1)
    return -magnitude if word & _SIGN_BIT else magnitude


# -- comparing two results ------------------------------------------------------------------


def agree(rule: ComparisonRule, a: compute_pb2.JobResult, b: compute_pb2.JobResult) -> bool:
    """Whether two results agree under ``rule`` (symmetric; equal digests always agree).

    ``exact`` and ``tokens``: the digests are equal. ``tolerance``: the comparison data hold
    the same number of finite float32 elements, each pair within ``atol + rtol · max(|x|,
    |y|)``, decided in exact integer arithmetic. Malformed data (which :func:`check_result`
    refuses) never agrees with anything but an equal digest.
    """
    if len(a.output_digest) == DIGEST_BYTES and a.output_digest == b.output_digest:
        return True
    if rule.kind != TOLERANCE:
        return False
    return within_tolerance(rule, a.comparison_data, b.comparison_data)


def within_tolerance(rule: ComparisonRule, a_data: bytes, b_data: bytes) -> bool:
    """The tolerance condition on two float32 arrays (little-endian bytes); False when the
    lengths differ, are not whole elements, or an element is not finite.

    The loop is :func:`float32_scaled` and the condition of the module docstring inlined
    (it is the hot path: one pass per element pair, charged per element)."""
    if len(a_data) != len(b_data) or len(a_data) % ELEMENT_BYTES:
        return False
    atol_scaled = rule.atol.bigint() << _SCALE_BITS
    rtol = rule.rtol.bigint()
    exp_mask, man_mask, implicit, one = _EXPONENT_MASK, _MANTISSA_MASK, _IMPLICIT_BIT, _DEC_ONE
    for x, y in zip(_words(a_data), _words(b_data), strict=True):
        if x == y:
            if x & exp_mask == exp_mask:
                return False
            continue
        ex, ey = x & exp_mask, y & exp_mask
        if ex == exp_mask or ey == exp_mask:
            return False
        # magnitudes in units of 2^-149; signs apart
        mx = x & man_mask if ex == 0 else ((x & man_mask) | implicit) << ((ex >> 23) - 1)
        my = y & man_mask if ey == 0 else ((y & man_mask) | implicit) << ((ey >> 23) - 1)
        larger = mx if mx > my else my
        # opposite signs: the magnitudes add; same sign: they subtract
        distance = mx + my if (x ^ y) & _SIGN_BIT else abs(mx - my)
        if distance * one > atol_scaled + rtol * larger:
            return False
    return True


def first_difference(a_data: bytes, b_data: bytes) -> int | None:
    """Index of the first 4-byte element where two outputs differ (the shorter one's length
    when it is a prefix of the other), None when they are equal. For token sequences: the
    first token the two generations do not share."""
    if a_data == b_data:
        return None
    length = min(len(a_data), len(b_data))
    if a_data[:length] == b_data[:length]:
        return length // ELEMENT_BYTES
    low, high = 0, length  # the first differing byte is in [low, high)
    while high - low > 1:
        middle = (low + high) // 2
        if a_data[low:middle] == b_data[low:middle]:
            low = middle
        else:
            high = middle
    return low // ELEMENT_BYTES


def comparison_gas(rule: ComparisonRule, nbytes: int) -> int:
    """Gas of one :func:`agree` call on results of ``nbytes`` bytes of comparison data
    (the worst case: for ``tolerance``, every element differs)."""
    if rule.kind != TOLERANCE:
        return COMPARE_BASE_GAS
    elements = nbytes // ELEMENT_BYTES
    return COMPARE_BASE_GAS + TOLERANCE_SETUP_GAS + elements * TOLERANCE_GAS_PER_ELEMENT


def check_gas(rule: ComparisonRule, nbytes: int) -> int:
    """Gas of one :func:`check_result` call with ``nbytes`` bytes of comparison data."""
    per_kilo = (
        CHECK_TOLERANCE_GAS_PER_KILO_BYTE if rule.kind == TOLERANCE else CHECK_GAS_PER_KILO_BYTE
    )
    return COMPARE_BASE_GAS + -(-nbytes * per_kilo // 1000)


def majority_gas(rule: ComparisonRule, nbytes: int, count: int) -> int:
    """Gas of :func:`majority` over ``count`` results: one :func:`agree` per pair."""
    return count * (count - 1) // 2 * comparison_gas(rule, nbytes)


# -- the agreeing majority ------------------------------------------------------------------


def majority(
    rule: ComparisonRule, results: Sequence[compute_pb2.JobResult]
) -> tuple[int, list[int]] | None:
    """The pivot result and the indices agreeing with it, if they are a strict majority.

    For each result (in order) count the results that agree with it, itself included; the
    pivot is the result with the most (ties: the lowest index). Returns ``(pivot, indices)``
    with ``indices`` ascending and including the pivot when ``2 · len(indices) >
    len(results)``, else None (also for no results). Each pair is compared once
    (:func:`agree` is symmetric): ``len(results) · (len(results) − 1) / 2`` calls.
    """
    count = len(results)
    if count == 0:
        return None
    agrees = [[i == j for j in range(count)] for i in range(count)]
    for i in range(count):
        for j in range(i + 1, count):
            agrees[i][j] = agrees[j][i] = agree(rule, results[i], results[j])
    support = [sum(row) for row in agrees]
    pivot = support.index(max(support))  # the first index with the most agreement
    members = [j for j in range(count) if agrees[pivot][j]]
    if 2 * len(members) <= count:
        return None
    return pivot, members
