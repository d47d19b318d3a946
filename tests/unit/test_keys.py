"""secp256k1 keys: addresses, deterministic low-S signatures, strict verification;
cross-checked both ways against cosmpy / python-ecdsa (an independent implementation)."""

from __future__ import annotations

import copy
import hashlib
import pickle

import ecdsa
import pytest
from cosmpy.crypto.address import Address as CosmpyAddress
from cosmpy.crypto.keypairs import PrivateKey as CosmpyPrivateKey
from cosmpy.crypto.keypairs import PublicKey as CosmpyPublicKey
from ecdsa.util import sigencode_string
from hypothesis import given
from hypothesis import strategies as st

from aivm.crypto.hashing import ripemd160, sha256
from aivm.crypto.keys import (
    SECP256K1_N,
    SECP256K1_PUBKEY_TYPE_URL,
    PrivKey,
    PubKey,
    verify_secp256k1,
)
from aivm.types.address import acc_address
from aivm.types.errors import AivmError, ErrInvalidPubKey

HALF_N = SECP256K1_N // 2
KEY = PrivKey.from_bytes(sha256(b"aivm-keys-test"))
MSG = b"sign doc bytes"

_secrets = st.integers(min_value=1, max_value=SECP256K1_N - 1).map(lambda k: k.to_bytes(32, "big"))


def _high_s(sig: bytes) -> bytes:
    s = int.from_bytes(sig[32:], "big")
    return sig[:32] + (SECP256K1_N - s).to_bytes(32, "big")


def test_constants_and_hashes() -> None:
    assert SECP256K1_PUBKEY_TYPE_URL == "/cosmos.crypto.secp256k1.PubKey"
    assert sha256(b"").hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert ripemd160(b"").hex() == "9c1185a5c5e9fc54612808977ee8f548b2258d31"
    assert ripemd160(b"abc").hex() == "8eb208f7e05d987a9b044a8e98c6b087f15a0bfc"


def test_privkey_basics() -> None:
    assert len(KEY.bytes) == 32
    assert PrivKey.from_bytes(KEY.bytes) == KEY
    assert len(KEY.pubkey.bytes) == 33 and KEY.pubkey.bytes[0] in (2, 3)
    assert KEY.bytes.hex() not in repr(KEY)
    assert PrivKey.generate() != PrivKey.generate()
    for bad in (b"", b"\x01" * 31, b"\x01" * 33, b"\x00" * 32, SECP256K1_N.to_bytes(32, "big")):
        with pytest.raises(ValueError):
            PrivKey.from_bytes(bad)


@given(_secrets)
def test_pubkey_and_address_match_cosmpy(secret: bytes) -> None:
    ours = PrivKey.from_bytes(secret)
    theirs = CosmpyPrivateKey(secret)
    assert ours.pubkey.bytes == theirs.public_key.public_key_bytes
    assert acc_address(ours.pubkey.address()) == str(CosmpyAddress(theirs.public_key, "aivm"))
    assert ours.pubkey.address() == ripemd160(sha256(ours.pubkey.bytes))


@given(_secrets, st.binary(max_size=200))
def test_signatures_identical_to_cosmpy_and_cross_verify(secret: bytes, msg: bytes) -> None:
    ours = PrivKey.from_bytes(secret)
    theirs = CosmpyPrivateKey(secret)
    sig = ours.sign(msg)
    assert len(sig) == 64 and int.from_bytes(sig[32:], "big") <= HALF_N
    # both are RFC 6979 deterministic and low-S canonical: byte-identical
    assert sig == theirs.sign(msg)
    assert CosmpyPublicKey(ours.pubkey.bytes).verify(msg, sig)
    assert verify_secp256k1(ours.pubkey.bytes, msg, theirs.sign(msg))
    assert ours.pubkey.verify(msg, sig)


def test_ecdsa_signatures_verify_and_high_s_is_rejected() -> None:
    sk = ecdsa.SigningKey.from_string(KEY.bytes, curve=ecdsa.SECP256k1, hashfunc=hashlib.sha256)
    low_seen = high_seen = False
    for k in range(1, 33):  # explicit nonces: both low-S and high-S signatures come out
        sig = sk.sign(MSG, k=k, sigencode=sigencode_string)
        assert sk.get_verifying_key().verify(sig, MSG)
        if int.from_bytes(sig[32:], "big") > HALF_N:
            high_seen = True
            assert not verify_secp256k1(KEY.pubkey.bytes, MSG, sig)
            assert verify_secp256k1(KEY.pubkey.bytes, MSG, _high_s(sig))
        else:
            low_seen = True
            assert verify_secp256k1(KEY.pubkey.bytes, MSG, sig)
    assert low_seen and high_seen


def test_high_s_rejected() -> None:
    sig = KEY.sign(MSG)
    high = _high_s(sig)
    # the high-S form is mathematically valid (python-ecdsa accepts it) ...
    vk = ecdsa.VerifyingKey.from_string(KEY.pubkey.bytes, ecdsa.SECP256k1, hashlib.sha256)
    assert vk.verify(high, MSG)
    # ... but Cosmos rejects it
    assert not verify_secp256k1(KEY.pubkey.bytes, MSG, high)
    assert not KEY.pubkey.verify(MSG, high)


def test_s_exactly_half_n_boundary() -> None:
    # s == n//2 passes the low-S check (then fails the curve check); s == n//2 + 1 does not.
    r = KEY.sign(MSG)[:32]
    assert not verify_secp256k1(KEY.pubkey.bytes, MSG, r + HALF_N.to_bytes(32, "big"))
    assert not verify_secp256k1(KEY.pubkey.bytes, MSG, r + (HALF_N + 1).to_bytes(32, "big"))


def test_tampered_inputs_rejected() -> None:
    sig = KEY.sign(MSG)
    pub = KEY.pubkey.bytes
    assert verify_secp256k1(pub, MSG, sig)
    assert not verify_secp256k1(pub, MSG + b"x", sig)
    assert not verify_secp256k1(pub, b"", sig)
    assert not verify_secp256k1(pub, MSG, bytes([sig[0] ^ 1]) + sig[1:])
    assert not verify_secp256k1(pub, MSG, sig[:40] + bytes([sig[40] ^ 1]) + sig[41:])
    other = PrivKey.from_bytes(sha256(b"other")).pubkey.bytes
    assert not verify_secp256k1(other, MSG, sig)


@pytest.mark.parametrize("length", [0, 63, 65, 70, 72])
def test_wrong_signature_length_rejected(length: int) -> None:
    sig = KEY.sign(MSG)
    bad = (sig + b"\x01" * 16)[:length]
    assert not verify_secp256k1(KEY.pubkey.bytes, MSG, bad)
    assert not KEY.pubkey.verify(MSG, bad)


def test_der_signature_rejected() -> None:
    sk = ecdsa.SigningKey.from_string(KEY.bytes, curve=ecdsa.SECP256k1, hashfunc=hashlib.sha256)
    der = sk.sign_deterministic(MSG, sigencode=ecdsa.util.sigencode_der_canonize)
    assert not verify_secp256k1(KEY.pubkey.bytes, MSG, der)


def test_out_of_range_r_s_rejected() -> None:
    n = SECP256K1_N.to_bytes(32, "big")
    zero = bytes(32)
    sig = KEY.sign(MSG)
    for bad in (
        zero + zero,
        sig[:32] + zero,
        zero + sig[32:],
        n + sig[32:],
        b"\xff" * 32 + sig[32:],
    ):
        assert not verify_secp256k1(KEY.pubkey.bytes, MSG, bad)


def test_malformed_inputs_never_raise() -> None:
    sig = KEY.sign(MSG)
    uncompressed = ecdsa.VerifyingKey.from_string(KEY.pubkey.bytes, ecdsa.SECP256k1).to_string(
        "uncompressed"
    )
    for pub in (
        b"",
        b"\x02" * 33,
        b"\x05" + KEY.pubkey.bytes[1:],
        uncompressed,
        KEY.pubkey.bytes[:32],
    ):
        assert not verify_secp256k1(pub, MSG, sig)
    assert not verify_secp256k1(None, MSG, sig)  # type: ignore[arg-type]
    assert not verify_secp256k1(KEY.pubkey.bytes, None, sig)  # type: ignore[arg-type]
    assert not verify_secp256k1(KEY.pubkey.bytes, MSG, None)  # type: ignore[arg-type]
    assert verify_secp256k1(bytearray(KEY.pubkey.bytes), MSG, bytearray(sig))  # type: ignore[arg-type]


def test_pubkey_validation() -> None:
    assert PubKey.from_bytes(KEY.pubkey.bytes) == KEY.pubkey
    assert hash(PubKey(KEY.pubkey.bytes)) == hash(KEY.pubkey)
    # x = 5 has no point on secp256k1 (x^3 + 7 = 132 is not a square mod p)
    not_on_curve = b"\x02" + (5).to_bytes(32, "big")
    uncompressed = b"\x04" + bytes(64)
    for bad in (
        b"",
        KEY.pubkey.bytes[:32],
        KEY.pubkey.bytes + b"\x00",
        not_on_curve,
        b"\x04" + KEY.pubkey.bytes[1:],
        uncompressed,
        b"\x02" + b"\xff" * 32,
    ):
        with pytest.raises(AivmError) as exc:
            PubKey.from_bytes(bad)
        assert ErrInvalidPubKey.is_(exc.value)
        assert (exc.value.codespace, exc.value.code) == ("sdk", 8)
    with pytest.raises(AivmError):
        PubKey.from_bytes("02" * 33)  # type: ignore[arg-type]


def test_keys_are_immutable_and_copyable() -> None:
    assert copy.deepcopy(KEY) == KEY == pickle.loads(pickle.dumps(KEY))
    assert copy.deepcopy(KEY.pubkey) == KEY.pubkey
    with pytest.raises(AttributeError):
        KEY.pubkey._key = b""
    with pytest.raises(AttributeError):
        KEY._pubkey = KEY.pubkey
