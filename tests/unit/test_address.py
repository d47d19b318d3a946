"""Bech32 addresses: round trips, prefix/length/checksum/case rejection, module addresses;
cross-checked against cosmpy's Address and fixed Cosmos SDK vectors."""

from __future__ import annotations

import hashlib

import bech32
import pytest
from cosmpy.crypto.address import Address as CosmpyAddress
from cosmpy.crypto.keypairs import PrivateKey as CosmpyPrivateKey
from hypothesis import given
from hypothesis import strategies as st

from aivm.types.address import (
    ACC_PREFIX,
    PUB_PREFIX,
    VALCONS_PREFIX,
    VALOPER_PREFIX,
    acc_address,
    acc_address_bytes,
    bech32_decode,
    bech32_decode_raw,
    bech32_encode,
    is_valid_acc_address,
    module_address,
    valcons_address,
    valcons_address_bytes,
    valoper_address,
    valoper_address_bytes,
)
from aivm.types.errors import AivmError, ErrInvalidAddress

ADDR20 = bytes(range(20))


def _raises_invalid_address(fn: object, *args: object, match: str | None = None) -> AivmError:
    with pytest.raises(AivmError, match=match) as exc:
        fn(*args)  # type: ignore[operator]
    assert ErrInvalidAddress.is_(exc.value)
    assert (exc.value.codespace, exc.value.code) == ("sdk", 7)
    return exc.value


def test_prefixes() -> None:
    assert (ACC_PREFIX, VALOPER_PREFIX, VALCONS_PREFIX, PUB_PREFIX) == (
        "aivm",
        "aivmvaloper",
        "aivmvalcons",
        "aivmpub",
    )


@given(st.sampled_from([20, 32]).flatmap(lambda n: st.binary(min_size=n, max_size=n)))
def test_round_trips(data: bytes) -> None:
    assert acc_address_bytes(acc_address(data)) == data
    assert valoper_address_bytes(valoper_address(data)) == data
    assert valcons_address_bytes(valcons_address(data)) == data
    assert acc_address(data).startswith("aivm1")
    assert is_valid_acc_address(acc_address(data))


@given(st.binary(min_size=20, max_size=20))
def test_encoding_matches_cosmpy(data: bytes) -> None:
    assert acc_address(data) == str(CosmpyAddress(data, prefix="aivm"))
    assert bytes(CosmpyAddress(acc_address(data), prefix="aivm")) == data


def test_pubkey_address_matches_cosmpy() -> None:
    key = CosmpyPrivateKey(hashlib.sha256(b"address-test").digest())
    pub = key.public_key.public_key_bytes
    ours = acc_address(hashlib.new("ripemd160", hashlib.sha256(pub).digest()).digest())
    assert ours == str(CosmpyAddress(key.public_key, prefix="aivm"))


def test_wrong_prefix_rejected() -> None:
    valoper = valoper_address(ADDR20)
    _raises_invalid_address(acc_address_bytes, valoper, match="expected aivm, got aivmvaloper")
    _raises_invalid_address(acc_address_bytes, bech32_encode("cosmos", ADDR20), match="prefix")
    _raises_invalid_address(valoper_address_bytes, acc_address(ADDR20), match="prefix")
    assert not is_valid_acc_address(valoper)
    assert bech32_decode(valoper) == ADDR20  # no expected prefix: any accepted


def test_bad_checksum_rejected() -> None:
    addr = acc_address(ADDR20)
    flipped = addr[:-1] + ("q" if addr[-1] != "q" else "p")
    _raises_invalid_address(acc_address_bytes, flipped, match="checksum")
    assert not is_valid_acc_address(flipped)


def test_mixed_case_rejected_uppercase_accepted() -> None:
    addr = acc_address(ADDR20)
    mixed = addr[:5] + addr[5:].upper()
    _raises_invalid_address(acc_address_bytes, mixed, match="mixed-case")
    assert acc_address_bytes(addr.upper()) == ADDR20


@pytest.mark.parametrize("length", [0, 1, 19, 21, 31, 33])
def test_wrong_length_rejected(length: int) -> None:
    encoded = bech32_encode("aivm", b"\x01" * length)
    _raises_invalid_address(acc_address_bytes, encoded, match="length")
    assert bech32_decode_raw(encoded) == ("aivm", b"\x01" * length)
    with pytest.raises(AivmError):
        acc_address(b"\x01" * length)


@pytest.mark.parametrize(
    "bad", ["", "aivm", "aivm1", "notanaddress", "aivm1" + "q" * 100, "aivm 1x"]
)
def test_garbage_rejected(bad: str) -> None:
    _raises_invalid_address(acc_address_bytes, bad)
    assert not is_valid_acc_address(bad)


def test_bech32m_checksum_rejected() -> None:
    words = bech32.convertbits(ADDR20, 8, 5, True)
    assert words is not None
    # bech32m constant 0x2bc830a3 instead of 1
    polymod = bech32.bech32_polymod(bech32.bech32_hrp_expand("aivm") + words + [0] * 6) ^ 0x2BC830A3
    checksum = [(polymod >> 5 * (5 - i)) & 31 for i in range(6)]
    bech32m = "aivm1" + "".join(bech32.CHARSET[d] for d in words + checksum)
    _raises_invalid_address(acc_address_bytes, bech32m)


def test_is_valid_acc_address_non_str() -> None:
    assert not is_valid_acc_address(None)
    assert not is_valid_acc_address(ADDR20)


# Module account addresses of the Cosmos SDK (authtypes.NewModuleAddress), as seen on the Hub.
@pytest.mark.parametrize(
    ("name", "cosmos_address"),
    [
        ("fee_collector", "cosmos17xpfvakm2amg962yls6f84z3kell8c5lserqta"),
        ("distribution", "cosmos1jv65s3grqf6v6jl3dp4t6c9t9rk99cd88lyufl"),
        ("bonded_tokens_pool", "cosmos1fl48vsnmsdzcv85q5d2q4z5ajdha8yu34mf0eh"),
        ("not_bonded_tokens_pool", "cosmos1tygms3xhhs3yv487phx3dw4a95jn7t7lpm470r"),
        ("gov", "cosmos10d07y265gmmuvt4z0w9aw880jnsr700j6zn9kn"),
        ("mint", "cosmos1m3h30wlvsf8llruxtpukdvsy0km2kum8g38c8q"),
    ],
)
def test_module_address_vectors(name: str, cosmos_address: str) -> None:
    addr = module_address(name)
    assert len(addr) == 20
    assert bech32_encode("cosmos", addr) == cosmos_address
    assert bech32_decode(cosmos_address, "cosmos") == addr
