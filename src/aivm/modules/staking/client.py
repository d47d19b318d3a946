"""Python SDK for the ``staking`` module: create and edit a validator, delegate, undelegate,
redelegate, cancel an unbonding, and the staking queries. Messages and queries are the Cosmos
SDK's (``/cosmos.staking.v1beta1.*``), so the same calls work against any Cosmos chain.

Example::

    from aivm.client import Client, Wallet

    with Client("http://127.0.0.1:26657") as client:
        staking = client.modules.staking          # a StakingClient, built once per Client
        validator = staking.validators()[0].operator_address
        staking.delegate(wallet, validator, "5000000ucgpt")
        print(staking.delegation(wallet.address, validator).balance.amount)
        staking.undelegate(wallet, validator, 1_000_000)
        print(staking.unbonding_delegations(wallet.address))

Amounts are an int (in ``ucgpt``), a coin string (``"1000ucgpt"``) or a :class:`Coin`;
commission rates are decimal strings (``"0.05"``). Transactions are signed, broadcast and
waited for; a failed one raises :class:`aivm.client.errors.ChainError`.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from aivm.client.client import DEFAULT_GAS_ADJUSTMENT, Client, CoinsLike, to_coins
from aivm.client.errors import ChainError
from aivm.client.results import TxResult
from aivm.client.wallet import Wallet
from aivm.types import pb
from aivm.types.address import valoper_address, valoper_address_bytes
from aivm.types.coin import Coin
from aivm.types.dec import Dec
from aivm.types.errors import AivmError

QUERY = "/cosmos.staking.v1beta1.Query/"
DENOM = "ucgpt"
DO_NOT_MODIFY = "[do-not-modify]"
"""The SDK's ``DoNotModifyDesc``: a description field of MsgEditValidator left unchanged."""
Resp = TypeVar("Resp", bound=pb.Message)
Item = TypeVar("Item")
ED25519_PUBKEY_URL = "/cosmos.crypto.ed25519.PubKey"
ED25519_PUBKEY_SIZE = 32
PAGE = 100
BOND_STATUSES = {
    "bonded": "BOND_STATUS_BONDED",
    "unbonding": "BOND_STATUS_UNBONDING",
    "unbonded": "BOND_STATUS_UNBONDED",
}
"""Short names of ``QueryValidatorsRequest.status`` (the full names are accepted too)."""


class StakingInputError(ValueError):
    """A bad argument caught before anything is signed (address, amount, rate, key)."""


@dataclass(frozen=True)
class TxOptions:
    """How a transaction is paid and waited for (the defaults simulate for gas)."""

    fee: CoinsLike | None = None
    """Fee; None pays ``ceil(gas × gas price)``."""
    gas: int | str = "auto"
    """Gas limit, or ``"auto"`` to simulate."""
    gas_adjustment: float = DEFAULT_GAS_ADJUSTMENT
    """Multiplier on the simulated gas."""
    memo: str = ""
    """Transaction memo."""
    timeout: float = 30.0
    """Seconds to wait for inclusion."""


# -- argument checks -------------------------------------------------------------------------


def check_valoper(address: str) -> str:
    """``address`` when it is an ``aivmvaloper1…`` address, else StakingInputError."""
    try:
        valoper_address_bytes(address)
    except (AivmError, ValueError) as exc:
        raise StakingInputError(
            f"invalid validator address {address!r} (expected aivmvaloper1...)"
        ) from exc
    return address


def bond_coin(amount: CoinsLike, denom: str = DENOM) -> Coin:
    """One positive coin from an int (``denom``), a coin string or a Coin."""
    try:
        coins = to_coins(amount, denom)
    except (AivmError, ValueError, TypeError) as exc:
        raise StakingInputError(f"invalid amount {amount!r}: {exc}") from exc
    if len(coins) != 1 or coins[0].amount <= 0:
        raise StakingInputError(f"amount must be one positive coin, got {amount!r}")
    return coins[0]


def rate(text: str | Dec, what: str = "rate") -> Dec:
    """A commission rate in [0, 1] from decimal text (``"0.05"``)."""
    try:
        value = text if isinstance(text, Dec) else Dec(str(text).strip())
    except (AivmError, ValueError, TypeError) as exc:
        raise StakingInputError(f"invalid {what} {text!r}: expected a decimal like 0.05") from exc
    if value.is_negative() or Dec.one() < value:
        raise StakingInputError(f"{what} must be between 0 and 1, got {text}")
    return value


def consensus_pubkey(source: str | bytes) -> bytes:
    """A 32-byte ed25519 consensus public key from raw bytes, base64 text, the SDK's JSON
    (``{"@type": "/cosmos.crypto.ed25519.PubKey", "key": "…"}``), or the path of a CometBFT
    ``priv_validator_key.json``."""
    if isinstance(source, bytes):
        key = source
    else:
        text = source.strip()
        path = Path(text).expanduser()
        if text.startswith("{"):
            key = _key_from_json(json.loads(text))
        elif path.is_file():
            key = _key_from_json(_read_json(path))
        else:
            key = _b64(text, "--pubkey is neither a file, JSON nor base64")
    if len(key) != ED25519_PUBKEY_SIZE:
        raise StakingInputError(f"an ed25519 public key has 32 bytes, got {len(key)}")
    return key


def _read_json(path: Path) -> object:
    try:
        loaded: object = json.loads(path.read_text())
        return loaded
    except (OSError, ValueError) as exc:
        raise StakingInputError(f"cannot read {path}: {exc}") from exc


def _key_from_json(data: object) -> bytes:
    if isinstance(data, dict) and isinstance(data.get("pub_key"), dict):
        data = data["pub_key"]  # priv_validator_key.json
    if isinstance(data, dict):
        kind = data.get("@type") or data.get("type") or ""
        value = data.get("key") or data.get("value")
        if kind in (ED25519_PUBKEY_URL, "tendermint/PubKeyEd25519") and isinstance(value, str):
            return _b64(value, "invalid base64 in the public key")
        if kind:
            raise StakingInputError(f"unsupported consensus key type {kind!r} (ed25519 only)")
    raise StakingInputError("no ed25519 public key found (expected pub_key or @type/key)")


def _b64(text: str, problem: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise StakingInputError(problem) from exc


def bond_status(text: str) -> str:
    """``QueryValidatorsRequest.status`` from ``bonded``/``unbonding``/``unbonded`` or a full
    ``BOND_STATUS_*`` name; empty stays empty (every validator)."""
    if not text:
        return ""
    full = BOND_STATUSES.get(text.lower(), text.upper())
    if full not in BOND_STATUSES.values():
        raise StakingInputError(
            f"invalid status {text!r}; expected one of {', '.join(BOND_STATUSES)}"
        )
    return full


# -- messages --------------------------------------------------------------------------------


def pubkey_any(key: bytes) -> pb.AnyProto:
    """The ``Any`` of an ed25519 consensus key, as MsgCreateValidator carries it."""
    return pb.pack_any(pb.ed25519.PubKey(key=key))


def msg_create_validator(
    operator: Wallet,
    pubkey: bytes,
    amount: Coin,
    description: pb.staking.Description,
    rates: tuple[Dec, Dec, Dec],
    min_self_delegation: int = 1,
) -> pb.staking_tx.MsgCreateValidator:
    """MsgCreateValidator from ``operator``'s account; ``rates`` = (rate, max rate, max change
    rate), carried in the LegacyDec wire form."""
    rate_, max_rate, max_change = rates
    return pb.staking_tx.MsgCreateValidator(
        description=description,
        commission=pb.staking.CommissionRates(
            rate=rate_.to_proto_str(),
            max_rate=max_rate.to_proto_str(),
            max_change_rate=max_change.to_proto_str(),
        ),
        min_self_delegation=str(min_self_delegation),
        delegator_address=operator.address,
        validator_address=valoper_address(operator.address_bytes),
        pubkey=pubkey_any(pubkey),
        value=pb.coin.Coin(denom=amount.denom, amount=str(amount.amount)),
    )


def description(
    moniker: str = DO_NOT_MODIFY,
    identity: str = DO_NOT_MODIFY,
    website: str = DO_NOT_MODIFY,
    security_contact: str = DO_NOT_MODIFY,
    details: str = DO_NOT_MODIFY,
) -> pb.staking.Description:
    """A validator description (fields left at ``[do-not-modify]`` keep their value in an
    edit)."""
    return pb.staking.Description(
        moniker=moniker,
        identity=identity,
        website=website,
        security_contact=security_contact,
        details=details,
    )


def _coin_proto(coin: Coin) -> pb.coin.Coin:
    return pb.coin.Coin(denom=coin.denom, amount=str(coin.amount))


# -- the client ------------------------------------------------------------------------------


class StakingClient:
    """``staking`` calls over a blocking :class:`~aivm.client.Client`; ``client.modules.staking``
    is one."""

    def __init__(self, client: Client) -> None:
        self.client = client

    def _submit(self, wallet: Wallet, msg: pb.Message, options: TxOptions | None) -> TxResult:
        o = options or TxOptions()
        sent = self.client.sign_and_broadcast(wallet, [msg], o.fee, o.gas, o.gas_adjustment, o.memo)
        return self.client.wait_for_tx(sent.hash, timeout=o.timeout)

    # -- transactions ----------------------------------------------------------------------

    def create_validator(
        self,
        wallet: Wallet,
        pubkey: str | bytes,
        amount: CoinsLike,
        moniker: str,
        *,
        commission_rate: str | Dec = "0.1",
        commission_max_rate: str | Dec = "0.2",
        commission_max_change_rate: str | Dec = "0.01",
        min_self_delegation: int = 1,
        identity: str = "",
        website: str = "",
        security_contact: str = "",
        details: str = "",
        options: TxOptions | None = None,
    ) -> TxResult:
        """Make ``wallet``'s account a validator (operator ``aivmvaloper…`` of the same bytes)
        with consensus key ``pubkey`` (see :func:`consensus_pubkey`), self-bonding ``amount``."""
        if not moniker:
            raise StakingInputError("a validator needs a moniker")
        if min_self_delegation <= 0:
            raise StakingInputError("min self delegation must be a positive integer")
        msg = msg_create_validator(
            wallet,
            consensus_pubkey(pubkey),
            bond_coin(amount),
            pb.staking.Description(
                moniker=moniker,
                identity=identity,
                website=website,
                security_contact=security_contact,
                details=details,
            ),
            (
                rate(commission_rate, "commission rate"),
                rate(commission_max_rate, "commission max rate"),
                rate(commission_max_change_rate, "commission max change rate"),
            ),
            min_self_delegation,
        )
        return self._submit(wallet, msg, options)

    def edit_validator(
        self,
        wallet: Wallet,
        *,
        moniker: str = DO_NOT_MODIFY,
        identity: str = DO_NOT_MODIFY,
        website: str = DO_NOT_MODIFY,
        security_contact: str = DO_NOT_MODIFY,
        details: str = DO_NOT_MODIFY,
        commission_rate: str | Dec | None = None,
        min_self_delegation: int | None = None,
        options: TxOptions | None = None,
    ) -> TxResult:
        """Change ``wallet``'s validator: description fields given, the commission rate (at
        most once a day, within the max change rate), a higher min self delegation."""
        msg = pb.staking_tx.MsgEditValidator(
            description=description(moniker, identity, website, security_contact, details),
            validator_address=valoper_address(wallet.address_bytes),
            commission_rate=(
                "" if commission_rate is None else rate(commission_rate).to_proto_str()
            ),
            min_self_delegation="" if min_self_delegation is None else str(min_self_delegation),
        )
        return self._submit(wallet, msg, options)

    def delegate(
        self, wallet: Wallet, validator: str, amount: CoinsLike, options: TxOptions | None = None
    ) -> TxResult:
        """Delegate ``amount`` from ``wallet`` to ``validator`` (``aivmvaloper1…``)."""
        msg = pb.staking_tx.MsgDelegate(
            delegator_address=wallet.address,
            validator_address=check_valoper(validator),
            amount=_coin_proto(bond_coin(amount)),
        )
        return self._submit(wallet, msg, options)

    def undelegate(
        self, wallet: Wallet, validator: str, amount: CoinsLike, options: TxOptions | None = None
    ) -> TxResult:
        """Start unbonding ``amount`` of ``wallet``'s delegation to ``validator``; the tokens
        return after the unbonding time (``unbond`` event's ``completion_time``)."""
        msg = pb.staking_tx.MsgUndelegate(
            delegator_address=wallet.address,
            validator_address=check_valoper(validator),
            amount=_coin_proto(bond_coin(amount)),
        )
        return self._submit(wallet, msg, options)

    def redelegate(
        self,
        wallet: Wallet,
        src_validator: str,
        dst_validator: str,
        amount: CoinsLike,
        options: TxOptions | None = None,
    ) -> TxResult:
        """Move ``amount`` of ``wallet``'s delegation from one validator to another."""
        msg = pb.staking_tx.MsgBeginRedelegate(
            delegator_address=wallet.address,
            validator_src_address=check_valoper(src_validator),
            validator_dst_address=check_valoper(dst_validator),
            amount=_coin_proto(bond_coin(amount)),
        )
        return self._submit(wallet, msg, options)

    def cancel_unbonding(
        self,
        wallet: Wallet,
        validator: str,
        amount: CoinsLike,
        creation_height: int,
        options: TxOptions | None = None,
    ) -> TxResult:
        """Re-delegate ``amount`` of the unbonding entry created at ``creation_height``."""
        if creation_height <= 0:
            raise StakingInputError("creation height must be a positive block height")
        msg = pb.staking_tx.MsgCancelUnbondingDelegation(
            delegator_address=wallet.address,
            validator_address=check_valoper(validator),
            amount=_coin_proto(bond_coin(amount)),
            creation_height=creation_height,
        )
        return self._submit(wallet, msg, options)

    # -- queries ---------------------------------------------------------------------------

    def _query(self, method: str, request: pb.Message, response: type[pb.M]) -> pb.M:
        return self.client.query(QUERY + method, request, response)

    def _all_pages(
        self,
        method: str,
        request: pb.Message,
        response: type[Resp],
        items: Callable[[Resp], list[Item]],
    ) -> list[Item]:
        """Every item of a paged query, following ``next_key``."""
        found: list[Item] = []
        page: pb.pagination.PageRequest = getattr(request, "pagination")  # noqa: B009
        page.limit = PAGE
        while True:
            answer = self._query(method, request, response)
            found.extend(items(answer))
            next_key = bytes(getattr(answer, "pagination").next_key)  # noqa: B009
            if not next_key:
                return found
            page.key = next_key

    def validators(self, status: str = "") -> list[pb.staking.Validator]:
        """Every validator (operator order), or those of ``status`` (``bonded``…)."""
        q = pb.staking_query
        request = q.QueryValidatorsRequest(status=bond_status(status))
        return self._all_pages(
            "Validators", request, q.QueryValidatorsResponse, lambda r: list(r.validators)
        )

    def validator(self, validator: str) -> pb.staking.Validator:
        """One validator; ChainError (sdk 22, "not found") when there is none."""
        q = pb.staking_query
        request = q.QueryValidatorRequest(validator_addr=check_valoper(validator))
        found: pb.staking.Validator = self._query(
            "Validator", request, q.QueryValidatorResponse
        ).validator
        return found

    def delegation(self, delegator: str, validator: str) -> pb.staking.DelegationResponse | None:
        """The delegation of ``delegator`` to ``validator`` with its balance, or None."""
        q = pb.staking_query
        request = q.QueryDelegationRequest(
            delegator_addr=delegator, validator_addr=check_valoper(validator)
        )
        try:
            answer = self._query("Delegation", request, q.QueryDelegationResponse)
        except ChainError as err:
            if err.codespace == "sdk" and err.code == 22:
                return None
            raise
        found: pb.staking.DelegationResponse = answer.delegation_response
        return found

    def delegations(self, delegator: str) -> list[pb.staking.DelegationResponse]:
        """Every delegation of ``delegator`` with its balance, by validator."""
        q = pb.staking_query
        request = q.QueryDelegatorDelegationsRequest(delegator_addr=delegator)
        return self._all_pages(
            "DelegatorDelegations",
            request,
            q.QueryDelegatorDelegationsResponse,
            lambda r: list(r.delegation_responses),
        )

    def validator_delegations(self, validator: str) -> list[pb.staking.DelegationResponse]:
        """Every delegation to ``validator``, by delegator."""
        q = pb.staking_query
        request = q.QueryValidatorDelegationsRequest(validator_addr=check_valoper(validator))
        return self._all_pages(
            "ValidatorDelegations",
            request,
            q.QueryValidatorDelegationsResponse,
            lambda r: list(r.delegation_responses),
        )

    def unbonding_delegations(self, delegator: str) -> list[pb.staking.UnbondingDelegation]:
        """Every unbonding delegation of ``delegator`` (entries with completion times)."""
        q = pb.staking_query
        request = q.QueryDelegatorUnbondingDelegationsRequest(delegator_addr=delegator)
        return self._all_pages(
            "DelegatorUnbondingDelegations",
            request,
            q.QueryDelegatorUnbondingDelegationsResponse,
            lambda r: list(r.unbonding_responses),
        )

    def redelegations(self, delegator: str) -> list[pb.staking.RedelegationResponse]:
        """Every redelegation of ``delegator`` in progress, with entry balances."""
        q = pb.staking_query
        request = q.QueryRedelegationsRequest(delegator_addr=delegator)
        return self._all_pages(
            "Redelegations",
            request,
            q.QueryRedelegationsResponse,
            lambda r: list(r.redelegation_responses),
        )

    def historical_info(self, height: int) -> pb.staking.HistoricalInfo:
        """Header and validator set kept for ``height`` (the last ``historical_entries``)."""
        q = pb.staking_query
        request = q.QueryHistoricalInfoRequest(height=height)
        found: pb.staking.HistoricalInfo = self._query(
            "HistoricalInfo", request, q.QueryHistoricalInfoResponse
        ).hist
        return found

    def pool(self) -> pb.staking.Pool:
        """Bonded and not-bonded token totals."""
        q = pb.staking_query
        found: pb.staking.Pool = self._query("Pool", q.QueryPoolRequest(), q.QueryPoolResponse).pool
        return found

    def params(self) -> pb.staking.Params:
        """Staking params (LegacyDec fields in wire form: use ``Dec.from_proto_str``)."""
        q = pb.staking_query
        found: pb.staking.Params = self._query(
            "Params", q.QueryParamsRequest(), q.QueryParamsResponse
        ).params
        return found


# The helper class ``client.modules.staking`` builds, once per Client
# (aivm.client.client.ModuleClients).
CLIENT = StakingClient
