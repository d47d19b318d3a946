"""The module framework: block lifecycle, params authority, invariants and migrations.

Toy modules defined here are wired into an app through its module list (``AivmApp(...,
modules=...)``), exactly as a real module is (``aivm.app.modules.MODULES``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from aivm.app.application import AivmApp
from aivm.app.manager import ModuleManager
from aivm.app.modules import MODULES
from aivm.app.upgrades import MigrationRegistry, set_versions, stored_versions
from aivm.modules.addr import addr_str
from aivm.modules.auth.params import AuthParams
from aivm.modules.framework import (
    Context,
    ExecMode,
    Keepers,
    Migration,
    ModuleDefinition,
    MsgRoute,
    QueryRoute,
    ValidatorUpdate,
)
from aivm.sim.bug_log import BugLogged, bug_log
from aivm.store import CommitStore, PrefixStore
from aivm.types import pb
from aivm.types.errors import AivmError
from aivm.types.protogen import ai_pb2, authority_pb2, storage_pb2
from harness import Chain, genesis_doc, make_key

ADMIN, USER = make_key(41), make_key(42)
ADMIN_ADDR, USER_ADDR = addr_str(ADMIN.pubkey.address()), addr_str(USER.pubkey.address())
FUNDED = {ADMIN.pubkey.address(): 10**12, USER.pubkey.address(): 10**12}
NEW_VALIDATOR = hashlib.sha256(b"new validator").digest()


# -- toy modules ----------------------------------------------------------------------------


class Toy:
    """Counts blocks in BeginBlock; in EndBlock adds a validator at height 3, removes it at 5,
    and raises at height 4 (after writing, to show the write is dropped)."""

    consensus_version = 1

    def __init__(self, name: str, prefix: bytes, log: list[str]) -> None:
        self.name = name
        self.prefix = prefix
        self.log = log

    def msg_routes(self) -> Sequence[MsgRoute]:
        return []

    def query_routes(self) -> Sequence[QueryRoute]:
        return []

    def default_genesis(self) -> dict[str, Any]:
        return {}

    def validate_genesis(self, data: dict[str, Any]) -> None:
        pass

    def init_genesis(self, ctx: Context, data: dict[str, Any]) -> None:
        self.log.append(f"{self.name}:genesis")

    def export_genesis(self, ctx: Context) -> dict[str, Any]:
        return {"blocks": self.blocks(ctx)}

    def blocks(self, ctx: Context) -> int:
        raw = PrefixStore(ctx.store, self.prefix).get(b"blocks")
        return int(raw.decode()) if raw else 0

    def begin_block(self, ctx: Context) -> None:
        self.log.append(f"{self.name}:begin:{ctx.header.height}")
        PrefixStore(ctx.store, self.prefix).set(b"blocks", str(self.blocks(ctx) + 1).encode())
        ctx.emit("toy_begin", ("module", self.name))

    def end_block(self, ctx: Context) -> Sequence[ValidatorUpdate]:
        self.log.append(f"{self.name}:end:{ctx.header.height}")
        ctx.emit("toy_end", ("module", self.name))
        if ctx.header.height == 4:
            PrefixStore(ctx.store, self.prefix).set(b"dropped", b"1")
            raise RuntimeError("a bug in a toy EndBlock")
        power = {3: 7, 5: 0}.get(ctx.header.height)
        if power is None or self.name != "toy_b":
            return []
        return [ValidatorUpdate(pub_key=pb.tm_crypto.PublicKey(ed25519=NEW_VALIDATOR), power=power)]


def toy_definition(name: str, log: list[str]) -> ModuleDefinition:
    prefix = f"{name}/".encode()

    def build(keepers: Keepers) -> tuple[Toy, object]:
        module = Toy(name, prefix, log)
        return module, module

    return ModuleDefinition(name=name, store_key=name, store_prefix=prefix, build=build)


def start(
    tmp_path: Path,
    modules: Sequence[ModuleDefinition] = MODULES,
    differential: bool = True,
    **state: Any,
) -> Chain:
    doc = genesis_doc(FUNDED, with_accounts=True)
    doc.app_state.update(state)
    toy = modules is not MODULES
    chain = Chain.start(
        tmp_path / "data", FUNDED, genesis=doc, differential=differential and not toy
    )
    if toy:  # the same genesis on an app with this module list
        chain.app.store.close()
        store = CommitStore.open(tmp_path / "toy")
        chain.app = AivmApp(store, modules=modules)
        chain.app.init_chain(doc.init_chain_request())
    chain.block([])
    return chain


# -- lifecycle ------------------------------------------------------------------------------


def test_begin_and_end_block_run_in_list_order_and_update_the_validator_set(
    tmp_path: Path,
) -> None:
    log: list[str] = []
    modules = (*MODULES, toy_definition("toy_a", log), toy_definition("toy_b", log))
    chain = start(tmp_path, modules)
    assert log[:2] == ["toy_a:genesis", "toy_b:genesis"]
    assert log[2:] == ["toy_a:begin:1", "toy_b:begin:1", "toy_a:end:1", "toy_b:end:1"]

    response = chain.block([])  # height 2: events, no validator change
    kinds = [
        (e.type, {a.key: a.value for a in e.attributes})
        for e in response.events
        if e.type.startswith("toy")  # the app's own modules emit theirs too (mint, …)
    ]
    assert kinds == [
        ("toy_begin", {"module": "toy_a", "mode": "BeginBlock"}),
        ("toy_begin", {"module": "toy_b", "mode": "BeginBlock"}),
        ("toy_end", {"module": "toy_a", "mode": "EndBlock"}),
        ("toy_end", {"module": "toy_b", "mode": "EndBlock"}),
    ]
    assert not response.validator_updates

    genesis_set = [(v.pub_key.ed25519, v.power) for v in chain.app.validators()]
    response = chain.block([])  # height 3: toy_b adds a validator
    assert [(u.pub_key.ed25519, u.power) for u in response.validator_updates] == [
        (NEW_VALIDATOR, 7)
    ]
    assert [(v.pub_key.ed25519, v.power) for v in chain.app.validators()] == [
        *genesis_set,
        (NEW_VALIDATOR, 7),
    ]
    exported = chain.app.export_genesis()
    assert [(v.pub_key, v.power) for v in exported.validators][-1] == (NEW_VALIDATOR, 7)
    assert exported.app_state["toy_a"] == {"blocks": 3}

    with bug_log().expected():  # height 4: both EndBlocks raise; their writes are dropped
        response = chain.block([])
    assert [e.type for e in response.events if e.type.startswith("toy")] == [
        "toy_begin",
        "toy_begin",
    ]
    ctx = chain.app.query_context(4)
    assert PrefixStore(ctx.store, b"toy_a/").get(b"dropped") is None
    assert PrefixStore(ctx.store, b"toy_a/").get(b"blocks") == b"4"  # BeginBlock's write kept

    response = chain.block([])  # height 5: power 0 removes it
    assert [u.power for u in response.validator_updates] == [0]
    assert [(v.pub_key.ed25519, v.power) for v in chain.app.validators()] == genesis_set


def test_a_block_hook_that_raises_fails_the_test_harness(tmp_path: Path) -> None:
    """The node survives a raising hook (BUG logged, its writes dropped); a test must not: the
    harness turns the BUG line into a failure of the block that logged it."""
    log: list[str] = []
    chain = start(tmp_path, (*MODULES, toy_definition("toy_a", log)))
    chain.block([])
    chain.block([])  # heights 2 and 3 are clean
    with pytest.raises(BugLogged) as failed:
        chain.block([])
    assert str(failed.value) == (
        "block 4: the app logged 1 BUG line(s): BUG: EndBlock of module toy_a raised; its "
        "changes are dropped (RuntimeError: a bug in a toy EndBlock)"
    )
    chain.block([])  # height 5 is clean again: a BUG line fails only its own block
    with pytest.raises(AssertionError, match="logged none"), bug_log().expected():
        chain.block([])  # a test that expects a BUG line fails without one


class Malformed(Toy):
    """Writes, then returns something that is not a validator update."""

    def end_block(self, ctx: Context) -> Sequence[ValidatorUpdate]:
        PrefixStore(ctx.store, self.prefix).set(b"written", b"1")
        return ["not an update"]  # type: ignore[list-item]


def test_a_malformed_validator_update_drops_the_hooks_writes(tmp_path: Path) -> None:
    log: list[str] = []

    def build(keepers: Keepers) -> tuple[Malformed, object]:
        module = Malformed("toy_m", b"toy_m/", log)
        return module, module

    with bug_log().expected():  # every block, the first (in start) included
        chain = start(tmp_path, (*MODULES, ModuleDefinition("toy_m", "toy_m", b"toy_m/", build)))
        response = chain.block([])  # FinalizeBlock does not raise
    assert not response.validator_updates
    assert PrefixStore(chain.app.query_context(2).store, b"toy_m/").get(b"written") is None
    assert [e.type for e in response.events if e.type.startswith("toy")] == ["toy_begin"]


def test_a_clash_in_the_module_list_is_refused() -> None:
    log: list[str] = []
    with pytest.raises(ValueError, match="module name"):
        ModuleManager((*MODULES, toy_definition("bank", log)))
    clash = ModuleDefinition("toy", "toy", b"bank/x", toy_definition("toy", log).build)
    with pytest.raises(ValueError, match="prefix"):
        ModuleManager((*MODULES, clash))
    with pytest.raises(LookupError, match="list that module before"):
        ModuleManager(tuple(reversed(MODULES)))


# -- params authority -----------------------------------------------------------------------

AUTH_PARAMS = AuthParams(tx_size_cost_per_byte=40).to_proto()
UPDATES: dict[str, Any] = {
    "auth": lambda authority: pb.auth_tx.MsgUpdateParams(authority=authority, params=AUTH_PARAMS),
    "bank": lambda authority: pb.bank_tx.MsgUpdateParams(
        authority=authority, params=pb.bank.Params(default_send_enabled=False)
    ),
    "ai": lambda authority: ai_pb2.MsgUpdateParams(
        authority=authority, params=ai_params(gas_per_call=777)
    ),
    "storage": lambda authority: storage_pb2.MsgUpdateParams(
        authority=authority, params=storage_params(challenge_window=9)
    ),
}


def ai_params(**changes: int) -> ai_pb2.Params:
    from aivm.modules.ai.params import AiParams

    return AiParams(**changes).to_proto()


def storage_params(**changes: int) -> storage_pb2.Params:
    from aivm.modules.storage.keeper import DEFAULT_PARAMS

    params = storage_pb2.Params()
    params.CopyFrom(DEFAULT_PARAMS)
    for name, value in changes.items():
        setattr(params, name, value)
    return params


@pytest.fixture
def chain(tmp_path: Path) -> Chain:
    return start(tmp_path, authority={"authority": ADMIN_ADDR})


def test_the_authority_is_queryable(chain: Chain, tmp_path: Path) -> None:
    _, value = chain.query(
        "/aivm.authority.v1.Query/Authority",
        authority_pb2.QueryAuthorityRequest(),
        authority_pb2.QueryAuthorityResponse,
    )
    assert value.authority == ADMIN_ADDR
    default = start(tmp_path / "default")
    _, value = default.query(
        "/aivm.authority.v1.Query/Authority",
        authority_pb2.QueryAuthorityRequest(),
        authority_pb2.QueryAuthorityResponse,
    )
    gov = addr_str(hashlib.sha256(b"gov").digest()[:20])  # the SDK's gov module account
    assert value.authority == gov


@pytest.mark.parametrize("module", sorted(UPDATES))
def test_update_params_by_another_signer_is_refused_with_the_sdk_code(
    chain: Chain, module: str
) -> None:
    before = chain.app.export_genesis().app_state[module]["params"]
    result = chain.deliver(USER, UPDATES[module](USER_ADDR))
    assert (result.codespace, result.code) == ("gov", 12)
    assert f"invalid authority; expected {ADMIN_ADDR}, got {USER_ADDR}" in result.log
    assert chain.app.export_genesis().app_state[module]["params"] == before


@pytest.mark.parametrize("module", sorted(UPDATES))
def test_update_params_by_the_authority_is_applied(chain: Chain, module: str) -> None:
    result = chain.deliver(ADMIN, UPDATES[module](ADMIN_ADDR))
    assert result.code == 0, result.log
    params = chain.app.export_genesis().app_state[module]["params"]
    expected = {
        "auth": ("tx_size_cost_per_byte", "40"),
        "bank": ("default_send_enabled", False),
        "ai": ("gas_per_call", "777"),
        "storage": ("challenge_window", "9"),
    }[module]
    assert params[expected[0]] == expected[1]


def test_a_change_applies_from_the_next_tx_of_the_same_block(chain: Chain) -> None:
    def send() -> bytes:
        return chain.send_tx(USER, ADMIN.pubkey.address(), 5)

    first = send()
    update = chain.msgs_tx(ADMIN, [UPDATES["bank"](ADMIN_ADDR)])
    second = chain.send_tx(USER, ADMIN.pubkey.address(), 5, sequence=1)
    results = chain.block([first, update, second]).tx_results
    assert [r.code for r in results[:2]] == [0, 0]
    assert (results[2].codespace, results[2].code) == ("bank", 5)  # sends are disabled now


def test_an_auth_param_change_moves_the_gas_of_the_next_tx(chain: Chain) -> None:
    chain.block([chain.send_tx(USER, ADMIN.pubkey.address(), 5)])  # sets USER's public key
    before = chain.block([chain.send_tx(USER, ADMIN.pubkey.address(), 5)]).tx_results[0]
    assert chain.deliver(ADMIN, UPDATES["auth"](ADMIN_ADDR)).code == 0
    after = chain.block([chain.send_tx(USER, ADMIN.pubkey.address(), 5)]).tx_results[0]
    assert before.code == after.code == 0
    size = len(chain.send_tx(USER, ADMIN.pubkey.address(), 5))
    assert after.gas_used - before.gas_used == pytest.approx(20 * size, abs=200)


@pytest.mark.parametrize(
    "message",
    [
        pb.auth_tx.MsgUpdateParams(authority=ADMIN_ADDR, params=pb.auth.Params()),
        pb.bank_tx.MsgUpdateParams(
            authority=ADMIN_ADDR,
            params=pb.bank.Params(send_enabled=[pb.bank.SendEnabled(denom="ucgpt", enabled=False)]),
        ),
        ai_pb2.MsgUpdateParams(authority=ADMIN_ADDR, params=ai_pb2.Params()),
        storage_pb2.MsgUpdateParams(
            authority=ADMIN_ADDR, params=storage_params(challenge_window=0)
        ),
        storage_pb2.MsgUpdateParams(authority=ADMIN_ADDR),
    ],
    ids=["auth-zero", "bank-send-enabled", "ai-zero", "storage-zero-window", "no-params"],
)
def test_invalid_params_are_refused_before_they_run(chain: Chain, message: pb.Message) -> None:
    result = chain.deliver(ADMIN, message)
    assert (result.codespace, result.code) == ("sdk", 18), result.log


def test_a_genesis_authority_must_be_an_address(tmp_path: Path) -> None:
    with pytest.raises(AivmError, match="invalid authority"):
        start(tmp_path, authority={"authority": "aivm1nope"})


# -- invariants (crisis) --------------------------------------------------------------------


def test_invariants_hold_on_a_live_chain_and_catch_a_corrupted_state(tmp_path: Path) -> None:
    chain = start(tmp_path, differential=False)  # a replica would flag the corruption first
    assert (
        chain.deliver(
            USER,
            pb.bank_tx.MsgSend(
                from_address=USER_ADDR,
                to_address=ADMIN_ADDR,
                amount=[pb.coin.Coin(denom="ucgpt", amount="5")],
            ),
        ).code
        == 0
    )
    assert chain.app.check_invariants() == []
    # a balance written behind the bank's back: the supply no longer adds up
    from aivm.modules.bank import keys as bank_keys

    working = chain.app.store.working
    key = bank_keys.STORE_PREFIX + bank_keys.balance_key(USER.pubkey.address(), "ucgpt")
    working.set(key, b"1")
    chain.block([])
    problems = chain.app.check_invariants()
    assert any(p.startswith("bank/") for p in problems), problems


# -- migrations -----------------------------------------------------------------------------


class Versioned:
    """A toy module at consensus version 3 with migrations from versions 1 and 2."""

    name = "versioned"
    consensus_version = 3

    def __init__(self, steps: Mapping[int, Migration]) -> None:
        self.steps = steps

    def msg_routes(self) -> Sequence[MsgRoute]:
        return []

    def query_routes(self) -> Sequence[QueryRoute]:
        return []

    def default_genesis(self) -> dict[str, Any]:
        return {}

    def validate_genesis(self, data: dict[str, Any]) -> None:
        pass

    def init_genesis(self, ctx: Context, data: dict[str, Any]) -> None:
        PrefixStore(ctx.store, b"versioned/").set(b"layout", b"v3")

    def export_genesis(self, ctx: Context) -> dict[str, Any]:
        return {}

    def migrations(self) -> Mapping[int, Migration]:
        return self.steps


def rewrite(to: bytes) -> Migration:
    def migrate(ctx: Context) -> None:
        PrefixStore(ctx.store, b"versioned/").set(b"layout", to)

    return migrate


def migration_ctx(tmp_path: Path) -> Context:
    from aivm.modules.framework import BlockHeader
    from aivm.store import GasMeter

    store = CommitStore.open(tmp_path / "migrations")
    return Context(store.working, GasMeter(None), BlockHeader(1, 0, "t"), ExecMode.FINALIZE)


def test_migrations_run_in_order_from_the_stored_version(tmp_path: Path) -> None:
    module = Versioned({1: rewrite(b"v2"), 2: rewrite(b"v3-migrated")})
    ctx = migration_ctx(tmp_path)
    set_versions(ctx.store, {"versioned": 1})
    registry = MigrationRegistry([module])
    assert registry.run_migrations(ctx) == {"versioned": 3}
    assert PrefixStore(ctx.store, b"versioned/").get(b"layout") == b"v3-migrated"
    assert stored_versions(ctx.store) == {"versioned": 3}
    assert registry.run_migrations(ctx) == {"versioned": 3}  # nothing left to run


def test_a_new_module_gets_its_default_genesis(tmp_path: Path) -> None:
    ctx = migration_ctx(tmp_path)
    assert MigrationRegistry([Versioned({})]).run_migrations(ctx) == {"versioned": 3}
    assert PrefixStore(ctx.store, b"versioned/").get(b"layout") == b"v3"


def test_a_missing_or_backward_migration_is_refused(tmp_path: Path) -> None:
    ctx = migration_ctx(tmp_path)
    set_versions(ctx.store, {"versioned": 1})
    with pytest.raises(AivmError, match="no migration of versioned from version 2"):
        MigrationRegistry([Versioned({1: rewrite(b"v2")})]).run_migrations(ctx)
    set_versions(ctx.store, {"versioned": 4})
    with pytest.raises(AivmError, match="version 4, the code at 3"):
        MigrationRegistry([Versioned({})]).run_migrations(ctx)
    with pytest.raises(ValueError, match="two migrations"):
        registry = MigrationRegistry([Versioned({1: rewrite(b"x")})])
        registry.register("versioned", 1, rewrite(b"y"))


def test_init_chain_records_every_module_version(chain: Chain) -> None:
    versions = stored_versions(chain.app.query_context(1).store)
    assert versions == {m.name: m.consensus_version for m in chain.app.modules}
    assert set(versions) == {d.name for d in MODULES}
    assert {"authority", "auth", "bank", "staking", "distribution", "storage", "ai"} <= set(
        versions
    )
