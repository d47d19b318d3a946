"""roles params: per-role minimum bond, active-set size and reward share, the performance
multiplier's bounds and EMA weight, unbonding limits.

Reward shares (defaults ai 5%, compute 5%, data 2% of the fee collector each block): the role
operators are also paid per job by the marketplaces (compute jobs, verification fees,
storage retention), so their block-reward share is a retainer for keeping capacity bonded and
available; consensus security (core validators and their delegators) keeps the larger part.
The shares may sum to at most 1.

``work_weight`` (default 0.5) is the part of a role's block reward split by the work its
active operators recorded since the last split (units × performance); the rest is split by
selection score, so bonded capacity keeps a retainer and recorded work earns the remainder.
"""

from __future__ import annotations

from dataclasses import dataclass

from aivm.modules.roles import roles_pb2
from aivm.modules.roles.errors import ErrInvalidParams
from aivm.types.dec import Dec
from aivm.types.errors import AivmError
from aivm.types.numbers import MAX_UINT256_DIGITS, parse_digits

ROLES: tuple[int, ...] = (roles_pb2.ROLE_AI, roles_pb2.ROLE_COMPUTE, roles_pb2.ROLE_DATA)
"""Every role, in the order block hooks process them."""
ROLE_NAMES: dict[int, str] = {
    roles_pb2.ROLE_AI: "ai",
    roles_pb2.ROLE_COMPUTE: "compute",
    roles_pb2.ROLE_DATA: "data",
}
DAY_NS = 86_400 * 1_000_000_000
MAX_ACTIVE_LIMIT = 1_000
"""No role's active set may be larger (EndBlock and the reward split walk it)."""
MAX_UNBONDING_ENTRIES_LIMIT = 100
MAX_SLASH_RECORDS_LIMIT = 10_000


@dataclass(frozen=True)
class RoleParams:
    """The params of one role."""

    min_bond: int
    max_active: int
    reward_share: Dec


@dataclass(frozen=True)
class RolesParams:
    """``aivm.roles.v1.Params`` as Python values."""

    min_bond: dict[int, int]
    max_active: dict[int, int]
    reward_share: dict[int, Dec]
    performance_weight: Dec
    performance_min: Dec
    performance_max: Dec
    max_unbonding_entries: int
    unbonding_time_ns: int
    max_slash_records: int
    work_weight: Dec

    def role(self, role: int) -> RoleParams:
        """The params of ``role``."""
        return RoleParams(self.min_bond[role], self.max_active[role], self.reward_share[role])

    def to_proto(self) -> roles_pb2.Params:
        """The protobuf form (decimals as 18-place strings)."""
        ai, compute, data = ROLES
        return roles_pb2.Params(
            min_bond_ai=str(self.min_bond[ai]),
            min_bond_compute=str(self.min_bond[compute]),
            min_bond_data=str(self.min_bond[data]),
            max_active_ai=self.max_active[ai],
            max_active_compute=self.max_active[compute],
            max_active_data=self.max_active[data],
            reward_share_ai=str(self.reward_share[ai]),
            reward_share_compute=str(self.reward_share[compute]),
            reward_share_data=str(self.reward_share[data]),
            performance_weight=str(self.performance_weight),
            performance_min=str(self.performance_min),
            performance_max=str(self.performance_max),
            max_unbonding_entries=self.max_unbonding_entries,
            unbonding_time_ns=self.unbonding_time_ns,
            max_slash_records=self.max_slash_records,
            work_weight=str(self.work_weight),
        )


DEFAULT_PARAMS = RolesParams(
    min_bond={
        roles_pb2.ROLE_AI: 1_000_000_000,
        roles_pb2.ROLE_COMPUTE: 1_000_000_000,
        roles_pb2.ROLE_DATA: 500_000_000,
    },
    max_active={roles_pb2.ROLE_AI: 50, roles_pb2.ROLE_COMPUTE: 100, roles_pb2.ROLE_DATA: 50},
    reward_share={
        roles_pb2.ROLE_AI: Dec("0.05"),
        roles_pb2.ROLE_COMPUTE: Dec("0.05"),
        roles_pb2.ROLE_DATA: Dec("0.02"),
    },
    performance_weight=Dec("0.1"),
    performance_min=Dec("0.5"),
    performance_max=Dec("1.5"),
    max_unbonding_entries=7,
    unbonding_time_ns=21 * DAY_NS,
    max_slash_records=100,
    work_weight=Dec("0.5"),
)


def parse_dec(text: str, what: str) -> Dec:
    """A decimal param; ErrInvalidParams when it is not one."""
    try:
        return Dec.from_str(text)
    except AivmError as exc:
        raise ErrInvalidParams.wrap(f"{what}: {exc.detail or exc}") from None


def parse_amount(text: str, what: str) -> int:
    """A non-negative integer amount param."""
    return parse_digits(text, MAX_UINT256_DIGITS, ErrInvalidParams, what)


def params_from_proto(proto: roles_pb2.Params) -> RolesParams:
    """Parse and check params; ErrInvalidParams when any is out of range."""
    ai, compute, data = ROLES
    params = RolesParams(
        min_bond={
            ai: parse_amount(proto.min_bond_ai, "min_bond_ai"),
            compute: parse_amount(proto.min_bond_compute, "min_bond_compute"),
            data: parse_amount(proto.min_bond_data, "min_bond_data"),
        },
        max_active={
            ai: proto.max_active_ai,
            compute: proto.max_active_compute,
            data: proto.max_active_data,
        },
        reward_share={
            ai: parse_dec(proto.reward_share_ai, "reward_share_ai"),
            compute: parse_dec(proto.reward_share_compute, "reward_share_compute"),
            data: parse_dec(proto.reward_share_data, "reward_share_data"),
        },
        performance_weight=parse_dec(proto.performance_weight, "performance_weight"),
        performance_min=parse_dec(proto.performance_min, "performance_min"),
        performance_max=parse_dec(proto.performance_max, "performance_max"),
        max_unbonding_entries=proto.max_unbonding_entries,
        unbonding_time_ns=proto.unbonding_time_ns,
        max_slash_records=proto.max_slash_records,
        work_weight=parse_dec(proto.work_weight, "work_weight"),
    )
    check_params(params)
    return params


def check_params(params: RolesParams) -> None:
    """ErrInvalidParams unless every value is in range."""
    one, zero = Dec.one(), Dec.zero()
    for role in ROLES:
        name = ROLE_NAMES[role]
        if params.min_bond[role] <= 0:
            raise ErrInvalidParams.wrap(f"min_bond_{name} must be positive")
        if not 0 < params.max_active[role] <= MAX_ACTIVE_LIMIT:
            raise ErrInvalidParams.wrap(f"max_active_{name} must be 1 to {MAX_ACTIVE_LIMIT}")
        if not zero <= params.reward_share[role] <= one:
            raise ErrInvalidParams.wrap(f"reward_share_{name} must be in [0, 1]")
    if sum((params.reward_share[r] for r in ROLES), zero) > one:
        raise ErrInvalidParams.wrap("the reward shares must add up to at most 1")
    if not zero < params.performance_weight <= one:
        raise ErrInvalidParams.wrap("performance_weight must be in (0, 1]")
    if not zero < params.performance_min <= one:
        raise ErrInvalidParams.wrap("performance_min must be in (0, 1]")
    if not one <= params.performance_max <= Dec(10):
        raise ErrInvalidParams.wrap("performance_max must be in [1, 10]")
    if not 0 < params.max_unbonding_entries <= MAX_UNBONDING_ENTRIES_LIMIT:
        raise ErrInvalidParams.wrap(
            f"max_unbonding_entries must be 1 to {MAX_UNBONDING_ENTRIES_LIMIT}"
        )
    if not 0 < params.unbonding_time_ns <= 365 * DAY_NS:
        raise ErrInvalidParams.wrap("unbonding_time_ns must be positive and at most a year")
    if not 0 < params.max_slash_records <= MAX_SLASH_RECORDS_LIMIT:
        raise ErrInvalidParams.wrap(f"max_slash_records must be 1 to {MAX_SLASH_RECORDS_LIMIT}")
    if not zero <= params.work_weight <= one:
        raise ErrInvalidParams.wrap("work_weight must be in [0, 1]")
