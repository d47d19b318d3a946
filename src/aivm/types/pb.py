"""Protobuf message types of the Cosmos SDK and CometBFT wire format, in one place.

The compiled types come from cosmpy, which bundles Cosmos SDK 0.53 and CometBFT 0.38
definitions (see docs/adr/0001-foundations.md). Every other module imports them from here,
so a change of provider touches one file.
"""

from __future__ import annotations

from typing import Any as _AnyT
from typing import TypeVar

from cosmpy.protos.cosmos.auth.v1beta1 import auth_pb2 as auth
from cosmpy.protos.cosmos.auth.v1beta1 import genesis_pb2 as auth_genesis
from cosmpy.protos.cosmos.auth.v1beta1 import query_pb2 as auth_query
from cosmpy.protos.cosmos.auth.v1beta1 import tx_pb2 as auth_tx
from cosmpy.protos.cosmos.bank.v1beta1 import bank_pb2 as bank
from cosmpy.protos.cosmos.bank.v1beta1 import genesis_pb2 as bank_genesis
from cosmpy.protos.cosmos.bank.v1beta1 import query_pb2 as bank_query
from cosmpy.protos.cosmos.bank.v1beta1 import tx_pb2 as bank_tx
from cosmpy.protos.cosmos.base.abci.v1beta1 import abci_pb2 as sdk_abci
from cosmpy.protos.cosmos.base.query.v1beta1 import pagination_pb2 as pagination
from cosmpy.protos.cosmos.base.v1beta1 import coin_pb2 as coin
from cosmpy.protos.cosmos.crypto.ed25519 import keys_pb2 as ed25519
from cosmpy.protos.cosmos.crypto.secp256k1 import keys_pb2 as secp256k1
from cosmpy.protos.cosmos.distribution.v1beta1 import distribution_pb2 as distribution
from cosmpy.protos.cosmos.distribution.v1beta1 import genesis_pb2 as distribution_genesis
from cosmpy.protos.cosmos.distribution.v1beta1 import query_pb2 as distribution_query
from cosmpy.protos.cosmos.distribution.v1beta1 import tx_pb2 as distribution_tx
from cosmpy.protos.cosmos.ics23.v1 import proofs_pb2 as ics23
from cosmpy.protos.cosmos.mint.v1beta1 import genesis_pb2 as mint_genesis
from cosmpy.protos.cosmos.mint.v1beta1 import mint_pb2 as mint
from cosmpy.protos.cosmos.mint.v1beta1 import query_pb2 as mint_query
from cosmpy.protos.cosmos.mint.v1beta1 import tx_pb2 as mint_tx
from cosmpy.protos.cosmos.slashing.v1beta1 import genesis_pb2 as slashing_genesis
from cosmpy.protos.cosmos.slashing.v1beta1 import query_pb2 as slashing_query
from cosmpy.protos.cosmos.slashing.v1beta1 import slashing_pb2 as slashing
from cosmpy.protos.cosmos.slashing.v1beta1 import tx_pb2 as slashing_tx
from cosmpy.protos.cosmos.staking.v1beta1 import genesis_pb2 as staking_genesis
from cosmpy.protos.cosmos.staking.v1beta1 import query_pb2 as staking_query
from cosmpy.protos.cosmos.staking.v1beta1 import staking_pb2 as staking
from cosmpy.protos.cosmos.staking.v1beta1 import tx_pb2 as staking_tx
from cosmpy.protos.cosmos.tx.signing.v1beta1 import signing_pb2 as signing
from cosmpy.protos.cosmos.tx.v1beta1 import service_pb2 as tx_service
from cosmpy.protos.cosmos.tx.v1beta1 import tx_pb2 as tx
from cosmpy.protos.tendermint.abci import types_pb2 as abci
from cosmpy.protos.tendermint.crypto import keys_pb2 as tm_crypto
from cosmpy.protos.tendermint.crypto import proof_pb2 as tm_proof
from cosmpy.protos.tendermint.types import params_pb2 as tm_params
from cosmpy.protos.tendermint.types import types_pb2 as tm_types
from cosmpy.protos.tendermint.types import validator_pb2 as tm_validator
from google.protobuf import any_pb2, json_format
from google.protobuf.any_pb2 import Any as AnyProto
from google.protobuf.message import DecodeError, Message

__all__ = [
    "AnyProto",
    "DecodeError",
    "Message",
    "abci",
    "any_pb2",
    "auth",
    "auth_genesis",
    "auth_query",
    "auth_tx",
    "bank",
    "bank_genesis",
    "bank_query",
    "bank_tx",
    "coin",
    "distribution",
    "distribution_genesis",
    "distribution_query",
    "distribution_tx",
    "ed25519",
    "ics23",
    "json_format",
    "mint",
    "mint_genesis",
    "mint_query",
    "mint_tx",
    "pack_any",
    "pagination",
    "sdk_abci",
    "secp256k1",
    "signing",
    "slashing",
    "slashing_genesis",
    "slashing_query",
    "slashing_tx",
    "staking",
    "staking_genesis",
    "staking_query",
    "staking_tx",
    "tm_crypto",
    "tm_params",
    "tm_proof",
    "tm_types",
    "tm_validator",
    "tx",
    "tx_service",
    "type_url",
    "unpack_any",
]

M = TypeVar("M", bound=Message)


def type_url(message_class: type[Message] | Message) -> str:
    """Return the Cosmos type URL (``/full.proto.Name``) of a message class or instance."""
    return "/" + message_class.DESCRIPTOR.full_name


def pack_any(message: Message) -> AnyProto:
    """Pack a message into an ``Any`` with a Cosmos-style type URL (no type.googleapis.com)."""
    return AnyProto(type_url=type_url(message), value=message.SerializeToString())


def unpack_any(value: AnyProto, message_class: type[M]) -> M:
    """Decode ``value`` as ``message_class``; raises DecodeError/ValueError on mismatch."""
    if value.type_url != type_url(message_class):
        raise ValueError(f"expected {type_url(message_class)}, got {value.type_url}")
    result: M = message_class.FromString(value.value)
    return result


def to_dict(message: Message) -> dict[str, _AnyT]:
    """Proto3-JSON form of a message with original (snake_case) field names, as in genesis."""
    return json_format.MessageToDict(
        message, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
    )
