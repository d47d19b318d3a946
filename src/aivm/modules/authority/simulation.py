"""authority in the randomized simulation: no operations of its own; the ``update_params``
operations of the other modules sign as the authority through :func:`claimed_authority`."""

from __future__ import annotations

from aivm.modules.addr import addr_str
from aivm.modules.authority.keeper import AuthorityKeeper
from aivm.modules.authority.module import AuthorityModule
from aivm.modules.simulation import SimEnv, WeightedOperation


def operations(module: AuthorityModule) -> dict[str, WeightedOperation]:
    """None: the authority is set at genesis."""
    return {}


def claimed_authority(env: SimEnv, authority: AuthorityKeeper) -> str:
    """The authority's address (the simulation's genesis makes it one of its keys); one time
    in eight another simulated account, which the handler must refuse with ``gov`` 12."""
    if env.rng.randrange(0, 8) == 0:
        return addr_str(env.rng.choice(env.accounts))
    return addr_str(authority.get(env.ctx))


def scaled(env: SimEnv, value: int, low: int = 1) -> int:
    """``value`` moved by up to ±25%, at least ``low``."""
    return max(low, value + env.rng.randrange(-(value // 4), value // 4 + 1))
