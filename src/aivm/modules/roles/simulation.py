"""roles in the randomized simulation: register in a role (sometimes below the minimum bond
or with a declaration for another role), add bond, update the declaration (sometimes
invalid), unbond (sometimes more than the bond, or leaving dust below the minimum), unjail
(usually refused: nobody is jailed by a message), withdraw rewards, params changes, and
``record_work``.

``record_work`` calls :meth:`RolesKeeper.record_work` directly: no message records work (the
compute and verification modules will call the keeper), and the simulation commits only
transactions, so it works on a throwaway branch of the committed state. There it records
random work (sometimes with refused units or for an unregistered pair), runs the reward split
and checks that the counters added up, were reset, and that the roles account still holds
exactly what it owes; it sends no transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from aivm.modules.addr import addr_bytes, addr_str
from aivm.modules.authority.simulation import claimed_authority
from aivm.modules.framework import Context, ExecMode
from aivm.modules.roles import roles_pb2
from aivm.modules.roles.capability import RUNTIMES, VERIFICATION_METHODS
from aivm.modules.roles.errors import ErrInvalidWork, ErrOperatorNotFound
from aivm.modules.roles.genesis import pool_problems
from aivm.modules.roles.keeper import MAX_WORK_UNITS, RolesKeeper
from aivm.modules.roles.module import RolesModule
from aivm.modules.roles.params import ROLES
from aivm.modules.simulation import Rng, SimEnv, WeightedOperation
from aivm.store import CacheStore, GasMeter
from aivm.types import pb
from aivm.types.coin import BOND_DENOM
from aivm.types.errors import AivmError


def random_capability(rng: Rng, role: int) -> roles_pb2.Capability:
    """A valid declaration for ``role``."""
    if role == roles_pb2.ROLE_AI:
        runtimes = list(RUNTIMES[: rng.randrange(1, len(RUNTIMES) + 1)])
        methods = list(VERIFICATION_METHODS[: rng.randrange(1, len(VERIFICATION_METHODS) + 1)])
        return roles_pb2.Capability(ai=roles_pb2.AiCapability(runtimes=runtimes, methods=methods))
    if role == roles_pb2.ROLE_COMPUTE:
        return roles_pb2.Capability(
            compute=roles_pb2.ComputeCapability(
                hardware_class=rng.randrange(1, 5),  # type: ignore[arg-type]
                accelerators=rng.randrange(1, 9),
                memory_gib=rng.randrange(1, 200),
                benchmark_tflops=rng.randrange(0, 5000),
                benchmark_tokens_per_second=rng.randrange(0, 10_000),
            )
        )
    return roles_pb2.Capability(
        data=roles_pb2.DataCapability(storage_bytes=rng.randrange(1, 1 << 50))
    )


def _coin(amount: int) -> pb.coin.Coin:
    return pb.coin.Coin(denom=BOND_DENOM, amount=str(amount))


def _units(rng: Rng) -> int:
    """Work units: mostly valid, sometimes refused (0, negative, over the per-call bound)."""
    roll = rng.randrange(0, 10)
    if roll == 0:
        return rng.choice((0, -1, MAX_WORK_UNITS + 1))
    return MAX_WORK_UNITS if roll == 1 else rng.randrange(1, 1_000_000)


def check_recorded_work(
    keeper: RolesKeeper, env: SimEnv, pairs: Sequence[tuple[bytes, int, int]]
) -> list[str]:
    """Record ``(operator, role, units)`` with the keeper on a branch of the committed state,
    run the reward split there, and return what went wrong (the branch is dropped). The
    committed state may already hold work the last block recorded (the verify and storage
    modules record work), so each counter is checked from its first value here on."""
    header = replace(env.ctx.header, height=env.height)
    ctx = Context(CacheStore(env.ctx.store), GasMeter(None), header, ExecMode.FINALIZE)
    expected: dict[tuple[bytes, int], int] = {}
    problems: list[str] = []
    for operator, role, units in pairs:
        registered = keeper.get_operator(ctx, operator, role) is not None
        already = keeper.get_work(ctx, operator, role) if registered else 0
        try:
            total = keeper.record_work(ctx, operator, role, units)
        except AivmError as exc:
            refused = ErrInvalidWork if not 0 < units <= MAX_WORK_UNITS else ErrOperatorNotFound
            if not refused.is_(exc) or (registered and 0 < units <= MAX_WORK_UNITS):
                problems.append(f"record_work({units}) refused with {exc}")
            continue
        if not registered or not 0 < units <= MAX_WORK_UNITS:
            problems.append(f"record_work({units}) accepted for {addr_str(operator)}")
        expected[(operator, role)] = expected.get((operator, role), already) + units
        if total != expected[(operator, role)]:
            problems.append(f"counter {total}, expected {expected[(operator, role)]}")
    keeper.allocate_rewards(ctx)
    if any(True for _ in keeper.iterate_work(ctx)):
        problems.append("work counters left after the reward split")
    return problems + pool_problems(keeper, ctx)


def operations(module: RolesModule) -> dict[str, WeightedOperation]:
    """register, add_bond, update_capability, unbond, unjail, withdraw_rewards,
    update_params and record_work, by name."""
    keeper = module.keeper

    def pick(env: SimEnv) -> tuple[str, int]:
        """A random (account, role) pair."""
        return addr_str(env.rng.choice(env.accounts)), env.rng.choice(ROLES)

    def pick_registered(env: SimEnv) -> tuple[str, int]:
        """Mostly a registered (operator, role); sometimes any pair (usually refused)."""
        records = [(r.operator, r.role) for r in keeper.iterate_operators(env.ctx)]
        if records and env.rng.randrange(0, 4):
            return env.rng.choice(records)
        return pick(env)

    def register(env: SimEnv) -> Sequence[pb.Message] | None:
        operator, role = pick(env)
        min_bond = keeper.get_params(env.ctx).min_bond[role]
        bond = min_bond + env.rng.randrange(0, min_bond + 1)
        roll = env.rng.randrange(0, 10)
        if roll == 0:
            bond = max(1, min_bond - 1)  # below the minimum: refused
        cap_role = env.rng.choice(ROLES) if roll == 1 else role  # maybe another role's kind
        return [
            roles_pb2.MsgRegisterRole(
                operator=operator,
                role=role,  # type: ignore[arg-type]
                bond=_coin(bond),
                capability=random_capability(env.rng, cap_role),
                moniker="sim",
            )
        ]

    def add_bond(env: SimEnv) -> Sequence[pb.Message] | None:
        operator, role = pick_registered(env)
        amount = env.rng.randrange(0, 10_000)  # 0: refused
        msg = roles_pb2.MsgAddRoleBond(operator=operator, role=role, amount=_coin(amount))  # type: ignore[arg-type]
        return [msg]

    def update_capability(env: SimEnv) -> Sequence[pb.Message] | None:
        operator, role = pick_registered(env)
        capability = random_capability(env.rng, role)
        if env.rng.randrange(0, 8) == 0 and capability.HasField("ai"):
            capability.ai.runtimes.append("not-a-runtime")
        return [
            roles_pb2.MsgUpdateCapability(operator=operator, role=role, capability=capability)  # type: ignore[arg-type]
        ]

    def unbond(env: SimEnv) -> Sequence[pb.Message] | None:
        operator, role = pick_registered(env)
        if env.rng.randrange(0, 3) == 0:
            return [roles_pb2.MsgUnbondRole(operator=operator, role=role, all=True)]  # type: ignore[arg-type]
        amount = env.rng.randrange(1, 5_000)
        return [roles_pb2.MsgUnbondRole(operator=operator, role=role, amount=_coin(amount))]  # type: ignore[arg-type]

    def unjail(env: SimEnv) -> Sequence[pb.Message] | None:
        operator, role = pick_registered(env)
        return [roles_pb2.MsgUnjailRole(operator=operator, role=role)]  # type: ignore[arg-type]

    def withdraw(env: SimEnv) -> Sequence[pb.Message] | None:
        operator, role = pick_registered(env)
        role = 0 if env.rng.randrange(0, 2) == 0 else role
        return [roles_pb2.MsgWithdrawRoleRewards(operator=operator, role=role)]  # type: ignore[arg-type]

    def update_params(env: SimEnv) -> Sequence[pb.Message] | None:
        params = keeper.get_params(env.ctx).to_proto()
        params.max_active_compute = env.rng.randrange(1, 6)
        params.max_active_ai = env.rng.randrange(1, 6)
        if env.rng.randrange(0, 10) == 0:
            params.reward_share_ai = "1.5"  # invalid: refused by the stateless check
        authority = claimed_authority(env, module.authority)
        return [roles_pb2.MsgUpdateParams(authority=authority, params=params)]

    def record_work(env: SimEnv) -> Sequence[pb.Message] | None:
        pairs = []
        for _ in range(env.rng.randrange(1, 6)):
            operator, role = pick_registered(env)
            pairs.append((addr_bytes(operator), role, _units(env.rng)))
        problems = check_recorded_work(keeper, env, pairs)
        if problems:
            raise AssertionError("roles record_work: " + "; ".join(problems))
        return None  # nothing to send: no message records work

    return {
        "register": WeightedOperation(6, register),
        "add_bond": WeightedOperation(3, add_bond),
        "update_capability": WeightedOperation(2, update_capability),
        "unbond": WeightedOperation(3, unbond),
        "unjail": WeightedOperation(1, unjail),
        "withdraw_rewards": WeightedOperation(2, withdraw),
        "update_params": WeightedOperation(1, update_params),
        "record_work": WeightedOperation(2, record_work),
    }
