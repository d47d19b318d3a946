"""roles: AIVM's specialised validator roles (ai, compute, data) with role bonds, capability
declarations, per-role active sets, role slashing and a share of the fees (see README.md)."""

from aivm.modules.roles.keeper import RolesKeeper
from aivm.modules.roles.module import DEFINITION, RolesModule

__all__ = ["DEFINITION", "RolesKeeper", "RolesModule"]
