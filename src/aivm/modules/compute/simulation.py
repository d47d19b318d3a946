"""compute in the randomized simulation: register a provider (sometimes below the minimum
collateral, with bad hardware, an unknown runtime, or an offer of an unknown or on-chain
model version), update it, add collateral, heartbeat, pause, resume, exit, unjail (usually
refused: nobody is jailed by a message), params changes, ``offchain_model`` (stores an
artifact and registers it as an off-chain ``ai`` model in one tx, so providers have
versions to offer), ``dsm_model`` (the same with a small DSM artifact, format
``aivm-dsm/1``, whose bytes the sim keeps to run it: verified optimistically), ``dsm_offer``
(a provider adds an offer of such a version, runtime ``dsm``; while fewer than two serve
one, often a new provider) and ``slash_jail``.

``slash_jail`` calls :meth:`ComputeKeeper.slash_provider` and :meth:`jail_provider` directly
(no message slashes; the jobs slice will call them) on a throwaway branch of the committed
state, then checks the invariants there; it sends no transaction."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import replace

from aivm.ai import runtime
from aivm.crypto.cid import cid_of
from aivm.modules.addr import addr_bytes, addr_str
from aivm.modules.authority.simulation import claimed_authority
from aivm.modules.compute import compute_pb2
from aivm.modules.compute.channels import channel_sim_ops
from aivm.modules.compute.genesis import account_problems
from aivm.modules.compute.hardware_checks import hardware_sim_ops
from aivm.modules.compute.index_checks import check_offer_index
from aivm.modules.compute.invariants import check_exit_queue
from aivm.modules.compute.job_simulation import (
    DSM_RUNTIME,
    dsm_artifacts,
    dsm_model,
    job_operations,
)
from aivm.modules.compute.keeper import OFFCHAIN, ComputeKeeper
from aivm.modules.compute.module import ComputeModule
from aivm.modules.compute.validation import RUNTIMES
from aivm.modules.framework import Context, ExecMode
from aivm.modules.simulation import Rng, SimEnv, WeightedOperation
from aivm.store import CacheStore, GasMeter
from aivm.types import pb
from aivm.types.coin import BOND_DENOM
from aivm.types.dec import Dec
from aivm.types.errors import AivmError
from aivm.types.protogen import ai_pb2, storage_pb2

GPUS = (("", 0, 0), ("RTX-4090", 24 * 1024, 1), ("A100-80GB", 80 * 1024, 8), ("T4", 16 * 1024, 2))


def random_hardware(rng: Rng) -> compute_pb2.Hardware:
    """A valid declaration (CPU only or one of a few GPUs)."""
    model, memory, most = rng.choice(GPUS)
    return compute_pb2.Hardware(
        gpu_model=model,
        gpu_count=rng.randrange(1, most + 1) if most else 0,
        gpu_memory_mib=memory,
        cpu_cores=rng.randrange(1, 129),
        memory_mib=rng.randrange(1024, 1 << 20),
    )


def _coin(amount: int) -> pb.coin.Coin:
    return pb.coin.Coin(denom=BOND_DENOM, amount=str(amount))


def operations(module: ComputeModule) -> dict[str, WeightedOperation]:
    """register, update, add_collateral, heartbeat, pause, resume, exit, unjail,
    update_params, offchain_model, dsm_model, dsm_offer and slash_jail (and the job,
    channel and hardware-check operations), by name."""
    keeper = module.keeper

    def versions(env: SimEnv) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
        """(off-chain, on-chain) model versions of the committed state."""
        offchain: list[tuple[int, str]] = []
        onchain: list[tuple[int, str]] = []
        for v in keeper.ai.iterate_versions(env.ctx):
            (offchain if v.execution_path == OFFCHAIN else onchain).append((v.model_id, v.version))
        return offchain, onchain

    def offers(env: SimEnv) -> list[compute_pb2.Offer]:
        """Some offers: mostly of off-chain versions; sometimes of an unknown or on-chain one
        (refused)."""
        offchain, onchain = versions(env)
        roll = env.rng.randrange(0, 10)
        pairs = [env.rng.choice(offchain)] if offchain and roll < 7 else []
        if roll == 8:
            pairs.append((10**6 + env.rng.randrange(0, 9), "1.0.0"))
        if roll == 9 and onchain:
            pairs.append(env.rng.choice(onchain))
        return [
            compute_pb2.Offer(
                model_id=m, version=v, price_per_unit=str(env.rng.randrange(1, 10**6))
            )
            for m, v in pairs
        ]

    def declaration(env: SimEnv) -> dict[str, object]:
        hardware = random_hardware(env.rng)
        runtimes = list(RUNTIMES[: env.rng.randrange(1, len(RUNTIMES) + 1)])
        roll = env.rng.randrange(0, 12)
        if roll == 0:
            hardware.gpu_count = 0  # model and memory without a count: refused
            hardware.gpu_model = "X"
            hardware.gpu_memory_mib = 1
        elif roll == 1:
            runtimes = ["cuda-magic"]
        return {
            "hardware": hardware,
            "runtimes": runtimes,
            "offers": offers(env),
            "capacity": env.rng.randrange(0, 9),  # 0: refused
            "moniker": "sim",
        }

    def pick_provider(env: SimEnv) -> str:
        """Mostly a registered provider; sometimes any account (usually refused)."""
        records = [r.operator for r in keeper.iterate_providers(env.ctx)]
        if records and env.rng.randrange(0, 5):
            return env.rng.choice(records)
        return addr_str(env.rng.choice(env.accounts))

    def register(env: SimEnv) -> Sequence[pb.Message] | None:
        minimum = keeper.get_params(env.ctx).min_collateral
        collateral = minimum + env.rng.randrange(0, minimum + 1)
        if env.rng.randrange(0, 10) == 0:
            collateral = max(1, minimum - 1)
        operator = addr_str(env.rng.choice(env.accounts))
        msg = compute_pb2.MsgRegisterProvider(
            operator=operator,
            collateral=_coin(collateral),
            **declaration(env),  # type: ignore[arg-type]
        )
        return [msg]

    def update(env: SimEnv) -> Sequence[pb.Message] | None:
        msg = compute_pb2.MsgUpdateProvider(
            operator=pick_provider(env),
            **declaration(env),  # type: ignore[arg-type]
        )
        return [msg]

    def add_collateral(env: SimEnv) -> Sequence[pb.Message] | None:
        amount = env.rng.randrange(0, 10**6)  # 0: refused
        return [compute_pb2.MsgAddCollateral(operator=pick_provider(env), amount=_coin(amount))]

    def simple(message_class: type[pb.Message]) -> WeightedOperation:
        def build(env: SimEnv) -> Sequence[pb.Message] | None:
            return [message_class(operator=pick_provider(env))]

        return WeightedOperation(2, build)

    def offchain_model(env: SimEnv) -> Sequence[pb.Message] | None:
        """Store a small artifact and register it as an off-chain model (one tx), so that
        providers have versions to offer."""
        owner = addr_str(env.rng.choice(env.accounts))
        artifact = b"sim off-chain model " + env.rng.randbytes(16)
        store = storage_pb2.MsgStoreObject(
            owner=owner, cid=cid_of(artifact), retention_blocks=1_000, root_block=artifact
        )
        register = ai_pb2.MsgRegisterModel(
            owner=owner,
            name="sim-offchain-" + artifact[-16:].hex()[:12],
            version="1.0.0",
            artifact_cid=cid_of(artifact),
            artifact_sha256=hashlib.sha256(artifact).digest(),
            artifact_size=len(artifact),
            format="onnx",
            execution_path=OFFCHAIN,
        )
        return [store, register]

    def register_dsm_model(env: SimEnv) -> Sequence[pb.Message] | None:
        """Store a small DSM artifact and register it as an off-chain ``aivm-dsm/1`` version
        (one tx); the sim keeps the artifact to compute traces."""
        owner = addr_str(env.rng.choice(env.accounts))
        artifact = runtime.serialize(dsm_model(env.rng))
        dsm_artifacts(env)[hashlib.sha256(artifact).digest()] = artifact
        store = storage_pb2.MsgStoreObject(
            owner=owner, cid=cid_of(artifact), retention_blocks=1_000, root_block=artifact
        )
        register = ai_pb2.MsgRegisterModel(
            owner=owner,
            name="sim-dsm-" + hashlib.sha256(artifact).hexdigest()[:12],
            version="1.0.0",
            artifact_cid=cid_of(artifact),
            artifact_sha256=hashlib.sha256(artifact).digest(),
            artifact_size=len(artifact),
            format=runtime.FORMAT,
            execution_path=OFFCHAIN,
        )
        return [store, register]

    def dsm_offer(env: SimEnv) -> Sequence[pb.Message] | None:
        """An available provider adds an offer of a DSM version (and the ``dsm`` runtime,
        9 times in 10); while fewer than two serve DSM versions, an account often registers
        a new provider offering one."""
        known = dsm_artifacts(env)
        dsm = [
            (v.model_id, v.version)
            for v in keeper.ai.iterate_versions(env.ctx)
            if v.format == runtime.FORMAT
            and v.execution_path == OFFCHAIN
            and v.artifact_sha256 in known
        ]
        if not dsm:
            return None
        model_id, version = env.rng.choice(dsm)
        offer = compute_pb2.Offer(
            model_id=model_id, version=version, price_per_unit=str(env.rng.randrange(1, 10**4))
        )
        every = list(keeper.iterate_providers(env.ctx))
        records = [r for r in every if keeper.record_available(env.ctx, r)]
        serving = [r for r in records if any((o.model_id, o.version) in dsm for o in r.offers)]
        outsiders = [a for a in env.accounts if addr_str(a) not in {r.operator for r in every}]
        if outsiders and (not records or (len(serving) < 2 and env.rng.randrange(0, 2))):
            minimum = keeper.get_params(env.ctx).min_collateral
            return [
                compute_pb2.MsgRegisterProvider(
                    operator=addr_str(env.rng.choice(outsiders)),
                    collateral=_coin(minimum + env.rng.randrange(0, minimum + 1)),
                    hardware=random_hardware(env.rng),
                    runtimes=list(RUNTIMES),
                    offers=[offer],
                    capacity=env.rng.randrange(1, 9),
                    moniker="sim-dsm",
                )
            ]
        if not records:
            return None
        record = env.rng.choice(records)
        limit = keeper.get_params(env.ctx).max_offers
        offers = [o for o in record.offers if (o.model_id, o.version) != (model_id, version)]
        offers = offers[: max(0, limit - 1)]
        runtimes = list(record.runtimes)
        if DSM_RUNTIME not in runtimes and env.rng.randrange(0, 10):
            runtimes = [DSM_RUNTIME, *runtimes][: len(RUNTIMES)]
        return [
            compute_pb2.MsgUpdateProvider(
                operator=record.operator,
                hardware=record.hardware,
                runtimes=runtimes,
                offers=[*offers, offer],
                capacity=max(1, record.capacity),
                moniker=record.moniker or "sim",
            )
        ]

    def update_params(env: SimEnv) -> Sequence[pb.Message] | None:
        params = keeper.get_params(env.ctx).to_proto()
        params.heartbeat_timeout_blocks = env.rng.randrange(1, 50)
        params.max_offers = env.rng.randrange(1, 8)
        if env.rng.randrange(0, 10) == 0:
            params.initial_reputation = "1.5"  # invalid: refused by the stateless check
        authority = claimed_authority(env, module.authority)
        return [compute_pb2.MsgUpdateParams(authority=authority, params=params)]

    def slash_jail(env: SimEnv) -> Sequence[pb.Message] | None:
        problems = check_slash_and_jail(module, env, pick_provider(env))
        if problems:
            raise AssertionError("compute slash_jail: " + "; ".join(problems))
        return None  # nothing to send: no message slashes

    m = compute_pb2
    return {
        "register": WeightedOperation(6, register),
        "update": WeightedOperation(3, update),
        "add_collateral": WeightedOperation(2, add_collateral),
        "heartbeat": simple(m.MsgProviderHeartbeat),
        "pause": simple(m.MsgPauseProvider),
        "resume": simple(m.MsgResumeProvider),
        "exit": WeightedOperation(1, simple(m.MsgExitProvider).run),
        "unjail": WeightedOperation(1, simple(m.MsgUnjailProvider).run),
        "update_params": WeightedOperation(1, update_params),
        "offchain_model": WeightedOperation(1, offchain_model),
        "dsm_model": WeightedOperation(2, register_dsm_model),
        "dsm_offer": WeightedOperation(3, dsm_offer),
        "slash_jail": WeightedOperation(2, slash_jail),
        **job_operations(module.jobs),
        **channel_sim_ops(module.channels),
        **hardware_sim_ops(module.hardware),
    }


def check_slash_and_jail(module: ComputeModule, env: SimEnv, operator: str) -> list[str]:
    """Slash ``operator`` by a random fraction and jail it on a branch of the committed
    state; return what went wrong (the branch is dropped)."""
    keeper: ComputeKeeper = module.keeper
    header = replace(env.ctx.header, height=env.height)
    ctx = Context(CacheStore(env.ctx.store), GasMeter(None), header, ExecMode.FINALIZE)
    address = addr_bytes(operator)
    record = keeper.get_provider(ctx, address)
    fraction = Dec.raw(env.rng.randrange(1, 10**18 + 1))
    problems: list[str] = []
    try:
        burned = keeper.slash_provider(ctx, address, fraction, 1, b"\x01" * 32)
        keeper.jail_provider(ctx, address)
    except AivmError as exc:
        if record is not None:
            problems.append(f"slash/jail of a provider refused: {exc}")
        return problems
    if record is None:
        return [f"slash of {operator}, not a provider, accepted"]
    expected = fraction.mul_int(int(record.collateral)).truncate_int()
    if burned != expected:
        problems.append(f"burned {burned}, expected {expected}")
    return (
        problems
        + account_problems(keeper, ctx, module.jobs, module.channels)
        + check_offer_index(ctx, keeper)
        + check_exit_queue(ctx, keeper)
    )
