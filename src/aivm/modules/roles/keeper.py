"""RolesKeeper: role operators, their bonds, the per-role active sets, unbonding, role
slashing and jailing, performance, and the role rewards.

The keeper alone owns the ``roles/`` prefix (layout: :mod:`aivm.modules.roles.keys`). Other
modules reach it through the methods documented as the role API: :meth:`slash_role`,
:meth:`jail_role`, :meth:`record_performance`, :meth:`record_work`, :meth:`register_reason`
(from a builder), and the readers :meth:`get_operator`, :meth:`active_set`, :meth:`is_active`.

Bonds are in the bond denom (``ucgpt``), held by the ``roles`` module account together with
the unbonding entries and the unclaimed rewards.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from aivm.modules.addr import addr_bytes, addr_str
from aivm.modules.bank.keeper import BankKeeper
from aivm.modules.framework import Context
from aivm.modules.roles import events, keys, roles_pb2
from aivm.modules.roles.capability import capability_score, check_capability, selection_score
from aivm.modules.roles.errors import (
    ErrAlreadyRegistered,
    ErrBondTooLow,
    ErrInsufficientBond,
    ErrInvalidBond,
    ErrInvalidFraction,
    ErrInvalidRole,
    ErrInvalidWork,
    ErrJailPeriodActive,
    ErrMaxUnbondingEntries,
    ErrNotJailed,
    ErrOperatorNotFound,
    ErrUnknownReason,
)
from aivm.modules.roles.params import (
    DEFAULT_PARAMS,
    ROLE_NAMES,
    ROLES,
    RolesParams,
    params_from_proto,
)
from aivm.modules.roles.rewards import (
    DecAmounts,
    add_amounts,
    from_dec_coins,
    split,
    split_weights,
    to_dec_coins,
)
from aivm.store import KVStore, PrefixStore
from aivm.types.coin import BOND_DENOM, Coin, Coins
from aivm.types.dec import Dec
from aivm.types.errors import ErrInvalidRequest
from aivm.types.numbers import MAX_UINT256_DIGITS, parse_digits

FEE_COLLECTOR = "fee_collector"
MAX_EVIDENCE_HASH = 64
"""Longest evidence hash a slash record keeps (sha512 size)."""
BUILTIN_REASONS = (
    (1, "downtime"),
    (2, "wrong_result"),
    (3, "sla_violation"),
    (4, "invalid_attestation"),
    (5, "data_unavailable"),
)
"""Reason codes every chain has; other modules add theirs with :meth:`register_reason`."""
MAX_WORK_UNITS = 10**12
"""Most work units one :meth:`RolesKeeper.record_work` call may add."""
MAX_WORK_COUNTER = (1 << 64) - 1
"""Most work units an operator's counter may hold in one reward period (a uint64)."""


class UnbondingTimeSource(Protocol):
    """What the keeper needs from staking: its params (``unbonding_time_ns``)."""

    def get_params(self, ctx: Context) -> object:
        """Staking params with an ``unbonding_time_ns`` attribute."""
        ...


@dataclass(frozen=True)
class Reason:
    """A registered slash reason."""

    code: int
    name: str
    module: str


def to_int(text: str) -> int:
    """An integer amount kept as text in a record (empty: 0)."""
    return parse_digits(text or "0", MAX_UINT256_DIGITS + 2, ErrInvalidRequest, "amount")


def check_role(role: int) -> None:
    """ErrInvalidRole unless ``role`` is ai, compute or data."""
    if role not in ROLES:
        raise ErrInvalidRole.wrap(f"role {role} is not ai (1), compute (2) or data (3)")


class RolesKeeper:
    """Reads and writes the roles module's state."""

    def __init__(self, bank: BankKeeper, staking: UnbondingTimeSource | None = None) -> None:
        """``staking`` supplies the unbonding period when the app has a staking module."""
        self.bank = bank
        self.staking = staking
        self._reasons: dict[int, Reason] = {}
        for code, name in BUILTIN_REASONS:
            self.register_reason(code, name, "roles")

    @staticmethod
    def _store(ctx: Context) -> KVStore:
        return PrefixStore(ctx.store, keys.STORE_PREFIX)

    @property
    def module_address(self) -> bytes:
        """Address of the ``roles`` module account."""
        return self.bank.accounts.module_addresses[keys.MODULE_ACCOUNT]

    # -- reason codes (registered by builders: not state) ---------------------------------

    def register_reason(self, code: int, name: str, module: str) -> None:
        """Register a slash reason code (from a module's builder); a code is registered once."""
        if code <= 0 or code >= 1 << 32:
            raise ValueError(f"reason code {code} must be a positive uint32")
        if code in self._reasons:
            raise ValueError(f"reason code {code} already registered as {self._reasons[code]}")
        self._reasons[code] = Reason(code, name, module)

    def reasons(self) -> list[Reason]:
        """Every registered reason, by code."""
        return [self._reasons[code] for code in sorted(self._reasons)]

    # -- params ---------------------------------------------------------------------------

    def get_params(self, ctx: Context) -> RolesParams:
        """Current params (the defaults before genesis wrote any)."""
        raw = self._store(ctx).get(keys.PARAMS)
        if raw is None:
            return DEFAULT_PARAMS
        return params_from_proto(roles_pb2.Params.FromString(raw))

    def set_params(self, ctx: Context, params: RolesParams) -> None:
        """Replace the params; every role's active set is recomputed at EndBlock."""
        self._store(ctx).set(keys.PARAMS, params.to_proto().SerializeToString())
        for role in ROLES:
            self._mark_dirty(ctx, role)

    def unbonding_time_ns(self, ctx: Context) -> int:
        """Staking's ``unbonding_time`` when the app has staking, else the roles param."""
        if self.staking is not None:
            value = getattr(self.staking.get_params(ctx), "unbonding_time_ns", None)
            if isinstance(value, int) and value > 0:
                return value
        return self.get_params(ctx).unbonding_time_ns

    # -- operator records -----------------------------------------------------------------

    def get_operator(
        self, ctx: Context, operator: bytes, role: int
    ) -> roles_pb2.RoleOperator | None:
        """``operator``'s record in ``role``, or None."""
        raw = self._store(ctx).get(keys.operator_key(role, operator))
        return None if raw is None else decode_operator(raw)

    def require_operator(self, ctx: Context, operator: bytes, role: int) -> roles_pb2.RoleOperator:
        """The record, or ErrOperatorNotFound."""
        check_role(role)
        record = self.get_operator(ctx, operator, role)
        if record is None:
            raise ErrOperatorNotFound.wrap(
                f"{addr_str(operator)} is not registered for the {ROLE_NAMES[role]} role"
            )
        return record

    def iterate_operators(
        self, ctx: Context, role: int | None = None
    ) -> Iterator[roles_pb2.RoleOperator]:
        """Every record (of ``role`` when given), by role then address."""
        prefix = keys.OPERATOR if role is None else keys.OPERATOR + bytes([role])
        for _, raw in PrefixStore(self._store(ctx), prefix).iterate():
            yield decode_operator(raw)

    def operators_store(self, ctx: Context, role: int | None) -> KVStore:
        """The operator records (of ``role`` when given) as a store, for pagination."""
        prefix = keys.OPERATOR if role is None else keys.OPERATOR + bytes([role])
        return PrefixStore(self._store(ctx), prefix)

    def write_operator(self, ctx: Context, record: roles_pb2.RoleOperator) -> None:
        """Store ``record`` after refreshing its score, status and candidate entry."""
        store = self._store(ctx)
        address = addr_bytes(record.operator)
        bond = to_int(record.bond)
        old = to_int(record.selection_score)
        store.delete(keys.candidate_key(record.role, old, address))
        score = selection_score(
            bond, Dec.from_str(record.capability_score), Dec.from_str(record.performance)
        )
        record.selection_score = str(score)
        if record.jailed:
            record.status = roles_pb2.OPERATOR_STATUS_JAILED
        elif bond == 0:
            record.status = roles_pb2.OPERATOR_STATUS_UNBONDED
        elif record.status != roles_pb2.OPERATOR_STATUS_ACTIVE:
            record.status = roles_pb2.OPERATOR_STATUS_STANDBY
        if not record.jailed and bond > 0:
            store.set(keys.candidate_key(record.role, score, address), str(bond).encode())
        store.set(keys.operator_key(record.role, address), record.SerializeToString())
        self._mark_dirty(ctx, record.role)

    def _mark_dirty(self, ctx: Context, role: int) -> None:
        self._store(ctx).set(keys.dirty_key(role), b"\x01")

    # -- bonds ----------------------------------------------------------------------------

    def register(
        self, ctx: Context, operator: bytes, role: int, bond: int, msg: roles_pb2.MsgRegisterRole
    ) -> roles_pb2.RoleOperator:
        """Register ``operator`` in ``role`` with ``bond`` moved from its balance.

        A record whose bond is 0 (fully unbonded) may register again: it keeps its
        performance, jail and slash history.
        """
        check_role(role)
        existing = self.get_operator(ctx, operator, role)
        if existing is not None and to_int(existing.bond) > 0:
            raise ErrAlreadyRegistered.wrap(f"{addr_str(operator)} in the {ROLE_NAMES[role]} role")
        min_bond = self.get_params(ctx).min_bond[role]
        if bond < min_bond:
            raise ErrBondTooLow.wrap(f"bond {bond}{BOND_DENOM} is below {min_bond}{BOND_DENOM}")
        check_capability(role, msg.capability)
        self._take_bond(ctx, operator, bond)
        record = existing or roles_pb2.RoleOperator(
            operator=addr_str(operator),
            role=role,  # type: ignore[arg-type]
            performance=str(Dec.one()),
            registered_height=ctx.header.height,
        )
        record.bond = str(bond)
        record.capability.CopyFrom(msg.capability)
        record.capability_score = str(capability_score(msg.capability))
        record.moniker, record.description = msg.moniker, msg.description
        self.write_operator(ctx, record)
        return record

    def _take_bond(self, ctx: Context, operator: bytes, amount: int) -> None:
        coins = Coins([Coin(BOND_DENOM, amount)])
        self.bank.send_coins_to_module(ctx, operator, keys.MODULE_ACCOUNT, coins)

    def add_bond(
        self, ctx: Context, operator: bytes, role: int, amount: int
    ) -> roles_pb2.RoleOperator:
        """Top up ``operator``'s bond in ``role``."""
        record = self.require_operator(ctx, operator, role)
        if amount <= 0:
            raise ErrInvalidBond.wrap("the amount must be positive")
        self._take_bond(ctx, operator, amount)
        record.bond = str(to_int(record.bond) + amount)
        self.write_operator(ctx, record)
        return record

    def update_capability(
        self, ctx: Context, operator: bytes, role: int, capability: roles_pb2.Capability
    ) -> roles_pb2.RoleOperator:
        """Replace the declaration and its score."""
        record = self.require_operator(ctx, operator, role)
        check_capability(role, capability)
        record.capability.CopyFrom(capability)
        record.capability_score = str(capability_score(capability))
        self.write_operator(ctx, record)
        return record

    def unbond(
        self, ctx: Context, operator: bytes, role: int, amount: int | None
    ) -> roles_pb2.UnbondingEntry:
        """Move ``amount`` (None: the whole bond) from the bond to a new unbonding entry that
        completes ``unbonding_time`` after this block. What stays bonded must be 0 or at
        least the role minimum."""
        record = self.require_operator(ctx, operator, role)
        params = self.get_params(ctx)
        bond = to_int(record.bond)
        amount = bond if amount is None else amount
        if amount <= 0:
            raise ErrInvalidBond.wrap("nothing to unbond")
        if amount > bond:
            raise ErrInsufficientBond.wrap(f"unbond {amount}{BOND_DENOM} of a {bond} bond")
        remaining = bond - amount
        if 0 < remaining < params.min_bond[role]:
            raise ErrBondTooLow.wrap(
                f"{remaining}{BOND_DENOM} would stay bonded, below the minimum "
                f"{params.min_bond[role]}; unbond all or less"
            )
        if len(self.unbonding_entries(ctx, operator, role)) >= params.max_unbonding_entries:
            raise ErrMaxUnbondingEntries.wrap(f"at most {params.max_unbonding_entries} entries")
        entry = roles_pb2.UnbondingEntry(
            id=self._next_id(ctx, keys.NEXT_UNBONDING_ID),
            operator=record.operator,
            role=record.role,
            creation_height=ctx.header.height,
            completion_time_ns=ctx.header.time_ns + self.unbonding_time_ns(ctx),
            initial_balance=str(amount),
            balance=str(amount),
        )
        self.set_unbonding_entry(ctx, entry)
        record.bond = str(remaining)
        self.write_operator(ctx, record)
        return entry

    def unjail(self, ctx: Context, operator: bytes, role: int) -> roles_pb2.RoleOperator:
        """Lift a role jail whose time has passed."""
        record = self.require_operator(ctx, operator, role)
        if not record.jailed:
            raise ErrNotJailed.wrap(f"{record.operator} in the {ROLE_NAMES[role]} role")
        if ctx.header.time_ns < record.jailed_until_ns:
            raise ErrJailPeriodActive.wrap(f"jailed until {record.jailed_until_ns} ns")
        record.jailed = False
        record.jailed_until_ns = 0
        self.write_operator(ctx, record)
        ctx.emit(events.UNJAIL, ("operator", record.operator), ("role", ROLE_NAMES[role]))
        return record

    def _next_id(self, ctx: Context, key: bytes) -> int:
        store = self._store(ctx)
        raw = store.get(key)
        value = 1 if raw is None else int.from_bytes(raw, "big")
        store.set(key, keys.u64(value + 1))
        return value

    def set_next_id(self, ctx: Context, key: bytes, value: int) -> None:
        """Set a counter (genesis import)."""
        self._store(ctx).set(key, keys.u64(value))

    # -- unbonding entries ----------------------------------------------------------------

    def set_unbonding_entry(self, ctx: Context, entry: roles_pb2.UnbondingEntry) -> None:
        """Write an entry into the queue and the operator's index."""
        store = self._store(ctx)
        store.set(
            keys.unbonding_queue_key(entry.completion_time_ns, entry.id), entry.SerializeToString()
        )
        index = keys.unbonding_index_prefix(addr_bytes(entry.operator), entry.role)
        store.set(index + keys.u64(entry.id), keys.u64(entry.completion_time_ns))

    def unbonding_entries(
        self, ctx: Context, operator: bytes, role: int
    ) -> list[roles_pb2.UnbondingEntry]:
        """``operator``'s pending entries in ``role``, by id."""
        store = self._store(ctx)
        index = PrefixStore(store, keys.unbonding_index_prefix(operator, role))
        found = []
        for key, completion in list(index.iterate()):
            queue_key = keys.unbonding_queue_key(
                int.from_bytes(completion, "big"), int.from_bytes(key, "big")
            )
            raw = store.get(queue_key)
            if raw is not None:
                found.append(roles_pb2.UnbondingEntry.FromString(raw))
        return found

    def iterate_unbonding(self, ctx: Context) -> Iterator[roles_pb2.UnbondingEntry]:
        """Every pending entry, by completion time then id."""
        for _, raw in PrefixStore(self._store(ctx), keys.UNBONDING_QUEUE).iterate():
            yield roles_pb2.UnbondingEntry.FromString(raw)

    def complete_unbonding(self, ctx: Context) -> list[roles_pb2.UnbondingEntry]:
        """Pay back every entry whose completion time is at or before this block's time."""
        store = self._store(ctx)
        queue = PrefixStore(store, keys.UNBONDING_QUEUE)
        due = list(queue.iterate(None, keys.u64(ctx.header.time_ns + 1)))
        done = []
        for key, raw in due:
            entry = roles_pb2.UnbondingEntry.FromString(raw)
            operator = addr_bytes(entry.operator)
            amount = to_int(entry.balance)
            if amount > 0:
                coins = Coins([Coin(BOND_DENOM, amount)])
                self.bank.send_coins(ctx, self.module_address, operator, coins)
            queue.delete(key)
            index = keys.unbonding_index_prefix(operator, entry.role)
            store.delete(index + keys.u64(entry.id))
            ctx.emit(
                events.UNBOND_COMPLETE,
                ("operator", entry.operator),
                ("role", ROLE_NAMES[entry.role]),
                ("amount", f"{amount}{BOND_DENOM}"),
            )
            done.append(entry)
        return done

    # -- active sets ----------------------------------------------------------------------

    def active_set(self, ctx: Context, role: int) -> list[roles_pb2.ActiveMember]:
        """The role's active set, by address."""
        prefix = keys.ACTIVE + bytes([role])
        return [
            roles_pb2.ActiveMember.FromString(raw)
            for _, raw in PrefixStore(self._store(ctx), prefix).iterate()
        ]

    def is_active(self, ctx: Context, operator: bytes, role: int) -> bool:
        """True when ``operator`` is in ``role``'s active set."""
        return self._store(ctx).has(keys.active_key(role, operator))

    def update_active_sets(self, ctx: Context) -> None:
        """Recompute the active set of every role whose candidates changed (EndBlock).

        A role's set is the first ``max_active`` candidates, highest selection score first
        (ties by address), whose bond is at least ``min_bond``. Leaving operators get an
        event first (by address), then the entering ones (by score).
        """
        params = self.get_params(ctx)
        store = self._store(ctx)
        for role in ROLES:
            if store.get(keys.dirty_key(role)) is None:
                continue
            store.delete(keys.dirty_key(role))
            self._update_active_set(ctx, role, params)

    def _select(self, ctx: Context, role: int, params: RolesParams) -> list[tuple[bytes, int, int]]:
        """(address, score, bond) of the role's selected candidates, best first."""
        candidates = PrefixStore(self._store(ctx), keys.CANDIDATE + bytes([role]))
        min_bond, max_active = params.min_bond[role], params.max_active[role]
        chosen: list[tuple[bytes, int, int]] = []
        for key, value in candidates.iterate():
            bond = to_int(value.decode())
            if bond < min_bond:
                continue
            score = keys.MAX_SCORE - int.from_bytes(key[: keys.SCORE_BYTES], "big")
            chosen.append((keys.address_of_candidate(key), score, bond))
            if len(chosen) == max_active:
                break
        return chosen

    def _update_active_set(self, ctx: Context, role: int, params: RolesParams) -> None:
        store = self._store(ctx)
        chosen = self._select(ctx, role, params)
        new = {address for address, _, _ in chosen}
        current = [addr_bytes(m.operator) for m in self.active_set(ctx, role)]
        for address in current:
            if address not in new:
                store.delete(keys.active_key(role, address))
                self._set_status_after_leaving(ctx, address, role)
                ctx.emit(
                    events.ACTIVE_LEAVE, ("operator", addr_str(address)), ("role", ROLE_NAMES[role])
                )
        was = set(current)
        for address, score, bond in chosen:
            member = roles_pb2.ActiveMember(
                operator=addr_str(address), selection_score=str(score), bond=str(bond)
            )
            store.set(keys.active_key(role, address), member.SerializeToString())
            record = self.get_operator(ctx, address, role)
            if record is not None and record.status != roles_pb2.OPERATOR_STATUS_ACTIVE:
                # a member that unbonded everything and registered again in one block is
                # still in the set but was written back as STANDBY
                record.status = roles_pb2.OPERATOR_STATUS_ACTIVE
                store.set(keys.operator_key(role, address), record.SerializeToString())
            if address in was:
                continue
            ctx.emit(
                events.ACTIVE_ENTER,
                ("operator", addr_str(address)),
                ("role", ROLE_NAMES[role]),
                ("selection_score", str(score)),
            )

    def _set_status_after_leaving(self, ctx: Context, address: bytes, role: int) -> None:
        record = self.get_operator(ctx, address, role)
        if record is not None and record.status == roles_pb2.OPERATOR_STATUS_ACTIVE:
            record.status = roles_pb2.OPERATOR_STATUS_STANDBY
            self._store(ctx).set(keys.operator_key(role, address), record.SerializeToString())

    # -- performance ----------------------------------------------------------------------

    def record_performance(self, ctx: Context, operator: bytes, role: int, outcome_ok: bool) -> Dec:
        """Move the operator's performance multiplier toward ``performance_max`` (a good
        outcome) or ``performance_min`` (a bad one) by the EMA weight; return the new value.

        ``p ← p + weight × (target − p)``, rounded half to even at 18 decimals and kept in
        ``[performance_min, performance_max]``. The active set follows at EndBlock.
        """
        record = self.require_operator(ctx, operator, role)
        params = self.get_params(ctx)
        current = Dec.from_str(record.performance)
        target = params.performance_max if outcome_ok else params.performance_min
        updated = current + (target - current) * params.performance_weight
        updated = max(params.performance_min, min(params.performance_max, updated))
        record.performance = str(updated)
        self.write_operator(ctx, record)
        return updated

    # -- recorded work --------------------------------------------------------------------

    def record_work(self, ctx: Context, operator: bytes, role: int, units: int) -> int:
        """Add ``units`` of work to ``operator``'s counter in ``role`` for the current reward
        period; return the counter. Called by the modules that observe the work (compute
        marketplace, verification: planned); no message records work.

        The counter is paid and reset by the role's next reward split (BeginBlock). Work of
        an operator that is not in the active set at that split earns nothing there.
        Errors: ErrInvalidWork (``units`` not an integer in [1, ``MAX_WORK_UNITS``], or the
        counter would pass ``MAX_WORK_COUNTER``), ErrInvalidRole, ErrOperatorNotFound.
        """
        if isinstance(units, bool) or not isinstance(units, int):
            raise ErrInvalidWork.wrap(f"units must be an integer, not {type(units).__name__}")
        if not 0 < units <= MAX_WORK_UNITS:
            raise ErrInvalidWork.wrap(f"units {units} not in [1, {MAX_WORK_UNITS}]")
        record = self.require_operator(ctx, operator, role)
        total = self.get_work(ctx, operator, role) + units
        if total > MAX_WORK_COUNTER:
            raise ErrInvalidWork.wrap(f"the period's counter would pass {MAX_WORK_COUNTER}")
        self.set_work(ctx, operator, role, total)
        ctx.emit(
            events.WORK,
            ("operator", record.operator),
            ("role", ROLE_NAMES[role]),
            ("units", str(units)),
            ("period_units", str(total)),
        )
        return total

    def get_work(self, ctx: Context, operator: bytes, role: int) -> int:
        """Work units ``operator`` recorded in ``role`` this period (0 when none)."""
        raw = self._store(ctx).get(keys.work_key(role, operator))
        return 0 if raw is None else int.from_bytes(raw, "big")

    def set_work(self, ctx: Context, operator: bytes, role: int, units: int) -> None:
        """Write a work counter (0: deleted); genesis import and :meth:`record_work`."""
        key = keys.work_key(role, operator)
        if units == 0:
            self._store(ctx).delete(key)
        else:
            self._store(ctx).set(key, keys.u64(units))

    def work_store(self, ctx: Context, role: int | None) -> KVStore:
        """The work counters (of ``role`` when given) as a store, for pagination."""
        prefix = keys.WORK if role is None else keys.work_prefix(role)
        return PrefixStore(self._store(ctx), prefix)

    def iterate_work(
        self, ctx: Context, role: int | None = None
    ) -> Iterator[roles_pb2.WorkCounter]:
        """Every work counter (of ``role`` when given), by role then operator key."""
        for key, raw in self.work_store(ctx, role).iterate():
            yield decode_work(key if role is None else bytes([role]) + key, raw)

    def _take_work(self, ctx: Context, role: int) -> dict[bytes, int]:
        """The role's counters by operator address, deleted (the period ends)."""
        store = self.work_store(ctx, role)
        found = list(store.iterate())
        for key, _ in found:
            store.delete(key)
        return {keys.address_of_work(key): int.from_bytes(raw, "big") for key, raw in found}

    # -- slashing and jailing -------------------------------------------------------------

    def slash_role(
        self,
        ctx: Context,
        operator: bytes,
        role: int,
        fraction: Dec,
        reason_code: int,
        evidence_hash: bytes,
    ) -> int:
        """Burn ``fraction`` of ``operator``'s bond in ``role`` and of each of its pending
        unbonding entries in that role (each amount truncated to an integer); record the
        slash and return the amount burned.

        Errors: ErrUnknownReason (unregistered code), ErrInvalidFraction (not in (0, 1]),
        ErrOperatorNotFound, ErrInvalidRequest (evidence hash over 64 bytes).
        """
        reason = self._reasons.get(reason_code)
        if reason is None:
            raise ErrUnknownReason.wrap(f"reason code {reason_code} is not registered")
        if not (fraction.is_positive() and fraction <= Dec.one()):
            raise ErrInvalidFraction.wrap(f"fraction {fraction} is not in (0, 1]")
        if len(evidence_hash) > MAX_EVIDENCE_HASH:
            raise ErrInvalidRequest.wrap(f"evidence hash over {MAX_EVIDENCE_HASH} bytes")
        record = self.require_operator(ctx, operator, role)
        bond = to_int(record.bond)
        from_bond = fraction.mul_int(bond).truncate_int()
        burned = from_bond + self._slash_entries(ctx, operator, role, fraction)
        record.bond = str(bond - from_bond)
        self.write_operator(ctx, record)
        if burned > 0:
            self.bank.burn_coins(ctx, keys.MODULE_ACCOUNT, Coins([Coin(BOND_DENOM, burned)]))
        slash = roles_pb2.SlashRecord(
            id=self._next_id(ctx, keys.NEXT_SLASH_ID),
            operator=record.operator,
            role=record.role,
            height=ctx.header.height,
            time_ns=ctx.header.time_ns,
            fraction=str(fraction),
            reason_code=reason_code,
            reason=reason.name,
            evidence_hash=evidence_hash,
            burned=str(burned),
        )
        self.add_slash_record(ctx, slash, self.get_params(ctx).max_slash_records)
        ctx.emit(
            events.SLASH,
            ("operator", record.operator),
            ("role", ROLE_NAMES[role]),
            ("fraction", str(fraction)),
            ("reason_code", str(reason_code)),
            ("reason", reason.name),
            ("evidence_hash", evidence_hash.hex()),
            ("burned", f"{burned}{BOND_DENOM}"),
        )
        return burned

    def _slash_entries(self, ctx: Context, operator: bytes, role: int, fraction: Dec) -> int:
        """Cut each pending entry of ``operator`` in ``role`` by ``fraction``; the total cut."""
        total = 0
        for entry in self.unbonding_entries(ctx, operator, role):
            balance = to_int(entry.balance)
            cut = fraction.mul_int(balance).truncate_int()
            if cut:
                entry.balance = str(balance - cut)
                self.set_unbonding_entry(ctx, entry)
                total += cut
        return total

    def add_slash_record(self, ctx: Context, record: roles_pb2.SlashRecord, keep: int) -> None:
        """Store a slash record; beyond ``keep`` records of the operator in the role, the
        oldest are dropped."""
        prefix = keys.slash_prefix(addr_bytes(record.operator), record.role)
        store = self._store(ctx)
        store.set(prefix + keys.u64(record.id), record.SerializeToString())
        existing = [key for key, _ in PrefixStore(store, prefix).iterate()]
        for key in existing[: max(0, len(existing) - keep)]:
            store.delete(prefix + key)

    def slash_store(self, ctx: Context, operator: bytes | None, role: int | None) -> KVStore:
        """The slash records (of an operator, in a role) as a store, for pagination."""
        if operator is None:
            return PrefixStore(self._store(ctx), keys.SLASH)
        return PrefixStore(self._store(ctx), keys.slash_prefix(operator, role))

    def iterate_slash_records(self, ctx: Context) -> Iterator[roles_pb2.SlashRecord]:
        """Every slash record, by operator, role and id."""
        for _, raw in self.slash_store(ctx, None, None).iterate():
            yield roles_pb2.SlashRecord.FromString(raw)

    def jail_role(self, ctx: Context, operator: bytes, role: int, duration_ns: int) -> None:
        """Jail ``operator`` from ``role`` until ``duration_ns`` after this block (a longer
        jail already in place stays); it leaves the active set at EndBlock."""
        if duration_ns < 0:
            raise ErrInvalidRequest.wrap("jail duration must not be negative")
        record = self.require_operator(ctx, operator, role)
        record.jailed = True
        record.jailed_until_ns = max(record.jailed_until_ns, ctx.header.time_ns + duration_ns)
        self.write_operator(ctx, record)
        ctx.emit(
            events.JAIL,
            ("operator", record.operator),
            ("role", ROLE_NAMES[role]),
            ("jailed_until_ns", str(record.jailed_until_ns)),
        )

    # -- rewards --------------------------------------------------------------------------

    def get_rewards(self, ctx: Context, operator: bytes, role: int) -> DecAmounts:
        """Claimable rewards of ``operator`` in ``role``."""
        raw = self._store(ctx).get(keys.rewards_key(operator, role))
        if raw is None:
            return {}
        return from_dec_coins(roles_pb2.OperatorRewards.FromString(raw).rewards)

    def set_rewards(self, ctx: Context, operator: bytes, role: int, amounts: DecAmounts) -> None:
        """Write claimable rewards (nothing left: the entry is deleted)."""
        key = keys.rewards_key(operator, role)
        coins = to_dec_coins(amounts)
        if not coins:
            self._store(ctx).delete(key)
            return
        record = roles_pb2.OperatorRewards(
            operator=addr_str(operator),
            role=role,  # type: ignore[arg-type]
            rewards=coins,
        )
        self._store(ctx).set(key, record.SerializeToString())

    def iterate_rewards(
        self, ctx: Context, operator: bytes | None = None
    ) -> Iterator[roles_pb2.OperatorRewards]:
        """Every rewards entry (of ``operator`` when given), by operator then role."""
        prefix = keys.REWARDS if operator is None else keys.REWARDS + keys.op_key(operator)
        for _, raw in PrefixStore(self._store(ctx), prefix).iterate():
            yield roles_pb2.OperatorRewards.FromString(raw)

    def get_remainder(self, ctx: Context, role: int) -> DecAmounts:
        """The role's split dust."""
        raw = self._store(ctx).get(keys.remainder_key(role))
        if raw is None:
            return {}
        return from_dec_coins(roles_pb2.RoleRemainder.FromString(raw).remainder)

    def set_remainder(self, ctx: Context, role: int, amounts: DecAmounts) -> None:
        """Write the role's split dust (none: deleted)."""
        coins = to_dec_coins(amounts)
        if not coins:
            self._store(ctx).delete(keys.remainder_key(role))
            return
        record = roles_pb2.RoleRemainder(role=role, remainder=coins)  # type: ignore[arg-type]
        self._store(ctx).set(keys.remainder_key(role), record.SerializeToString())

    def iterate_remainders(self, ctx: Context) -> Iterator[roles_pb2.RoleRemainder]:
        """Every role's remainder entry, by role."""
        for _, raw in PrefixStore(self._store(ctx), keys.REMAINDER).iterate():
            yield roles_pb2.RoleRemainder.FromString(raw)

    def allocate_rewards(self, ctx: Context) -> Coins:
        """Move each role's share of the fee collector's balance to the ``roles`` account and
        split it among the role's active operators by selection score and recorded work
        (BeginBlock); every role's work counters are reset, paid or not.

        A role's take is ``truncate(balance × reward_share)`` per denom of the balance at the
        start of the block; a role without active operators takes nothing (its share stays
        for distribution). Member ``i`` gets ``pool × weight_i / Σ weights`` truncated at 18
        decimals (:func:`~aivm.modules.roles.rewards.split_weights`: a ``work_weight`` part
        by units × performance, the rest by selection score; all by score when no member
        recorded work), and what truncation leaves joins the role's remainder, which the
        next split adds to its pool. Returns the total taken.
        """
        collector = self.bank.accounts.module_addresses[FEE_COLLECTOR]
        balance = self.bank.get_all_balances(ctx, collector)
        params = self.get_params(ctx)
        taken = Coins()
        for role in ROLES:
            work = self._take_work(ctx, role)
            take = role_take(balance, params.reward_share[role])
            members = self.active_set(ctx, role) if not take.is_zero() else []
            if not members:
                continue
            units = self._split(ctx, role, members, take, work, params.work_weight)
            taken = taken + take
            ctx.emit(
                events.REWARDS,
                ("role", ROLE_NAMES[role]),
                ("amount", str(take)),
                ("work_units", str(units)),
            )
        if not taken.is_zero():
            self.bank.accounts.ensure_module_account(ctx, keys.MODULE_ACCOUNT)
            self.bank.send_coins(ctx, collector, self.module_address, taken)
        return taken

    def _split(
        self,
        ctx: Context,
        role: int,
        members: list[roles_pb2.ActiveMember],
        take: Coins,
        work: dict[bytes, int],
        work_weight: Dec,
    ) -> int:
        """Credit the members' parts of take + remainder; the work units they had."""
        pool = add_amounts(self.get_remainder(ctx, role), {c.denom: Dec(c.amount) for c in take})
        addresses = [addr_bytes(m.operator) for m in members]
        units = [work.get(address, 0) for address in addresses]
        performed = [
            self._performed(ctx, address, role, n)
            for address, n in zip(addresses, units, strict=True)
        ]
        scores = [to_int(m.selection_score) for m in members]
        parts, remainder = split(pool, split_weights(scores, performed, work_weight))
        for address, part in zip(addresses, parts, strict=True):
            if part:
                self.set_rewards(
                    ctx, address, role, add_amounts(self.get_rewards(ctx, address, role), part)
                )
        self.set_remainder(ctx, role, remainder)
        return sum(units)

    def _performed(self, ctx: Context, address: bytes, role: int, units: int) -> int:
        """``units × performance`` as an integer (performance's 18-decimal integer)."""
        if units == 0:
            return 0
        record = self.get_operator(ctx, address, role)
        return 0 if record is None else units * Dec.from_str(record.performance).bigint()

    def withdraw_rewards(self, ctx: Context, operator: bytes, role: int | None) -> Coins:
        """Pay the whole part of ``operator``'s rewards (in ``role``, or every role); the
        decimal change stays claimable. Returns what was paid."""
        roles = ROLES if role is None else (role,)
        paid = Coins()
        for each in roles:
            rewards = self.get_rewards(ctx, operator, each)
            whole = Coins.from_iter(
                Coin(denom, amount.truncate_int())
                for denom, amount in sorted(rewards.items())
                if amount.truncate_int() > 0
            )
            if whole.is_zero():
                continue
            change = {d: a - Dec(whole.amount_of(d)) for d, a in rewards.items()}
            self.set_rewards(ctx, operator, each, change)
            paid = paid + whole
        if not paid.is_zero():
            self.bank.send_coins(ctx, self.module_address, operator, paid)
        return paid


def role_take(balance: Coins, share: Dec) -> Coins:
    """``truncate(amount × share)`` of each denom of ``balance``, zero amounts left out."""
    take = (Coin(c.denom, share.mul_int(c.amount).truncate_int()) for c in balance)
    return Coins.from_iter(c for c in take if c.amount > 0)


def decode_work(key: bytes, raw: bytes) -> roles_pb2.WorkCounter:
    """A WorkCounter from its key relative to ``WORK`` (``role | op``) and stored units."""
    return roles_pb2.WorkCounter(
        operator=addr_str(key[2:]),
        role=key[0],  # type: ignore[arg-type]
        units=int.from_bytes(raw, "big"),
    )


def decode_operator(raw: bytes) -> roles_pb2.RoleOperator:
    """A RoleOperator record."""
    record: roles_pb2.RoleOperator = roles_pb2.RoleOperator.FromString(raw)
    return record
