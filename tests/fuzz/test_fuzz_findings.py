"""Regression tests for what the fuzzer found, each input rebuilt by hand in its smallest form
and run through the same targets and oracles (docs/fuzzing.md)."""

from __future__ import annotations

import pytest
from fuzz_runner import describe_failures, make_target, run_input
from fuzz_targets import FuzzInput, FuzzWorld

from aivm.ai import runtime
from aivm.ai.runtime.model import InputSpec, Model, Requantize, int_array
from aivm.app.application import STORE_QUERY_PREFIXES
from aivm.sim import fuzz
from aivm.store import prefix_end
from aivm.types import pb
from aivm.types.address import acc_address
from aivm.types.protogen import ai_pb2
from harness import DENOM


def send(world: FuzzWorld) -> pb.bank_tx.MsgSend:
    """A valid MsgSend of 1ucgpt between the first two fuzz accounts."""
    sender, recipient = list(world.accounts)[:2]
    return pb.bank_tx.MsgSend(
        from_address=acc_address(sender),
        to_address=acc_address(recipient),
        amount=[pb.coin.Coin(denom=DENOM, amount="1")],
    )


def signed(world: FuzzWorld, body: bytes, gas_limit: int = 200_000) -> bytes:
    """``body`` signed correctly by the first fuzz account (fee 2000ucgpt)."""
    account = next(iter(world.accounts.values()))
    auth = pb.tx.AuthInfo()
    info = auth.signer_infos.add(sequence=account.sequence)
    info.public_key.CopyFrom(fuzz.pub_key_any(account.key))
    info.mode_info.single.mode = pb.signing.SIGN_MODE_DIRECT
    auth.fee.gas_limit = gas_limit
    auth.fee.amount.add(denom=DENOM, amount="2000")
    auth_bytes = auth.SerializeToString()
    doc = fuzz.sign_doc(body, auth_bytes, world.app.chain_id, account.number)
    signature = account.key.sign(doc)
    raw = pb.tx.TxRaw(body_bytes=body, auth_info_bytes=auth_bytes, signatures=[signature])
    return bytes(raw.SerializeToString())


def assert_passes(world: FuzzWorld, target: str, item: FuzzInput) -> None:
    """Every oracle of ``target`` passes on ``item``."""
    outcome = run_input(world, make_target(world, target), item)
    assert outcome.failure is None, describe_failures([outcome.failure])


@pytest.mark.parametrize("target", ["decode", "check", "simulate", "finalize"])
def test_unknown_field_inside_a_message_any_is_rejected(world: FuzzWorld, target: str) -> None:
    """The SDK rejects unknown fields at every level, the ``Any`` wrapper included: here field
    3 (varint 1) after ``type_url`` and ``value`` of the tx's message. (Found by the fuzzer:
    decode_tx checked the packed message but not the Any's own fields.)"""
    wrapped = pb.pack_any(send(world)).SerializeToString() + fuzz.encode_varint(3 << 3) + b"\x01"
    body = fuzz.encode_wire([fuzz.WireField(1, fuzz.LEN, wrapped)])
    raw = signed(world, body)
    reason = "unknown field 3 in google.protobuf.Any"
    data = fuzz_simulate_request(raw) if target == "simulate" else raw
    assert_passes(world, target, FuzzInput(data, decode_reject=reason))


@pytest.mark.parametrize("gas_limit", [2**63, 2**64 - 1])
@pytest.mark.parametrize("target", ["check", "finalize", "block"])
def test_gas_limit_beyond_int64_is_a_coded_rejection(
    world: FuzzWorld, target: str, gas_limit: int
) -> None:
    """A signed tx asking for ≥ 2^63 gas (Fee.gas_limit is uint64; ABCI gas_wanted is int64)
    must be refused with a code, never raise out of CheckTx or FinalizeBlock. (Found by the
    fuzzer: ResponseCheckTx / ExecTxResult(gas_wanted=…) raised ValueError; CheckTx raising
    makes the ABCI server answer ResponseException, which stops CometBFT.)"""
    body = pb.tx.TxBody(messages=[pb.pack_any(send(world))]).SerializeToString()
    raw = signed(world, body, gas_limit)
    data = pb.abci.RequestFinalizeBlock(txs=[raw]).SerializeToString() if target == "block" else raw
    assert_passes(world, target, FuzzInput(data))


def test_models_query_with_a_long_tag_is_a_coded_error(world: FuzzWorld) -> None:
    """A tag of 256 bytes or more in ``/aivm.ai.v1.Query/Models`` (the store key prefixes the
    tag with one length byte). (Found by the fuzzer: ValueError → ErrInternal.)"""
    request = ai_pb2.QueryModelsRequest(tag="a" * 256)
    query = pb.abci.RequestQuery(path="/aivm.ai.v1.Query/Models", data=request.SerializeToString())
    assert_passes(world, "query", FuzzInput(query.SerializeToString()))


def test_requantize_zero_point_overflow_is_refused_or_exact(world: FuzzWorld) -> None:
    """Requantize adds its zero point before clamping: x - 2^63 overflows int64 for x = -1,
    wraps to 2^63 - 1 and clamps to 127 where exact arithmetic gives -128. The analysis must
    refuse the model (or the interpreter compute exactly). (Found by the fuzzer's exact-integer
    oracle; refused since by the analysis' pre-clamp bound.)"""
    spec = InputSpec(1, -1, 0, (1,), (1,), (0,))
    op = Requantize((0,), int_array([1]), int_array([0]), -(2**63), -128, 127)
    artifact = runtime.serialize(Model(spec, (op,)))
    assert_passes(world, "artifact", FuzzInput(artifact))


def test_every_proven_store_read_verifies(world: FuzzWorld) -> None:
    """Each committed key, and absent keys next to them, read with ``prove``: the ICS-23 proof
    verifies against the app hash. (Found by the fuzzer: the ai module's owner and tag index
    entries hold empty values, which ICS-23 cannot prove ("leaf op needs value"), so their
    reads and the absence proofs of about one random key in six — those whose tree neighbour
    is such an entry — do not verify.)"""
    app = world.app
    view = app.store.view_at(app.store.version)
    reads = []
    for name, prefix in STORE_QUERY_PREFIXES.items():
        for key, _ in view.iterate(prefix, prefix_end(prefix)):
            suffix = key[len(prefix) :]
            reads += [(name, suffix), (name, suffix + b"\x00"), (name, suffix[:-1])]
    for name, suffix in reads:
        query = pb.abci.RequestQuery(path=f"/store/{name}/key", data=suffix, prove=True)
        assert_passes(world, "query", FuzzInput(query.SerializeToString()))


def fuzz_simulate_request(raw: bytes) -> bytes:
    """The Simulate target's input for tx bytes ``raw``."""
    return bytes(pb.tx_service.SimulateRequest(tx_bytes=raw).SerializeToString())
