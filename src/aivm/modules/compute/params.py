"""compute params: the provider registry (minimum collateral, heartbeat timeout, bounds on
offers and capacity, initial reputation, jail duration, slash records kept), jobs (input and
comparison limits, redundancy and escalation, deadlines, SLA response blocks per class,
challenge window, protocol fee, matching and settlement bounds per block, auction windows and
bid deposit), SLA and reputation (EMA weight, floor, violations window, slash fractions),
the reference price (step, target utilisation), payment channels and hardware checks (schedule,
per-tier deadlines and workload sizes, committee size and phases, false-verdict slash, failures
before demotion).

Hardware params absent from a params message (proto zero: an older client or genesis) take
their defaults, except ``hardware_check_interval_blocks`` whose 0 turns the checks off."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from aivm.modules.compute import compute_pb2
from aivm.modules.compute.errors import ErrInvalidParams
from aivm.types.dec import Dec
from aivm.types.errors import AivmError
from aivm.types.numbers import MAX_UINT256_DIGITS, parse_digits

DAY_NS = 86_400 * 1_000_000_000
MAX_OFFERS_LIMIT = 64
"""No provider may carry more offers (the stateless check refuses longer lists)."""
MAX_CAPACITY_LIMIT = 10_000
MAX_SLASH_RECORDS_LIMIT = 1_000
MAX_HEARTBEAT_TIMEOUT = 10_000_000
MAX_REDUNDANCY_LIMIT = 15
MAX_ESCALATIONS_LIMIT = 8
MAX_INLINE_LIMIT = 1 << 20
MAX_BLOCKS_LIMIT = 10_000_000
MAX_PER_BLOCK_LIMIT = 100_000
SLA_CLASSES = 3
HARDWARE_TIERS = 3
"""Per-tier hardware lists have one entry each for entry, standard and high-performance."""
MAX_HARDWARE_VALIDATORS = 21
MAX_WORKLOAD_SIZE = 16_384
MAX_WORKLOAD_ROUNDS = 256
"""SLA classes (standard, fast, batch): ``sla_response_blocks`` has one entry each."""
FALLBACK_UNBONDING_TIME_NS = 21 * DAY_NS
"""Collateral unbonding time of an app without staking (staking's ``unbonding_time`` else)."""


@dataclass(frozen=True)
class ComputeParams:
    """``aivm.compute.v1.Params`` as Python values."""

    min_collateral: int
    heartbeat_timeout_blocks: int
    max_offers: int
    max_capacity: int
    initial_reputation: Dec
    jail_duration_ns: int
    max_slash_records: int
    max_inline_input_bytes: int = 16_384
    max_comparison_bytes: int = 65_536
    max_redundancy: int = 7
    max_escalations: int = 2
    max_deadline_blocks: int = 100_000
    sla_response_blocks: tuple[int, ...] = (20, 5, 200)
    challenge_window_blocks: int = 10
    protocol_fee: Dec = Dec("0.02")
    max_match_jobs_per_block: int = 200
    max_asks_per_book: int = 1_000
    max_settlements_per_block: int = 200
    bid_window_blocks: int = 5
    reveal_window_blocks: int = 5
    bid_deposit: int = 1_000_000
    reputation_alpha: Dec = Dec("0.1")
    min_reputation: Dec = Dec("0.05")
    max_sla_violations: int = 3
    sla_window_blocks: int = 1_000
    sla_slash_fraction: Dec = Dec("0.01")
    wrong_result_slash_fraction: Dec = Dec("0.05")
    reference_price_step: Dec = Dec("0.125")
    target_utilization: Dec = Dec("0.5")
    channel_challenge_blocks: int = 20
    max_channel_blocks: int = 1_000_000
    hardware_check_interval_blocks: int = 100
    max_hardware_checks_per_block: int = 5
    hardware_response_blocks: tuple[int, ...] = (10, 5, 5)
    hardware_workload_sizes: tuple[int, ...] = (256, 4096, 8192)
    hardware_workload_rounds: tuple[int, ...] = (4, 8, 8)
    hardware_validators: int = 3
    hardware_commit_blocks: int = 50
    hardware_reveal_blocks: int = 20
    false_verdict_slash_fraction: Dec = Dec("0.05")
    hardware_max_failures: int = 3

    def hardware_workload(self, tier: int) -> tuple[int, int, int]:
        """(size, rounds, response blocks) of a hardware check of ``tier`` (1..3)."""
        index = min(max(tier, 1), HARDWARE_TIERS) - 1
        return (
            self.hardware_workload_sizes[index],
            self.hardware_workload_rounds[index],
            self.hardware_response_blocks[index],
        )

    def response_blocks(self, sla_class: int) -> int:
        """Blocks a matched provider has to deliver in ``sla_class``."""
        return self.sla_response_blocks[sla_class]

    def to_proto(self) -> compute_pb2.Params:
        """The protobuf form."""
        return compute_pb2.Params(
            min_collateral=str(self.min_collateral),
            heartbeat_timeout_blocks=self.heartbeat_timeout_blocks,
            max_offers=self.max_offers,
            max_capacity=self.max_capacity,
            initial_reputation=str(self.initial_reputation),
            jail_duration_ns=self.jail_duration_ns,
            max_slash_records=self.max_slash_records,
            max_inline_input_bytes=self.max_inline_input_bytes,
            max_comparison_bytes=self.max_comparison_bytes,
            max_redundancy=self.max_redundancy,
            max_escalations=self.max_escalations,
            max_deadline_blocks=self.max_deadline_blocks,
            sla_response_blocks=list(self.sla_response_blocks),
            challenge_window_blocks=self.challenge_window_blocks,
            protocol_fee=str(self.protocol_fee),
            max_match_jobs_per_block=self.max_match_jobs_per_block,
            max_asks_per_book=self.max_asks_per_book,
            max_settlements_per_block=self.max_settlements_per_block,
            bid_window_blocks=self.bid_window_blocks,
            reveal_window_blocks=self.reveal_window_blocks,
            bid_deposit=str(self.bid_deposit),
            reputation_alpha=str(self.reputation_alpha),
            min_reputation=str(self.min_reputation),
            max_sla_violations=self.max_sla_violations,
            sla_window_blocks=self.sla_window_blocks,
            sla_slash_fraction=str(self.sla_slash_fraction),
            wrong_result_slash_fraction=str(self.wrong_result_slash_fraction),
            reference_price_step=str(self.reference_price_step),
            target_utilization=str(self.target_utilization),
            channel_challenge_blocks=self.channel_challenge_blocks,
            max_channel_blocks=self.max_channel_blocks,
            hardware_check_interval_blocks=self.hardware_check_interval_blocks,
            max_hardware_checks_per_block=self.max_hardware_checks_per_block,
            hardware_response_blocks=list(self.hardware_response_blocks),
            hardware_workload_sizes=list(self.hardware_workload_sizes),
            hardware_workload_rounds=list(self.hardware_workload_rounds),
            hardware_validators=self.hardware_validators,
            hardware_commit_blocks=self.hardware_commit_blocks,
            hardware_reveal_blocks=self.hardware_reveal_blocks,
            false_verdict_slash_fraction=str(self.false_verdict_slash_fraction),
            hardware_max_failures=self.hardware_max_failures,
        )


DEFAULT_PARAMS = ComputeParams(
    min_collateral=100_000_000,
    heartbeat_timeout_blocks=600,
    max_offers=32,
    max_capacity=256,
    initial_reputation=Dec("0.5"),
    jail_duration_ns=DAY_NS,
    max_slash_records=100,
)


_HARDWARE_DEFAULTS = DEFAULT_PARAMS


def _dec(text: str, name: str) -> Dec:
    try:
        return Dec.from_str(text)
    except AivmError as exc:
        raise ErrInvalidParams.wrap(f"{name}: {exc.detail or exc}") from None


def _int(text: str, name: str) -> int:
    return parse_digits(text, MAX_UINT256_DIGITS, ErrInvalidParams, name)


def params_from_proto(proto: compute_pb2.Params) -> ComputeParams:
    """Parse and check params; ErrInvalidParams when any is out of range."""
    params = ComputeParams(
        min_collateral=_int(proto.min_collateral, "min_collateral"),
        heartbeat_timeout_blocks=proto.heartbeat_timeout_blocks,
        max_offers=proto.max_offers,
        max_capacity=proto.max_capacity,
        initial_reputation=_dec(proto.initial_reputation, "initial_reputation"),
        jail_duration_ns=proto.jail_duration_ns,
        max_slash_records=proto.max_slash_records,
        max_inline_input_bytes=proto.max_inline_input_bytes,
        max_comparison_bytes=proto.max_comparison_bytes,
        max_redundancy=proto.max_redundancy,
        max_escalations=proto.max_escalations,
        max_deadline_blocks=proto.max_deadline_blocks,
        sla_response_blocks=tuple(proto.sla_response_blocks),
        challenge_window_blocks=proto.challenge_window_blocks,
        protocol_fee=_dec(proto.protocol_fee, "protocol_fee"),
        max_match_jobs_per_block=proto.max_match_jobs_per_block,
        max_asks_per_book=proto.max_asks_per_book,
        max_settlements_per_block=proto.max_settlements_per_block,
        bid_window_blocks=proto.bid_window_blocks,
        reveal_window_blocks=proto.reveal_window_blocks,
        bid_deposit=_int(proto.bid_deposit, "bid_deposit"),
        reputation_alpha=_dec(proto.reputation_alpha, "reputation_alpha"),
        min_reputation=_dec(proto.min_reputation, "min_reputation"),
        max_sla_violations=proto.max_sla_violations,
        sla_window_blocks=proto.sla_window_blocks,
        sla_slash_fraction=_dec(proto.sla_slash_fraction, "sla_slash_fraction"),
        wrong_result_slash_fraction=_dec(
            proto.wrong_result_slash_fraction, "wrong_result_slash_fraction"
        ),
        reference_price_step=_dec(proto.reference_price_step, "reference_price_step"),
        target_utilization=_dec(proto.target_utilization, "target_utilization"),
        channel_challenge_blocks=proto.channel_challenge_blocks,
        max_channel_blocks=proto.max_channel_blocks,
    )
    params = _with_hardware(params, proto)
    check_params(params)
    return params


def _with_hardware(params: ComputeParams, proto: compute_pb2.Params) -> ComputeParams:
    """``params`` with the hardware values of ``proto``; a field left at its proto zero
    takes its default."""
    d = _HARDWARE_DEFAULTS
    fraction = proto.false_verdict_slash_fraction
    return replace(
        params,
        hardware_check_interval_blocks=proto.hardware_check_interval_blocks,
        max_hardware_checks_per_block=proto.max_hardware_checks_per_block
        or d.max_hardware_checks_per_block,
        hardware_response_blocks=tuple(proto.hardware_response_blocks)
        or d.hardware_response_blocks,
        hardware_workload_sizes=tuple(proto.hardware_workload_sizes) or d.hardware_workload_sizes,
        hardware_workload_rounds=tuple(proto.hardware_workload_rounds)
        or d.hardware_workload_rounds,
        hardware_validators=proto.hardware_validators or d.hardware_validators,
        hardware_commit_blocks=proto.hardware_commit_blocks or d.hardware_commit_blocks,
        hardware_reveal_blocks=proto.hardware_reveal_blocks or d.hardware_reveal_blocks,
        false_verdict_slash_fraction=_dec(fraction, "false_verdict_slash_fraction")
        if fraction
        else d.false_verdict_slash_fraction,
        hardware_max_failures=proto.hardware_max_failures or d.hardware_max_failures,
    )


def check_params(params: ComputeParams) -> None:
    """ErrInvalidParams unless every value is in range."""
    if params.min_collateral <= 0:
        raise ErrInvalidParams.wrap("min_collateral must be positive")
    if not 0 < params.heartbeat_timeout_blocks <= MAX_HEARTBEAT_TIMEOUT:
        raise ErrInvalidParams.wrap(
            f"heartbeat_timeout_blocks must be 1 to {MAX_HEARTBEAT_TIMEOUT}"
        )
    if not 0 < params.max_offers <= MAX_OFFERS_LIMIT:
        raise ErrInvalidParams.wrap(f"max_offers must be 1 to {MAX_OFFERS_LIMIT}")
    if not 0 < params.max_capacity <= MAX_CAPACITY_LIMIT:
        raise ErrInvalidParams.wrap(f"max_capacity must be 1 to {MAX_CAPACITY_LIMIT}")
    if not Dec.zero() <= params.initial_reputation <= Dec.one():
        raise ErrInvalidParams.wrap("initial_reputation must be in [0, 1]")
    if not 0 < params.jail_duration_ns <= 365 * DAY_NS:
        raise ErrInvalidParams.wrap("jail_duration_ns must be positive and at most a year")
    if not 0 < params.max_slash_records <= MAX_SLASH_RECORDS_LIMIT:
        raise ErrInvalidParams.wrap(f"max_slash_records must be 1 to {MAX_SLASH_RECORDS_LIMIT}")
    _check_job_params(params)


def _in(value: int, low: int, high: int, name: str) -> None:
    if not low <= value <= high:
        raise ErrInvalidParams.wrap(f"{name} must be {low} to {high}")


def _fraction(value: Dec, name: str, allow_zero: bool = False) -> None:
    low_ok = value >= Dec.zero() if allow_zero else value.is_positive()
    if not (low_ok and value <= Dec.one()):
        interval = "[0, 1]" if allow_zero else "(0, 1]"
        raise ErrInvalidParams.wrap(f"{name} must be in {interval}")


def _check_job_params(params: ComputeParams) -> None:
    _in(params.max_inline_input_bytes, 0, MAX_INLINE_LIMIT, "max_inline_input_bytes")
    _in(params.max_comparison_bytes, 4, MAX_INLINE_LIMIT, "max_comparison_bytes")
    _in(params.max_redundancy, 1, MAX_REDUNDANCY_LIMIT, "max_redundancy")
    _in(params.max_escalations, 0, MAX_ESCALATIONS_LIMIT, "max_escalations")
    _in(params.max_deadline_blocks, 1, MAX_BLOCKS_LIMIT, "max_deadline_blocks")
    _check_sla_blocks(params.sla_response_blocks, params.max_deadline_blocks)
    _in(params.challenge_window_blocks, 0, MAX_BLOCKS_LIMIT, "challenge_window_blocks")
    _fraction(params.protocol_fee, "protocol_fee", allow_zero=True)
    _in(params.max_match_jobs_per_block, 1, MAX_PER_BLOCK_LIMIT, "max_match_jobs_per_block")
    _in(params.max_asks_per_book, 1, 10_000, "max_asks_per_book")
    _in(params.max_settlements_per_block, 1, MAX_PER_BLOCK_LIMIT, "max_settlements_per_block")
    _in(params.bid_window_blocks, 1, MAX_BLOCKS_LIMIT, "bid_window_blocks")
    _in(params.reveal_window_blocks, 1, MAX_BLOCKS_LIMIT, "reveal_window_blocks")
    if params.bid_deposit < 0:
        raise ErrInvalidParams.wrap("bid_deposit must not be negative")
    _fraction(params.reputation_alpha, "reputation_alpha")
    _fraction(params.min_reputation, "min_reputation", allow_zero=True)
    _in(params.max_sla_violations, 1, 1_000_000, "max_sla_violations")
    _in(params.sla_window_blocks, 1, MAX_BLOCKS_LIMIT, "sla_window_blocks")
    _fraction(params.sla_slash_fraction, "sla_slash_fraction", allow_zero=True)
    _fraction(params.wrong_result_slash_fraction, "wrong_result_slash_fraction", allow_zero=True)
    _fraction(params.reference_price_step, "reference_price_step")
    _fraction(params.target_utilization, "target_utilization")
    _in(params.channel_challenge_blocks, 1, MAX_BLOCKS_LIMIT, "channel_challenge_blocks")
    _in(params.max_channel_blocks, 1, MAX_BLOCKS_LIMIT, "max_channel_blocks")
    _check_hardware_params(params)


def _check_hardware_params(params: ComputeParams) -> None:
    _in(
        params.hardware_check_interval_blocks, 0, MAX_BLOCKS_LIMIT, "hardware_check_interval_blocks"
    )
    _in(params.max_hardware_checks_per_block, 1, 1_000, "max_hardware_checks_per_block")
    lists = (
        ("hardware_response_blocks", params.hardware_response_blocks, MAX_BLOCKS_LIMIT),
        ("hardware_workload_sizes", params.hardware_workload_sizes, MAX_WORKLOAD_SIZE),
        ("hardware_workload_rounds", params.hardware_workload_rounds, MAX_WORKLOAD_ROUNDS),
    )
    for name, values, high in lists:
        if len(values) != HARDWARE_TIERS:
            raise ErrInvalidParams.wrap(
                f"{name} needs {HARDWARE_TIERS} entries (entry, standard, high-performance)"
            )
        for value in values:
            _in(value, 1, high, f"each {name} entry")
    _in(params.hardware_validators, 1, MAX_HARDWARE_VALIDATORS, "hardware_validators")
    _in(params.hardware_commit_blocks, 1, MAX_BLOCKS_LIMIT, "hardware_commit_blocks")
    _in(params.hardware_reveal_blocks, 1, MAX_BLOCKS_LIMIT, "hardware_reveal_blocks")
    _fraction(params.false_verdict_slash_fraction, "false_verdict_slash_fraction", True)
    _in(params.hardware_max_failures, 1, 1_000, "hardware_max_failures")


def _check_sla_blocks(blocks: Sequence[int], max_deadline: int) -> None:
    if len(blocks) != SLA_CLASSES:
        raise ErrInvalidParams.wrap(
            f"sla_response_blocks needs {SLA_CLASSES} entries (standard, fast, batch)"
        )
    for value in blocks:
        _in(value, 1, max_deadline, "each sla_response_blocks entry")
