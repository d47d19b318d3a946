"""Random ai operations for the simulation: register, infer, set status, transfer.

Registrations carry small DSM models generated here (linear scorers, small MLPs with
requantization and skips, lookup tables, tree ensembles, scorecards) and, now and then, an
artifact that must be refused: bytes that are no model, a hash or CID that does not match, a
model that could overflow, an off-chain model without a storage record, a comparison rule
an on-chain model may not declare (or that is malformed). Names are drawn from
a small pool or the owner's own models, so taken names, new versions and version ordering are
exercised too. Inferences pick a registered model (or an id that does not exist) and an input
row that fits, or is too short, out of range, or given as decimal strings.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Sequence

from aivm.ai import runtime
from aivm.ai.runtime.model import (
    Add,
    Argmax,
    Dense,
    InputSpec,
    Lut,
    Model,
    Op,
    Relu,
    Requantize,
    Scorecard,
    Threshold,
    TreeEnsemble,
    int_array,
)
from aivm.crypto.cid import cid_of
from aivm.modules.addr import addr_str
from aivm.modules.ai.keeper import AiKeeper
from aivm.modules.ai.module import AiModule
from aivm.modules.authority.simulation import claimed_authority, scaled
from aivm.modules.simulation import Rng, SimEnv, WeightedOperation
from aivm.types import pb
from aivm.types.errors import AivmError
from aivm.types.protogen import ai_pb2

NAMES = 24
"""Model names start from ``m0`` … ``m23`` (the pool grows by one every ten blocks)."""
TAGS = ("credit", "fraud", "vision", "nlp", "risk")
INPUT_LO, INPUT_HI = -1000, 1000
Status = ai_pb2.ModelStatus


def operations(module: AiModule) -> dict[str, WeightedOperation]:
    """register, register_bad, infer, set_status and transfer, by name."""
    keeper = module.keeper

    def register(env: SimEnv) -> Sequence[pb.Message] | None:
        """A valid on-chain model under a pool name (taken names and old versions fail)."""
        owner = env.rng.choice(env.accounts)
        name, version = _name_and_version(env, keeper, owner)
        artifact = runtime.serialize(random_model(env.rng))
        return [register_msg(addr_str(owner), name, version, artifact, env.rng)]

    def register_bad(env: SimEnv) -> Sequence[pb.Message] | None:
        """A registration the chain must refuse (see :func:`bad_register_msg`)."""
        owner = env.rng.choice(env.accounts)
        name, version = _name_and_version(env, keeper, owner)
        return [bad_register_msg(addr_str(owner), name, version, env.rng)]

    def infer(env: SimEnv) -> Sequence[pb.Message] | None:
        """One row for a registered model: fitting, malformed, or for a missing model."""
        model = _pick_model(env, keeper)
        if model is None:
            return None
        msg = ai_pb2.MsgInfer(caller=addr_str(env.rng.choice(env.accounts)), model_id=model.id)
        if env.rng.randrange(0, 6) == 0:
            msg.version = env.rng.choice([*_version_names(env, keeper, model.id), "9.9.9"])
        spec = _input_spec(env, keeper, model)
        if spec is None:
            msg.input.extend([0])
        elif env.rng.randrange(0, 4) == 0:
            msg.decimal_input.extend(_decimal_row(env.rng, spec))
        else:
            msg.input.extend(_int_row(env.rng, spec))
        if env.rng.randrange(0, 30) == 0:
            msg.model_id = env.rng.randrange(1_000, 2_000)  # no such model
        return [msg]

    def set_status(env: SimEnv) -> Sequence[pb.Message] | None:
        """A lifecycle move, usually by the owner, allowed or not."""
        model = _pick_model(env, keeper)
        if model is None:
            return None
        status = env.rng.choice(
            [
                Status.MODEL_STATUS_ACTIVE,
                Status.MODEL_STATUS_DEPRECATED,
                Status.MODEL_STATUS_REVOKED,
            ]
        )
        reason = "" if env.rng.randrange(0, 8) == 0 else f"sim {env.height}"
        return [
            ai_pb2.MsgSetModelStatus(
                owner=_owner_or_not(env, model.owner),
                model_id=model.id,
                version=env.rng.choice([*_version_names(env, keeper, model.id), "7.7.7"]),
                status=status,
                reason=reason,
            )
        ]

    def transfer(env: SimEnv) -> Sequence[pb.Message] | None:
        """A transfer to a simulated account, usually by the owner."""
        model = _pick_model(env, keeper)
        if model is None:
            return None
        return [
            ai_pb2.MsgTransferModel(
                owner=_owner_or_not(env, model.owner),
                model_id=model.id,
                new_owner=addr_str(env.rng.choice(env.accounts)),
            )
        ]

    def update_params(env: SimEnv) -> Sequence[pb.Message] | None:
        """The DSM gas prices moved within ±25% (limits kept: models stay runnable)."""
        current = keeper.get_params(env.ctx)
        gas_fields = [f.name for f in dataclasses.fields(current) if "gas" in f.name]
        changes = {name: scaled(env, getattr(current, name), 1) for name in gas_fields}
        params = dataclasses.replace(current, **changes).to_proto()
        if env.rng.randrange(0, 10) == 0:
            params.max_ops = 0  # invalid: refused by the stateless check
        authority = claimed_authority(env, module.authority)
        return [ai_pb2.MsgUpdateParams(authority=authority, params=params)]

    return {
        "update_params": WeightedOperation(1, update_params),
        "register": WeightedOperation(8, register),
        "register_bad": WeightedOperation(3, register_bad),
        "infer": WeightedOperation(20, infer),
        "set_status": WeightedOperation(4, set_status),
        "transfer": WeightedOperation(3, transfer),
    }


# -- messages ------------------------------------------------------------------------------


def register_msg(
    owner: str, name: str, version: str, artifact: bytes, rng: Rng
) -> ai_pb2.MsgRegisterModel:
    """A well-formed on-chain registration of ``artifact``."""
    tags = sorted({rng.choice(TAGS) for _ in range(rng.randrange(0, 3))})
    return ai_pb2.MsgRegisterModel(
        owner=owner,
        name=name,
        version=version,
        artifact_cid=cid_of(artifact),
        artifact_sha256=hashlib.sha256(artifact).digest(),
        format=runtime.FORMAT,
        execution_path="onchain",
        price=[pb.coin.Coin(denom="ucgpt", amount=str(rng.randrange(0, 1_000)))]
        if rng.randrange(0, 2)
        else [],
        license="Apache-2.0",
        tags=tags,
        artifact=artifact,
    )


def bad_register_msg(owner: str, name: str, version: str, rng: Rng) -> ai_pb2.MsgRegisterModel:
    """A registration the chain must refuse, for one of several reasons."""
    artifact = runtime.serialize(random_model(rng))
    msg = register_msg(owner, name, version, artifact, rng)
    flaw = rng.randrange(0, 10)
    if flaw == 0:  # not a DSM model at all
        junk = rng.randbytes(rng.randrange(1, 200))
        msg.artifact, msg.artifact_cid = junk, cid_of(junk)
        msg.artifact_sha256 = hashlib.sha256(junk).digest()
    elif flaw == 1:  # a cut-off model
        cut = artifact[: rng.randrange(1, len(artifact))]
        msg.artifact, msg.artifact_cid = cut, cid_of(cut)
        msg.artifact_sha256 = hashlib.sha256(cut).digest()
    elif flaw == 2:
        msg.artifact_sha256 = hashlib.sha256(artifact + b"x").digest()
    elif flaw == 3:
        msg.artifact_cid = cid_of(artifact + b"x")
    elif flaw == 4:  # weights that could overflow int64
        risky = runtime.serialize(overflowing_model())
        msg.artifact, msg.artifact_cid = risky, cid_of(risky)
        msg.artifact_sha256 = hashlib.sha256(risky).digest()
    elif flaw in (5, 6):  # trees that lie about their depth, or are very deep
        lying = runtime.serialize(tree_model(rng, lie=flaw == 5))
        msg.artifact, msg.artifact_cid = lying, cid_of(lying)
        msg.artifact_sha256 = hashlib.sha256(lying).digest()
    elif flaw == 7:  # an off-chain model nobody stored
        msg.execution_path, msg.format, msg.artifact_size = "offchain", "onnx", len(artifact)
        msg.ClearField("artifact")
    elif flaw == 8:
        msg.artifact_size = len(msg.artifact) + 1
    else:  # a comparison rule an on-chain model may not declare, or no rule at all (ai/13)
        msg.comparison = rng.choice(["tolerance", "tokens", "fuzzy"])
        if rng.randrange(0, 2):
            msg.comparison_rtol = rng.choice(["0.5", "2", "-1", "1e-3"])
    return msg


def _name_and_version(env: SimEnv, keeper: AiKeeper, owner: bytes) -> tuple[str, str]:
    """A name (one of the owner's models a third of the time, else from a pool that grows
    with the height, so taken names stay frequent but not universal) and a version: above the
    latest mostly, sometimes not."""
    owned = keeper.model_ids_by_owner(env.ctx, owner)
    if owned and env.rng.randrange(0, 3) == 0:
        name = keeper.get_model(env.ctx, env.rng.choice(owned)).name
    else:
        name = f"m{env.rng.randrange(0, NAMES + env.height // 10)}"
    model_id = keeper.model_id_by_name(env.ctx, name)
    if model_id is None:
        return name, f"1.{env.rng.randrange(0, 3)}.0"
    latest = keeper.get_model(env.ctx, model_id).latest_version
    major, minor, patch = (int(part) for part in latest.split("-")[0].split("+")[0].split("."))
    if env.rng.randrange(0, 6) == 0:
        return name, latest  # not above the latest
    return name, f"{major}.{minor + env.rng.randrange(0, 2)}.{patch + 1}"


def _pick_model(env: SimEnv, keeper: AiKeeper) -> ai_pb2.Model | None:
    next_id, _ = keeper.peek_next_ids(env.ctx)
    if next_id <= 1:
        return None
    try:
        return keeper.get_model(env.ctx, env.rng.randrange(1, next_id))
    except AivmError:
        return None


def _version_names(env: SimEnv, keeper: AiKeeper, model_id: int) -> list[str]:
    return [version.version for version in keeper.versions(env.ctx, model_id)]


def _owner_or_not(env: SimEnv, owner: str) -> str:
    """The owner nine times in ten, someone else otherwise."""
    if env.rng.randrange(0, 10):
        return owner
    return addr_str(env.rng.choice(env.accounts))


def _input_spec(env: SimEnv, keeper: AiKeeper, model: ai_pb2.Model) -> InputSpec | None:
    """The input spec of the model's latest on-chain version (parsed once per artifact)."""
    try:
        version = keeper.get_version(env.ctx, model.id, "")
    except AivmError:
        return None
    parsed: dict[bytes, InputSpec | None] = env.scratch("ai").setdefault("specs", {})
    if version.artifact_sha256 not in parsed:
        artifact = keeper.get_artifact(env.ctx, version.artifact_sha256)
        try:
            parsed[version.artifact_sha256] = (
                None if artifact is None else runtime.parse(artifact).input
            )
        except AivmError:
            parsed[version.artifact_sha256] = None
    return parsed[version.artifact_sha256]


def _int_row(rng: Rng, spec: InputSpec) -> list[int]:
    """A quantized row: in range mostly; sometimes a feature short, or out of range."""
    width = spec.width
    roll = rng.randrange(0, 12)
    if roll == 0:
        width = max(1, width + rng.choice([-1, 1]))
    row = [rng.randrange(spec.lo, spec.hi + 1) for _ in range(width)]
    if roll == 1:
        row[0] = spec.hi + rng.randrange(1, 10)
    return row


def _decimal_row(rng: Rng, spec: InputSpec) -> list[str]:
    """Decimal features the spec quantizes; now and then one that is not a number."""
    row = []
    for index in range(spec.width):
        scale = spec.scale_num[index] // spec.scale_den[index] or 1
        whole = rng.randrange(spec.lo // scale, spec.hi // scale + 1)
        inside = spec.lo // scale < whole < spec.hi // scale
        row.append(f"{whole}.{rng.randrange(0, 10)}" if inside else str(whole))
    if rng.randrange(0, 15) == 0:
        row[0] = rng.choice(
            ["1e3", "", "-", "0x10", "١٢", "1" * 700, "0." + "5" * 5000, "1" * 5000]
        )
    return row


# -- models --------------------------------------------------------------------------------


def random_model(rng: Rng) -> Model:
    """A small valid DSM model of a random kind."""
    width = rng.randrange(1, 7)
    scale = rng.choice([1, 1, 10])
    spec = InputSpec(width, INPUT_LO, INPUT_HI, (scale,) * width, (1,) * width, (0,) * width)
    builder = rng.choice([_linear, _mlp, _lut, _trees, _scorecard])
    return Model(spec, builder(rng, width), name="sim")


def tree_model(rng: Rng, lie: bool) -> Model:
    """One tree, a chain of 20–200 inner nodes; ``lie`` declares a depth it does not have."""
    inner = rng.randrange(20, 200)
    nodes: list[tuple[int, int, int, int, list[int]]] = []
    for index in range(inner):  # node i: left is a leaf, right the next inner node
        nodes.append((0, rng.randrange(-500, 500), 2 * index + 1, 2 * index + 2, [0]))
        nodes.append((0, 0, 2 * index + 1, 2 * index + 1, [rng.randrange(-50, 50)]))
    nodes.append((0, 0, 2 * inner, 2 * inner, [1]))
    declared = inner + rng.choice([-1, 1, 1000]) if lie else inner
    spec = InputSpec(1, INPUT_LO, INPUT_HI, (1,), (1,), (0,))
    tree = TreeEnsemble(
        (0,),
        roots=int_array([0]),
        feature=int_array([n[0] for n in nodes]),
        threshold=int_array([n[1] for n in nodes]),
        left=int_array([n[2] for n in nodes]),
        right=int_array([n[3] for n in nodes]),
        values=int_array([n[4] for n in nodes], 2),
        base=int_array([0]),
        depth=declared,
    )
    return Model(spec, (tree,), name="deep")


def overflowing_model() -> Model:
    """A dense layer whose weights could overflow int64 on inputs in range: must be refused."""
    spec = InputSpec(2, -(2**40), 2**40, (1, 1), (1, 1), (0, 0))
    dense = Dense((0,), int_array([[2**40, 2**40]], 2), int_array([0]))
    return Model(spec, (dense,), name="overflow")


def _weights(rng: Rng, rows: int, cols: int, bound: int = 20) -> list[list[int]]:
    return [[rng.randrange(-bound, bound + 1) for _ in range(cols)] for _ in range(rows)]


def _linear(rng: Rng, width: int) -> tuple[Op, ...]:
    outputs = rng.randrange(1, 4)
    dense = Dense(
        (0,),
        int_array(_weights(rng, outputs, width), 2),
        int_array([rng.randrange(-100, 101) for _ in range(outputs)]),
    )
    if outputs > 1 and rng.randrange(0, 2):
        return (dense, Argmax((1,)))
    return (dense, Threshold((1,), rng.randrange(-500, 501)))


def _mlp(rng: Rng, width: int) -> tuple[Op, ...]:
    hidden = rng.randrange(2, 6)
    first = Dense((0,), int_array(_weights(rng, hidden, width), 2), int_array([0] * hidden))
    requant = Requantize((1,), int_array([rng.randrange(1, 100)]), int_array([rng.randrange(0, 8)]))
    relu = Relu((2,))
    skip = Add((2, 3))
    second = Dense((4,), int_array(_weights(rng, 2, hidden), 2), int_array([0, 0]))
    return (first, requant, relu, skip, second, Argmax((5,)))


def _lut(rng: Rng, width: int) -> tuple[Op, ...]:
    table = int_array([rng.randrange(-50, 51) for _ in range(rng.randrange(2, 40))])
    return (Lut((0,), table, rng.randrange(-20, 21)),)


def _scorecard(rng: Rng, width: int) -> tuple[Op, ...]:
    edges, points = [], []
    for _ in range(width):
        cuts = sorted({rng.randrange(-500, 501) for _ in range(rng.randrange(0, 4))})
        edges.append(int_array(cuts))
        points.append(int_array([rng.randrange(-30, 31) for _ in range(len(cuts) + 1)]))
    return (Scorecard((0,), tuple(edges), tuple(points), rng.randrange(300, 700)),)


def _trees(rng: Rng, width: int) -> tuple[Op, ...]:
    """1–3 random proper binary trees, declared at their true depth."""
    outputs = rng.randrange(1, 3)
    nodes: list[tuple[int, int, int, int, list[int]]] = []  # feature, threshold, left, right
    roots = []
    for _ in range(rng.randrange(1, 4)):
        roots.append(_grow(rng, nodes, width, outputs, rng.randrange(0, 4)))
    depth = max(_depth(nodes, root) for root in roots)
    return (
        TreeEnsemble(
            (0,),
            roots=int_array(roots),
            feature=int_array([n[0] for n in nodes]),
            threshold=int_array([n[1] for n in nodes]),
            left=int_array([n[2] for n in nodes]),
            right=int_array([n[3] for n in nodes]),
            values=int_array([n[4] for n in nodes], 2),
            base=int_array([rng.randrange(-100, 101) for _ in range(outputs)]),
            depth=depth,
        ),
    )


def _grow(
    rng: Rng,
    nodes: list[tuple[int, int, int, int, list[int]]],
    width: int,
    outputs: int,
    levels: int,
) -> int:
    """Append a subtree of at most ``levels`` inner levels; return its root's index."""
    index = len(nodes)
    if levels == 0 or rng.randrange(0, 4) == 0:
        nodes.append((0, 0, index, index, [rng.randrange(-500, 501) for _ in range(outputs)]))
        return index
    nodes.append((0, 0, 0, 0, [0] * outputs))
    left = _grow(rng, nodes, width, outputs, levels - 1)
    right = _grow(rng, nodes, width, outputs, levels - 1)
    feature, threshold = rng.randrange(0, width), rng.randrange(INPUT_LO, INPUT_HI)
    nodes[index] = (feature, threshold, left, right, [0] * outputs)
    return index


def _depth(nodes: list[tuple[int, int, int, int, list[int]]], index: int) -> int:
    _, _, left, right, _ = nodes[index]
    if left == index and right == index:
        return 0
    return 1 + max(_depth(nodes, left), _depth(nodes, right))
