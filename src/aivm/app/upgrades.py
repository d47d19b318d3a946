"""The foundation of chain upgrades: module consensus versions and the migration registry.

Every module carries a ``consensus_version``. The app records the version of each module's
state (``app/module_versions/<name>``), writing the current ones at InitChain. An upgrade
(the upgrade module, planned) runs :meth:`MigrationRegistry.run_migrations` at its height:
for each module in list order, every migration from the stored version up to the module's
current one, in order, each keyed by (module, from-version); a module new to the chain gets
its default genesis instead, as in the Cosmos SDK's ``RunMigrations``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aivm.modules.framework import AppModule, Context, HasMigrations, Migration
from aivm.store import KVStore, PrefixStore
from aivm.types.errors import ErrInvalidVersion

VERSIONS_PREFIX = b"app/module_versions/"


def stored_versions(store: KVStore) -> dict[str, int]:
    """Module name → the consensus version of its stored state."""
    return {
        key.decode(): int.from_bytes(raw, "big")
        for key, raw in PrefixStore(store, VERSIONS_PREFIX).iterate()
    }


def set_versions(store: KVStore, versions: Mapping[str, int]) -> None:
    """Record each module's state version."""
    versions_store = PrefixStore(store, VERSIONS_PREFIX)
    for name, version in sorted(versions.items()):
        versions_store.set(name.encode(), version.to_bytes(8, "big"))


class MigrationRegistry:
    """Migrations keyed by (module, from-version), collected from the modules."""

    def __init__(self, modules: Sequence[AppModule]) -> None:
        self.modules = list(modules)
        self._migrations: dict[tuple[str, int], Migration] = {}
        for module in self.modules:
            if isinstance(module, HasMigrations):
                for from_version, migration in sorted(module.migrations().items()):
                    self.register(module.name, from_version, migration)

    def register(self, module: str, from_version: int, migration: Migration) -> None:
        """Add the migration of ``module`` from ``from_version`` to ``from_version + 1``."""
        key = (module, from_version)
        if key in self._migrations:
            raise ValueError(f"two migrations of {module} from version {from_version}")
        self._migrations[key] = migration

    def get(self, module: str, from_version: int) -> Migration | None:
        """The migration of ``module`` from ``from_version``, if registered."""
        return self._migrations.get((module, from_version))

    def run_migrations(self, ctx: Context) -> dict[str, int]:
        """Bring every module's state to its current consensus version; return the new
        version map (also recorded). Raises ErrInvalidVersion, having changed nothing the
        caller keeps, when a migration is missing or a stored version is newer than the code.
        """
        before = stored_versions(ctx.store)
        after: dict[str, int] = {}
        for module in self.modules:
            version = before.get(module.name)
            target = module.consensus_version
            if version is None:  # a module added by this upgrade
                module.init_genesis(ctx, module.default_genesis())
                version = target
            if version > target:
                raise ErrInvalidVersion.wrap(
                    f"{module.name} state is at version {version}, the code at {target}"
                )
            while version < target:
                migration = self.get(module.name, version)
                if migration is None:
                    raise ErrInvalidVersion.wrap(
                        f"no migration of {module.name} from version {version} to {version + 1}"
                    )
                migration(ctx)
                version += 1
            after[module.name] = version
        set_versions(ctx.store, after)
        return after
