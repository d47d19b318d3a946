"""The fuzz generators themselves: the wire codec, the expectations they attach to inputs,
and that every message and query type the router knows is generated."""

from __future__ import annotations

import random

import pytest
from fuzz_targets import FuzzWorld
from google.protobuf.unknown_fields import UnknownFieldSet
from hypothesis import given, settings
from hypothesis import strategies as st

from aivm.ai import runtime
from aivm.crypto.keys import verify_secp256k1
from aivm.sim import fuzz
from aivm.types import pb
from aivm.types.errors import AivmError


@settings(max_examples=200, deadline=None)
@given(rng=st.randoms(use_true_random=False))
def test_wire_codec_round_trips_generated_messages(world: FuzzWorld, rng: random.Random) -> None:
    message_class = rng.choice(sorted(world.vocab.message_types.values(), key=str))
    data = world.generator.message(rng, message_class).SerializeToString()
    fields = fuzz.parse_wire(data)
    assert fields is not None
    assert fuzz.encode_wire(fields) == data


def test_varints_and_malformed_wire_data() -> None:
    assert fuzz.encode_varint(300) == b"\xac\x02"
    assert fuzz.encode_varint(5, padding=2) == b"\x85\x80\x00"
    assert fuzz.read_varint(fuzz.encode_varint(2**64 - 1), 0) == (2**64 - 1, 10)
    assert fuzz.encode_varint(-1) == fuzz.encode_varint(2**64 - 1)
    for bad in (b"\x0a\x05ab", b"\x80", b"\x07\x01", b"\x00\x01", b"\x0c", b"\x80" * 11):
        assert fuzz.parse_wire(bad) is None, bad
    group = b"\x0b\x08\x01\x0c"  # field 1 start group, field 1 varint 1, end group
    parsed = fuzz.parse_wire(group)
    assert parsed is not None and parsed[0].wire_type == fuzz.SGROUP
    assert fuzz.encode_wire(parsed) == group


def test_every_router_message_and_query_is_generated(world: FuzzWorld) -> None:
    rng = random.Random(1)
    router = world.app.router
    for route in router.msgs.values():
        assert route.message_class in world.txs.classes
        world.generator.message(rng, route.message_class).SerializeToString()
    assert set(world.queries.paths) == set(router.queries)
    paths = {world.queries.query(rng, 5).path for _ in range(3000)}
    assert set(router.queries) <= paths


@pytest.mark.parametrize("strict", [True, False])
def test_mutations_marked_for_rejection_break_the_encoding(strict: bool) -> None:
    """Whatever the mutator says must be rejected is malformed, or has a field the
    descriptor does not define (critical, or any when strict) or a wrong wire type."""
    rng = random.Random(7)
    mutator = fuzz.WireMutator(lambda url: None)
    fee = pb.tx.Fee(amount=[pb.coin.Coin(denom="ucgpt", amount="5")], gas_limit=9)
    data = fee.SerializeToString()
    marked = 0
    for _ in range(3000):
        mutated = mutator.mutate(rng, data, pb.tx.Fee.DESCRIPTOR, strict=strict)
        if not mutated.reject:
            continue
        marked += 1
        if mutated.reject in ("truncated", "length past the end", "invalid tag"):
            with pytest.raises(pb.DecodeError):
                pb.tx.Fee.FromString(mutated.data)
            continue
        try:
            parsed = pb.tx.Fee.FromString(mutated.data)
        except pb.DecodeError:
            continue
        unknown = _unknown_anywhere(parsed)
        assert unknown, (mutated.reject, mutated.data.hex())
        if not strict:
            assert any(n & fuzz.NON_CRITICAL_BIT == 0 for n in unknown), mutated.reject
    assert marked > 300


def _unknown_anywhere(message: pb.Message) -> list[int]:
    numbers = [f.field_number for f in UnknownFieldSet(message)]
    for descriptor, value in message.ListFields():
        if descriptor.message_type is None:
            continue
        items = value if descriptor.label == descriptor.LABEL_REPEATED else [value]
        for item in items:
            numbers += _unknown_anywhere(item)
    return numbers


def test_high_s_twin_does_not_verify(world: FuzzWorld) -> None:
    account = next(iter(world.accounts.values()))
    message = b"sign me"
    signature = account.key.sign(message)
    pub = account.key.pubkey.bytes
    assert verify_secp256k1(pub, message, signature)
    assert not verify_secp256k1(pub, message, fuzz.high_s(signature))


def test_generated_txs_carry_their_expectations(world: FuzzWorld) -> None:
    rng = random.Random(3)
    txs = [world.txs.tx(rng) for _ in range(2000)]
    assert sum(bool(t.decode_reject) for t in txs) > 100
    assert sum(bool(t.ante_reject) for t in txs) > 100
    assert any("non-canonical TxRaw" in t.decode_reject for t in txs)
    assert any("high-S" in t.ante_reject for t in txs)
    clean = [t for t in txs if not t.must_reject]
    assert len(clean) > 600


def test_artifact_factory_makes_loadable_models_and_mutants() -> None:
    rng = random.Random(5)
    factory = fuzz.ArtifactFactory()
    for _ in range(200):
        runtime.load(factory.valid(rng), runtime.Limits())
    outcomes = set()
    for _ in range(500):
        try:
            runtime.load(factory.artifact(rng), runtime.Limits())
            outcomes.add("ok")
        except AivmError as error:  # the codes are checked by the artifact target
            outcomes.add(error.codespace)
    assert "ok" in outcomes and len(outcomes) > 1


def test_deeply_nested_groups_are_refused_not_a_recursion_error() -> None:
    """A mutated input of thousands of nested start-group tags (the long CI sample found one)
    is not wire data the fuzzer parses; it must not exhaust the stack."""
    depth = 5000
    opens = fuzz.encode_varint((1 << 3) | fuzz.SGROUP) * depth
    closes = fuzz.encode_varint((1 << 3) | fuzz.EGROUP) * depth
    assert fuzz.parse_wire(opens + closes) is None
    shallow = fuzz.encode_varint((1 << 3) | fuzz.SGROUP) * 3 + closes[:3]
    assert fuzz.parse_wire(shallow) is not None
