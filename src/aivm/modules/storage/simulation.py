"""Random storage operations for the simulation: store, open and answer challenges.

Written against ``MsgStoreObject{owner, cid, size, retention_blocks, root_block}`` (per-owner
records whose size the root block proves). The contents come from a small pool made once per
run (a few single-chunk objects and one object of three chunks), so owners keep extending
the same records and several owners hold the same CID. Faults: a root block that is not the
CID's, a declared size that is not the proven one, a retention below the minimum, an unknown
CID, a wrong chunk or a proof of another chunk. Scheduled challenges (opened by EndBlock for
the data-role holders the roles operations register) are answered by their assignee
(``answer_assigned``, sometimes with a wrong chunk) and by someone else (``answer_not_assignee``,
always refused with ``storage/15``).
"""

from __future__ import annotations

from collections.abc import Sequence

from aivm.crypto import unixfs
from aivm.modules.addr import addr_bytes, addr_str
from aivm.modules.authority.simulation import claimed_authority, scaled
from aivm.modules.simulation import Rng, SimEnv, WeightedOperation
from aivm.modules.storage import keys
from aivm.modules.storage.keeper import StorageKeeper
from aivm.modules.storage.module import StorageModule
from aivm.store import PrefixStore
from aivm.types import pb
from aivm.types.errors import AivmError
from aivm.types.protogen import storage_pb2

SMALL_OBJECTS = 5
"""Single-chunk objects in a run's content pool."""


def operations(module: StorageModule) -> dict[str, WeightedOperation]:
    """store, open_challenge and answer_challenge, by name."""
    keeper = module.keeper

    def store(env: SimEnv) -> Sequence[pb.Message] | None:
        """Pay retention for a pool object; sometimes with wrong evidence or size."""
        dag = env.rng.choice(content_pool(env))
        root = unixfs.root_block_of(dag)
        msg = storage_pb2.MsgStoreObject(
            owner=addr_str(env.rng.choice(env.accounts)),
            cid=dag.root_cid,
            retention_blocks=env.rng.randrange(5, 120),
            root_block=root,
        )
        roll = env.rng.randrange(0, 12)
        if roll == 0:
            msg.root_block = root[:-1] + b"!" if root else b"!"  # not the CID's block
        elif roll == 1:
            msg.size = dag.size + env.rng.randrange(1, 10)
        elif roll == 2:
            msg.size = dag.size  # declared and right
        return [msg]

    def open_challenge(env: SimEnv) -> Sequence[pb.Message] | None:
        """Challenge a pool object (or a CID nobody stored)."""
        dag = env.rng.choice(content_pool(env))
        cid = dag.root_cid if env.rng.randrange(0, 10) else unixfs.raw_cid(env.rng.randbytes(9))
        return [
            storage_pb2.MsgOpenChallenge(challenger=addr_str(env.rng.choice(env.accounts)), cid=cid)
        ]

    def answer_challenge(env: SimEnv) -> Sequence[pb.Message] | None:
        """Answer a recent challenge with its chunk and proof (sometimes the wrong ones)."""
        challenge = _pick_challenge(env, keeper)
        if challenge is None:
            return None
        dag = {d.root_cid: d for d in content_pool(env)}.get(challenge.cid)
        if dag is None:
            return None
        index = challenge.chunk_index
        if env.rng.randrange(0, 8) == 0:
            index = env.rng.randrange(0, dag.chunks)  # possibly another chunk's
        proof = unixfs.chunk_proof(dag, index).encode()
        chunk = dag.blocks[dag.leaves[index]]
        if env.rng.randrange(0, 12) == 0:
            chunk = chunk[:-1] + b"?" if chunk else b"?"
        return [
            storage_pb2.MsgAnswerChallenge(
                responder=addr_str(env.rng.choice(env.accounts)),
                challenge_id=challenge.id,
                chunk=chunk,
                proof=proof,
            )
        ]

    def answer_assigned(env: SimEnv) -> Sequence[pb.Message] | None:
        """The assignee answers one of its open scheduled challenges (1 in 10: wrong chunk)."""
        challenge = _pick_assigned(env, keeper)
        if challenge is None:
            return None
        answer = _answer_of(env, challenge, challenge.assignee)
        if answer is not None and env.rng.randrange(0, 10) == 0:
            answer.chunk = answer.chunk[:-1] + b"?" if answer.chunk else b"?"
        return None if answer is None else [answer]

    def answer_not_assignee(env: SimEnv) -> Sequence[pb.Message] | None:
        """Another account answers a scheduled challenge with the right chunk (refused)."""
        challenge = _pick_assigned(env, keeper)
        if challenge is None:
            return None
        others = [a for a in env.accounts if a != addr_bytes(challenge.assignee)]
        if not others:
            return None
        answer = _answer_of(env, challenge, addr_str(env.rng.choice(others)))
        return None if answer is None else [answer]

    def update_params(env: SimEnv) -> Sequence[pb.Message] | None:
        """Challenge window, minimum retention and evidence gas moved within ±25%."""
        params = storage_pb2.Params()
        params.CopyFrom(keeper.get_params(env.ctx))
        params.challenge_window = scaled(env, params.challenge_window, 2)
        params.min_retention = scaled(env, params.min_retention, 1)
        params.gas_per_kib_hashed = scaled(env, params.gas_per_kib_hashed, 100)
        params.gas_per_byte_parsed = scaled(env, params.gas_per_byte_parsed, 10)
        if env.rng.randrange(0, 10) == 0:
            params.max_object_size = 0  # invalid: refused by the stateless check
        authority = claimed_authority(env, module.authority)
        return [storage_pb2.MsgUpdateParams(authority=authority, params=params)]

    return {
        "update_params": WeightedOperation(1, update_params),
        "store": WeightedOperation(12, store),
        "open_challenge": WeightedOperation(5, open_challenge),
        "answer_challenge": WeightedOperation(3, answer_challenge),
        "answer_assigned": WeightedOperation(2, answer_assigned),
        "answer_not_assignee": WeightedOperation(1, answer_not_assignee),
    }


def content_pool(env: SimEnv) -> list[unixfs.Dag]:
    """The run's objects (built on first use, kept in the storage scratch)."""
    scratch = env.scratch("storage")
    if "pool" not in scratch:
        scratch["pool"] = make_pool(env.rng)
    pool: list[unixfs.Dag] = scratch["pool"]
    return pool


def make_pool(rng: Rng) -> list[unixfs.Dag]:
    """A few single-chunk objects (one of them empty) and one object of three chunks."""
    sizes = [0] + [rng.randrange(1, 5_000) for _ in range(SMALL_OBJECTS - 1)]
    pool = [unixfs.build_dag(rng.randbytes(size)) for size in sizes]
    big = rng.randbytes(2 * unixfs.CHUNK_SIZE + rng.randrange(1, 2_000))
    pool.append(unixfs.build_dag(big))
    return pool


def _pick_challenge(env: SimEnv, keeper: StorageKeeper) -> storage_pb2.Challenge | None:
    """A challenge by id below the counter (the newest ones more often)."""
    raw = PrefixStore(env.ctx.store, keys.STORE_PREFIX).get(keys.NEXT_CHALLENGE_ID)
    next_id = 1 if raw is None else int.from_bytes(raw, "big")
    if next_id <= 1:
        return None
    low = 1 if env.rng.randrange(0, 4) == 0 else max(1, next_id - 4)
    try:
        challenge: storage_pb2.Challenge = keeper.get_challenge(
            env.ctx, env.rng.randrange(low, next_id)
        )
    except AivmError:
        return None
    return challenge


def _pick_assigned(env: SimEnv, keeper: StorageKeeper) -> storage_pb2.Challenge | None:
    """One open scheduled challenge (None when there is none)."""
    open_ids = [challenge_id for _, challenge_id in keeper.iterate_assigned(env.ctx)]
    if not open_ids:
        return None
    return keeper.get_challenge(env.ctx, env.rng.choice(open_ids))


def _answer_of(
    env: SimEnv, challenge: storage_pb2.Challenge, responder: str
) -> storage_pb2.MsgAnswerChallenge | None:
    """The correct answer to ``challenge`` from ``responder`` (None for a CID not in the pool)."""
    dag = {d.root_cid: d for d in content_pool(env)}.get(challenge.cid)
    if dag is None:
        return None
    index = challenge.chunk_index
    return storage_pb2.MsgAnswerChallenge(
        responder=responder,
        challenge_id=challenge.id,
        chunk=dag.blocks[dag.leaves[index]],
        proof=unixfs.chunk_proof(dag, index).encode(),
    )
