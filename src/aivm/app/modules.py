"""The app's module list: the one place a module is wired in.

Order matters and is declared here once: modules are built in this order (a module's builder
may use the keepers of the modules above it), their genesis is written in this order,
BeginBlock and EndBlock run in this order, and a genesis export lists them in this order.
Adding a module is one line here plus its folder under ``aivm/modules/`` (see
``docs/modules.md``).
"""

from __future__ import annotations

from aivm.modules import (
    ai,
    auth,
    authority,
    bank,
    compute,
    distribution,
    feemarket,
    mint,
    roles,
    slashing,
    staking,
    storage,
    verify,
)
from aivm.modules.framework import ModuleDefinition

MODULES: tuple[ModuleDefinition, ...] = (
    authority.DEFINITION,
    auth.DEFINITION,
    bank.DEFINITION,
    feemarket.DEFINITION,
    staking.DEFINITION,
    mint.DEFINITION,
    roles.DEFINITION,
    distribution.DEFINITION,
    slashing.DEFINITION,
    storage.DEFINITION,
    ai.DEFINITION,
    compute.DEFINITION,
    verify.DEFINITION,
)
