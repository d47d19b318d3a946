"""ComputeKeeper: the provider registry — providers, their collateral, the offer index, the
exit queue, slash records, and the keeper API the matching slice will use.

The keeper alone owns the ``compute/`` prefix (layout: :mod:`aivm.modules.compute.keys`).
Other modules reach it through the methods documented as the provider API:
:meth:`asks` (an ask book in price order), :meth:`is_available`, :meth:`slash_provider`,
:meth:`jail_provider` and :meth:`register_reason` (from a builder). Collateral is in the bond
denom (``ucgpt``), held by the ``compute`` module account.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from aivm.modules.addr import addr_bytes, addr_str
from aivm.modules.ai.keeper import AiKeeper
from aivm.modules.bank.keeper import BankKeeper
from aivm.modules.compute import compute_pb2, events, keys
from aivm.modules.compute.errors import (
    ErrAlreadyRegistered,
    ErrCollateralTooLow,
    ErrInvalidCapacity,
    ErrInvalidCollateral,
    ErrInvalidEvidence,
    ErrInvalidFraction,
    ErrInvalidOffer,
    ErrInvalidStatus,
    ErrJailPeriodActive,
    ErrNotJailed,
    ErrNotOffchain,
    ErrProviderNotFound,
    ErrUnknownModelVersion,
    ErrUnknownReason,
)
from aivm.modules.compute.hooks import VerificationHooks
from aivm.modules.compute.params import (
    DEFAULT_PARAMS,
    FALLBACK_UNBONDING_TIME_NS,
    ComputeParams,
    params_from_proto,
)
from aivm.modules.compute.validation import offer_price
from aivm.modules.framework import Context
from aivm.store import KVStore, PrefixStore
from aivm.types.coin import BOND_DENOM, Coin, Coins
from aivm.types.dec import Dec
from aivm.types.errors import AivmError, ErrInvalidRequest
from aivm.types.numbers import MAX_UINT256_DIGITS, parse_digits
from aivm.types.protogen import ai_pb2

if TYPE_CHECKING:
    from aivm.modules.compute.jobs import JobKeeper

OFFCHAIN = "offchain"
OFFER_GAS = 2_000
"""Gas per offer a register or update message indexes (on top of the store's own charges)."""
MAX_EVIDENCE_HASH = 64
"""Longest evidence hash a slash record keeps (sha512 size)."""
BUILTIN_REASONS = (
    (1, "downtime"),
    (2, "wrong_result"),
    (3, "sla_violation"),
    (4, "false_hardware_claim"),
)
"""Reason codes every chain has; other modules add theirs with :meth:`register_reason`."""

Status = compute_pb2.ProviderStatus
ACTIVE = compute_pb2.PROVIDER_STATUS_ACTIVE
PAUSED = compute_pb2.PROVIDER_STATUS_PAUSED
EXITING = compute_pb2.PROVIDER_STATUS_EXITING
JAILED = compute_pb2.PROVIDER_STATUS_JAILED
STATUS_NAMES = {ACTIVE: "active", PAUSED: "paused", EXITING: "exiting", JAILED: "jailed"}


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


@dataclass(frozen=True)
class Declaration:
    """What a register or update message declares (checked statelessly already)."""

    hardware: compute_pb2.Hardware
    runtimes: Sequence[str]
    offers: Sequence[compute_pb2.Offer]
    capacity: int
    moniker: str
    description: str


def to_int(text: str) -> int:
    """An integer amount kept as text in a record (empty: 0)."""
    return parse_digits(text or "0", MAX_UINT256_DIGITS + 2, ErrInvalidRequest, "amount")


def decode_provider(raw: bytes) -> compute_pb2.Provider:
    """A Provider record."""
    record: compute_pb2.Provider = compute_pb2.Provider.FromString(raw)
    return record


class ComputeKeeper:
    """Reads and writes the compute module's state."""

    def __init__(
        self, bank: BankKeeper, ai: AiKeeper, staking: UnbondingTimeSource | None = None
    ) -> None:
        """``staking`` supplies the unbonding period when the app has a staking module."""
        self.bank = bank
        self.ai = ai
        self.staking = staking
        self.hooks: VerificationHooks | None = None
        """The verification module, when the app has one (it registers itself)."""
        self.jobs: JobKeeper | None = None
        """The job keeper (set by the compute module; other modules reach jobs through it)."""
        self._reasons: dict[int, Reason] = {}
        for code, name in BUILTIN_REASONS:
            self.register_reason(code, name, "compute")

    @staticmethod
    def _store(ctx: Context) -> KVStore:
        return PrefixStore(ctx.store, keys.STORE_PREFIX)

    @property
    def module_address(self) -> bytes:
        """Address of the ``compute`` module account."""
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

    def get_params(self, ctx: Context) -> ComputeParams:
        """Current params (the defaults before genesis wrote any)."""
        raw = self._store(ctx).get(keys.PARAMS)
        if raw is None:
            return DEFAULT_PARAMS
        return params_from_proto(compute_pb2.Params.FromString(raw))

    def set_params(self, ctx: Context, params: ComputeParams) -> None:
        """Replace the params (existing providers keep their offers and capacity)."""
        self._store(ctx).set(keys.PARAMS, params.to_proto().SerializeToString())

    def unbonding_time_ns(self, ctx: Context) -> int:
        """Staking's ``unbonding_time`` when the app has staking, else 21 days."""
        if self.staking is not None:
            value = getattr(self.staking.get_params(ctx), "unbonding_time_ns", None)
            if isinstance(value, int) and value > 0:
                return value
        return FALLBACK_UNBONDING_TIME_NS

    # -- provider records -----------------------------------------------------------------

    def get_provider(self, ctx: Context, operator: bytes) -> compute_pb2.Provider | None:
        """``operator``'s record, or None."""
        raw = self._store(ctx).get(keys.provider_key(operator))
        return None if raw is None else decode_provider(raw)

    def require_provider(self, ctx: Context, operator: bytes) -> compute_pb2.Provider:
        """The record, or ErrProviderNotFound."""
        record = self.get_provider(ctx, operator)
        if record is None:
            raise ErrProviderNotFound.wrap(f"{addr_str(operator)} is not a provider")
        return record

    def providers_store(self, ctx: Context) -> KVStore:
        """The provider records as a store (keys ``op``), for pagination."""
        return PrefixStore(self._store(ctx), keys.PROVIDER)

    def iterate_providers(self, ctx: Context) -> Iterator[compute_pb2.Provider]:
        """Every provider, by operator key."""
        for _, raw in self.providers_store(ctx).iterate():
            yield decode_provider(raw)

    def set_provider(self, ctx: Context, record: compute_pb2.Provider) -> None:
        """Write a record as it is (the offer index is the caller's business)."""
        store = self._store(ctx)
        store.set(keys.provider_key(addr_bytes(record.operator)), record.SerializeToString())

    # -- the offer index ------------------------------------------------------------------

    def _offer_keys(self, record: compute_pb2.Provider) -> list[bytes]:
        address = addr_bytes(record.operator)
        return [
            keys.offer_key(
                o.model_id, o.version, keys.effective_tier(record), offer_price(o), address
            )
            for o in record.offers
        ]

    def index_offers(self, ctx: Context, record: compute_pb2.Provider) -> None:
        """Put ``record``'s offers in the index (an ACTIVE provider's)."""
        store = self._store(ctx)
        for key in self._offer_keys(record):
            store.set(key, keys.MARKER)

    def unindex_offers(self, ctx: Context, record: compute_pb2.Provider) -> None:
        """Take ``record``'s offers out of the index."""
        store = self._store(ctx)
        for key in self._offer_keys(record):
            store.delete(key)

    def offer_index(self, ctx: Context) -> KVStore:
        """The whole offer index (keys relative to ``OFFER``), for invariants and queries."""
        return PrefixStore(self._store(ctx), keys.OFFER)

    def asks(
        self, ctx: Context, model_id: int, version: str, tier: int, max_price: int | None = None
    ) -> Iterator[tuple[int, bytes]]:
        """(price per unit, operator address) of the ACTIVE providers offering ``model_id``
        ``version`` in ``tier`` at or below ``max_price`` (None: any), cheapest first, ties by
        operator key. Reads only those index entries (whether each provider is available now
        is :meth:`is_available`)."""
        store = PrefixStore(self._store(ctx), keys.asks_prefix(model_id, version, tier))
        end = None
        if max_price is not None and max_price < keys.MAX_PRICE:
            end = keys.price_bytes(max(max_price + 1, 0))
        for key, _ in store.iterate(None, end):
            yield keys.split_ask(key)

    def is_available(self, ctx: Context, operator: bytes) -> bool:
        """ACTIVE, seen within ``heartbeat_timeout_blocks`` of this block, and holding at
        least ``min_collateral``."""
        record = self.get_provider(ctx, operator)
        return record is not None and self.record_available(ctx, record)

    def record_available(
        self, ctx: Context, record: compute_pb2.Provider, params: ComputeParams | None = None
    ) -> bool:
        """:meth:`is_available` of a record already read (``params``: the current params,
        when the caller has them)."""
        params = params or self.get_params(ctx)
        return (
            record.status == ACTIVE
            and ctx.header.height - record.last_seen_height <= params.heartbeat_timeout_blocks
            and to_int(record.collateral) >= params.min_collateral
        )

    # -- declarations ---------------------------------------------------------------------

    def check_declaration(self, ctx: Context, declaration: Declaration) -> None:
        """The stateful checks: offer count and capacity against the params; every offered
        version exists in ``ai``, runs off-chain and is not revoked. Charges gas per offer."""
        params = self.get_params(ctx)
        if len(declaration.offers) > params.max_offers:
            raise ErrInvalidOffer.wrap(f"at most {params.max_offers} offers")
        if declaration.capacity > params.max_capacity:
            raise ErrInvalidCapacity.wrap(f"capacity at most {params.max_capacity}")
        ctx.gas_meter.consume(OFFER_GAS * len(declaration.offers), "compute: offers")
        for offer in declaration.offers:
            self.check_version(ctx, offer.model_id, offer.version)

    def check_version(self, ctx: Context, model_id: int, version: str) -> None:
        """ErrUnknownModelVersion / ErrNotOffchain / ErrInvalidOffer unless ``ai`` has the
        version, it runs off-chain and it is not revoked."""
        try:
            found = self.ai.get_version(ctx, model_id, version)
        except AivmError as exc:
            if exc.codespace != "ai":  # out of gas and the like pass through unchanged
                raise
            raise ErrUnknownModelVersion.wrap(f"model {model_id} version {version!r}") from None
        if found.execution_path != OFFCHAIN:
            raise ErrNotOffchain.wrap(
                f"model {model_id} version {version} runs {found.execution_path}; "
                "only off-chain versions are offered"
            )
        if found.status == ai_pb2.MODEL_STATUS_REVOKED:
            raise ErrInvalidOffer.wrap(f"model {model_id} version {version} is revoked")

    @staticmethod
    def _apply(record: compute_pb2.Provider, declaration: Declaration) -> None:
        if record.hardware != declaration.hardware:
            record.hardware_attested = False  # a new declaration needs a new check
        record.hardware.CopyFrom(declaration.hardware)
        record.tier = keys.tier_of(declaration.hardware)
        del record.runtimes[:]
        record.runtimes.extend(declaration.runtimes)
        del record.offers[:]
        record.offers.extend(declaration.offers)
        record.capacity = declaration.capacity
        record.moniker, record.description = declaration.moniker, declaration.description

    # -- messages -------------------------------------------------------------------------

    def register(
        self, ctx: Context, operator: bytes, collateral: int, declaration: Declaration
    ) -> compute_pb2.Provider:
        """Register ``operator`` with ``collateral`` moved from its balance; ACTIVE, offers
        indexed."""
        if self.get_provider(ctx, operator) is not None:
            raise ErrAlreadyRegistered.wrap(addr_str(operator))
        params = self.get_params(ctx)
        if collateral < params.min_collateral:
            raise ErrCollateralTooLow.wrap(
                f"collateral {collateral}{BOND_DENOM} is below {params.min_collateral}{BOND_DENOM}"
            )
        self.check_declaration(ctx, declaration)
        self._take_collateral(ctx, operator, collateral)
        record = compute_pb2.Provider(
            operator=addr_str(operator),
            collateral=str(collateral),
            status=ACTIVE,
            last_seen_height=ctx.header.height,
            reputation=str(params.initial_reputation),
            registered_height=ctx.header.height,
        )
        self._apply(record, declaration)
        self.set_provider(ctx, record)
        self.index_offers(ctx, record)
        return record

    def _take_collateral(self, ctx: Context, operator: bytes, amount: int) -> None:
        coins = Coins([Coin(BOND_DENOM, amount)])
        self.bank.send_coins_to_module(ctx, operator, keys.MODULE_ACCOUNT, coins)

    def _require_not_exiting(self, ctx: Context, operator: bytes) -> compute_pb2.Provider:
        record = self.require_provider(ctx, operator)
        if record.status == EXITING:
            raise ErrInvalidStatus.wrap(f"{record.operator} is exiting")
        return record

    def update(
        self, ctx: Context, operator: bytes, declaration: Declaration
    ) -> compute_pb2.Provider:
        """Replace the declaration; an ACTIVE provider's offers are re-indexed."""
        record = self._require_not_exiting(ctx, operator)
        self.check_declaration(ctx, declaration)
        if record.status == ACTIVE:
            self.unindex_offers(ctx, record)
        self._apply(record, declaration)
        record.last_seen_height = ctx.header.height
        self.set_provider(ctx, record)
        if record.status == ACTIVE:
            self.index_offers(ctx, record)
        return record

    def add_collateral(self, ctx: Context, operator: bytes, amount: int) -> compute_pb2.Provider:
        """Top up the collateral (not while exiting)."""
        record = self._require_not_exiting(ctx, operator)
        if amount <= 0:
            raise ErrInvalidCollateral.wrap("the amount must be positive")
        self._take_collateral(ctx, operator, amount)
        record.collateral = str(to_int(record.collateral) + amount)
        self.set_provider(ctx, record)
        return record

    def heartbeat(self, ctx: Context, operator: bytes) -> compute_pb2.Provider:
        """Set ``last_seen_height`` to this block (not while exiting); a gap longer than
        ``heartbeat_timeout_blocks`` is recorded as downtime in the provider's SLA record."""
        record = self._require_not_exiting(ctx, operator)
        self._seen(ctx, record)
        return record

    def _seen(self, ctx: Context, record: compute_pb2.Provider) -> None:
        gap = ctx.header.height - record.last_seen_height
        timeout = self.get_params(ctx).heartbeat_timeout_blocks
        if gap > timeout and record.status == ACTIVE:
            key = keys.stats_key(addr_bytes(record.operator))
            raw = self._store(ctx).get(key)
            stats = compute_pb2.ProviderStats.FromString(raw) if raw else None
            if stats is None:
                stats = compute_pb2.ProviderStats(operator=record.operator, earned="0")
            stats.downtime_blocks += gap - timeout
            self._store(ctx).set(key, stats.SerializeToString())
        record.last_seen_height = ctx.header.height
        self.set_provider(ctx, record)

    def heartbeat_if_registered(self, ctx: Context, operator: bytes) -> None:
        """A result counts as a heartbeat (job activity keeps a provider available)."""
        record = self.get_provider(ctx, operator)
        if record is not None and record.status != EXITING:
            self._seen(ctx, record)

    def provider_exists(self, ctx: Context, operator: bytes) -> bool:
        """Whether ``operator`` is a registered provider (any status)."""
        return self.get_provider(ctx, operator) is not None

    def pause(self, ctx: Context, operator: bytes) -> compute_pb2.Provider:
        """ACTIVE → PAUSED; offers leave the index."""
        record = self.require_provider(ctx, operator)
        if record.status != ACTIVE:
            raise ErrInvalidStatus.wrap(f"only an active provider pauses, not a {_name(record)}")
        self.unindex_offers(ctx, record)
        record.status = PAUSED
        self.set_provider(ctx, record)
        return record

    def resume(self, ctx: Context, operator: bytes) -> compute_pb2.Provider:
        """PAUSED → ACTIVE (counts as a heartbeat); offers re-enter the index."""
        record = self.require_provider(ctx, operator)
        if record.status != PAUSED:
            raise ErrInvalidStatus.wrap(f"only a paused provider resumes, not a {_name(record)}")
        record.status = ACTIVE
        record.last_seen_height = ctx.header.height
        self.set_provider(ctx, record)
        self.index_offers(ctx, record)
        return record

    def exit(self, ctx: Context, operator: bytes) -> compute_pb2.Provider:
        """Any status but EXITING → EXITING: offers leave the index; the collateral (still
        slashable) is returned at the first block at or past ``unbonding_time`` from now."""
        record = self._require_not_exiting(ctx, operator)
        if record.status == ACTIVE:
            self.unindex_offers(ctx, record)
        record.status = EXITING
        record.exit_completion_time_ns = ctx.header.time_ns + self.unbonding_time_ns(ctx)
        self.set_provider(ctx, record)
        self._store(ctx).set(keys.exit_key(record.exit_completion_time_ns, operator), keys.MARKER)
        return record

    def unjail(self, ctx: Context, operator: bytes) -> compute_pb2.Provider:
        """JAILED → ACTIVE once the block time reaches ``jailed_until_ns`` (counts as a
        heartbeat); offers re-enter the index."""
        record = self.require_provider(ctx, operator)
        if record.status != JAILED:
            raise ErrNotJailed.wrap(f"{record.operator} is {_name(record)}")
        if ctx.header.time_ns < record.jailed_until_ns:
            raise ErrJailPeriodActive.wrap(f"jailed until {record.jailed_until_ns} ns")
        record.status = ACTIVE
        record.jailed_until_ns = 0
        record.last_seen_height = ctx.header.height
        self.set_provider(ctx, record)
        self.index_offers(ctx, record)
        return record

    # -- exits (EndBlock) -----------------------------------------------------------------

    def exit_queue(self, ctx: Context) -> KVStore:
        """The exit queue (keys ``completion time | op``)."""
        return PrefixStore(self._store(ctx), keys.EXIT_QUEUE)

    def complete_exits(self, ctx: Context) -> list[compute_pb2.Provider]:
        """Return the collateral of every exit due at this block's time and delete those
        providers (their slash records stay). Reads only the due queue entries."""
        queue = self.exit_queue(ctx)
        due = list(queue.iterate(None, keys.u64(ctx.header.time_ns + 1)))
        done = []
        for key, _ in due:
            queue.delete(key)
            operator = key[9:]
            record = self.get_provider(ctx, operator)
            if record is None or record.status != EXITING:
                continue
            amount = to_int(record.collateral)
            if amount > 0:
                coins = Coins([Coin(BOND_DENOM, amount)])
                self.bank.send_coins(ctx, self.module_address, operator, coins)
            self._store(ctx).delete(keys.provider_key(operator))
            ctx.emit(
                events.EXIT_COMPLETE,
                ("operator", record.operator),
                ("amount", f"{amount}{BOND_DENOM}"),
            )
            done.append(record)
        return done

    # -- slashing and jailing (the API for the jobs slice) --------------------------------

    def slash_provider(
        self,
        ctx: Context,
        operator: bytes,
        fraction: Dec,
        reason_code: int,
        evidence_hash: bytes,
        beneficiary: bytes | None = None,
    ) -> int:
        """Burn ``truncate(fraction × collateral)`` of ``operator``'s collateral (an exiting
        provider's too), record the slash and return the amount burned — or, with a
        ``beneficiary``, pay it to that account instead (a dispute's winner).

        Errors: ErrUnknownReason (unregistered code), ErrInvalidFraction (not in (0, 1]),
        ErrInvalidEvidence (hash over 64 bytes), ErrProviderNotFound.
        """
        reason = self._reasons.get(reason_code)
        if reason is None:
            raise ErrUnknownReason.wrap(f"reason code {reason_code} is not registered")
        if not (fraction.is_positive() and fraction <= Dec.one()):
            raise ErrInvalidFraction.wrap(f"fraction {fraction} is not in (0, 1]")
        if len(evidence_hash) > MAX_EVIDENCE_HASH:
            raise ErrInvalidEvidence.wrap(f"evidence hash over {MAX_EVIDENCE_HASH} bytes")
        record = self.require_provider(ctx, operator)
        collateral = to_int(record.collateral)
        burned = fraction.mul_int(collateral).truncate_int()
        record.collateral = str(collateral - burned)
        self.set_provider(ctx, record)
        if burned > 0 and beneficiary is not None:
            coins = Coins([Coin(BOND_DENOM, burned)])
            self.bank.send_coins(ctx, self.module_address, beneficiary, coins)
        elif burned > 0:
            self.bank.burn_coins(ctx, keys.MODULE_ACCOUNT, Coins([Coin(BOND_DENOM, burned)]))
        slash = compute_pb2.SlashRecord(
            id=self._next_slash_id(ctx),
            operator=record.operator,
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
            ("fraction", str(fraction)),
            ("reason_code", str(reason_code)),
            ("reason", reason.name),
            ("evidence_hash", evidence_hash.hex()),
            ("burned", f"{burned}{BOND_DENOM}"),
        )
        return burned

    def jail_provider(
        self, ctx: Context, operator: bytes, duration_ns: int | None = None
    ) -> compute_pb2.Provider:
        """Jail ``operator`` until ``duration_ns`` (None: the ``jail_duration_ns`` param)
        after this block; a longer jail already in place stays. Its offers leave the index.
        An exiting provider stays EXITING (its exit goes on) with the jail time recorded."""
        if duration_ns is None:
            duration_ns = self.get_params(ctx).jail_duration_ns
        if isinstance(duration_ns, bool) or not isinstance(duration_ns, int) or duration_ns < 0:
            raise ErrInvalidEvidence.wrap("jail duration must be a non-negative integer")
        record = self.require_provider(ctx, operator)
        if record.status == ACTIVE:
            self.unindex_offers(ctx, record)
        if record.status != EXITING:
            record.status = JAILED
        record.jailed_until_ns = max(record.jailed_until_ns, ctx.header.time_ns + duration_ns)
        self.set_provider(ctx, record)
        ctx.emit(
            events.JAIL,
            ("operator", record.operator),
            ("jailed_until_ns", str(record.jailed_until_ns)),
        )
        return record

    def _next_slash_id(self, ctx: Context) -> int:
        store = self._store(ctx)
        raw = store.get(keys.NEXT_SLASH_ID)
        value = 1 if raw is None else int.from_bytes(raw, "big")
        store.set(keys.NEXT_SLASH_ID, keys.u64(value + 1))
        return value

    def set_next_slash_id(self, ctx: Context, value: int) -> None:
        """Set the slash id counter (genesis import)."""
        self._store(ctx).set(keys.NEXT_SLASH_ID, keys.u64(value))

    def add_slash_record(self, ctx: Context, record: compute_pb2.SlashRecord, keep: int) -> None:
        """Store a slash record; beyond ``keep`` records of the provider the oldest are
        dropped (at most ``keep`` + 1 are read)."""
        prefix = keys.slash_prefix(addr_bytes(record.operator))
        store = self._store(ctx)
        store.set(prefix + keys.u64(record.id), record.SerializeToString())
        existing = [key for key, _ in PrefixStore(store, prefix).iterate()]
        for key in existing[: max(0, len(existing) - keep)]:
            store.delete(prefix + key)

    def slash_store(self, ctx: Context, operator: bytes | None) -> KVStore:
        """The slash records (of ``operator``) as a store, for pagination."""
        prefix = keys.SLASH if operator is None else keys.slash_prefix(operator)
        return PrefixStore(self._store(ctx), prefix)

    def iterate_slash_records(self, ctx: Context) -> Iterator[compute_pb2.SlashRecord]:
        """Every slash record, by operator key then id."""
        for _, raw in self.slash_store(ctx, None).iterate():
            yield compute_pb2.SlashRecord.FromString(raw)


def _name(record: compute_pb2.Provider) -> str:
    return STATUS_NAMES.get(record.status, "unknown") + " provider"
