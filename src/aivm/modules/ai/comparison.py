"""The result comparison rule a model version declares (issue 14).

When the compute module runs an off-chain job on k > 1 providers, it compares their results
by the rule the model version declared at registration:

* ``exact`` — the output digests are equal (integer outputs; every on-chain version);
* ``tolerance`` — the outputs are little-endian float32 tensors of the same length and every
  element pair satisfies ``|x − y| ≤ atol + rtol · max(|x|, |y|)`` (exact rational arithmetic,
  see :mod:`aivm.modules.compute.compare`);
* ``tokens`` — the outputs are the same sequence of little-endian uint32 token ids.

``atol`` and ``rtol`` are decimals (``aivm.types.dec.Dec``, 18 places): ``0 ≤ atol ≤ 10^6``,
``0 ≤ rtol ≤ 1``; an empty one takes its default (``DEFAULT_ATOL`` = 0.00001,
``DEFAULT_RTOL`` = 0.001: a few float32 ulps of rounding difference between runtimes and
devices on values of order 1, far below what a wrong model or a wrong input produces).
Versions store the rule normalised: the kind always spelled out, tolerances as 18-place
decimal strings for ``tolerance`` and empty otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass

from aivm.modules.ai.errors import ErrInvalidComparison
from aivm.types.dec import Dec
from aivm.types.errors import AivmError

EXACT, TOLERANCE, TOKENS = "exact", "tolerance", "tokens"
KINDS = (EXACT, TOLERANCE, TOKENS)
DEFAULT_ATOL = Dec.from_str("0.00001")
DEFAULT_RTOL = Dec.from_str("0.001")
MAX_ATOL = Dec.from_int(10**6)
MAX_RTOL = Dec.one()
MAX_DEC_CHARS = 64
"""Longest tolerance string accepted (a bound on the work of parsing it)."""


@dataclass(frozen=True)
class Rule:
    """A validated comparison rule: the kind and, for ``tolerance``, atol and rtol."""

    kind: str
    atol: Dec
    rtol: Dec

    def fields(self) -> tuple[str, str, str]:
        """(comparison, comparison_atol, comparison_rtol) as a version stores them."""
        if self.kind != TOLERANCE:
            return self.kind, "", ""
        return self.kind, str(self.atol), str(self.rtol)


def parse_rule(kind: str, atol: str, rtol: str, *, offchain: bool = True) -> Rule:
    """Validate and normalise a declared rule; ErrInvalidComparison when it is not one.

    ``""`` is ``exact``; tolerances are given only with ``tolerance`` and each empty one takes
    its default; a non-exact rule needs an off-chain version (``offchain``).
    """
    kind = kind or EXACT
    if kind not in KINDS:
        raise ErrInvalidComparison.wrap(f"comparison must be one of {', '.join(KINDS)}: {kind!r}")
    if kind != TOLERANCE:
        if atol or rtol:
            raise ErrInvalidComparison.wrap(f"atol and rtol apply to tolerance only, not {kind}")
        if kind != EXACT and not offchain:
            raise ErrInvalidComparison.wrap(
                f"on-chain models compare exactly (integer outputs), not by {kind}"
            )
        return Rule(kind, Dec.zero(), Dec.zero())
    if not offchain:
        raise ErrInvalidComparison.wrap("on-chain models compare exactly (integer outputs)")
    return Rule(
        TOLERANCE,
        _tolerance("atol", atol, DEFAULT_ATOL, MAX_ATOL, "10^6"),
        _tolerance("rtol", rtol, DEFAULT_RTOL, MAX_RTOL, "1"),
    )


def _tolerance(name: str, text: str, default: Dec, most: Dec, most_text: str) -> Dec:
    """One tolerance: ``default`` when empty, else a decimal in [0, most]."""
    if not text:
        return default
    if len(text) > MAX_DEC_CHARS:
        raise ErrInvalidComparison.wrap(f"{name} exceeds {MAX_DEC_CHARS} characters")
    try:
        value = Dec.from_str(text)
    except AivmError as exc:
        raise ErrInvalidComparison.wrap(f"{name} {text!r} is not a decimal: {exc}") from None
    if value.is_negative() or most < value:
        raise ErrInvalidComparison.wrap(f"{name} must be between 0 and {most_text}: {text}")
    return value
