"""Fuzz targets and their oracles, on a real AivmApp (tests/harness.py ``Chain``).

A :class:`FuzzWorld` is a chain on a temporary store with funded accounts, registered
on-chain models, an execution record and stored objects, plus the generators of
:mod:`aivm.sim.fuzz` filled with what exists on it. The message and query types come from
``app.router``, so a module added later is fuzzed with no change here.

Every target turns a ``random.Random`` into one :class:`FuzzInput` (bytes — the reproducer —
plus what the generator knows a correct node must do with them) and runs it through the app:

========== ===================================================================================
decode     ``decode_tx``
check      CheckTx (a block is committed after each accepted tx, so the check state resets)
simulate   ABCI query ``/cosmos.tx.v1beta1.Service/Simulate`` (request bytes fuzzed too)
finalize   FinalizeBlock of one tx on the long-running app and on a cold one, then discarded
block      PrepareProposal → ProcessProposal → FinalizeBlock (cold and warm) → Commit of 1–12
query      every gRPC query path, ``/store/<name>/key`` and unknown paths, at fuzzed heights
artifact   ``runtime.load`` / ``codec.parse`` of DSM artifacts; loadable ones run on rows
========== ===================================================================================

Oracles (an :class:`OracleFailure` names the one that failed):

- no exception escapes an ABCI call, and ``decode_tx`` / the runtime raise only AivmError;
- every non-zero code is a registered (codespace, code) and is not ErrInternal (code 1), and
  the app logs no error (it logs one for every bug it turns into ErrInternal);
- the same input gives the same result twice, and on a cold app (fresh caches) as on the
  long-running warm one (CheckTx rejections, Simulate, queries, FinalizeBlock, blocks);
- a rejected tx changes nothing, or only the fee and the signers' sequences (and a first
  public key) when its ante step passed — checked by recomputing the app hash;
- an input the generator marked ``decode_reject`` / ``ante_reject`` is rejected (and, in
  FinalizeBlock, before its ante step charged anything); an accepted TxRaw is canonical;
- a block's own proposal is accepted by ProcessProposal; supply equals the sum of balances;
- a loadable artifact re-serializes to itself and computes what exact integer arithmetic
  computes (no int64 overflow the static analysis missed).
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import random
import traceback
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from aivm.ai import runtime
from aivm.ai.runtime.model import (
    Dense,
    InputSpec,
    Model,
    Threshold,
    int_array,
)
from aivm.ai.verify import trace
from aivm.app.application import PROOF_OP_TYPE, SIMULATE_PATH, STORE_QUERY_PREFIXES, AivmApp
from aivm.app.tx import decode_tx
from aivm.client.tx import Signer, bank_send, sign_tx
from aivm.crypto import unixfs
from aivm.crypto.cid import cid_of
from aivm.crypto.keys import PrivKey
from aivm.modules.auth.keeper import FEE_COLLECTOR
from aivm.modules.compute import compute_pb2
from aivm.modules.framework import BlockHeader, Context, ExecMode
from aivm.modules.roles import roles_pb2
from aivm.modules.staking import StakingKeeper
from aivm.modules.staking.genesis import gentx
from aivm.modules.storage.keeper import DEFAULT_PARAMS as STORAGE_DEFAULTS
from aivm.sim import fuzz
from aivm.sim.fuzz import FuzzAccount, FuzzTx, Rng
from aivm.store import (
    AIVM_PROOF_SPEC,
    GasMeter,
    prefix_end,
    verify_membership,
    verify_non_membership,
)
from aivm.types import pb
from aivm.types.address import acc_address, valoper_address
from aivm.types.coin import Coin
from aivm.types.errors import AivmError, lookup
from aivm.types.protogen import ai_pb2, storage_pb2
from dsm_reference import reference_run
from harness import CHAIN_ID, DENOM, Chain, genesis_doc

SECOND_DENOM = "uatom"
RICH = 10**15
POOR = 3_000
VALIDATOR_BOND = 10**10
"""Self-bond of each of the two genesis validators of the fuzz world."""
MAX_TX_BYTES = 22_020_096
INTERNAL_CODE = 1
"""ErrInternal's code (codespace ``undefined`` or ``sdk``): a handler raised unexpectedly."""


class OracleFailure(AssertionError):
    """An oracle caught a bug: ``kind`` is stable (for grouping), ``detail`` explains it."""

    def __init__(self, kind: str, detail: str = "") -> None:
        super().__init__(f"{kind}: {detail}" if detail else kind)
        self.kind = kind
        self.detail = detail


@dataclass(frozen=True)
class FuzzInput:
    """One input: the bytes a target runs (the reproducer) and what must happen to them."""

    data: bytes
    decode_reject: str = ""
    ante_reject: str = ""

    @classmethod
    def of_tx(cls, tx: FuzzTx) -> FuzzInput:
        """The input for a generated tx."""
        return cls(tx.raw, tx.decode_reject, tx.ante_reject)

    @property
    def must_reject(self) -> str:
        """Why the input must be rejected ('' when it may be accepted)."""
        return self.decode_reject or self.ante_reject


class Target(Protocol):
    """A fuzz target: generates inputs and runs them through its oracles."""

    name: str

    def generate(self, rng: Rng) -> FuzzInput:
        """One input."""
        ...

    def run(self, item: FuzzInput) -> str | list[str]:
        """Run ``item``; return its result label (``ok``, ``sdk/5``, …), or one per tx of a
        block; raise OracleFailure when an oracle fails."""
        ...


# --- oracles shared by the targets -------------------------------------------------------------


def result_label(code: int, codespace: str, log: str = "") -> str:
    """``ok`` or ``codespace/code``, after checking the code is registered and not internal."""
    if code == 0:
        return "ok"
    if code == INTERNAL_CODE:
        raise OracleFailure("ErrInternal result", f"{codespace}/{code} {log}")
    if lookup(codespace, code) is None:
        raise OracleFailure("unregistered error code", f"{codespace}/{code}")
    return f"{codespace}/{code}"


def error_label(error: AivmError) -> str:
    """The label of a raised AivmError (checked as :func:`result_label` does)."""
    return result_label(error.code, error.codespace, error.log)


def same(kind: str, first: pb.Message | bytes, second: pb.Message | bytes) -> None:
    """Determinism: two results must be byte-identical."""
    a = first if isinstance(first, bytes) else first.SerializeToString(deterministic=True)
    b = second if isinstance(second, bytes) else second.SerializeToString(deterministic=True)
    if a != b:
        raise OracleFailure(kind, f"{describe(first)} != {describe(second)}")


def describe(value: pb.Message | bytes) -> str:
    """A short text of a result for a failure report."""
    text = value.hex() if isinstance(value, bytes) else str(value).replace("\n", " ")
    return text if len(text) < 600 else text[:600] + "…"


class ErrorLog(logging.Handler):
    """Collects ERROR records of the ``aivm`` loggers: the app logs one for every bug.

    While attached, those records go here only (not to the root logger's handlers).
    """

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []
        self._saved: tuple[int, bool] = (logging.NOTSET, True)

    def attach(self) -> None:
        """Start collecting from the ``aivm`` logger."""
        logger = logging.getLogger("aivm")
        self._saved = (logger.level, logger.propagate)
        logger.setLevel(logging.ERROR)
        logger.propagate = False
        logger.addHandler(self)

    def detach(self) -> None:
        """Stop collecting; restore the logger."""
        logger = logging.getLogger("aivm")
        logger.removeHandler(self)
        logger.setLevel(self._saved[0])
        logger.propagate = self._saved[1]

    def emit(self, record: logging.LogRecord) -> None:
        """Remember ``record``."""
        self.records.append(record)

    def check(self) -> None:
        """Raise OracleFailure if an error was logged since the last check."""
        if self.records:
            raise OracleFailure("the app logged an error", self.take())

    def take(self) -> str:
        """The first error logged since the last call (with its traceback), and forget all."""
        if not self.records:
            return ""
        record = self.records[0]
        self.records.clear()
        detail = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            detail += f" — {type(exc).__name__}: {exc}\n" + "".join(traceback.format_exception(exc))
        return detail


# --- the world ---------------------------------------------------------------------------


@dataclass
class FuzzWorld:
    """A funded chain with models and objects, and the generators that know about it."""

    chain: Chain
    accounts: dict[bytes, FuzzAccount]
    stranger: PrivKey
    vocab: fuzz.Vocabulary
    generator: fuzz.MessageGenerator
    mutator: fuzz.WireMutator
    txs: fuzz.TxFactory
    queries: fuzz.QueryFactory
    artifacts: fuzz.ArtifactFactory
    errors: ErrorLog
    coverage: Counter[str] = field(default_factory=Counter)
    """``msg <type URL> <result>`` for every tx whose ante step passed (its handler ran) and
    ``query <path> <result>`` for every gRPC query: what the fuzzing reached."""
    seeds: list[pb.Message] = field(default_factory=list)
    """Messages that worked in the setup, one or more of every kind (mutated by the tx
    targets)."""
    setup_log: list[str] = field(default_factory=list)
    """Setup steps that did not succeed (the world works without them)."""

    @property
    def app(self) -> AivmApp:
        """The long-running (warm) app."""
        app: AivmApp = self.chain.app
        return app

    def cold_app(self) -> AivmApp:
        """A fresh app over the same store: no decoded-tx, signature or program caches."""
        return AivmApp(self.app.store, self.app.options)

    def recover(self) -> None:
        """After a failure: drop pending writes, commit an empty block (a fresh check state)
        and forget logged errors, so the next input starts from a clean committed state."""
        self.app.store.discard_pending()
        self.commit_empty_block()
        self.errors.records.clear()
        self.sync_accounts()

    def close(self) -> None:
        """Close the store and stop collecting logs."""
        self.errors.detach()
        self.app.store.close()

    # -- inputs ---------------------------------------------------------------------------

    def tx_input(self, rng: Rng) -> FuzzInput:
        """A transaction: generated, a mutated seed, a byte-mutated valid signed tx, a splice
        of two, or random bytes."""
        roll = rng.random()
        if roll < 0.5 or not self.seeds:
            return FuzzInput.of_tx(self.txs.tx(rng))
        seed = rng.choice(self.seeds)
        if roll < 0.8:
            message = self.generator.mutate(rng, seed) if rng.random() < 0.7 else seed
            return FuzzInput.of_tx(self.txs.tx(rng, [message]))
        if roll < 0.88:
            return FuzzInput(fuzz.havoc(rng, self.txs.signed([seed])))
        if roll < 0.96:
            return FuzzInput(fuzz.splice(rng, self.txs.tx(rng).raw, self.txs.tx(rng).raw))
        return FuzzInput(rng.randbytes(rng.randint(0, 300)))

    def note_handler(self, raw: bytes, label: str) -> None:
        """Count a tx whose messages ran, by its first message's type."""
        try:
            body = pb.tx.TxBody.FromString(pb.tx.TxRaw.FromString(raw).body_bytes)
        except pb.DecodeError:
            return
        if body.messages:
            self.coverage[f"msg {body.messages[0].type_url} {label}"] += 1

    # -- chain helpers --------------------------------------------------------------------

    def sync_accounts(self) -> None:
        """Read every fuzz account's number and sequence from the committed state."""
        ctx = self.app.query_context(self.app.store.version)
        for address, account in self.accounts.items():
            stored = self.app.accounts.get_account(ctx, address)
            if stored is not None:
                account.number = stored.account_number
                account.sequence = stored.sequence
        self.txs.height = self.app.store.version + 1

    def next_block_request(self, txs: Sequence[bytes]) -> pb.abci.RequestFinalizeBlock:
        """FinalizeBlock request of the next height (as ``Chain.block`` builds it)."""
        height = self.chain.height + 1
        request = pb.abci.RequestFinalizeBlock(
            txs=txs, height=height, hash=hashlib.sha256(b"block%d" % height).digest()
        )
        request.time.seconds = self.chain.time_s + 1
        return request

    def advance_to(self, height: int, most: int = 100_000) -> None:
        """Commit empty blocks until ``height`` is committed (if at most ``most`` are needed)."""
        if 0 < height - self.app.store.version <= most:
            while self.app.store.version < height:
                self.commit_empty_block()
            self.sync_accounts()

    def commit_empty_block(self) -> None:
        """Commit an empty block (resets the check state)."""
        self.chain.block([], prepare=False)

    def header(self, request: pb.abci.RequestFinalizeBlock) -> BlockHeader:
        """The header the app builds from ``request``."""
        return BlockHeader(
            request.height,
            request.time.seconds * 1_000_000_000 + request.time.nanos,
            self.app.chain_id,
            request.proposer_address,
            request.hash,
        )


def build_world(path: Path) -> FuzzWorld:
    """A chain under ``path`` with funded accounts, models, an execution and objects."""
    keys = [_key(i) for i in range(4)]
    poor, stranger = _key(4), _key(5)
    funded = {k.pubkey.address(): RICH for k in keys} | {poor.pubkey.address(): POOR}
    doc = genesis_doc(funded, with_accounts=True)
    balances: list[dict[str, Any]] = doc.app_state["bank"]["balances"]
    for entry in balances:
        if entry["coins"][0]["amount"] == str(RICH):
            entry["coins"].insert(0, {"denom": SECOND_DENOM, "amount": str(RICH)})
    doc.app_state["staking"] = {  # two validators for the staking messages to act on
        "gen_txs": [
            gentx(acc_address(k.pubkey.address()), _cons_key(i), VALIDATOR_BOND, f"fuzz{i}")
            for i, k in enumerate(keys[:2])
        ]
    }
    doc.app_state["verify"] = {"params": _verify_params()}
    chain = Chain.start(path, funded, differential=False, genesis=doc)
    chain.block([])
    errors = ErrorLog()
    errors.attach()
    accounts = {k.pubkey.address(): FuzzAccount(k, 0, 0) for k in [*keys, poor]}
    world = _assemble(chain, accounts, stranger, errors)
    world.sync_accounts()
    _populate(world, keys)
    world.queries.store_keys = existing_store_keys(world.app)
    errors.records.clear()
    world.sync_accounts()
    return world


def existing_store_keys(app: AivmApp, most: int = 64) -> dict[str, list[bytes]]:
    """Up to ``most`` committed keys under each raw store query prefix (prefix removed)."""
    view = app.store.view_at(app.store.version)
    found: dict[str, list[bytes]] = {}
    for name, prefix in STORE_QUERY_PREFIXES.items():
        keys = found.setdefault(name, [])
        for key, _ in view.iterate(prefix, prefix_end(prefix)):
            keys.append(key[len(prefix) :])
            if len(keys) >= most:
                break
    return found


def _cons_key(index: int) -> bytes:
    """ed25519 consensus public key bytes of fuzz validator ``index`` (it never signs)."""
    return hashlib.sha256(f"aivm-fuzz-validator-{index}".encode()).digest()


def _key(index: int) -> PrivKey:
    return PrivKey.from_bytes(hashlib.sha256(f"aivm-fuzz-key-{index}".encode()).digest())


def _assemble(
    chain: Chain, accounts: dict[bytes, FuzzAccount], stranger: PrivKey, errors: ErrorLog
) -> FuzzWorld:
    router = chain.app.router
    message_types = {url: route.message_class for url, route in router.msgs.items()}
    any_types: dict[str, type[pb.Message]] = dict(message_types)
    any_types[pb.type_url(pb.secp256k1.PubKey)] = pb.secp256k1.PubKey
    any_types[pb.type_url(pb.ed25519.PubKey)] = pb.ed25519.PubKey  # MsgCreateValidator.pubkey
    module_accounts = chain.app.accounts.module_addresses
    addresses = [acc_address(a) for a in accounts]
    staking = chain.app.manager.keepers.get("staking", StakingKeeper)
    state = chain.app.query_context(chain.app.store.version)
    validators = sorted(
        valoper_address(v.operator) for v in staking.iterate_bonded_validators_by_power(state)
    )
    addresses += [acc_address(module_accounts[name]) for name in sorted(module_accounts)]
    vocab = fuzz.Vocabulary(
        addresses=addresses,
        denoms=[DENOM, SECOND_DENOM],
        numbers=[1, 2, 3],
        validators=validators,
        message_types=any_types,
    )
    generator = fuzz.MessageGenerator(vocab)
    mutator = fuzz.WireMutator(lambda url: any_types.get(url))
    txs = fuzz.TxFactory(
        generator,
        mutator,
        message_types,
        lambda message: router.msgs[pb.type_url(message)].signers(message),
        accounts,
        CHAIN_ID,
        stranger,
    )
    queries = fuzz.QueryFactory(
        generator,
        mutator,
        {path: route.request_class for path, route in router.queries.items()},
    )
    return FuzzWorld(
        chain=chain,
        accounts=accounts,
        stranger=stranger,
        vocab=vocab,
        generator=generator,
        mutator=mutator,
        txs=txs,
        queries=queries,
        artifacts=fuzz.ArtifactFactory(),
        errors=errors,
    )


# --- world contents: models, an execution, stored objects ------------------------------------

SMALL_OBJECT = b"aivm fuzz object: one raw chunk"
LARGE_OBJECT = hashlib.sha256(b"large").digest() * (unixfs.CHUNK_SIZE // 32 + 100)


def _populate(world: FuzzWorld, keys: list[PrivKey]) -> None:
    """Register models, change a status, transfer, infer, send, store objects, open and
    answer a challenge (leaving one open); keep each working message as a seed."""
    rng = random.Random(0)
    models = [_scorer(), runtime.serialize(_forest(rng)), world.artifacts.valid(rng)]
    world.artifacts.seeds.extend(models)
    names = ["fuzz-scorer", "fuzz-forest", "fuzz-random"]
    for index, (name, artifact) in enumerate(zip(names, models, strict=True)):
        owner = keys[index % 2]
        _deliver(world, owner, _register(owner, name, artifact))
    _model_lifecycle(world, keys[0], keys[1])
    _deliver(world, keys[2], _infer(keys[2], 1))
    sender, recipient = keys[3].pubkey.address(), keys[2].pubkey.address()
    _deliver(world, keys[3], bank_send(sender, recipient, [Coin(DENOM, 1000)]))
    _deliver(world, keys[3], _multi_send(sender, recipient))
    dag = unixfs.build_dag(LARGE_OBJECT)
    objects = [(SMALL_OBJECT, SMALL_OBJECT), (LARGE_OBJECT, unixfs.root_block_of(dag))]
    for content, root in objects:
        _deliver(world, keys[0], _store(keys[0], content, root))
    proofs = [unixfs.chunk_proof(dag, i).encode() for i in range(dag.chunks)]
    _challenges(world, keys[1], proofs)
    _stake(world, keys)
    _compute(world, keys[0], keys[2])
    _verification(world, keys[0], keys[1], keys[2])
    _optimistic(world, keys[0], keys[2], keys[3])
    _fill_providers(world, names, models, objects, proofs)


def _stake(world: FuzzWorld, keys: list[PrivKey]) -> None:
    """Proof-of-stake seeds (keys 0 and 1 operate the genesis validators): delegate,
    redelegate, undelegate and cancel part of it, edit a validator, withdraw rewards and
    commission, set a withdraw address, fund the community pool, and bond, top up, unbond
    and withdraw in a role, so the mutations reach those handlers past ValidateBasic."""
    operator = [valoper_address(k.pubkey.address()) for k in keys[:2]]
    holder, other = acc_address(keys[2].pubkey.address()), acc_address(keys[3].pubkey.address())
    coin = pb.coin.Coin(denom=DENOM, amount="1000000")
    part = pb.coin.Coin(denom=DENOM, amount="100000")
    tx = pb.staking_tx
    _deliver(
        world,
        keys[2],
        tx.MsgDelegate(delegator_address=holder, validator_address=operator[0], amount=coin),
    )
    _deliver(
        world,
        keys[2],
        tx.MsgBeginRedelegate(
            delegator_address=holder,
            validator_src_address=operator[0],
            validator_dst_address=operator[1],
            amount=part,
        ),
    )
    if _ok(
        _deliver(
            world,
            keys[2],
            tx.MsgUndelegate(delegator_address=holder, validator_address=operator[0], amount=part),
        )
    ):
        cancel = tx.MsgCancelUnbondingDelegation(
            delegator_address=holder,
            validator_address=operator[0],
            amount=pb.coin.Coin(denom=DENOM, amount="1000"),
            creation_height=world.chain.height,
        )
        _deliver(world, keys[2], cancel)
    edit = tx.MsgEditValidator(
        description=pb.staking.Description(moniker="fuzz0", details="edited"),
        validator_address=operator[0],
    )
    _deliver(world, keys[0], edit)
    dist = pb.distribution_tx
    _deliver(
        world,
        keys[2],
        dist.MsgWithdrawDelegatorReward(delegator_address=holder, validator_address=operator[0]),
    )
    _deliver(world, keys[0], dist.MsgWithdrawValidatorCommission(validator_address=operator[0]))
    _deliver(
        world, keys[3], dist.MsgSetWithdrawAddress(delegator_address=other, withdraw_address=holder)
    )
    _deliver(world, keys[3], dist.MsgFundCommunityPool(amount=[part], depositor=other))
    _roles(world, keys[3])


def _roles(world: FuzzWorld, key: PrivKey) -> None:
    """Register in the data role, top the bond up, unbond part, withdraw rewards."""
    address = acc_address(key.pubkey.address())
    role = roles_pb2.ROLE_DATA
    bond = pb.coin.Coin(denom=DENOM, amount=str(10**9))
    register = roles_pb2.MsgRegisterRole(
        operator=address,
        role=role,
        bond=bond,
        capability=roles_pb2.Capability(data=roles_pb2.DataCapability(storage_bytes=1 << 40)),
        moniker="fuzz",
    )
    _deliver(world, key, register)
    _deliver(world, key, roles_pb2.MsgAddRoleBond(operator=address, role=role, amount=bond))
    unbond = roles_pb2.MsgUnbondRole(operator=address, role=role, amount=bond)
    _deliver(world, key, unbond)
    _deliver(world, key, roles_pb2.MsgWithdrawRoleRewards(operator=address, role=role))


def _compute(world: FuzzWorld, owner: PrivKey, operator: PrivKey) -> None:
    """Register the small stored object as an off-chain model (id 4) and a compute provider
    offering it; update, heartbeat, top up, pause and resume, leaving it ACTIVE; open, top up
    and redeem a voucher on a payment channel to it; submit job 1 (instant: matched to the
    provider, left RUNNING) and job 2 (auction, with the provider's sealed bid), so fuzzed
    compute messages reach the handlers past ValidateBasic."""
    offchain = ai_pb2.MsgRegisterModel(
        owner=acc_address(owner.pubkey.address()),
        name="fuzz-offchain",
        version="1.0.0",
        artifact_cid=cid_of(SMALL_OBJECT),
        artifact_sha256=hashlib.sha256(SMALL_OBJECT).digest(),
        artifact_size=len(SMALL_OBJECT),
        format="onnx",
        execution_path="offchain",
    )
    _deliver(world, owner, offchain)
    address = acc_address(operator.pubkey.address())
    declaration: dict[str, Any] = {
        "hardware": compute_pb2.Hardware(
            gpu_model="A100", gpu_count=1, gpu_memory_mib=81920, cpu_cores=32, memory_mib=1 << 18
        ),
        "runtimes": ["onnxruntime"],
        "offers": [compute_pb2.Offer(model_id=4, version="1.0.0", price_per_unit="100")],
        "capacity": 2,
        "moniker": "fuzz",
    }
    collateral = pb.coin.Coin(denom=DENOM, amount=str(10**9))
    for message in (
        compute_pb2.MsgRegisterProvider(operator=address, collateral=collateral, **declaration),
        compute_pb2.MsgUpdateProvider(operator=address, **declaration),
        compute_pb2.MsgProviderHeartbeat(operator=address),
        compute_pb2.MsgAddCollateral(operator=address, amount=collateral),
        compute_pb2.MsgPauseProvider(operator=address),
        compute_pb2.MsgResumeProvider(operator=address),
    ):
        _deliver(world, operator, message)
    # payment channels: channel 1 from the owner to the provider, topped up, with a voucher
    # redeemed (a real signature) and left OPEN, so fuzzed channel messages reach the handlers
    from aivm.modules.compute.channels import sign_voucher

    client = acc_address(owner.pubkey.address())
    deposit = pb.coin.Coin(denom=DENOM, amount="100000")
    _deliver(
        world,
        owner,
        compute_pb2.MsgOpenChannel(
            client=client, provider=address, deposit=deposit, duration_blocks=10_000
        ),
    )
    _deliver(world, owner, compute_pb2.MsgTopUpChannel(client=client, channel_id=1, amount=deposit))
    voucher = compute_pb2.MsgRedeemVoucher(
        provider=address,
        channel_id=1,
        cumulative_amount="2500",
        signature=sign_voucher(owner.bytes, CHAIN_ID, 1, 2500),
    )
    _deliver(world, operator, voucher)
    # jobs: 1 instant (RUNNING on the provider), 2 auction (a sealed bid in)
    from aivm.modules.compute.jobs import commitment_of

    data = b"fuzz job input"
    for mode in (compute_pb2.MATCH_MODE_INSTANT, compute_pb2.MATCH_MODE_AUCTION):
        job = compute_pb2.MsgSubmitJob(
            client=client,
            model_id=4,
            version="1.0.0",
            input_inline=data,
            input_digest=hashlib.sha256(data).digest(),
            units=1,
            max_price_per_unit="1000",
            deadline_blocks=5_000,
            redundancy=1,
            mode=mode,
        )
        _deliver(world, owner, job)
    bid = compute_pb2.MsgCommitBid(
        provider=address, job_id=2, commitment=commitment_of(2, 500, b"fuzz salt")
    )
    _deliver(world, operator, bid)


def _verify_params() -> dict[str, Any]:
    """High criticality re-executed by one AI validator, with long phases: the verification
    session the world leaves open stays open while the fuzzer runs."""
    from google.protobuf import json_format

    from aivm.modules.verify import verify_pb2
    from aivm.modules.verify.params import default_params

    params = default_params().to_proto()
    params.policy[2].validators = 1
    params.commit_blocks = params.reveal_blocks = 10_000
    medium = params.policy[1]  # optimistic alone, with a window and moves that stay open
    del medium.methods[:]
    medium.methods.append(verify_pb2.METHOD_OPTIMISTIC)
    medium.sample_rate = "0"
    medium.challenge_window_blocks = 50_000
    params.round_blocks = 10_000
    params.dispute_bond = str(OPTIMISTIC_BOND)
    return dict(json_format.MessageToDict(params, preserving_proto_field_name=True))


def _verification(world: FuzzWorld, client: PrivKey, validator: PrivKey, provider: PrivKey) -> None:
    """``validator`` joins the AI role; a high-criticality job 3 runs on the compute
    provider, its result opens a verification session, the validator is drawn and commits;
    the session is left open (reveal pending), so fuzzed verdicts reach the handlers."""
    from aivm.modules.verify import verify_pb2
    from aivm.modules.verify.keeper import verdict_commitment

    address = acc_address(validator.pubkey.address())
    register = roles_pb2.MsgRegisterRole(
        operator=address,
        role=roles_pb2.ROLE_AI,
        bond=pb.coin.Coin(denom=DENOM, amount=str(10**10)),
        capability=roles_pb2.Capability(
            ai=roles_pb2.AiCapability(runtimes=["onnxruntime"], methods=[1])
        ),
        moniker="fuzz-ai",
    )
    _deliver(world, validator, register)
    world.chain.block([])  # the roles EndBlock puts it in the active set
    data = b"fuzz verified input"
    job = compute_pb2.MsgSubmitJob(
        client=acc_address(client.pubkey.address()),
        model_id=4,
        version="1.0.0",
        input_inline=data,
        input_digest=hashlib.sha256(data).digest(),
        units=1,
        max_price_per_unit="1000",
        deadline_blocks=5_000,
        redundancy=1,
        criticality=compute_pb2.CRITICALITY_HIGH,
    )
    _deliver(world, client, job)
    output = b"fuzz output"
    result = compute_pb2.MsgSubmitResult(
        provider=acc_address(provider.pubkey.address()),
        job_id=3,
        output_cid=cid_of(output),
        output_digest=hashlib.sha256(output).digest(),
        runtime="fuzz",
    )
    _deliver(world, provider, result)
    world.chain.block([])  # the draw
    digest = hashlib.sha256(output).digest()
    commitment = verdict_commitment(3, 1, validator.pubkey.address(), digest, b"fuzz salt 16 byte")
    _deliver(
        world,
        validator,
        verify_pb2.MsgCommitVerdict(validator=address, job_id=3, commitment=commitment),
    )


OPTIMISTIC_BOND = 50_000
"""The fuzz world's dispute bond (ucgpt)."""


@dataclass(frozen=True)
class _DsmJob:
    """A DSM job of the fuzz world: its id and the traces the setup committed to."""

    job_id: int
    provider: trace.TraceCommitment
    challenger: trace.TraceCommitment
    tensors: list[Any]


def _optimistic(world: FuzzWorld, client: PrivKey, provider: PrivKey, challenger: PrivKey) -> None:
    """Optimistic verification state: a DSM model (mlp6, 6 operators) stored and registered
    off-chain (id 5), offered by the compute provider (runtime ``dsm``); three medium jobs
    (4, 5, 6) with inline ``.npy`` inputs and results carrying trace evidence — job 5's trace
    is a self-consistent lie. ``challenger`` disputes job 4 (a false challenger: the game is
    left bisecting, its next move a seed) and job 5 (honest: played to the final step, left
    undecided with the deciding MsgFinalStep a seed); job 6 is left challengeable, a valid
    MsgOpenDispute a seed. The real roots, leaves and peaks feed the generator."""
    from aivm.modules.compute.job_simulation import npy_bytes, output_bytes
    from trace_models import mlp6, rows_for, tampered_trace

    program = mlp6(3)
    artifact = runtime.serialize(program.model)
    owner, operator = acc_address(client.pubkey.address()), acc_address(provider.pubkey.address())
    _deliver(world, client, _store(client, artifact, artifact))
    offchain = ai_pb2.MsgRegisterModel(
        owner=owner,
        name="fuzz-dsm",
        version="1.0.0",
        artifact_cid=cid_of(artifact),
        artifact_sha256=hashlib.sha256(artifact).digest(),
        artifact_size=len(artifact),
        format=runtime.FORMAT,
        execution_path="offchain",
    )
    if not _ok(_deliver(world, client, offchain)):
        return
    model_id = 5
    update = compute_pb2.MsgUpdateProvider(
        operator=operator,
        hardware=compute_pb2.Hardware(
            gpu_model="A100", gpu_count=1, gpu_memory_mib=81920, cpu_cores=32, memory_mib=1 << 18
        ),
        runtimes=["onnxruntime", "dsm"],
        offers=[
            compute_pb2.Offer(model_id=4, version="1.0.0", price_per_unit="100"),
            compute_pb2.Offer(model_id=model_id, version="1.0.0", price_per_unit="100"),
        ],
        capacity=8,
        moniker="fuzz",
    )
    _deliver(world, provider, update)
    jobs: list[_DsmJob] = []
    for index, lie in enumerate((False, True, False)):
        rows = rows_for(program, 2, seed=index + 1)
        honest = trace.dsm_trace(program, rows)
        wrong = tampered_trace(program, rows, 2 + index)
        data = npy_bytes(rows)
        submit = compute_pb2.MsgSubmitJob(
            client=owner,
            model_id=model_id,
            version="1.0.0",
            input_inline=data,
            input_digest=hashlib.sha256(data).digest(),
            units=1,
            max_price_per_unit="1000",
            deadline_blocks=5_000,
            redundancy=1,
            criticality=compute_pb2.CRITICALITY_MEDIUM,
        )
        result = _deliver(world, client, submit)
        if result is None or result.code != 0:
            return
        responses = pb.sdk_abci.TxMsgData.FromString(result.data).msg_responses
        job_id = compute_pb2.MsgSubmitJobResponse.FromString(responses[0].value).job_id
        posted, other = (wrong, honest) if lie else (honest, wrong)
        kept = _commit(posted)
        output = output_bytes(posted[-1])
        submit_result = compute_pb2.MsgSubmitResult(
            provider=operator,
            job_id=job_id,
            output_cid=cid_of(output),
            output_digest=hashlib.sha256(output).digest(),
            comparison_data=output,
            runtime="dsm",
            evidence=_evidence(kept).SerializeToString(),
        )
        _deliver(world, provider, submit_result)
        jobs.append(_DsmJob(job_id, kept, _commit(other), other))
    _disputes(world, (provider, challenger), program, artifact, jobs)
    world.vocab.numbers.extend(j.job_id for j in jobs)
    roots = [c.root for j in jobs for c in (j.provider, j.challenger)]
    leaves = [leaf for j in jobs for leaf in j.challenger.leaves + j.provider.leaves]
    peaks = [p for j in jobs for p in trace.prove_prefix(j.challenger, 2)]

    def pick(values: Sequence[bytes]) -> fuzz.Provider:
        return lambda rng: rng.choice(values)

    world.vocab.providers.update(
        {
            "trace_root": pick(roots),
            "last_leaf": pick(leaves),
            "leaf": pick(leaves),
            "last_proof": pick(leaves),
            "peaks": pick(peaks),
        }
    )


def _commit(tensors: Sequence[Any]) -> trace.TraceCommitment:
    return trace.commit_trace([trace.tensor_hash(t) for t in tensors])


def _evidence(commitment: trace.TraceCommitment) -> Any:
    """A result's trace evidence: the root, the step count and the output's opening."""
    from aivm.modules.verify import verify_pb2

    last = trace.open_output(commitment)
    return verify_pb2.Evidence(
        trace_root=commitment.root,
        trace_steps=commitment.n_steps,
        trace_output_leaf=last.leaf,
        trace_output_step_proof=last.step_proof,
        trace_output_tensor_proof=last.tensor_proof,
    )


def _disputes(
    world: FuzzWorld,
    players: tuple[PrivKey, PrivKey],
    program: Any,
    artifact: bytes,
    jobs: list[_DsmJob],
) -> None:
    """Open the disputes of jobs 4 and 5 and play them (see :func:`_optimistic`); keep the
    undelivered next moves and job 6's opening as seeds. ``players``: provider, challenger."""
    from aivm.modules.verify import verify_pb2 as V

    provider_key, key = players
    provider = acc_address(provider_key.pubkey.address())
    challenger = acc_address(key.pubkey.address())

    def opening(job: _DsmJob) -> V.MsgOpenDispute:
        last = trace.open_output(job.challenger)
        return V.MsgOpenDispute(
            challenger=challenger,
            job_id=job.job_id,
            provider=provider,
            trace_root=job.challenger.root,
            last_leaf=last.leaf,
            last_proof=last.step_proof,
        )

    for job, stop_at_final in ((jobs[1], True), (jobs[0], False)):  # pending moves last
        if not _ok(_deliver(world, key, opening(job))):
            continue
        commitments = {V.PARTY_PROVIDER: job.provider, V.PARTY_CHALLENGER: job.challenger}
        senders = {V.PARTY_PROVIDER: provider, V.PARTY_CHALLENGER: challenger}
        for move in range(12):
            dispute = _active_dispute(world, job.job_id)
            if dispute is None:
                break
            if dispute.status == V.DISPUTE_STATUS_FINAL:
                world.seeds.append(_final(dispute, program, artifact, job, challenger))
                break
            mid = (dispute.lo + dispute.hi) // 2
            commitment = commitments[dispute.turn]
            bisect = V.MsgBisect(
                sender=senders[dispute.turn],
                job_id=job.job_id,
                leaf=commitment.leaves[mid],
                proof=trace.prove_step(commitment, mid),
            )
            if not stop_at_final and move == 2:
                world.seeds.append(bisect)  # the next move of a game left bisecting
                break
            signer = key if dispute.turn == V.PARTY_CHALLENGER else provider_key
            if not _ok(_deliver(world, signer, bisect)):
                break
    world.seeds.append(opening(jobs[2]))


def _final(
    dispute: Any, program: Any, artifact: bytes, job: _DsmJob, sender: str
) -> pb.Message:
    """The challenger's final step of ``dispute`` (its tensors agree with the provider's up
    to ``lo``): it decides the game for the challenger."""
    from aivm.modules.compute.job_simulation import output_bytes
    from aivm.modules.verify import verify_pb2 as V

    lo = dispute.lo
    inputs = [
        V.TraceTensor(
            index=source,
            rows=job.tensors[source].shape[0],
            cols=job.tensors[source].shape[1],
            data=output_bytes(job.tensors[source]),
            proof=trace.prove_tensor(job.challenger, lo, source),
        )
        for source in trace.operator_sources(program, dispute.hi - 1)
    ]
    return V.MsgFinalStep(
        sender=sender,
        job_id=job.job_id,
        artifact=artifact,
        inputs=inputs,
        peaks=trace.prove_prefix(job.challenger, lo),
    )


def _active_dispute(world: FuzzWorld, job_id: int) -> Any:
    from aivm.modules.verify.keeper import VerifyKeeper

    keeper = world.app.manager.keepers.get("verify", VerifyKeeper)
    return keeper.disputes.active(world.app.query_context(world.app.store.version), job_id)


def _ok(result: pb.abci.ExecTxResult | None) -> bool:
    return result is not None and result.code == 0


def _model_lifecycle(world: FuzzWorld, owner: PrivKey, other: PrivKey) -> None:
    """Deprecate and reactivate model 3, hand it to ``other`` and back."""
    address = acc_address(owner.pubkey.address())
    other_address = acc_address(other.pubkey.address())
    for status in (ai_pb2.MODEL_STATUS_DEPRECATED, ai_pb2.MODEL_STATUS_ACTIVE):
        change = ai_pb2.MsgSetModelStatus(
            owner=address, model_id=3, version="1.0.0", status=status, reason="fuzz"
        )
        _deliver(world, owner, change)
    away = ai_pb2.MsgTransferModel(owner=address, model_id=3, new_owner=other_address)
    _deliver(world, owner, away)
    back = ai_pb2.MsgTransferModel(owner=other_address, model_id=3, new_owner=address)
    _deliver(world, other, back)


def _challenges(world: FuzzWorld, challenger: PrivKey, proofs: list[bytes]) -> None:
    """Open a challenge on the large object and answer it; open a second one, left open,
    whose answer is a seed that has not been delivered."""
    address = acc_address(challenger.pubkey.address())
    opening = storage_pb2.MsgOpenChallenge(challenger=address, cid=cid_of(LARGE_OBJECT))
    result = _deliver(world, challenger, opening)
    if result is None or result.code != 0:
        return
    responses = pb.sdk_abci.TxMsgData.FromString(result.data).msg_responses
    opened = storage_pb2.MsgOpenChallengeResponse.FromString(responses[0].value)
    _deliver(world, challenger, _answer(address, opened, proofs))
    result = _deliver(world, challenger, opening)
    if result is not None and result.code == 0:
        responses = pb.sdk_abci.TxMsgData.FromString(result.data).msg_responses
        reopened = storage_pb2.MsgOpenChallengeResponse.FromString(responses[0].value)
        world.seeds.append(_answer(address, reopened, proofs))  # answers the open challenge
    _scheduled_challenges(world, challenger, proofs)


def _scheduled_challenges(world: FuzzWorld, holder: PrivKey, proofs: list[bytes]) -> None:
    """Make ``holder`` the one data-role operator, so the next scheduling block assigns it
    both objects and challenges it on each; answer the first (a seed), and keep as seeds the
    answers to the second from the holder (left to expire: the miss slashes it during the
    setup) and from a non-assignee (refused with storage/15)."""
    address = acc_address(holder.pubkey.address())
    register = roles_pb2.MsgRegisterRole(
        operator=address,
        role=roles_pb2.ROLE_DATA,
        bond=pb.coin.Coin(denom=DENOM, amount=str(10**9)),
        capability=roles_pb2.Capability(data=roles_pb2.DataCapability(storage_bytes=1 << 40)),
        moniker="fuzz-holder",
    )
    if not _ok(_deliver(world, holder, register)):
        return
    interval = STORAGE_DEFAULTS.challenge_interval_blocks
    while (world.chain.height + 1) % interval:
        world.chain.block([])
    world.chain.block([])
    _, found = world.chain.query(
        "/aivm.storage.v1.Query/AssignedChallenges",
        storage_pb2.QueryAssignedChallengesRequest(assignee=address),
        storage_pb2.QueryAssignedChallengesResponse,
    )
    answers = [_scheduled_answer(address, c, proofs) for c in found.challenges if c.cid]
    if not answers:
        world.setup_log.append("no scheduled challenge was assigned to the fuzz holder")
        return
    _deliver(world, holder, answers[0])
    other = acc_address(next(a for a in world.accounts if a != holder.pubkey.address()))
    for answer in answers[1:]:
        world.seeds.append(answer)
        stranger = storage_pb2.MsgAnswerChallenge()
        stranger.CopyFrom(answer)
        stranger.responder = other
        world.seeds.append(stranger)


def _scheduled_answer(
    responder: str, challenge: storage_pb2.Challenge, proofs: list[bytes]
) -> storage_pb2.MsgAnswerChallenge:
    """The correct answer to a scheduled challenge on one of the two fuzz objects."""
    index = challenge.chunk_index
    if challenge.cid == cid_of(SMALL_OBJECT):
        chunk, proof = SMALL_OBJECT, b""  # a one-chunk object is its own root
    else:
        chunk = LARGE_OBJECT[index * unixfs.CHUNK_SIZE : (index + 1) * unixfs.CHUNK_SIZE]
        proof = proofs[index]
    return storage_pb2.MsgAnswerChallenge(
        responder=responder, challenge_id=challenge.id, chunk=chunk, proof=proof
    )


def _answer(
    responder: str, opened: storage_pb2.MsgOpenChallengeResponse, proofs: list[bytes]
) -> storage_pb2.MsgAnswerChallenge:
    """The correct answer to an opened challenge on the large object."""
    index = opened.chunk_index
    chunk = LARGE_OBJECT[index * unixfs.CHUNK_SIZE : (index + 1) * unixfs.CHUNK_SIZE]
    return storage_pb2.MsgAnswerChallenge(
        responder=responder, challenge_id=opened.challenge_id, chunk=chunk, proof=proofs[index]
    )


def _deliver(world: FuzzWorld, key: PrivKey, message: pb.Message) -> pb.abci.ExecTxResult | None:
    """Run a setup message through a block; keep it as a seed when it works."""
    world.sync_accounts()
    account = world.accounts[key.pubkey.address()]
    raw = sign_tx(
        [message],
        [Signer(key, account.number, account.sequence)],
        chain_id=CHAIN_ID,
        fee=[Coin(DENOM, 20_000)],
        gas_limit=20_000_000,
    )
    results = world.chain.block([raw], prepare=True).tx_results
    result = results[0] if results else None
    if result is not None and result.code == 0:
        world.seeds.append(message)
    else:
        log = f"code {result.code}: {result.log}" if result else "left out of the block"
        world.setup_log.append(f"{pb.type_url(message)}: {log}")
    world.sync_accounts()
    return result


def _scorer() -> bytes:
    """A 3-feature linear scorer with a threshold (as in test_ai_module)."""
    spec = InputSpec(3, -1000, 1000, (10, 10, 1), (1, 1, 1), (0, 0, 0), ("a", "b", "c"))
    ops = (Dense((0,), int_array([[2, -1, 3]], 2), int_array([0])), Threshold((1,), 100))
    return runtime.serialize(Model(spec, ops, name="scorer"))


def _forest(rng: random.Random) -> Model:
    spec = InputSpec(4, -1000, 1000, (1,) * 4, (1,) * 4, (0,) * 4)
    return Model(spec, (fuzz.random_trees(rng, 0, 4),), name="forest")


def _register(owner: PrivKey, name: str, artifact: bytes) -> ai_pb2.MsgRegisterModel:
    return ai_pb2.MsgRegisterModel(
        owner=acc_address(owner.pubkey.address()),
        name=name,
        version="1.0.0",
        artifact_cid=cid_of(artifact),
        artifact_sha256=hashlib.sha256(artifact).digest(),
        format=runtime.FORMAT,
        execution_path="onchain",
        price=[pb.coin.Coin(denom=DENOM, amount="100")],
        tags=["fuzz"],
        artifact=artifact,
    )


def _infer(caller: PrivKey, model_id: int) -> ai_pb2.MsgInfer:
    return ai_pb2.MsgInfer(
        caller=acc_address(caller.pubkey.address()), model_id=model_id, input=[1, 2, 3]
    )


def _multi_send(sender: bytes, recipient: bytes) -> pb.bank_tx.MsgMultiSend:
    coins = [pb.coin.Coin(denom=SECOND_DENOM, amount="5"), pb.coin.Coin(denom=DENOM, amount="10")]
    return pb.bank_tx.MsgMultiSend(
        inputs=[pb.bank.Input(address=acc_address(sender), coins=coins)],
        outputs=[pb.bank.Output(address=acc_address(recipient), coins=coins)],
    )


def _store(owner: PrivKey, content: bytes, root_block: bytes) -> storage_pb2.MsgStoreObject:
    fields: dict[str, object] = {
        "owner": acc_address(owner.pubkey.address()),
        "cid": cid_of(content),
        "size": len(content),
        "retention_blocks": 1000,
        "root_block": root_block,
    }
    known = storage_pb2.MsgStoreObject.DESCRIPTOR.fields_by_name
    return storage_pb2.MsgStoreObject(**{k: v for k, v in fields.items() if k in known})  # type: ignore[arg-type]


def _fresh_version(rng: Rng) -> str:
    """A semantic version above every registered one (most of the time)."""
    return f"{rng.randint(1, 999_999_999)}.{rng.randint(0, 99)}.{rng.randint(0, 99)}"


def _fill_providers(
    world: FuzzWorld,
    names: list[str],
    models: list[bytes],
    objects: list[tuple[bytes, bytes]],
    proofs: list[bytes],
) -> None:
    """Field values that mean something on this chain (used 3 times in 4 by the generator)."""
    cids = [cid_of(m) for m in models] + [cid_of(content) for content, _ in objects]
    module_names = sorted(world.app.accounts.module_addresses)
    chunk = LARGE_OBJECT[: unixfs.CHUNK_SIZE]

    def pick(*values: object) -> Callable[[Rng], object]:
        return lambda rng: rng.choice(values)

    providers: dict[str, fuzz.Provider] = {
        "name": lambda rng: rng.choice(
            (*names, *module_names, "x" * 65, "Bad Name", "", f"m-{rng.randrange(10**9)}")
        ),
        "version": lambda rng: rng.choice(
            ("1.0.0", "2.0.0", "0.0.1", "1.0.0-rc.1", "01.0.0", "1.0", "", _fresh_version(rng))
        ),
        "format": pick(runtime.FORMAT, runtime.FORMAT, "onnx", "", "AIVM-DSM/1"),
        "execution_path": pick("onchain", "onchain", "offchain", "", "on-chain"),
        "tags": pick("fuzz", "credit", "Bad Tag", "", "x" * 33),
        "artifact": world.artifacts.artifact,
        "cid": pick(*cids),
        "artifact_cid": pick(*cids),
        "model_card_cid": pick(*cids, ""),
        "decimal_input": pick("1", "0.5", "-3", "1e3", "١", "", "x", "9" * 70, "1/2", "0.05"),
        "root_block": pick(*(root for _, root in objects), SMALL_OBJECT[:5]),
        "chunk": lambda rng: chunk if rng.random() < 0.05 else rng.choice((SMALL_OBJECT, b"")),
        "proof": lambda rng: rng.choice(proofs) if proofs else b"",
    }
    world.vocab.providers.update(providers)


# --- targets ----------------------------------------------------------------------------------


def decode_outcome(world: FuzzWorld, raw: bytes) -> str:
    """Decode ``raw``: ``ok:<hash>`` or the error label; only AivmError may escape."""
    try:
        decoded = decode_tx(raw, world.app.router)
    except AivmError as error:
        return error_label(error)
    except Exception as exc:
        raise OracleFailure(f"decode_tx raised {type(exc).__name__}", _format(exc)) from exc
    canonical = pb.tx.TxRaw.FromString(raw).SerializeToString()
    if canonical != raw:
        raise OracleFailure("accepted a non-canonical TxRaw", raw.hex())
    return "ok:" + decoded.hash_hex


def _format(exc: BaseException) -> str:
    return "".join(traceback.format_exception(exc))


def _rejects(label: str) -> bool:
    return not label.startswith("ok")


class DecodeTarget:
    """``decode_tx`` alone."""

    name = "decode"

    def __init__(self, world: FuzzWorld) -> None:
        self.world = world

    def generate(self, rng: Rng) -> FuzzInput:
        """A fuzzed tx."""
        return self.world.tx_input(rng)

    def run(self, item: FuzzInput) -> str:
        """Decode twice; the same outcome, and a rejection where one is due."""
        first = decode_outcome(self.world, item.data)
        same(
            "decode_tx is not deterministic",
            first.encode(),
            decode_outcome(self.world, item.data).encode(),
        )
        if item.decode_reject and not _rejects(first):
            raise OracleFailure("decode_tx accepted a tx it must reject", item.decode_reject)
        return first.split(":")[0]


class CheckTarget:
    """CheckTx; a block is committed after each accepted tx so the check state resets."""

    name = "check"

    def __init__(self, world: FuzzWorld) -> None:
        self.world = world

    def generate(self, rng: Rng) -> FuzzInput:
        """A fuzzed tx."""
        return self.world.tx_input(rng)

    def run(self, item: FuzzInput) -> str:
        """CheckTx; a rejection is repeatable and is due where the generator says so."""
        app = self.world.app
        request = pb.abci.RequestCheckTx(tx=item.data, type=pb.abci.NEW)
        response = app.check_tx(request)
        label = result_label(response.code, response.codespace, response.log)
        if response.code == 0:
            if item.must_reject:
                raise OracleFailure("CheckTx accepted a tx it must reject", item.must_reject)
            self.world.commit_empty_block()
            self.world.sync_accounts()
            return label
        same("a CheckTx rejection is not repeatable", response, app.check_tx(request))
        same("a cold node's CheckTx differs", response, self.world.cold_app().check_tx(request))
        return label


class SimulateTarget:
    """ABCI query Simulate, on the warm app twice and on a cold app."""

    name = "simulate"

    def __init__(self, world: FuzzWorld) -> None:
        self.world = world

    def generate(self, rng: Rng) -> FuzzInput:
        """A SimulateRequest: tx_bytes, the deprecated tx field, or mutated request bytes."""
        tx = self.world.tx_input(rng)
        roll = rng.random()
        if roll < 0.8:
            request = pb.tx_service.SimulateRequest(tx_bytes=tx.data)
            return FuzzInput(request.SerializeToString(), tx.decode_reject)
        if roll < 0.9:
            return FuzzInput(_deprecated_simulate_request(tx.data))
        data = pb.tx_service.SimulateRequest(tx_bytes=tx.data).SerializeToString()
        descriptor = pb.tx_service.SimulateRequest.DESCRIPTOR
        return FuzzInput(self.world.mutator.mutate(rng, data, descriptor, strict=True).data)

    def run(self, item: FuzzInput) -> str:
        """Simulate; identical answers, no state change, a rejection where one is due."""
        request = pb.abci.RequestQuery(path=SIMULATE_PATH, data=item.data)
        store = self.world.app.store
        before = store.working_hash()
        response = self.world.app.query(request)
        label = result_label(response.code, response.codespace, response.log)
        same("Simulate is not repeatable", response, self.world.app.query(request))
        same("a cold node's Simulate differs", response, self.world.cold_app().query(request))
        if store.working_hash() != before:
            raise OracleFailure("Simulate changed the pending state")
        if item.decode_reject and response.code == 0:
            raise OracleFailure("Simulate accepted a tx it must reject", item.decode_reject)
        return label


def _deprecated_simulate_request(raw: bytes) -> bytes:
    """A SimulateRequest with the deprecated ``tx`` field built from ``raw`` (when it parses)."""
    request = pb.tx_service.SimulateRequest()
    try:
        tx_raw = pb.tx.TxRaw.FromString(raw)
        request.tx.body.MergeFromString(tx_raw.body_bytes)
        request.tx.auth_info.MergeFromString(tx_raw.auth_info_bytes)
        request.tx.signatures.extend(tx_raw.signatures)
    except pb.DecodeError:
        request.tx_bytes = raw
    return bytes(request.SerializeToString())


class FinalizeTarget:
    """FinalizeBlock of one tx on the warm app and a cold one; the block is then discarded."""

    name = "finalize"

    def __init__(self, world: FuzzWorld) -> None:
        self.world = world
        self._empty_hashes: dict[int, bytes] = {}

    def generate(self, rng: Rng) -> FuzzInput:
        """A fuzzed tx."""
        return self.world.tx_input(rng)

    def run(self, item: FuzzInput) -> str:
        """Warm (after CheckTx and Simulate of the same tx) and cold results equal; CheckTx
        agrees; a rejection leaves only what its ante step may leave."""
        world = self.world
        check = self._warm_up(item.data)
        request = world.next_block_request([item.data])
        warm = world.app.finalize_block(request)
        world.app.store.discard_pending()
        cold = world.cold_app().finalize_block(request)
        world.app.store.discard_pending()
        same("warm and cold nodes disagree on FinalizeBlock", warm, cold)
        if len(warm.tx_results) != 1:
            raise OracleFailure("FinalizeBlock returned a wrong number of results")
        result = warm.tx_results[0]
        label = result_label(result.code, result.codespace, result.log)
        ante_passed = len(result.events) > 0
        if item.must_reject and (result.code == 0 or ante_passed):
            raise OracleFailure(
                "FinalizeBlock charged or accepted a tx it must reject", item.must_reject
            )
        if result.code != 0:
            expected = self._hash_after_rejection(item.data, request, ante_passed)
            if expected != warm.app_hash:
                raise OracleFailure(
                    "a rejected tx changed more than fee and sequence",
                    f"ante passed: {ante_passed}, log: {result.log}",
                )
        if check.code == 0:
            world.commit_empty_block()  # a fresh check state for the next input
        agree_with_check(check, result)
        if ante_passed:
            world.note_handler(item.data, label)
        return label

    def _warm_up(self, raw: bytes) -> pb.abci.ResponseCheckTx:
        """Let the warm app see the tx as a node does before a block: CheckTx and Simulate.
        (An accepted tx stays in the check state until :meth:`run` commits an empty block.)"""
        world = self.world
        check = world.app.check_tx(pb.abci.RequestCheckTx(tx=raw, type=pb.abci.NEW))
        world.app.query(pb.abci.RequestQuery(path=SIMULATE_PATH, data=_simulate(raw)))
        return check

    def _hash_after_rejection(
        self, raw: bytes, request: pb.abci.RequestFinalizeBlock, ante_passed: bool
    ) -> bytes:
        """The app hash of the block had the tx left only its ante writes (or nothing)."""
        if not ante_passed:
            return self._empty_block_hash(request)
        app = self.world.app
        app.finalize_block(_without_txs(request))
        ctx = Context(
            app.store.working, GasMeter(None), self.world.header(request), ExecMode.FINALIZE
        )
        apply_ante_writes(self.world, ctx, raw)
        expected = app.store.working_hash()
        app.store.discard_pending()
        return expected

    def _empty_block_hash(self, request: pb.abci.RequestFinalizeBlock) -> bytes:
        cached = self._empty_hashes.get(request.height)
        if cached is None:
            cached = self.world.app.finalize_block(_without_txs(request)).app_hash
            self.world.app.store.discard_pending()
            self._empty_hashes = {request.height: cached}
        return cached


CHECK_ONLY_CODES = {("sdk", 13), ("sdk", 41)}
"""Mempool-only rules (the node's minimum gas price, the block gas limit): FinalizeBlock
never sees such a tx from an honest proposer, and ProcessProposal refuses a block over the
gas limit."""


def agree_with_check(check: pb.abci.ResponseCheckTx, result: pb.abci.ExecTxResult) -> None:
    """CheckTx and FinalizeBlock on the same state agree: a tx CheckTx refuses (other than
    by a mempool-only rule) fails FinalizeBlock with the same code; one it admits passes
    the ante step."""
    if (check.codespace, check.code) in CHECK_ONLY_CODES:
        return
    if check.code != 0 and (check.code, check.codespace) != (result.code, result.codespace):
        raise OracleFailure(
            "CheckTx and FinalizeBlock disagree",
            f"CheckTx {check.codespace}/{check.code} ({check.log}), "
            f"FinalizeBlock {result.codespace}/{result.code} ({result.log})",
        )
    if check.code == 0 and not result.events:
        raise OracleFailure(
            "FinalizeBlock refused in its ante step a tx CheckTx admitted",
            f"{result.codespace}/{result.code} ({result.log})",
        )


def _without_txs(request: pb.abci.RequestFinalizeBlock) -> pb.abci.RequestFinalizeBlock:
    empty = pb.abci.RequestFinalizeBlock()
    empty.CopyFrom(request)
    del empty.txs[:]
    return empty


def _simulate(raw: bytes) -> bytes:
    return bytes(pb.tx_service.SimulateRequest(tx_bytes=raw).SerializeToString())


def apply_ante_writes(world: FuzzWorld, ctx: Context, raw: bytes) -> None:
    """What a tx whose messages failed may leave: the fee moved to the fee collector, each
    signer's sequence + 1, and a public key recorded on first use."""
    app = world.app
    tx = decode_tx(raw, app.router)
    if len(tx.fee):
        app.bank.send_coins_to_module(ctx, tx.signers[0], FEE_COLLECTOR, tx.fee)
    for signer, info in zip(tx.signers, tx.auth_info.signer_infos, strict=True):
        account = app.accounts.get_account(ctx, signer)
        assert account is not None
        if account.pub_key is None and info.HasField("public_key"):
            key = pb.secp256k1.PubKey.FromString(info.public_key.value).key
            account = account.with_pub_key(bytes(key))
        app.accounts.set_account(ctx, account.with_sequence(account.sequence + 1))


class BlockTarget:
    """A block of 1–12 txs through PrepareProposal, ProcessProposal, FinalizeBlock, Commit."""

    name = "block"

    def __init__(self, world: FuzzWorld) -> None:
        self.world = world

    def generate(self, rng: Rng) -> FuzzInput:
        """Txs as a RequestFinalizeBlock; a signer's later txs mostly use the next sequence."""
        txs = []
        bumped: list[FuzzAccount] = []
        for _ in range(rng.randint(1, 12)):
            raw = self.world.tx_input(rng).data if rng.random() < 0.4 else self._seed_tx(rng)
            txs.append(raw)
            for account in self._signers(raw):
                if rng.random() < 0.8:
                    account.sequence += 1
                    bumped.append(account)
        for account in bumped:
            account.sequence -= 1
        return FuzzInput(pb.abci.RequestFinalizeBlock(txs=txs).SerializeToString())

    def _seed_tx(self, rng: Rng) -> bytes:
        """A correctly signed tx of a seed message, maybe with a field regenerated."""
        world = self.world
        if not world.seeds:
            return world.tx_input(rng).data
        message = rng.choice(world.seeds)
        if rng.random() < 0.5:
            message = world.generator.mutate(rng, message)
        return world.txs.signed([message])

    def _signers(self, raw: bytes) -> list[FuzzAccount]:
        try:
            signers = decode_tx(raw, self.world.app.router).signers
        except Exception:  # undecodable: it changes no sequence
            return []
        return [self.world.accounts[s] for s in signers if s in self.world.accounts]

    def run(self, item: FuzzInput) -> list[str]:
        """The proposal is accepted; cold and warm results equal; supply is conserved."""
        world = self.world
        txs = list(pb.abci.RequestFinalizeBlock.FromString(item.data).txs)
        height = world.chain.height + 1
        prepared = world.app.prepare_proposal(
            pb.abci.RequestPrepareProposal(txs=txs, max_tx_bytes=MAX_TX_BYTES, height=height)
        )
        chosen = list(prepared.txs)
        process = pb.abci.RequestProcessProposal(txs=chosen, height=height)
        if world.app.process_proposal(process).status != pb.abci.ResponseProcessProposal.ACCEPT:
            raise OracleFailure("ProcessProposal rejected the node's own proposal")
        world.app.process_proposal(pb.abci.RequestProcessProposal(txs=txs, height=height))
        request = world.next_block_request(chosen)
        cold = world.cold_app().finalize_block(request)
        world.app.store.discard_pending()
        warm = world.app.finalize_block(request)
        same("warm and cold nodes disagree on a block", warm, cold)
        labels = [result_label(r.code, r.codespace, r.log) for r in warm.tx_results]
        if len(labels) != len(chosen):
            raise OracleFailure("FinalizeBlock returned a wrong number of results")
        for raw, result, label in zip(chosen, warm.tx_results, labels, strict=True):
            if result.events:
                world.note_handler(raw, label)
        world.app.commit(pb.abci.RequestCommit())
        world.chain.height = request.height
        world.chain.time_s = request.time.seconds
        check_supply(world)
        world.sync_accounts()
        return labels + ["left out of the proposal"] * (len(txs) - len(chosen))


def check_supply(world: FuzzWorld) -> None:
    """Total supply of each denom equals the sum of all balances."""
    app = world.app
    ctx = app.query_context(app.store.version)
    held: dict[str, int] = {}
    for _, coins in app.bank.iterate_all_balances(ctx):
        for coin in coins:
            held[coin.denom] = held.get(coin.denom, 0) + coin.amount
    supply = {coin.denom: coin.amount for coin in app.bank.get_total_supply(ctx)}
    if held != supply:
        raise OracleFailure("supply differs from the sum of balances", f"{supply} != {held}")


class QueryTarget:
    """Every gRPC query path (request bytes fuzzed), store and unknown paths, any height."""

    name = "query"

    def __init__(self, world: FuzzWorld) -> None:
        self.world = world

    def generate(self, rng: Rng) -> FuzzInput:
        """A RequestQuery."""
        query = self.world.queries.query(rng, self.world.app.store.version)
        return FuzzInput(query.request().SerializeToString())

    def run(self, item: FuzzInput) -> str:
        """The same answer twice and on a cold node; no pending state change."""
        request = pb.abci.RequestQuery.FromString(item.data)
        store = self.world.app.store
        before = store.working_hash()
        response = self.world.app.query(request)
        label = result_label(response.code, response.codespace, response.log)
        same("a query is not repeatable", response, self.world.app.query(request))
        cold = self.world.cold_app().query(request)
        same("a cold node answers a query differently", response, cold)
        if store.working_hash() != before:
            raise OracleFailure("a query changed the pending state")
        if request.path in self.world.app.router.queries:
            self.world.coverage[f"query {request.path} {label}"] += 1
        if response.code == 0 and request.prove and request.path.startswith("/store/"):
            check_store_proof(self.world.app, response)
        return label


def check_store_proof(app: AivmApp, response: pb.abci.ResponseQuery) -> None:
    """A proven store read's ICS-23 proof verifies against the app hash of its height: the
    value's membership, or the key's absence when the value is empty."""
    ops = list(response.proof_ops.ops)
    if len(ops) != 1 or ops[0].type != PROOF_OP_TYPE:
        raise OracleFailure("a proven store query carries no ICS-23 proof", str(response))
    proof = pb.ics23.CommitmentProof.FromString(ops[0].data)
    root = app.store.root_at(response.height)
    key = ops[0].key
    if response.value:
        valid = verify_membership(AIVM_PROOF_SPEC, root, proof, key, response.value)
    else:
        valid = verify_non_membership(AIVM_PROOF_SPEC, root, proof, key)
    if not valid:
        raise OracleFailure(
            "a store proof does not verify against the app hash",
            f"height {response.height}, key {key.hex()}, value {response.value.hex()}",
        )


class ArtifactTarget:
    """DSM artifacts through ``runtime.load``; loadable ones run against exact integers."""

    name = "artifact"

    def __init__(self, world: FuzzWorld) -> None:
        self.world = world
        self.limits = runtime.Limits()
        self.gas = runtime.GasTable()

    def generate(self, rng: Rng) -> FuzzInput:
        """An artifact: valid, or mutated at model, JSON or byte level."""
        return FuzzInput(self.world.artifacts.artifact(rng))

    def run(self, item: FuzzInput) -> str:
        """Load twice (same outcome, same gas); a loaded model round-trips and computes right."""
        first = self._load(item.data)
        second = self._load(item.data)
        if isinstance(first, str) or isinstance(second, str):
            same("artifact loading is not deterministic", str(first).encode(), str(second).encode())
            return str(first)
        if first.gas_per_row(self.gas) != second.gas_per_row(self.gas):
            raise OracleFailure("artifact gas is not deterministic")
        model = runtime.parse(item.data)
        if runtime.serialize(model) != item.data:
            raise OracleFailure("a loaded artifact does not re-serialize to itself")
        check_against_reference(first, item.data)
        return "ok"

    def _load(self, artifact: bytes) -> runtime.Program | str:
        try:
            return runtime.load(artifact, self.limits, self.gas)
        except AivmError as error:
            return error_label(error)
        except Exception as exc:
            raise OracleFailure(f"runtime.load raised {type(exc).__name__}", _format(exc)) from exc


REFERENCE_BUDGET = 200_000
"""Most work (summed over the analysis' cost kinds) per row for the exact-integer comparison."""


def check_against_reference(program: runtime.Program, artifact: bytes) -> None:
    """Run rows at the input bounds and a random one; compare with exact Python integers."""
    spec = program.model.input
    cost = program.analysis.cost
    if sum(getattr(cost, f.name) for f in dataclasses.fields(cost)) > REFERENCE_BUDGET:
        return
    rng = random.Random(hashlib.sha256(artifact).digest())
    rows = [[spec.lo] * spec.width, [spec.hi] * spec.width]
    rows.append([rng.randint(spec.lo, spec.hi) for _ in range(spec.width)])
    try:
        checked = runtime.check_rows(program, runtime.as_rows(rows))
        output = program.run(checked).tolist()
        again = program.run(checked).tolist()
    except AivmError as error:
        error_label(error)
        return
    except Exception as exc:
        kind = f"running a loaded model raised {type(exc).__name__}"
        raise OracleFailure(kind, _format(exc)) from exc
    if output != again:
        raise OracleFailure("running a model is not deterministic")
    for row, got in zip(rows, output, strict=True):
        expected = reference_run(program.model, row)
        if [int(v) for v in got] != expected:
            raise OracleFailure(
                "the interpreter disagrees with exact integer arithmetic",
                f"row {row}: got {got}, exact {expected}",
            )


TARGETS: dict[str, Callable[[FuzzWorld], Target]] = {
    "decode": DecodeTarget,
    "check": CheckTarget,
    "simulate": SimulateTarget,
    "finalize": FinalizeTarget,
    "block": BlockTarget,
    "query": QueryTarget,
    "artifact": ArtifactTarget,
}
"""Every target by name, in the order a full run visits them."""
