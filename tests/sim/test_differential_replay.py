"""Differential replay: every block of the test harness also runs on a cold app and on apps
restored from state-sync snapshots, and any difference from the warm app fails the test."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from aivm.ai import runtime
from aivm.ai.runtime.model import Dense, InputSpec, Model, Threshold, int_array
from aivm.app.application import SIMULATE_PATH, AivmApp
from aivm.crypto.cid import cid_of
from aivm.modules.addr import addr_bytes
from aivm.modules.framework import BlockHeader, ExecMode
from aivm.sim.differential import Divergence, clear_memo_caches, describe_difference
from aivm.store import CacheStore
from aivm.types import coin_proto, pb
from aivm.types.address import acc_address
from aivm.types.errors import ErrorCode
from aivm.types.protogen import ai_pb2
from harness import Chain, make_key

ALICE, BOB = make_key(1), make_key(2)
A, B = ALICE.pubkey.address(), BOB.pubkey.address()


@pytest.fixture
def chain(tmp_path: Path) -> Chain:
    c = Chain.start(tmp_path / "data", {A: 10**12, B: 10**12}, with_accounts=True)
    c.block([])
    return c


def scorer() -> bytes:
    spec = InputSpec(3, -1000, 1000, (1, 1, 1), (1, 1, 1), (0, 0, 0))
    ops = (Dense((0,), int_array([[2, -1, 3]], 2), int_array([0])), Threshold((1,), 100))
    return runtime.serialize(Model(spec, ops, name="scorer"))


def register(owner: str, artifact: bytes) -> ai_pb2.MsgRegisterModel:
    return ai_pb2.MsgRegisterModel(
        owner=owner,
        name="scorer",
        version="1.0.0",
        artifact_cid=cid_of(artifact),
        artifact_sha256=hashlib.sha256(artifact).digest(),
        format=runtime.FORMAT,
        execution_path="onchain",
        artifact=artifact,
    )


def test_blocks_run_on_cold_and_restored_replicas(chain: Chain) -> None:
    for _ in range(3):
        assert chain.block([chain.send_tx(ALICE, B, 5)]).tx_results[0].code == 0
    replay = chain.replay
    assert replay is not None and replay.blocks == 4
    assert replay.restores == 2  # after heights 2 and 4
    assert replay.restored is not None and replay.restored.name == "restored@4"
    for replica in replay.shadows():
        assert replica.app.store.last_hash == chain.app.store.last_hash
        assert replica.app.store.version == chain.height


def test_gas_that_depends_on_a_program_cache_is_a_divergence(
    chain: Chain, cache_dependent_gas: None
) -> None:
    """The bug of finding 2: the artifact read was charged only when the cache missed."""
    owner = acc_address(A)
    assert chain.deliver(ALICE, register(owner, scorer())).code == 0  # height 2: restored@2
    infer = ai_pb2.MsgInfer(caller=acc_address(B), model_id=1, input=[1, 2, 3])
    with pytest.raises(Divergence, match=r"restored@2 FinalizeBlock .* gas_used") as info:
        chain.deliver(BOB, infer)
    assert info.value.replica == "restored"


def test_state_leaking_from_simulate_into_the_block_is_a_divergence(
    chain: Chain, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Simulate that writes into the pending block state makes the warm app's hash differ."""

    def leaky_simulate(self: AivmApp, tx_bytes: bytes):  # type: ignore[no-untyped-def]
        branch = CacheStore(self.store.working)
        header = BlockHeader(self.store.version + 1, 0, self.chain_id)
        outcome = self._run_tx(tx_bytes, ExecMode.SIMULATE, branch, header)
        branch.write()
        return outcome, outcome.gas_used

    monkeypatch.setattr(AivmApp, "simulate", leaky_simulate)
    request = pb.tx_service.SimulateRequest(tx_bytes=chain.send_tx(ALICE, B, 7))
    chain.app.query(pb.abci.RequestQuery(path=SIMULATE_PATH, data=request.SerializeToString()))
    with pytest.raises(Divergence, match=r"cold FinalizeBlock .*app hash") as info:
        chain.block([])
    assert info.value.replica == "cold"


def test_the_warm_app_driven_alone_is_reported(chain: Chain) -> None:
    chain.app.finalize_block(pb.abci.RequestFinalizeBlock(height=chain.height + 1))
    chain.app.commit()
    chain.height += 1
    with pytest.raises(RuntimeError, match="driven outside the replay"):
        chain.block([])


def test_a_chain_may_opt_out(tmp_path: Path) -> None:
    single = Chain.start(tmp_path / "one", {A: 1_000}, differential=False)
    single.block([])
    assert single.replay is None
    single.app.store.close()


def test_difference_is_described_by_field() -> None:
    warm = pb.abci.ResponseFinalizeBlock(tx_results=[pb.abci.ExecTxResult(code=0, gas_used=10)])
    cold = pb.abci.ResponseFinalizeBlock(tx_results=[pb.abci.ExecTxResult(code=11, gas_used=10)])
    assert describe_difference(warm, cold).startswith("tx 0 code: 11 (warm: 0")
    hashed = pb.abci.ResponseFinalizeBlock(app_hash=b"\x01")
    assert describe_difference(pb.abci.ResponseFinalizeBlock(), hashed).startswith("app hash 01")


def test_shadows_do_not_share_memoised_results_with_the_warm_app() -> None:
    addr_bytes(acc_address(A))
    assert addr_bytes.cache_info().currsize > 0
    clear_memo_caches()
    assert addr_bytes.cache_info().currsize == 0


def test_a_result_that_depends_on_the_int_digit_limit_is_a_divergence(
    chain: Chain, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The bug of finding 3: amounts parsed with int() depend on the node's Python setting."""

    def any_digits(text: str, max_digits: int, error: ErrorCode, what: str) -> int:
        if not text.isdigit():
            raise error.wrap(f"invalid {what}")
        return int(text)  # the warm app's limit (4300 digits) raises; the cold app's does not

    monkeypatch.setattr(coin_proto, "parse_digits", any_digits)
    raw = chain.send_tx(ALICE, B, 1)
    tx = pb.tx.TxRaw.FromString(raw)
    body = pb.tx.TxBody.FromString(tx.body_bytes)
    send = pb.bank_tx.MsgSend.FromString(body.messages[0].value)
    send.amount[0].amount = "1" * 5000
    body.messages[0].value = send.SerializeToString()
    tx.body_bytes = body.SerializeToString()
    with pytest.raises(
        Divergence, match=r"cold FinalizeBlock differs from warm: tx 0 code"
    ) as info:
        chain.block([tx.SerializeToString()], prepare=False)
    assert info.value.replica == "cold"
