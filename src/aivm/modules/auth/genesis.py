"""auth genesis: params and accounts, in the Cosmos SDK JSON shape.

```json
{"params": {"max_memo_characters": "256", ...},
 "accounts": [{"@type": "/cosmos.auth.v1beta1.BaseAccount", "address": "aivm1...",
               "pub_key": null, "account_number": "0", "sequence": "0"}]}
```
"""

from __future__ import annotations

from typing import Any

from aivm.modules.auth.keeper import AccountKeeper
from aivm.modules.auth.params import AuthParams
from aivm.modules.auth.types import Account
from aivm.modules.framework import Context
from aivm.types import pb
from aivm.types.errors import AivmError, ErrInvalidRequest


def default_genesis() -> dict[str, Any]:
    """Default auth params, no accounts."""
    return {"params": AuthParams().to_json(), "accounts": []}


def parse_accounts(data: dict[str, Any]) -> list[Account]:
    """Decode and check the genesis account list (no duplicates, valid addresses)."""
    accounts: list[Account] = []
    seen_addresses: set[bytes] = set()
    seen_numbers: set[int] = set()
    for entry in data.get("accounts", []):
        try:
            value = pb.AnyProto()
            pb.json_format.ParseDict(entry, value)
            account = Account.from_any(value)
        except AivmError:
            raise
        except Exception as exc:
            raise ErrInvalidRequest.wrap(f"invalid genesis account {entry!r}: {exc}") from exc
        if account.address in seen_addresses:
            raise ErrInvalidRequest.wrap(f"duplicate genesis account {entry.get('address')}")
        if account.account_number in seen_numbers:
            raise ErrInvalidRequest.wrap(
                f"duplicate account number {account.account_number} in genesis"
            )
        seen_addresses.add(account.address)
        seen_numbers.add(account.account_number)
        accounts.append(account)
    return accounts


def validate_genesis(data: dict[str, Any]) -> None:
    """Raise ErrInvalidRequest unless ``data`` is a valid auth genesis."""
    AuthParams.from_json(data.get("params", {}))
    parse_accounts(data)


def init_genesis(ctx: Context, keeper: AccountKeeper, data: dict[str, Any]) -> None:
    """Write params and accounts; the account counter continues after the highest number."""
    keeper.set_params(ctx, AuthParams.from_json(data.get("params", {})))
    accounts = parse_accounts(data)
    for account in accounts:
        keeper.set_account(ctx, account)
    next_number = max((a.account_number for a in accounts), default=-1) + 1
    keeper.set_next_account_number(ctx, max(next_number, keeper.peek_next_account_number(ctx)))


def export_genesis(ctx: Context, keeper: AccountKeeper) -> dict[str, Any]:
    """Params and every account, in address order."""
    return {
        "params": keeper.get_params(ctx).to_json(),
        "accounts": [
            pb.json_format.MessageToDict(
                acc.to_any(),
                preserving_proto_field_name=True,
                always_print_fields_with_no_presence=True,
            )
            for acc in keeper.iterate_accounts(ctx)
        ],
    }
