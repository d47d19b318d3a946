"""The staking module's contract with the modules that build on it (distribution, slashing,
mint, roles): its data as Python values, the hooks it calls, and the keeper methods the others
may use. Nothing here does I/O; amounts are integers (``ucgpt``) and ratios are :class:`Dec`.

The keeper (:class:`aivm.modules.staking.keeper.StakingKeeper`) implements
:class:`StakingReader`; a module that wants to hear about validators and delegations passes a
:class:`StakingHooks` subclass to ``StakingKeeper.add_hooks`` from its builder (it is listed
after staking in ``aivm.app.modules.MODULES``). Hook order and meaning follow the Cosmos SDK's
``x/staking`` ``StakingHooks``.
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from aivm.modules.framework import Context
from aivm.types.dec import Dec

BONDED_POOL = "bonded_tokens_pool"
"""Module account holding the tokens of bonded validators (burner, staking)."""
NOT_BONDED_POOL = "not_bonded_tokens_pool"
"""Module account holding the tokens of unbonding/unbonded validators and of unbonding
delegations (burner, staking)."""
POWER_REDUCTION = 1_000_000
"""Tokens per unit of CometBFT voting power (1 CGPT = 1,000,000 ucgpt = power 1)."""


class BondStatus(enum.IntEnum):
    """``cosmos.staking.v1beta1.BondStatus``."""

    UNSPECIFIED = 0
    UNBONDED = 1
    UNBONDING = 2
    BONDED = 3


def cons_address(ed25519_pubkey: bytes) -> bytes:
    """CometBFT's address of an ed25519 consensus key: sha256(pubkey)[:20]."""
    return hashlib.sha256(ed25519_pubkey).digest()[:20]


@dataclass(frozen=True)
class Commission:
    """A validator's commission: current rate, its bounds and when it last changed."""

    rate: Dec
    max_rate: Dec
    max_change_rate: Dec
    update_time_ns: int


@dataclass(frozen=True)
class Validator:
    """A validator as the other modules read it (the keeper stores the SDK's proto)."""

    operator: bytes
    """Operator address bytes (``aivmvaloper…``; the same 20 bytes as its account)."""
    cons_pubkey: bytes
    """ed25519 consensus public key (32 bytes)."""
    jailed: bool
    status: BondStatus
    tokens: int
    """Tokens bonded to it (self and delegated), after slashes."""
    delegator_shares: Dec
    """Shares issued to its delegators."""
    commission: Commission
    min_self_delegation: int
    unbonding_height: int
    unbonding_time_ns: int

    @property
    def cons_address(self) -> bytes:
        """Its CometBFT consensus address."""
        return cons_address(self.cons_pubkey)

    @property
    def is_bonded(self) -> bool:
        return self.status is BondStatus.BONDED

    def consensus_power(self) -> int:
        """Voting power: tokens // POWER_REDUCTION when bonded, else 0."""
        return self.tokens // POWER_REDUCTION if self.is_bonded else 0

    def tokens_from_shares(self, shares: Dec) -> Dec:
        """Tokens that ``shares`` are worth: shares × tokens / delegator_shares (SDK
        ``TokensFromShares``)."""
        return shares.mul_int(self.tokens).quo(self.delegator_shares)

    def tokens_from_shares_truncated(self, shares: Dec) -> Dec:
        """The same, rounding down (SDK ``TokensFromSharesTruncated``)."""
        return shares.mul_int(self.tokens).quo_truncate(self.delegator_shares)


@dataclass(frozen=True)
class Delegation:
    """A delegator's shares in one validator."""

    delegator: bytes
    validator: bytes
    shares: Dec


class StakingHooks:
    """Callbacks from the staking keeper (SDK ``StakingHooks``); override what you need.

    They run inside the message or block hook that caused them, on the same context: an
    exception fails that message (or is a bug in a block hook).
    """

    def after_validator_created(self, ctx: Context, val_addr: bytes) -> None:
        """A validator was created (MsgCreateValidator or a gentx)."""

    def before_validator_modified(self, ctx: Context, val_addr: bytes) -> None:
        """A validator's commission is about to change (MsgEditValidator)."""

    def after_validator_removed(self, ctx: Context, cons_addr: bytes, val_addr: bytes) -> None:
        """An unbonded validator with no delegations left was deleted."""

    def after_validator_bonded(self, ctx: Context, cons_addr: bytes, val_addr: bytes) -> None:
        """A validator entered the bonded set (EndBlock, or genesis)."""

    def after_validator_begin_unbonding(
        self, ctx: Context, cons_addr: bytes, val_addr: bytes
    ) -> None:
        """A validator left the bonded set (EndBlock)."""

    def before_delegation_created(self, ctx: Context, del_addr: bytes, val_addr: bytes) -> None:
        """A new delegation is about to be created."""

    def before_delegation_shares_modified(
        self, ctx: Context, del_addr: bytes, val_addr: bytes
    ) -> None:
        """An existing delegation's shares are about to change."""

    def before_delegation_removed(self, ctx: Context, del_addr: bytes, val_addr: bytes) -> None:
        """A delegation is about to be deleted (all its shares removed)."""

    def after_delegation_modified(self, ctx: Context, del_addr: bytes, val_addr: bytes) -> None:
        """A delegation was created or its shares changed (also after removal: then it is gone)."""

    def before_validator_slashed(self, ctx: Context, val_addr: bytes, fraction: Dec) -> None:
        """A validator's tokens are about to be cut by ``fraction`` of them (its bonded tokens;
        the effective fraction after entries were slashed)."""


@dataclass(frozen=True)
class StakingParamValues:
    """``cosmos.staking.v1beta1.Params`` as Python values."""

    unbonding_time_ns: int
    max_validators: int
    max_entries: int
    historical_entries: int
    bond_denom: str
    min_commission_rate: Dec


class StakingReader(Protocol):
    """The keeper methods other modules may call (implemented by ``StakingKeeper``)."""

    def add_hooks(self, hooks: StakingHooks) -> None:
        """Register hooks (from a module's builder; called in registration order)."""
        ...

    def get_params(self, ctx: Context) -> StakingParamValues:
        """Current params."""
        ...

    def bond_denom(self, ctx: Context) -> str:
        """The staking denom (``ucgpt``)."""
        ...

    def get_validator(self, ctx: Context, val_addr: bytes) -> Validator | None:
        """The validator with this operator address, or None."""
        ...

    def get_validator_by_cons_addr(self, ctx: Context, cons_addr: bytes) -> Validator | None:
        """The validator with this consensus address, or None (also after removal: None)."""
        ...

    def iterate_bonded_validators_by_power(self, ctx: Context) -> Iterator[Validator]:
        """Bonded validators, highest power first (ties by operator address)."""
        ...

    def get_delegation(self, ctx: Context, del_addr: bytes, val_addr: bytes) -> Delegation | None:
        """One delegation, or None."""
        ...

    def iterate_delegations_of(self, ctx: Context, del_addr: bytes) -> Iterator[Delegation]:
        """Every delegation of a delegator, by validator address."""
        ...

    def iterate_validator_delegations(self, ctx: Context, val_addr: bytes) -> Iterator[Delegation]:
        """Every delegation to a validator, by delegator address."""
        ...

    def total_bonded_tokens(self, ctx: Context) -> int:
        """Balance of the bonded pool in the bond denom."""
        ...

    def bonded_ratio(self, ctx: Context) -> Dec:
        """total_bonded_tokens / total supply of the bond denom (0 when the supply is 0)."""
        ...

    def slash(
        self,
        ctx: Context,
        cons_addr: bytes,
        infraction_height: int,
        power: int,
        slash_factor: Dec,
    ) -> int:
        """SDK ``Slash``: burn ``slash_factor`` × (power at the infraction × POWER_REDUCTION),
        taken first from the validator's unbonding delegations and redelegations that began at
        or after ``infraction_height``, then from its tokens; returns the amount burned (0 when
        the validator is unknown or unbonded with nothing to take)."""
        ...

    def jail(self, ctx: Context, cons_addr: bytes) -> None:
        """Jail the validator (it leaves the bonded set at this block's EndBlock)."""
        ...

    def unjail(self, ctx: Context, cons_addr: bytes) -> None:
        """Unjail the validator (it may rejoin the set at EndBlock)."""
        ...
