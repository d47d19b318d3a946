"""Account: the state auth keeps per address, and its protobuf (Any) encoding."""

from __future__ import annotations

from dataclasses import dataclass, replace

from aivm.crypto.keys import SECP256K1_PUBKEY_TYPE_URL
from aivm.modules.addr import addr_bytes, addr_str
from aivm.types import pb

BASE_ACCOUNT_TYPE_URL = pb.type_url(pb.auth.BaseAccount)
MODULE_ACCOUNT_TYPE_URL = pb.type_url(pb.auth.ModuleAccount)


@dataclass(frozen=True, slots=True)
class Account:
    """A base account, or a module account when ``module_name`` is set."""

    address: bytes
    """20-byte account address."""
    account_number: int
    """Unique number assigned when the account was created; part of every SignDoc."""
    sequence: int = 0
    """Number of transactions this account has signed; replay protection."""
    pub_key: bytes | None = None
    """33-byte compressed secp256k1 key, recorded the first time the account signs."""
    module_name: str = ""
    """Name of the module that owns the account; empty for user accounts."""
    permissions: tuple[str, ...] = ()
    """Module account permissions (``minter``, ``burner``, …)."""

    @property
    def is_module(self) -> bool:
        """True for module accounts."""
        return bool(self.module_name)

    def with_sequence(self, sequence: int) -> Account:
        """Copy with a new sequence."""
        return replace(self, sequence=sequence)

    def with_pub_key(self, pub_key: bytes) -> Account:
        """Copy with the public key set."""
        return replace(self, pub_key=pub_key)

    def base_proto(self) -> pb.auth.BaseAccount:
        """The ``BaseAccount`` protobuf of this account."""
        base = pb.auth.BaseAccount(
            address=addr_str(self.address),
            account_number=self.account_number,
            sequence=self.sequence,
        )
        if self.pub_key is not None:
            base.pub_key.CopyFrom(
                pb.AnyProto(
                    type_url=SECP256K1_PUBKEY_TYPE_URL,
                    value=pb.secp256k1.PubKey(key=self.pub_key).SerializeToString(),
                )
            )
        return base

    def to_any(self) -> pb.AnyProto:
        """Pack as ``Any`` (BaseAccount or ModuleAccount), as queries return it."""
        if not self.is_module:
            return pb.pack_any(self.base_proto())
        module = pb.auth.ModuleAccount(name=self.module_name, permissions=list(self.permissions))
        module.base_account.CopyFrom(self.base_proto())
        return pb.pack_any(module)

    def encode(self) -> bytes:
        """Store encoding: the serialized ``Any``."""
        return bytes(self.to_any().SerializeToString())

    @classmethod
    def decode(cls, raw: bytes) -> Account:
        """Inverse of :meth:`encode`."""
        return cls.from_any(pb.AnyProto.FromString(raw))

    @classmethod
    def from_any(cls, value: pb.AnyProto) -> Account:
        """From a packed BaseAccount or ModuleAccount; raises ValueError for other types."""
        if value.type_url == BASE_ACCOUNT_TYPE_URL:
            return cls._from_base(pb.auth.BaseAccount.FromString(value.value))
        if value.type_url == MODULE_ACCOUNT_TYPE_URL:
            module = pb.auth.ModuleAccount.FromString(value.value)
            base = cls._from_base(module.base_account)
            return replace(base, module_name=module.name, permissions=tuple(module.permissions))
        raise ValueError(f"unsupported account type {value.type_url}")

    @classmethod
    def _from_base(cls, base: pb.auth.BaseAccount) -> Account:
        pub_key = None
        if base.HasField("pub_key"):
            if base.pub_key.type_url != SECP256K1_PUBKEY_TYPE_URL:
                raise ValueError(f"unsupported public key type {base.pub_key.type_url}")
            pub_key = bytes(pb.secp256k1.PubKey.FromString(base.pub_key.value).key)
        return cls(
            address=addr_bytes(base.address),
            account_number=base.account_number,
            sequence=base.sequence,
            pub_key=pub_key,
        )
