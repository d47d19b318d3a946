"""The slashing keeper: signing infos, the missed-blocks bit arrays, params, and the three
state transitions of the module — a validator's vote in the last commit (liveness), a piece of
double-sign evidence (equivocation) and an unjail request.

Punishments go through the staking keeper (:class:`aivm.modules.staking.api.StakingReader`):
``slash`` burns the stake (and the unbonding delegations and redelegations that began after the
infraction), ``jail`` takes the validator out of the set at this block's EndBlock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TypeAlias

from google.protobuf.timestamp_pb2 import Timestamp

from aivm.modules.framework import Context, Misbehavior, VoteInfo
from aivm.modules.slashing import events, keys
from aivm.modules.slashing.errors import (
    ErrMissingSelfDelegation,
    ErrNoValidatorForAddress,
    ErrSelfDelegationTooLowToUnjail,
    ErrValidatorJailed,
    ErrValidatorNotJailed,
)
from aivm.modules.slashing.params import NS_PER_S, SlashingParams
from aivm.modules.staking.api import BondStatus, StakingHooks, StakingReader
from aivm.store import CacheStore, PrefixStore, iterate_prefix
from aivm.types import pb
from aivm.types.address import valcons_address
from aivm.types.errors import AivmError

DOUBLE_SIGN_JAIL_END_NS = 253_402_300_799 * NS_PER_S
"""SDK ``DoubleSignJailEndTime`` (9999-12-31T23:59:59Z): a tombstoned validator's jail end."""
VALIDATOR_UPDATE_DELAY = 1
"""SDK ``ValidatorUpdateDelay``: a validator set change takes effect one block later."""
DUPLICATE_VOTE = 1
LIGHT_CLIENT_ATTACK = 2
"""``MisbehaviorType`` values handled as equivocation (the SDK evidence module's two kinds)."""

SigningInfo: TypeAlias = pb.slashing.ValidatorSigningInfo


def new_signing_info(cons_addr: bytes, start_height: int) -> SigningInfo:
    """A fresh signing info (SDK ``NewValidatorSigningInfo``, jailed until the Unix epoch)."""
    info = SigningInfo(address=valcons_address(cons_addr), start_height=start_height)
    info.jailed_until.seconds = 0
    return info


def timestamp_ns(info: SigningInfo) -> int:
    """``jailed_until`` in nanoseconds since the epoch."""
    return info.jailed_until.seconds * NS_PER_S + info.jailed_until.nanos


def set_jailed_until(info: SigningInfo, time_ns: int) -> None:
    """Set ``jailed_until`` (clamped to the double-sign end time, the last representable)."""
    seconds, nanos = divmod(min(time_ns, DOUBLE_SIGN_JAIL_END_NS), NS_PER_S)
    info.jailed_until.seconds = seconds
    info.jailed_until.nanos = nanos


class SlashingKeeper:
    """Owns the ``slashing/`` prefix; punishes through the staking keeper."""

    def __init__(self, staking: StakingReader) -> None:
        self.staking = staking

    @staticmethod
    def _store(ctx: Context) -> PrefixStore:
        return PrefixStore(ctx.store, keys.STORE_PREFIX)

    # -- params -----------------------------------------------------------------------------

    def get_params(self, ctx: Context) -> SlashingParams:
        """Current params (the defaults before genesis wrote them)."""
        raw = self._store(ctx).get(keys.PARAMS_KEY)
        if raw is None:
            return SlashingParams()
        return SlashingParams.from_proto(pb.slashing.Params.FromString(raw))

    def set_params(self, ctx: Context, params: SlashingParams) -> None:
        """Store new params; a new window restarts every validator's window (see README)."""
        old = self.get_params(ctx)
        self._store(ctx).set(keys.PARAMS_KEY, params.to_proto().SerializeToString())
        if old.signed_blocks_window != params.signed_blocks_window:
            self.reset_windows(ctx)

    # -- signing infos ----------------------------------------------------------------------

    def get_signing_info(self, ctx: Context, cons_addr: bytes) -> SigningInfo | None:
        """A validator's signing info, or None."""
        raw = self._store(ctx).get(keys.signing_info_key(cons_addr))
        return None if raw is None else SigningInfo.FromString(raw)

    def set_signing_info(self, ctx: Context, cons_addr: bytes, info: SigningInfo) -> None:
        """Write a validator's signing info."""
        self._store(ctx).set(keys.signing_info_key(cons_addr), info.SerializeToString())

    def delete_signing_info(self, ctx: Context, cons_addr: bytes) -> None:
        """Forget a validator's signing info and its bit array."""
        self._store(ctx).delete(keys.signing_info_key(cons_addr))
        self.clear_missed(ctx, cons_addr)

    def iterate_signing_infos(self, ctx: Context) -> Iterator[tuple[bytes, SigningInfo]]:
        """Every (consensus address, signing info), in address-key order."""
        for key, raw in iterate_prefix(self._store(ctx), keys.SIGNING_INFO_PREFIX):
            yield keys.cons_addr_from_key(key[1:]), SigningInfo.FromString(raw)

    def is_tombstoned(self, ctx: Context, cons_addr: bytes) -> bool:
        """True when the validator was tombstoned for a double sign."""
        info = self.get_signing_info(ctx, cons_addr)
        return info is not None and info.tombstoned

    # -- missed-blocks bit array ------------------------------------------------------------

    def get_missed(self, ctx: Context, cons_addr: bytes, index: int) -> bool:
        """Whether bit ``index`` of the validator's window is set (a missed block)."""
        chunk = self._store(ctx).get(keys.missed_chunk_key(cons_addr, index // keys.CHUNK_BITS))
        if chunk is None:
            return False
        bit = index % keys.CHUNK_BITS
        return bool(chunk[bit // 8] >> (bit % 8) & 1)

    def set_missed(self, ctx: Context, cons_addr: bytes, index: int, missed: bool) -> None:
        """Set or clear bit ``index`` (an all-zero chunk is deleted)."""
        store = self._store(ctx)
        key = keys.missed_chunk_key(cons_addr, index // keys.CHUNK_BITS)
        chunk = bytearray(store.get(key) or bytes(keys.CHUNK_BYTES))
        bit = index % keys.CHUNK_BITS
        if missed:
            chunk[bit // 8] |= 1 << (bit % 8)
        else:
            chunk[bit // 8] &= ~(1 << (bit % 8)) & 0xFF
        if any(chunk):
            store.set(key, bytes(chunk))
        else:
            store.delete(key)

    def iterate_missed(self, ctx: Context, cons_addr: bytes) -> Iterator[int]:
        """Indices of the set bits of the validator's window, ascending."""
        prefix = keys.missed_bitmap_prefix(cons_addr)
        for key, chunk in iterate_prefix(self._store(ctx), prefix):
            base = int.from_bytes(key[len(prefix) :], "big") * keys.CHUNK_BITS
            for position, byte in enumerate(chunk):
                for bit in range(8):
                    if byte >> bit & 1:
                        yield base + position * 8 + bit

    def clear_missed(self, ctx: Context, cons_addr: bytes) -> None:
        """Delete the validator's whole bit array (at most ceil(window / 1024) chunks)."""
        store = self._store(ctx)
        chunk_keys = [key for key, _ in iterate_prefix(store, keys.missed_bitmap_prefix(cons_addr))]
        for key in chunk_keys:
            store.delete(key)

    def reset_windows(self, ctx: Context) -> None:
        """Restart every validator's window (counter, offset and bit array to zero)."""
        for cons_addr, info in list(self.iterate_signing_infos(ctx)):
            info.missed_blocks_counter = 0
            info.index_offset = 0
            self.set_signing_info(ctx, cons_addr, info)
            self.clear_missed(ctx, cons_addr)

    # -- liveness ---------------------------------------------------------------------------

    def handle_validator_signature(
        self, ctx: Context, params: SlashingParams, vote: VoteInfo
    ) -> None:
        """SDK ``HandleValidatorSignature``: record whether the validator signed the previous
        block in its window; past ``start_height + window``, more than the allowed misses
        slash it by ``slash_fraction_downtime`` and jail it. Votes of addresses without a
        staking validator or a signing info, and of jailed validators, are skipped."""
        validator = self.staking.get_validator_by_cons_addr(ctx, vote.address)
        if validator is None or validator.jailed:
            return
        info = self.get_signing_info(ctx, vote.address)
        if info is None:
            return
        window = params.signed_blocks_window
        index = info.index_offset % window
        info.index_offset += 1
        previous = self.get_missed(ctx, vote.address, index)
        missed = not vote.signed
        if missed != previous:
            self.set_missed(ctx, vote.address, index, missed)
            info.missed_blocks_counter += 1 if missed else -1
        height = ctx.header.height
        if missed:
            events.emit_liveness(
                ctx, valcons_address(vote.address), info.missed_blocks_counter, height
            )
        over = info.missed_blocks_counter > params.max_missed_blocks()
        due = height > info.start_height + window and over
        if due and run_branched(ctx, lambda sub: self._punish_downtime(sub, params, vote)):
            info.jailed_until.CopyFrom(_jail_end(ctx, params))
            info.missed_blocks_counter = 0
            info.index_offset = 0
            self.clear_missed(ctx, vote.address)
        self.set_signing_info(ctx, vote.address, info)

    def _punish_downtime(self, ctx: Context, params: SlashingParams, vote: VoteInfo) -> None:
        """Slash at the height whose stake signed the missed block, then jail."""
        distribution_height = ctx.header.height - VALIDATOR_UPDATE_DELAY - 1
        burned = self.staking.slash(
            ctx,
            vote.address,
            max(0, distribution_height),
            vote.power,
            params.slash_fraction_downtime,
        )
        events.emit_downtime_slash(ctx, valcons_address(vote.address), vote.power, burned)
        self.staking.jail(ctx, vote.address)

    # -- equivocation -----------------------------------------------------------------------

    def handle_misbehavior(self, ctx: Context, params: SlashingParams, item: Misbehavior) -> bool:
        """The SDK evidence module's ``handleEquivocationEvidence`` for one piece of CometBFT
        evidence (both kinds are equivocation). Ignored, returning False: an unknown kind,
        malformed values (power ≤ 0, a height not in ``1..height``), evidence older than the
        unbonding time, an unknown or unbonded validator, one without signing info, or one
        already tombstoned. Otherwise slash by ``slash_fraction_double_sign`` at the
        infraction, jail (if not jailed), jail until the double-sign end time, tombstone."""
        if item.kind not in (DUPLICATE_VOTE, LIGHT_CLIENT_ATTACK):
            return False
        if item.power <= 0 or not 0 < item.height <= ctx.header.height:
            return False
        unbonding_ns = self.staking.get_params(ctx).unbonding_time_ns
        if ctx.header.time_ns - item.time_ns > unbonding_ns:
            return False  # too old: the stake it bonded may be gone
        validator = self.staking.get_validator_by_cons_addr(ctx, item.address)
        if validator is None or validator.status is BondStatus.UNBONDED:
            return False
        info = self.get_signing_info(ctx, item.address)
        if info is None or info.tombstoned:
            return False
        return run_branched(ctx, lambda sub: self._punish_equivocation(sub, params, item))

    def _punish_equivocation(self, ctx: Context, params: SlashingParams, item: Misbehavior) -> None:
        valcons = valcons_address(item.address)
        distribution_height = item.height - VALIDATOR_UPDATE_DELAY
        burned = self.staking.slash(
            ctx,
            item.address,
            max(0, distribution_height),
            item.power,
            params.slash_fraction_double_sign,
        )
        events.emit_double_sign_slash(ctx, valcons, item.power, burned)
        validator = self.staking.get_validator_by_cons_addr(ctx, item.address)
        if validator is not None and not validator.jailed:
            self.staking.jail(ctx, item.address)
            events.emit_jailed(ctx, valcons)
        info = self.get_signing_info(ctx, item.address) or new_signing_info(item.address, 0)
        set_jailed_until(info, DOUBLE_SIGN_JAIL_END_NS)
        info.tombstoned = True
        self.set_signing_info(ctx, item.address, info)

    # -- unjail -----------------------------------------------------------------------------

    def unjail(self, ctx: Context, val_addr: bytes) -> None:
        """SDK ``Keeper.Unjail``: the validator exists, its self-delegation is worth at least
        its min self-delegation, it is jailed, not tombstoned and its jail time is over."""
        validator = self.staking.get_validator(ctx, val_addr)
        # Verify the validator exists
        if validator is None:
            raise ErrNoValidatorForAddress.wrap(f"no validator {val_addr.hex()}")
        # Verify it still has a self-delegation worth its minimum
        self_delegation = self.staking.get_delegation(ctx, val_addr, val_addr)
        if self_delegation is None:
            raise ErrMissingSelfDelegation.wrap("")
        tokens = validator.tokens_from_shares(self_delegation.shares).truncate_int()
        if tokens < validator.min_self_delegation:
            raise ErrSelfDelegationTooLowToUnjail.wrap(
                f"{tokens} less than {validator.min_self_delegation}"
            )
        # Verify it is jailed
        if not validator.jailed:
            raise ErrValidatorNotJailed.wrap("")
        info = self.get_signing_info(ctx, validator.cons_address)
        if info is not None:
            # Verify it is not tombstoned and its jail time is over
            if info.tombstoned:
                raise ErrValidatorJailed.wrap("validator is tombstoned")
            if ctx.header.time_ns < timestamp_ns(info):
                raise ErrValidatorJailed.wrap(f"jailed until {info.jailed_until.ToJsonString()}")
        self.staking.unjail(ctx, validator.cons_address)


class SlashingHooks(StakingHooks):
    """Keeps a signing info for every validator that bonds (SDK ``x/slashing`` hooks)."""

    def __init__(self, keeper: SlashingKeeper) -> None:
        self.keeper = keeper

    def after_validator_bonded(self, ctx: Context, cons_addr: bytes, val_addr: bytes) -> None:
        """Start (or restart) the validator's window at this height."""
        info = self.keeper.get_signing_info(ctx, cons_addr)
        if info is None:
            info = new_signing_info(cons_addr, ctx.header.height)
        else:
            info.start_height = ctx.header.height
        self.keeper.set_signing_info(ctx, cons_addr, info)

    def after_validator_removed(self, ctx: Context, cons_addr: bytes, val_addr: bytes) -> None:
        """Forget the signing info of a removed validator, unless it is tombstoned (the
        tombstone stays with the consensus key, so a validator created again with that key
        cannot be unjailed)."""
        if not self.keeper.is_tombstoned(ctx, cons_addr):
            self.keeper.delete_signing_info(ctx, cons_addr)


def _jail_end(ctx: Context, params: SlashingParams) -> Timestamp:
    info = SigningInfo()
    set_jailed_until(info, ctx.header.time_ns + params.downtime_jail_duration_ns)
    return info.jailed_until


def run_branched(ctx: Context, step: Callable[[Context], None]) -> bool:
    """Run ``step`` on a branch of ``ctx``'s state: written back with its events when it
    succeeds, dropped when it raises an AivmError (a block hook never raises)."""
    branch = CacheStore(ctx.store)
    sub = Context(store=branch, gas_meter=ctx.gas_meter, header=ctx.header, mode=ctx.mode)
    try:
        step(sub)
    except AivmError:
        branch.discard()
        return False
    branch.write()
    ctx.events.extend(sub.events)
    return True
