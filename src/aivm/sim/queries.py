"""Random queries for the warm app: every registered gRPC query route, with plausible fields.

A request's fields are filled by name and type: addresses from the simulated accounts, the
native denom, small ids and versions, a small page. Queries change nothing a block computes;
the differential replay checks exactly that (the cold and restored replicas never see them).
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence

from google.protobuf.descriptor import FieldDescriptor

from aivm.modules.addr import addr_str
from aivm.modules.framework import QueryRoute
from aivm.types import pb
from aivm.types.coin import BOND_DENOM

ADDRESS_FIELDS = ("address", "owner", "caller", "challenger", "responder", "new_owner")


def random_query(
    rng: random.Random, routes: Mapping[str, QueryRoute], accounts: Sequence[bytes]
) -> tuple[str, bytes]:
    """(gRPC path, encoded request) of a random registered query."""
    path = rng.choice(sorted(routes))
    request = routes[path].request_class()
    fill_fields(rng, request, accounts)
    return path, bytes(request.SerializeToString())


def fill_fields(rng: random.Random, message: pb.Message, accounts: Sequence[bytes]) -> None:
    """Set each scalar field of ``message`` to a plausible random value (a page for pages)."""
    for field in message.DESCRIPTOR.fields:
        if field.label == FieldDescriptor.LABEL_REPEATED:
            continue
        if field.type == FieldDescriptor.TYPE_MESSAGE:
            if field.message_type.full_name == "cosmos.base.query.v1beta1.PageRequest":
                page = getattr(message, field.name)
                page.limit = rng.randrange(0, 4)
                page.count_total = bool(rng.randrange(0, 2))
            continue
        value = _scalar(rng, field, accounts)
        if value is not None:
            setattr(message, field.name, value)


def _scalar(
    rng: random.Random, field: FieldDescriptor, accounts: Sequence[bytes]
) -> str | int | bool | None:
    if field.type == FieldDescriptor.TYPE_STRING:
        if any(field.name.endswith(name) for name in ADDRESS_FIELDS):
            return addr_str(rng.choice(accounts))
        if field.name == "denom":
            return BOND_DENOM
        if field.name == "version":
            return rng.choice(["", "1.0.0", "1.1.1"])
        return None
    if field.type in (FieldDescriptor.TYPE_UINT64, FieldDescriptor.TYPE_INT64):
        return rng.randrange(0, 6)
    if field.type == FieldDescriptor.TYPE_BOOL:
        return bool(rng.randrange(0, 2))
    return None
