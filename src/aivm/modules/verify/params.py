"""verify params: the verification policy (criticality → methods, k, sample rate, challenge
window) and the timing, limits and slash fractions of AI-validator rounds.

Default policy (``aivm query verify policy``):

| criticality | methods | k | sample rate | challenge window |
|---|---|---|---|---|
| low | sampling | 3 | 5 % | compute's `challenge_window_blocks` (10) |
| medium | sampling, optimistic | 3 | 25 % | 20 blocks |
| high | re-execution, optimistic, toploc, tee | 3 | — | 20 blocks |
| critical | re-execution, optimistic, zk, toploc, tee | 5 | — | 50 blocks |

A rule's window is a minimum: the effective window is the larger of it and the compute
module's ``challenge_window_blocks``. TEE, zk and TOPLOC apply to a job only when its model
version declares them (``MsgSetModelVerification``: a measurement allow-list, an EZKL
circuit, a TOPLOC config); a version that *requires* one gets it at every criticality.
Optimistic verification applies to versions that are DSM artifacts run off-chain (format
``aivm-dsm/1``): a bonded challenger may dispute a result's trace during the window
(``optimistic.py``; bond ``dispute_bond``, ``round_blocks`` per move).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from aivm.modules.verify import verify_pb2
from aivm.modules.verify.errors import ErrInvalidParams
from aivm.types.dec import Dec
from aivm.types.errors import AivmError

V = verify_pb2
CRITICALITIES: tuple[int, ...] = (
    V.CRITICALITY_LOW,
    V.CRITICALITY_MEDIUM,
    V.CRITICALITY_HIGH,
    V.CRITICALITY_CRITICAL,
)
AVAILABLE_METHODS: frozenset[int] = frozenset(
    {
        V.METHOD_REEXECUTION,
        V.METHOD_OPTIMISTIC,
        V.METHOD_SAMPLING,
        V.METHOD_TEE,
        V.METHOD_ZK,
        V.METHOD_TOPLOC,
    }
)
"""Methods the chain runs (every one of the ``Method`` enum)."""
COMMITTEE_METHODS: frozenset[int] = frozenset(
    {V.METHOD_REEXECUTION, V.METHOD_SAMPLING, V.METHOD_ZK, V.METHOD_TOPLOC}
)
"""Methods decided by a committee of AI validators (sampling: when the job is drawn; zk: the
committee attests the proof's pairing check, the chain checks everything else)."""
OUTPUT_METHODS: frozenset[int] = frozenset({V.METHOD_REEXECUTION, V.METHOD_SAMPLING})
"""Methods whose committee re-executes the job and reveals its output."""
MAX_TRUSTED_SRS = 64
MAX_VALIDATORS = 21
MAX_WINDOW_BLOCKS = 100_000
MAX_PHASE_BLOCKS = 10_000
MAX_PER_BLOCK = 10_000
MAX_ROUNDS = 5
MAX_TRACE_STEPS = 1 << 20
MAX_STEP_BYTES = 8 << 20
MAX_GAS_PRICE = 1_000_000
AMOUNT_RE = re.compile(r"0|[1-9][0-9]{0,29}")
RATE_SCALE = 1_000_000
"""Sampling draws are made in millionths."""


@dataclass(frozen=True)
class Rule:
    """One criticality's verification."""

    criticality: int
    methods: tuple[int, ...]
    validators: int
    sample_rate: Dec
    challenge_window_blocks: int

    @property
    def sample_millionths(self) -> int:
        """The sample rate in millionths (truncated)."""
        return self.sample_rate.mul_int(RATE_SCALE).truncate_int()

    def needs_committee(self) -> bool:
        """True when re-execution always runs (sampling draws a committee only when drawn)."""
        return V.METHOD_REEXECUTION in self.methods


@dataclass(frozen=True)
class VerifyParams:
    """``aivm.verify.v1.Params`` as Python values."""

    policy: tuple[Rule, ...]
    commit_blocks: int = 10
    reveal_blocks: int = 10
    nonreveal_slash_fraction: Dec = Dec("0.01")
    wrong_verdict_slash_fraction: Dec = Dec("0.05")
    max_draws_per_block: int = 100
    max_tallies_per_block: int = 100
    max_rounds: int = 2
    trusted_srs_digests: tuple[bytes, ...] = ()
    dispute_bond: int = 1_000_000
    round_blocks: int = 10
    max_trace_steps: int = 4_096
    max_step_bytes: int = 1 << 20
    trace_hash_gas: int = 200
    trace_kilo_byte_gas: int = 300

    def rule(self, criticality: int) -> Rule:
        """The rule of ``criticality`` (validated params have one for each)."""
        for rule in self.policy:
            if rule.criticality == criticality:
                return rule
        raise ErrInvalidParams.wrap(f"no policy rule for criticality {criticality}")

    def to_proto(self) -> verify_pb2.Params:
        """The wire form."""
        return V.Params(
            policy=[
                V.PolicyRule(
                    criticality=r.criticality,  # type: ignore[arg-type]
                    methods=list(r.methods),  # type: ignore[arg-type]
                    validators=r.validators,
                    sample_rate=str(r.sample_rate),
                    challenge_window_blocks=r.challenge_window_blocks,
                )
                for r in self.policy
            ],
            commit_blocks=self.commit_blocks,
            reveal_blocks=self.reveal_blocks,
            nonreveal_slash_fraction=str(self.nonreveal_slash_fraction),
            wrong_verdict_slash_fraction=str(self.wrong_verdict_slash_fraction),
            max_draws_per_block=self.max_draws_per_block,
            max_tallies_per_block=self.max_tallies_per_block,
            max_rounds=self.max_rounds,
            trusted_srs_digests=list(self.trusted_srs_digests),
            dispute_bond=str(self.dispute_bond),
            round_blocks=self.round_blocks,
            max_trace_steps=self.max_trace_steps,
            max_step_bytes=self.max_step_bytes,
            trace_hash_gas=self.trace_hash_gas,
            trace_kilo_byte_gas=self.trace_kilo_byte_gas,
        )


DEFAULT_POLICY: tuple[Rule, ...] = (
    Rule(V.CRITICALITY_LOW, (V.METHOD_SAMPLING,), 3, Dec("0.05"), 0),
    Rule(V.CRITICALITY_MEDIUM, (V.METHOD_SAMPLING, V.METHOD_OPTIMISTIC), 3, Dec("0.25"), 20),
    Rule(
        V.CRITICALITY_HIGH,
        (V.METHOD_REEXECUTION, V.METHOD_OPTIMISTIC, V.METHOD_TOPLOC, V.METHOD_TEE),
        3,
        Dec.zero(),
        20,
    ),
    Rule(
        V.CRITICALITY_CRITICAL,
        (V.METHOD_REEXECUTION, V.METHOD_OPTIMISTIC, V.METHOD_ZK, V.METHOD_TOPLOC, V.METHOD_TEE),
        5,
        Dec.zero(),
        50,
    ),
)


def default_params() -> VerifyParams:
    """The defaults above."""
    return VerifyParams(policy=DEFAULT_POLICY)


def _dec(text: str, name: str, low: Dec, high: Dec) -> Dec:
    try:
        value = Dec.from_str(text)
    except (AivmError, ValueError):
        raise ErrInvalidParams.wrap(f"{name}: {text!r} is not a decimal") from None
    if not low <= value <= high:
        raise ErrInvalidParams.wrap(f"{name} must be in [{low}, {high}]")
    return value


def _in(value: int, low: int, high: int, name: str) -> int:
    if not low <= value <= high:
        raise ErrInvalidParams.wrap(f"{name} must be {low} to {high}")
    return value


def _rule(proto: verify_pb2.PolicyRule) -> Rule:
    if proto.criticality not in CRITICALITIES:
        raise ErrInvalidParams.wrap(f"policy: unknown criticality {proto.criticality}")
    label = f"policy[{V.Criticality.Name(proto.criticality)}]"
    methods = tuple(proto.methods)
    if not set(methods) <= set(V.Method.values()) - {V.METHOD_UNSPECIFIED}:
        raise ErrInvalidParams.wrap(f"{label}: unknown method in {list(methods)}")
    if len(set(methods)) != len(methods):
        raise ErrInvalidParams.wrap(f"{label}: a method is listed twice")
    planned = sorted(set(methods) - AVAILABLE_METHODS)
    if planned:
        names = ", ".join(V.Method.Name(m) for m in planned)
        raise ErrInvalidParams.wrap(f"{label}: {names} not available yet (planned)")
    rate = _dec(proto.sample_rate or "0", f"{label}.sample_rate", Dec.zero(), Dec.one())
    if V.METHOD_SAMPLING in methods and not rate.is_positive():
        raise ErrInvalidParams.wrap(f"{label}: sampling needs a positive sample_rate")
    return Rule(
        criticality=proto.criticality,
        methods=methods,
        validators=_in(proto.validators, 1, MAX_VALIDATORS, f"{label}.validators"),
        sample_rate=rate,
        challenge_window_blocks=_in(
            proto.challenge_window_blocks, 0, MAX_WINDOW_BLOCKS, f"{label}.challenge_window_blocks"
        ),
    )


def params_from_proto(proto: verify_pb2.Params) -> VerifyParams:
    """Check and convert; ErrInvalidParams names the first bad field."""
    rules = tuple(_rule(r) for r in proto.policy)
    if sorted(r.criticality for r in rules) != list(CRITICALITIES):
        raise ErrInvalidParams.wrap("the policy needs exactly one rule per criticality")
    one = Dec.one()
    return VerifyParams(
        policy=tuple(sorted(rules, key=lambda r: r.criticality)),
        commit_blocks=_in(proto.commit_blocks, 1, MAX_PHASE_BLOCKS, "commit_blocks"),
        reveal_blocks=_in(proto.reveal_blocks, 1, MAX_PHASE_BLOCKS, "reveal_blocks"),
        nonreveal_slash_fraction=_dec(
            proto.nonreveal_slash_fraction, "nonreveal_slash_fraction", Dec.zero(), one
        ),
        wrong_verdict_slash_fraction=_dec(
            proto.wrong_verdict_slash_fraction, "wrong_verdict_slash_fraction", Dec.zero(), one
        ),
        max_draws_per_block=_in(proto.max_draws_per_block, 1, MAX_PER_BLOCK, "max_draws_per_block"),
        max_tallies_per_block=_in(
            proto.max_tallies_per_block, 1, MAX_PER_BLOCK, "max_tallies_per_block"
        ),
        max_rounds=_in(proto.max_rounds, 1, MAX_ROUNDS, "max_rounds"),
        trusted_srs_digests=_digests(proto.trusted_srs_digests),
        dispute_bond=_amount(proto.dispute_bond, "dispute_bond"),
        round_blocks=_in(proto.round_blocks, 1, MAX_PHASE_BLOCKS, "round_blocks"),
        max_trace_steps=_in(proto.max_trace_steps, 1, MAX_TRACE_STEPS, "max_trace_steps"),
        max_step_bytes=_in(proto.max_step_bytes, 1024, MAX_STEP_BYTES, "max_step_bytes"),
        trace_hash_gas=_in(proto.trace_hash_gas, 1, MAX_GAS_PRICE, "trace_hash_gas"),
        trace_kilo_byte_gas=_in(
            proto.trace_kilo_byte_gas, 1, MAX_GAS_PRICE, "trace_kilo_byte_gas"
        ),
    )


def _amount(text: str, name: str) -> int:
    """A ucgpt amount: ASCII digits, no sign or leading zero, at most 30 digits."""
    if not AMOUNT_RE.fullmatch(text):
        raise ErrInvalidParams.wrap(f"{name}: {text!r} is not an integer amount of ucgpt")
    return int(text)


def _digests(values: Iterable[bytes]) -> tuple[bytes, ...]:
    found = tuple(bytes(v) for v in values)
    if len(found) > MAX_TRUSTED_SRS or any(len(v) != 32 for v in found):
        raise ErrInvalidParams.wrap(
            f"trusted_srs_digests: at most {MAX_TRUSTED_SRS} sha256 digests"
        )
    if len(set(found)) != len(found):
        raise ErrInvalidParams.wrap("trusted_srs_digests: a digest is listed twice")
    return found
