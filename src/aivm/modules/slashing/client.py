"""Python SDK for the ``slashing`` module: unjail a validator, read params and signing infos.

Example::

    from aivm.client import Client

    with Client("http://127.0.0.1:26657") as client:
        info = client.modules.slashing.signing_info("aivmvalcons1...")
        print(info.missed_blocks_counter, info.jailed_until.ToJsonString())
        client.modules.slashing.unjail(operator_wallet)
"""

from __future__ import annotations

import base64
import hashlib
import json

from aivm.client.client import Client
from aivm.client.results import TxResult
from aivm.client.wallet import Wallet
from aivm.types import pb
from aivm.types.address import acc_address_bytes, valcons_address, valoper_address

QUERY = "/cosmos.slashing.v1beta1.Query/"


def valcons_of(text: str) -> str:
    """A ``aivmvalcons…`` address from itself, an ed25519 consensus public key as the SDK
    CLI takes it (``{"@type": "/cosmos.crypto.ed25519.PubKey", "key": "<base64>"}``), or
    the bare key in base64 or hex; ValueError otherwise."""
    text = text.strip()
    if text.startswith("aivmvalcons1"):
        return text
    if text.startswith("{"):
        text = str(json.loads(text).get("key", ""))
    try:
        key = bytes.fromhex(text) if len(text) == 64 else base64.b64decode(text, validate=True)
    except ValueError as exc:
        raise ValueError(f"not a valcons address or ed25519 public key: {text!r}") from exc
    if len(key) != 32:
        raise ValueError(f"an ed25519 public key has 32 bytes, got {len(key)}")
    return valcons_address(hashlib.sha256(key).digest()[:20])


class SlashingClient:
    """``slashing`` module calls over a blocking :class:`~aivm.client.Client`."""

    def __init__(self, client: Client) -> None:
        self.client = client

    def unjail(self, wallet: Wallet, timeout: float = 30.0) -> TxResult:
        """Unjail the validator operated by ``wallet`` (MsgUnjail) and wait for the block."""
        operator = valoper_address(acc_address_bytes(wallet.address))
        msg = pb.slashing_tx.MsgUnjail(validator_addr=operator)
        sent = self.client.sign_and_broadcast(wallet, [msg])
        return self.client.wait_for_tx(sent.hash, timeout=timeout)

    def params(self) -> pb.slashing.Params:
        """Current params."""
        response = self.client.query(
            QUERY + "Params",
            pb.slashing_query.QueryParamsRequest(),
            pb.slashing_query.QueryParamsResponse,
        )
        params: pb.slashing.Params = response.params
        return params

    def signing_info(self, validator: str) -> pb.slashing.ValidatorSigningInfo:
        """The signing info of a validator (valcons address or consensus public key)."""
        response = self.client.query(
            QUERY + "SigningInfo",
            pb.slashing_query.QuerySigningInfoRequest(cons_address=valcons_of(validator)),
            pb.slashing_query.QuerySigningInfoResponse,
        )
        info: pb.slashing.ValidatorSigningInfo = response.val_signing_info
        return info

    def signing_infos(self, page_size: int = 100) -> list[pb.slashing.ValidatorSigningInfo]:
        """Every signing info, page by page."""
        found: list[pb.slashing.ValidatorSigningInfo] = []
        request = pb.slashing_query.QuerySigningInfosRequest()
        request.pagination.limit = page_size
        while True:
            response = self.client.query(
                QUERY + "SigningInfos", request, pb.slashing_query.QuerySigningInfosResponse
            )
            found.extend(response.info)
            if not response.pagination.next_key:
                return found
            request.pagination.key = response.pagination.next_key


CLIENT = SlashingClient
