"""secp256k1 keys as Cosmos uses them, backed by libsecp256k1 (coincurve).

* Public keys are 33-byte compressed points; the address is ``ripemd160(sha256(pubkey))``.
* Signatures are 64 bytes ``r || s`` (big-endian) over ``sha256(message)``, and must be low-S
  (``s <= n/2``): the SDK rejects high-S signatures, and so does :func:`verify_secp256k1`.
* Signing is deterministic (RFC 6979), so the same key and message always give the same bytes.

:func:`verify_secp256k1` is the hot-path verifier used by the ante handler: it calls
libsecp256k1 directly and caches parsed public keys.
"""

from __future__ import annotations

import builtins
import hashlib
import hmac
from functools import lru_cache
from typing import Any, Final

from coincurve import PrivateKey as _CoincurvePrivateKey
from coincurve._libsecp256k1 import ffi, lib
from coincurve.context import GLOBAL_CONTEXT

from aivm.crypto.hashing import ripemd160, sha256
from aivm.types.errors import ErrInvalidPubKey

__all__ = [
    "PUBKEY_LENGTH",
    "SECP256K1_N",
    "SECP256K1_PUBKEY_TYPE_URL",
    "SIGNATURE_LENGTH",
    "PrivKey",
    "PubKey",
    "verify_secp256k1",
]

SECP256K1_PUBKEY_TYPE_URL: Final = "/cosmos.crypto.secp256k1.PubKey"
SECP256K1_N: Final = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
"""Order of the secp256k1 group."""
_HALF_N: Final = SECP256K1_N // 2
PUBKEY_LENGTH: Final = 33
SIGNATURE_LENGTH: Final = 64
PRIVKEY_LENGTH: Final = 32

_CTX: Final[Any] = GLOBAL_CONTEXT.ctx
_sha256 = hashlib.sha256


@lru_cache(maxsize=4096)
def _parse_pubkey(pubkey: bytes) -> Any | None:
    """libsecp256k1 handle for a compressed public key, or None when it is not a valid point."""
    if len(pubkey) != PUBKEY_LENGTH or pubkey[0] not in (2, 3):
        return None
    handle = ffi.new("secp256k1_pubkey *")
    if not lib.secp256k1_ec_pubkey_parse(_CTX, handle, pubkey, PUBKEY_LENGTH):
        return None
    return handle


def verify_secp256k1(pubkey33: bytes, msg: bytes, sig64: bytes) -> bool:
    """True iff ``sig64`` is a valid low-S ``r || s`` signature of ``sha256(msg)`` by ``pubkey33``.

    Never raises: any malformed input (wrong lengths, invalid point, r or s out of range,
    high-S, wrong types) gives False.
    """
    try:
        if len(sig64) != SIGNATURE_LENGTH or int.from_bytes(sig64[32:], "big") > _HALF_N:
            return False
        handle = _parse_pubkey(bytes(pubkey33))
        if handle is None:
            return False
        sig = ffi.new("secp256k1_ecdsa_signature *")
        if not lib.secp256k1_ecdsa_signature_parse_compact(_CTX, sig, bytes(sig64)):
            return False
        return lib.secp256k1_ecdsa_verify(_CTX, sig, _sha256(msg).digest(), handle) == 1
    except (TypeError, ValueError):
        return False


class PubKey:
    """A valid compressed secp256k1 public key (33 bytes)."""

    __slots__ = ("_key",)
    _key: builtins.bytes

    def __init__(self, key: builtins.bytes) -> None:
        """Validate ``key`` (33-byte compressed, on the curve); else ``ErrInvalidPubKey``."""
        if not isinstance(key, builtins.bytes | bytearray):
            raise ErrInvalidPubKey.wrap(f"public key must be bytes, got {type(key).__name__}")
        key = builtins.bytes(key)
        if len(key) != PUBKEY_LENGTH:
            raise ErrInvalidPubKey.wrap(
                f"secp256k1 public key must be {PUBKEY_LENGTH} bytes, got {len(key)}"
            )
        if _parse_pubkey(key) is None:
            raise ErrInvalidPubKey.wrap(f"not a compressed secp256k1 point: {key.hex()}")
        object.__setattr__(self, "_key", key)

    @classmethod
    def from_bytes(cls, key: builtins.bytes) -> PubKey:
        """Validate and wrap a 33-byte compressed public key; raises ``ErrInvalidPubKey``."""
        return cls(key)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("PubKey is immutable")

    def address(self) -> builtins.bytes:
        """The 20-byte account address: ``ripemd160(sha256(pubkey))``."""
        return ripemd160(sha256(self._key))

    def verify(self, msg: builtins.bytes, sig: builtins.bytes) -> bool:
        """True iff ``sig`` is a valid low-S 64-byte signature of ``msg``; never raises."""
        return verify_secp256k1(self._key, msg, sig)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PubKey):
            return NotImplemented
        return self._key == other._key

    def __hash__(self) -> int:
        return hash(self._key)

    def __repr__(self) -> str:
        return f"PubKey({self._key.hex()})"

    def __reduce__(self) -> tuple[type[PubKey], tuple[builtins.bytes]]:
        return (PubKey, (self._key,))

    @property
    def bytes(self) -> builtins.bytes:
        """The 33-byte compressed encoding."""
        return self._key


class PrivKey:
    """A secp256k1 private key (32-byte scalar in ``[1, n-1]``); its repr never shows it."""

    __slots__ = ("_key", "_pubkey")
    _key: _CoincurvePrivateKey
    _pubkey: PubKey

    def __init__(self, secret: builtins.bytes) -> None:
        """Wrap a 32-byte secret; raises ValueError when it is not a valid scalar."""
        if not isinstance(secret, builtins.bytes | bytearray) or len(secret) != PRIVKEY_LENGTH:
            raise ValueError(f"secp256k1 private key must be {PRIVKEY_LENGTH} bytes")
        if not 0 < int.from_bytes(secret, "big") < SECP256K1_N:
            raise ValueError("secp256k1 private key is out of range [1, n-1]")
        key = _CoincurvePrivateKey(builtins.bytes(secret))
        object.__setattr__(self, "_key", key)
        object.__setattr__(self, "_pubkey", PubKey(key.public_key.format(compressed=True)))

    @classmethod
    def generate(cls) -> PrivKey:
        """A new random key (from the OS CSPRNG)."""
        return cls(_CoincurvePrivateKey().secret)

    @classmethod
    def from_bytes(cls, secret: builtins.bytes) -> PrivKey:
        """The key with 32-byte big-endian secret ``secret``."""
        return cls(secret)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("PrivKey is immutable")

    @property
    def pubkey(self) -> PubKey:
        """The matching compressed public key."""
        return self._pubkey

    def sign(self, msg: builtins.bytes) -> builtins.bytes:
        """Deterministic (RFC 6979) 64-byte low-S signature ``r || s`` over ``sha256(msg)``."""
        recoverable = self._key.sign_recoverable(msg)
        r, s = recoverable[:32], int.from_bytes(recoverable[32:64], "big")
        if s > _HALF_N:
            s = SECP256K1_N - s
        return r + s.to_bytes(32, "big")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PrivKey):
            return NotImplemented
        return hmac.compare_digest(self._key.secret, other._key.secret)

    def __hash__(self) -> int:
        return hash(self._pubkey)

    def __repr__(self) -> str:
        return f"PrivKey(pubkey={self._pubkey.bytes.hex()})"

    def __reduce__(self) -> tuple[type[PrivKey], tuple[builtins.bytes]]:
        return (PrivKey, (self.bytes,))

    @property
    def bytes(self) -> builtins.bytes:
        """The 32-byte secret."""
        return builtins.bytes(self._key.secret)
