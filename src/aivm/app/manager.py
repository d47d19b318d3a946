"""The module manager: builds the modules of the app's list and runs their lifecycle.

It is the one owner of module order (``aivm.app.modules.MODULES``): genesis is written and
exported, BeginBlock and EndBlock run, and migrations apply in list order. A block hook runs
on its own branch of the block's state with an unmetered gas meter; its events go to the
block's events with a ``mode`` attribute (``BeginBlock``/``EndBlock``), as in the Cosmos SDK.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aivm.modules.framework import (
    AppModule,
    BlockHeader,
    Context,
    Event,
    ExecMode,
    HasBeginBlock,
    HasEndBlock,
    HasGenesisValidators,
    Keepers,
    ModuleDefinition,
    ValidatorUpdate,
)
from aivm.store import CacheStore, GasMeter, KVStore
from aivm.types.errors import ErrInvalidRequest

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BlockHookResult:
    """What a BeginBlock or EndBlock pass produced."""

    events: list[Event]
    validator_updates: list[ValidatorUpdate]


class ModuleManager:
    """The built modules of an app, in list order, and their keepers."""

    def __init__(self, definitions: Sequence[ModuleDefinition]) -> None:
        """Build every module in order; a clash of names, store keys or prefixes, or module
        accounts is a programming error (ValueError)."""
        check_definitions(definitions)
        self.definitions = tuple(definitions)
        accounts: dict[str, tuple[str, ...]] = {}
        for definition in definitions:
            accounts.update(definition.module_accounts)
        self.keepers = Keepers(accounts)
        self.modules: list[AppModule] = []
        for definition in definitions:
            module, keeper = definition.build(self.keepers)
            if module.name != definition.name:
                raise ValueError(f"{definition.name} built a module named {module.name!r}")
            self.keepers.add(definition.name, keeper)
            self.modules.append(module)
        self.by_name = {m.name: m for m in self.modules}
        self._begin_hooks = _begin_hooks(self.modules)
        self._end_hooks = _end_hooks(self.modules)

    def store_prefixes(self) -> dict[str, bytes]:
        """Store key → key prefix, for raw ``/store/<key>/key`` queries."""
        return {d.store_key: d.store_prefix for d in self.definitions}

    def consensus_versions(self) -> dict[str, int]:
        """Module name → its current consensus version."""
        return {m.name: m.consensus_version for m in self.modules}

    # -- genesis --------------------------------------------------------------------------

    def init_genesis(
        self,
        ctx: Context,
        app_state: Mapping[str, Any],
        requested: Sequence[ValidatorUpdate] = (),
    ) -> list[ValidatorUpdate]:
        """Validate and write each module's genesis (fields left out take its defaults), then
        let the modules that decide the validator set finish genesis. Returns the initial
        validator set they decided (empty: genesis.json's validators stand)."""
        unknown = set(app_state) - set(self.by_name)
        if unknown:
            raise ErrInvalidRequest.wrap(f"genesis app_state has unknown modules {sorted(unknown)}")
        for module in self.modules:
            data = {**module.default_genesis(), **app_state.get(module.name, {})}
            module.validate_genesis(data)
            module.init_genesis(ctx, data)
        updates: dict[bytes, ValidatorUpdate] = {}
        for module in self.modules:
            if isinstance(module, HasGenesisValidators):
                for update in module.genesis_validators(ctx, requested):
                    updates[update.pub_key.SerializeToString()] = update
        return [u for u in updates.values() if u.power > 0]

    def export_genesis(self, ctx: Context) -> dict[str, Any]:
        """Every module's state in genesis form, in list order."""
        return {m.name: m.export_genesis(ctx) for m in self.modules}

    # -- block lifecycle ------------------------------------------------------------------

    def begin_block(self, working: KVStore, header: BlockHeader) -> BlockHookResult:
        """Run every module's BeginBlock."""
        return self._run_hooks("BeginBlock", working, header, self._begin_hooks)

    def end_block(self, working: KVStore, header: BlockHeader) -> BlockHookResult:
        """Run every module's EndBlock; merge their validator updates (by public key, a later
        module's update wins)."""
        return self._run_hooks("EndBlock", working, header, self._end_hooks)

    def _run_hooks(
        self,
        mode: str,
        working: KVStore,
        header: BlockHeader,
        hooks: Sequence[tuple[str, Callable[[Context], Sequence[ValidatorUpdate]]]],
    ) -> BlockHookResult:
        events: list[Event] = []
        updates: dict[bytes, ValidatorUpdate] = {}
        for name, hook in hooks:
            branch = CacheStore(working)
            ctx = Context(branch, GasMeter(None), header, ExecMode.FINALIZE)
            try:
                returned = [(u.pub_key.SerializeToString(), u) for u in hook(ctx)]
            except Exception:
                # the same on every node (the hook is deterministic): the module's writes are
                # dropped and the chain goes on, instead of halting every validator
                log.exception("BUG: %s of module %s raised; its changes are dropped", mode, name)
                continue
            branch.write()
            events += [Event(e.type, (*e.attributes, ("mode", mode))) for e in ctx.events]
            updates.update(returned)
        return BlockHookResult(events, list(updates.values()))


def _begin_hooks(
    modules: Sequence[AppModule],
) -> list[tuple[str, Callable[[Context], Sequence[ValidatorUpdate]]]]:
    hooks: list[tuple[str, Callable[[Context], Sequence[ValidatorUpdate]]]] = []
    for module in modules:
        if isinstance(module, HasBeginBlock):
            begin = module.begin_block

            def run(
                ctx: Context, begin: Callable[[Context], None] = begin
            ) -> list[ValidatorUpdate]:
                begin(ctx)
                return []

            hooks.append((module.name, run))
    return hooks


def _end_hooks(
    modules: Sequence[AppModule],
) -> list[tuple[str, Callable[[Context], Sequence[ValidatorUpdate]]]]:
    return [(m.name, m.end_block) for m in modules if isinstance(m, HasEndBlock)]


def check_definitions(definitions: Sequence[ModuleDefinition]) -> None:
    """Names, store keys and module accounts are unique; no store prefix is a prefix of
    another's (their keys would mix)."""
    for what, values in (
        ("module name", [d.name for d in definitions]),
        ("store key", [d.store_key for d in definitions]),
        ("module account", [a for d in definitions for a in d.module_accounts]),
    ):
        seen: set[str] = set()
        for value in values:
            if value in seen:
                raise ValueError(f"two modules use the {what} {value!r}")
            seen.add(value)
    prefixes = sorted((d.store_prefix, d.name) for d in definitions)
    for (a, a_name), (b, b_name) in itertools.pairwise(prefixes):
        if not a or b.startswith(a):
            raise ValueError(f"store prefix of {a_name} ({a!r}) is a prefix of {b_name}'s ({b!r})")
