"""slashing event types and attribute keys (the SDK's ``x/slashing/types/events.go``)."""

from __future__ import annotations

from aivm.modules.framework import Context

EVENT_SLASH = "slash"
EVENT_LIVENESS = "liveness"

ATTR_ADDRESS = "address"
ATTR_HEIGHT = "height"
ATTR_POWER = "power"
ATTR_REASON = "reason"
ATTR_JAILED = "jailed"
ATTR_MISSED_BLOCKS = "missed_blocks"
ATTR_BURNED_COINS = "burned_coins"

REASON_DOUBLE_SIGN = "double_sign"
REASON_MISSING_SIGNATURE = "missing_signature"


def emit_liveness(ctx: Context, valcons: str, missed: int, height: int) -> None:
    """A validator's vote is absent from the last commit (``missed`` in its window now)."""
    ctx.emit(
        EVENT_LIVENESS,
        (ATTR_ADDRESS, valcons),
        (ATTR_MISSED_BLOCKS, str(missed)),
        (ATTR_HEIGHT, str(height)),
    )


def emit_downtime_slash(ctx: Context, valcons: str, power: int, burned: int) -> None:
    """A validator was slashed and jailed for downtime (one event, as the SDK)."""
    ctx.emit(
        EVENT_SLASH,
        (ATTR_ADDRESS, valcons),
        (ATTR_POWER, str(power)),
        (ATTR_REASON, REASON_MISSING_SIGNATURE),
        (ATTR_JAILED, valcons),
        (ATTR_BURNED_COINS, str(burned)),
    )


def emit_double_sign_slash(ctx: Context, valcons: str, power: int, burned: int) -> None:
    """A validator was slashed for equivocation (SDK ``SlashWithInfractionReason``)."""
    ctx.emit(
        EVENT_SLASH,
        (ATTR_ADDRESS, valcons),
        (ATTR_POWER, str(power)),
        (ATTR_REASON, REASON_DOUBLE_SIGN),
        (ATTR_BURNED_COINS, str(burned)),
    )


def emit_jailed(ctx: Context, valcons: str) -> None:
    """A validator was jailed by the slashing keeper (SDK ``Keeper.Jail``)."""
    ctx.emit(EVENT_SLASH, (ATTR_JAILED, valcons))
