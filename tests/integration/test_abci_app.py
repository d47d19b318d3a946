"""The application driven only through its ABCI methods, with real signed transactions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aivm.app.application import AivmApp, AppOptions
from aivm.app.genesis import GenesisDoc
from aivm.client.tx import Signer, bank_send, sign_tx, unsigned_tx
from aivm.modules.auth.keeper import FEE_COLLECTOR
from aivm.store import AIVM_PROOF_SPEC, CommitStore, verify_membership, verify_non_membership
from aivm.types import pb
from aivm.types.address import acc_address, module_address
from aivm.types.coin import Coin
from aivm.types.dec import Dec
from harness import CHAIN_ID, DENOM, Chain, make_key

ALICE, BOB, CAROL = make_key(1), make_key(2), make_key(3)
A, B, C = (k.pubkey.address() for k in (ALICE, BOB, CAROL))
FEE_COLLECTOR_ADDR = module_address(FEE_COLLECTOR)


@pytest.fixture
def chain(tmp_path):  # type: ignore[no-untyped-def]
    c = Chain.start(tmp_path / "data", {A: 1_000_000, B: 500_000})
    c.block([])
    yield c
    c.app.store.close()


def events_of(result: pb.abci.ExecTxResult, type_: str) -> list[dict[str, str]]:
    return [{a.key: a.value for a in e.attributes} for e in result.events if e.type == type_]


def test_info_reports_committed_height_and_hash(chain: Chain) -> None:
    response = chain.block([])
    info = chain.app.info(pb.abci.RequestInfo())
    assert info.last_block_height == chain.height == 2
    assert info.last_block_app_hash == response.app_hash
    assert len(response.app_hash) == 32


def test_send_moves_coins_charges_fee_and_emits_events(chain: Chain) -> None:
    result = chain.block([chain.send_tx(ALICE, C, 12_345, fee=2000)]).tx_results[0]
    assert result.code == 0, result.log
    assert chain.balance(A) == 1_000_000 - 12_345 - 2000
    assert chain.balance(C) == 12_345
    assert chain.balance(FEE_COLLECTOR_ADDR) == 2000
    assert chain.account(A).sequence == 1
    assert chain.account(C) is not None  # created on receipt
    transfers = events_of(result, "transfer")
    assert {
        "recipient": acc_address(C),
        "sender": acc_address(A),
        "amount": "12345ucgpt",
        "msg_index": "0",
    } in transfers
    assert any(e.get("fee") == "2000ucgpt" for e in events_of(result, "tx"))
    assert any(
        e.get("action") == "/cosmos.bank.v1beta1.MsgSend" for e in events_of(result, "message")
    )
    assert events_of(result, "coin_spent") and events_of(result, "coin_received")
    data = pb.sdk_abci.TxMsgData.FromString(result.data)
    assert [r.type_url for r in data.msg_responses] == ["/cosmos.bank.v1beta1.MsgSendResponse"]
    assert 0 < result.gas_used <= result.gas_wanted == 200_000


def test_failed_message_keeps_fee_and_sequence_only(chain: Chain) -> None:
    result = chain.block([chain.send_tx(BOB, C, 10_000_000, fee=3000)]).tx_results[0]
    assert (result.code, result.codespace) == (5, "sdk")
    assert "insufficient funds" in result.log
    assert chain.balance(B) == 500_000 - 3000
    assert chain.balance(C) == 0
    assert chain.account(B).sequence == 1
    assert events_of(result, "tx"), "ante events survive a failed message"
    assert not events_of(result, "transfer") or all(
        e.get("recipient") != acc_address(C) for e in events_of(result, "transfer")
    )


def test_wrong_sequence_is_rejected_without_state_change(chain: Chain, tmp_path: Path) -> None:
    """The block holding the refused tx ends in the state of an empty block (the blocks
    themselves change state: staking records each header in its historical info)."""
    twin = Chain.start(tmp_path / "twin", {A: 1_000_000, B: 500_000}, differential=False)
    twin.block([])
    result = chain.block([chain.send_tx(ALICE, C, 1, sequence=5)]).tx_results[0]
    assert (result.code, result.codespace) == (32, "sdk")
    assert "account sequence mismatch, expected 0, got 5" in result.log
    assert chain.balance(A) == 1_000_000
    twin.block([])
    assert chain.app.store.last_hash == twin.app.store.last_hash
    twin.app.store.close()


def test_wrong_chain_id_fails_signature_check(chain: Chain) -> None:
    result = chain.block([chain.send_tx(ALICE, C, 1, chain_id="other-chain")]).tx_results[0]
    assert (result.code, result.codespace) == (4, "sdk")
    assert "signature verification failed" in result.log
    assert chain.balance(A) == 1_000_000


def test_tampered_signature_is_rejected(chain: Chain) -> None:
    raw = pb.tx.TxRaw.FromString(chain.send_tx(ALICE, C, 1))
    sig = bytearray(raw.signatures[0])
    sig[5] ^= 1
    raw.signatures[0] = bytes(sig)
    assert chain.check(raw.SerializeToString()).code == 4
    raw.signatures[0] = bytes(sig[:63])
    assert chain.check(raw.SerializeToString()).code == 4


def test_out_of_gas_in_message_is_code_11_and_keeps_fee(chain: Chain) -> None:
    # enough for the ante step (size, signature, fee, sequence), not for the transfer
    result = chain.block([chain.send_tx(ALICE, C, 1, gas=50_000, fee=100)]).tx_results[0]
    assert (result.code, result.codespace) == (11, "sdk")
    assert chain.balance(C) == 0
    assert chain.balance(A) == 1_000_000 - 100
    assert chain.account(A).sequence == 1


def test_out_of_gas_in_ante_charges_nothing(chain: Chain) -> None:
    result = chain.block([chain.send_tx(ALICE, C, 1, gas=100, fee=100)]).tx_results[0]
    assert result.code == 11
    assert chain.balance(A) == 1_000_000
    assert chain.account(A).sequence == 0


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\x00",
        b"\xff" * 40,
        bytes(range(64)),
        pb.tx.TxRaw(body_bytes=b"\x01").SerializeToString(),
    ],
)
def test_malformed_bytes_are_coded_errors(chain: Chain, raw: bytes) -> None:
    assert chain.check(raw).code in (2, 18)
    result = chain.block([])  # the node keeps going
    assert result.app_hash == chain.app.store.last_hash


def test_undecodable_tx_in_block_gets_code_2(chain: Chain) -> None:
    request = pb.abci.RequestFinalizeBlock(txs=[b"garbage"], height=chain.height + 1)
    response = chain.app.finalize_block(request)
    chain.app.commit()
    chain.height += 1
    assert response.tx_results[0].code == 2


def test_unknown_message_type_is_rejected(chain: Chain) -> None:
    body = pb.tx.TxBody(messages=[pb.AnyProto(type_url="/nope.v1.MsgNope", value=b"")])
    raw = pb.tx.TxRaw(body_bytes=body.SerializeToString(), auth_info_bytes=b"", signatures=[])
    response = chain.check(raw.SerializeToString())
    assert (response.code, response.codespace) == (6, "sdk")


def test_check_tx_accepts_consecutive_sequences_until_commit(chain: Chain) -> None:
    txs = [chain.send_tx(ALICE, C, 1, sequence=s) for s in range(3)]
    assert [chain.check(t).code for t in txs] == [0, 0, 0]
    assert chain.check(txs[0]).code == 32  # replay within the same check state
    chain.block(txs)
    assert chain.account(A).sequence == 3
    recheck = chain.app.check_tx(pb.abci.RequestCheckTx(tx=txs[2], type=pb.abci.RECHECK))
    assert recheck.code == 32


def test_min_gas_price_enforced_in_check_tx_only(tmp_path) -> None:  # type: ignore[no-untyped-def]
    options = AppOptions(min_gas_price=Dec.from_str("0.01"))
    chain = Chain.start(tmp_path / "d", {A: 1_000_000}, options)
    chain.block([])
    low = chain.send_tx(ALICE, C, 1, fee=1999, gas=200_000)
    response = chain.check(low)
    assert (response.code, response.codespace) == (13, "sdk")
    assert "required: 2000ucgpt" in response.log
    assert chain.check(chain.send_tx(ALICE, C, 1, fee=2000, gas=200_000)).code == 0
    chain.app.store.close()


def test_fee_in_other_denom_rejected(chain: Chain) -> None:
    raw = sign_tx(
        [bank_send(A, C, [Coin(DENOM, 1)])],
        [Signer(ALICE, 0, 0)],
        CHAIN_ID,
        fee=[Coin("uatom", 10)],
    )
    assert chain.check(raw).code == 13


def test_memo_and_timeout_height_rules(chain: Chain) -> None:
    assert chain.check(chain.send_tx(ALICE, C, 1, memo="x" * 257)).code == 12
    raw = sign_tx(
        [bank_send(A, C, [Coin(DENOM, 1)])],
        [Signer(ALICE, 0, 0)],
        CHAIN_ID,
        fee=[Coin(DENOM, 10)],
        timeout_height=1,
    )
    result = chain.block([raw]).tx_results[0]
    assert (result.code, result.codespace) == (30, "sdk")


def test_multi_signer_tx(chain: Chain) -> None:
    msgs = [bank_send(A, C, [Coin(DENOM, 7)]), bank_send(B, C, [Coin(DENOM, 8)])]
    accounts = {x: chain.account(x) for x in (A, B)}
    signers = [
        Signer(k, accounts[a].account_number, accounts[a].sequence)
        for k, a in ((ALICE, A), (BOB, B))
    ]
    raw = sign_tx(msgs, signers, CHAIN_ID, fee=[Coin(DENOM, 500)])
    result = chain.block([raw]).tx_results[0]
    assert result.code == 0, result.log
    assert chain.balance(C) == 15
    assert chain.balance(A) == 1_000_000 - 7 - 500  # first signer pays the fee
    assert chain.balance(B) == 500_000 - 8
    assert chain.account(A).sequence == chain.account(B).sequence == 1
    # only one of the two signatures: rejected
    raw_tx = pb.tx.TxRaw.FromString(raw)
    del raw_tx.signatures[1]
    assert chain.check(raw_tx.SerializeToString()).code == 4


def test_every_event_of_a_message_carries_its_msg_index(chain: Chain) -> None:
    msgs = [bank_send(A, B, [Coin(DENOM, 7)]), bank_send(A, C, [Coin(DENOM, 8)])]
    raw = sign_tx(msgs, [Signer(ALICE, 0, 0)], CHAIN_ID, fee=[Coin(DENOM, 500)])
    result = chain.block([raw]).tx_results[0]
    assert result.code == 0, result.log
    first_message = next(
        position
        for position, event in enumerate(result.events)
        if event.type == "message" and event.attributes[0].key == "action"
    )
    by_index: dict[str, list[str]] = {}
    for position, event in enumerate(result.events):
        attrs = [(a.key, a.value) for a in event.attributes]
        if position < first_message:  # the ante step's events (fee, tx) belong to no message
            assert all(key != "msg_index" for key, _ in attrs), event.type
            continue
        assert attrs[-1][0] == "msg_index", (event.type, attrs)  # appended last, as the SDK
        assert [key for key, _ in attrs].count("msg_index") == 1
        by_index.setdefault(attrs[-1][1], []).append(event.type)
    assert set(by_index) == {"0", "1"}
    assert by_index["0"][0] == by_index["1"][0] == "message"
    transfers = events_of(result, "transfer")
    paid = [t for t in transfers if t["recipient"] in (acc_address(B), acc_address(C))]
    assert [(t["recipient"], t["msg_index"]) for t in paid] == [
        (acc_address(B), "0"),
        (acc_address(C), "1"),
    ]


def test_multi_send(chain: Chain) -> None:
    msg = pb.bank_tx.MsgMultiSend(
        inputs=[
            pb.bank.Input(address=acc_address(A), coins=[pb.coin.Coin(denom=DENOM, amount="30")])
        ],
        outputs=[
            pb.bank.Output(address=acc_address(B), coins=[pb.coin.Coin(denom=DENOM, amount="10")]),
            pb.bank.Output(address=acc_address(C), coins=[pb.coin.Coin(denom=DENOM, amount="20")]),
        ],
    )
    raw = sign_tx([msg], [Signer(ALICE, 0, 0)], CHAIN_ID, fee=[Coin(DENOM, 10)])
    assert chain.block([raw]).tx_results[0].code == 0
    assert (chain.balance(B), chain.balance(C)) == (500_010, 20)
    msg.outputs[1].coins[0].amount = "21"
    bad = sign_tx([msg], [Signer(ALICE, 0, 1)], CHAIN_ID, fee=[Coin(DENOM, 10)])
    response = chain.check(bad)
    assert (response.code, response.codespace) == (4, "bank")


def test_sending_to_module_account_is_blocked(chain: Chain) -> None:
    result = chain.block([chain.send_tx(ALICE, FEE_COLLECTOR_ADDR, 5)]).tx_results[0]
    assert (result.code, result.codespace) == (4, "sdk")
    assert "not allowed to receive funds" in result.log


def test_simulate_reports_gas_and_changes_nothing(chain: Chain) -> None:
    raw = unsigned_tx([bank_send(A, C, [Coin(DENOM, 5)])], [Signer(ALICE, 0, 0)])
    request = pb.tx_service.SimulateRequest(tx_bytes=raw)
    response, value = chain.query(
        "/cosmos.tx.v1beta1.Service/Simulate", request, pb.tx_service.SimulateResponse
    )
    assert response.code == 0, response.log
    assert value.gas_info.gas_used > 10_000
    assert chain.balance(C) == 0 and chain.account(A).sequence == 0
    # the estimate covers the real signed transaction
    signed = chain.send_tx(ALICE, C, 5, gas=value.gas_info.gas_used)
    assert chain.block([signed]).tx_results[0].code == 0
    # deprecated `tx` field (cosmpy) works too
    tx = pb.tx.Tx()
    raw_tx = pb.tx.TxRaw.FromString(raw)
    tx.body.ParseFromString(raw_tx.body_bytes)
    tx.auth_info.ParseFromString(raw_tx.auth_info_bytes)
    tx.signatures.extend(raw_tx.signatures)
    tx.auth_info.signer_infos[0].sequence = 1
    response, value = chain.query(
        "/cosmos.tx.v1beta1.Service/Simulate",
        pb.tx_service.SimulateRequest(tx=tx),
        pb.tx_service.SimulateResponse,
    )
    assert response.code == 0, response.log


def test_queries_follow_cosmos_conventions(chain: Chain) -> None:
    response, _ = chain.query(
        "/cosmos.auth.v1beta1.Query/Account",
        pb.auth_query.QueryAccountRequest(address=acc_address(C)),
        pb.auth_query.QueryAccountResponse,
    )
    assert (response.code, response.codespace) == (22, "sdk")
    assert f"rpc error: code = NotFound desc = account {acc_address(C)} not found" in response.log
    assert chain.balance(C) == 0
    response, supply = chain.query(
        "/cosmos.bank.v1beta1.Query/TotalSupply",
        pb.bank_query.QueryTotalSupplyRequest(),
        pb.bank_query.QueryTotalSupplyResponse,
    )
    assert response.height == chain.height > 0
    assert [(c.denom, c.amount) for c in supply.supply] == [(DENOM, "1500000")]
    _, supply_of = chain.query(
        "/cosmos.bank.v1beta1.Query/SupplyOf",
        pb.bank_query.QuerySupplyOfRequest(denom=DENOM),
        pb.bank_query.QuerySupplyOfResponse,
    )
    assert supply_of.amount.amount == "1500000"
    _, all_balances = chain.query(
        "/cosmos.bank.v1beta1.Query/AllBalances",
        pb.bank_query.QueryAllBalancesRequest(address=acc_address(A)),
        pb.bank_query.QueryAllBalancesResponse,
    )
    assert [(c.denom, c.amount) for c in all_balances.balances] == [(DENOM, "1000000")]
    _, params = chain.query(
        "/cosmos.auth.v1beta1.Query/Params",
        pb.auth_query.QueryParamsRequest(),
        pb.auth_query.QueryParamsResponse,
    )
    assert params.params.sig_verify_cost_secp256k1 == 10_000  # ADR 0010
    bad, _ = chain.query(
        "/cosmos.bank.v1beta1.Query/Balance",
        pb.bank_query.QueryBalanceRequest(address="aivm1notanaddress", denom=DENOM),
        pb.bank_query.QueryBalanceResponse,
    )
    assert (bad.code, bad.codespace) == (7, "sdk")
    unknown = chain.app.query(pb.abci.RequestQuery(path="/nope.Query/X"))
    assert unknown.code == 6
    garbage = chain.app.query(
        pb.abci.RequestQuery(path="/cosmos.bank.v1beta1.Query/Balance", data=b"\xff\xff")
    )
    assert garbage.code != 0


def test_queries_at_past_heights(chain: Chain) -> None:
    chain.block([chain.send_tx(ALICE, C, 100)])
    past = chain.height
    chain.block([chain.send_tx(ALICE, C, 100)])
    assert chain.balance(C, height=past) == 100
    assert chain.balance(C) == 200
    future = chain.app.query(
        pb.abci.RequestQuery(path="/cosmos.bank.v1beta1.Query/TotalSupply", height=chain.height + 5)
    )
    assert future.code == 26


def test_store_query_proofs_verify_against_app_hash(chain: Chain) -> None:
    chain.block([chain.send_tx(ALICE, C, 100)])
    app_hash = chain.app.store.last_hash
    key = b"\x02\x14" + C + DENOM.encode()
    response = chain.app.query(pb.abci.RequestQuery(path="/store/bank/key", data=key, prove=True))
    assert response.code == 0 and response.value == b"100"
    proof = pb.ics23.CommitmentProof.FromString(response.proof_ops.ops[0].data)
    full_key = b"bank/" + key
    assert verify_membership(AIVM_PROOF_SPEC, app_hash, proof, full_key, b"100")
    assert not verify_membership(AIVM_PROOF_SPEC, app_hash, proof, full_key, b"101")
    missing = b"bank/\x02\x14" + bytes(20) + DENOM.encode()
    response = chain.app.query(
        pb.abci.RequestQuery(path="/store/bank/key", data=missing[5:], prove=True)
    )
    assert response.value == b""
    absent = pb.ics23.CommitmentProof.FromString(response.proof_ops.ops[0].data)
    assert verify_non_membership(AIVM_PROOF_SPEC, app_hash, absent, missing)
    assert not verify_non_membership(AIVM_PROOF_SPEC, app_hash, absent, full_key)


def test_process_proposal_rejects_undecodable_txs(chain: Chain) -> None:
    ok = chain.send_tx(ALICE, C, 1)
    good = chain.app.process_proposal(pb.abci.RequestProcessProposal(txs=[ok]))
    bad = chain.app.process_proposal(pb.abci.RequestProcessProposal(txs=[ok, b"\x01junk"]))
    assert good.status == pb.abci.ResponseProcessProposal.ACCEPT
    assert bad.status == pb.abci.ResponseProcessProposal.REJECT


def test_prepare_proposal_respects_max_bytes(chain: Chain) -> None:
    txs = [chain.send_tx(ALICE, C, 1, sequence=s) for s in range(5)]
    limit = sum(len(t) for t in txs[:3])
    response = chain.app.prepare_proposal(
        pb.abci.RequestPrepareProposal(txs=[b"junk", *txs], max_tx_bytes=limit)
    )
    assert list(response.txs) == txs[:3]


def test_restart_resumes_at_last_commit(tmp_path) -> None:  # type: ignore[no-untyped-def]
    chain = Chain.start(tmp_path / "d", {A: 1_000_000})
    chain.block([])
    chain.block([chain.send_tx(ALICE, C, 10)])
    height, app_hash = chain.height, chain.app.store.last_hash
    chain.app.store.close()
    reopened = AivmApp(CommitStore.open(tmp_path / "d"))
    info = reopened.info(pb.abci.RequestInfo())
    assert (info.last_block_height, info.last_block_app_hash) == (height, app_hash)
    resumed = Chain(app=reopened, path=tmp_path / "d", height=height)
    assert resumed.block([resumed.send_tx(ALICE, C, 10)]).tx_results[0].code == 0
    assert resumed.balance(C) == 20
    reopened.store.close()


def test_genesis_export_and_reimport_give_same_app_hash(chain: Chain, tmp_path) -> None:  # type: ignore[no-untyped-def]
    chain.block([chain.send_tx(ALICE, C, 100), chain.send_tx(BOB, C, 7, fee=0)])
    chain.block([chain.send_tx(CAROL, A, 1, fee=0)])  # Carol now has a public key
    exported = chain.app.export_genesis()
    doc = GenesisDoc.from_json(json.loads(json.dumps(exported.to_json())))
    fresh = AivmApp(CommitStore.open(tmp_path / "reimport"))
    response = fresh.init_chain(doc.init_chain_request())
    assert response.app_hash == chain.app.store.last_hash
    fresh.store.close()


def test_init_chain_rejects_bad_genesis(tmp_path) -> None:  # type: ignore[no-untyped-def]
    app = AivmApp(CommitStore.open(tmp_path / "g"))
    doc = GenesisDoc(
        chain_id=CHAIN_ID,
        app_state={
            "bank": {
                "balances": [{"address": "aivm1bad", "coins": [{"denom": DENOM, "amount": "1"}]}]
            }
        },
    )
    with pytest.raises(Exception) as info:
        app.init_chain(doc.init_chain_request())
    assert "address" in str(info.value).lower()
    app.store.close()


def test_public_key_recorded_on_first_use(chain: Chain) -> None:
    assert not chain.account(A).HasField("pub_key")
    chain.block([chain.send_tx(ALICE, C, 1)])
    recorded = pb.secp256k1.PubKey.FromString(chain.account(A).pub_key.value).key
    assert recorded == ALICE.pubkey.bytes


def test_denom_metadata_query(chain: Chain) -> None:
    response, value = chain.query(
        "/cosmos.bank.v1beta1.Query/DenomMetadata",
        pb.bank_query.QueryDenomMetadataRequest(denom=DENOM),
        pb.bank_query.QueryDenomMetadataResponse,
    )
    assert response.code == 0
    assert (value.metadata.display, value.metadata.symbol) == ("cgpt", "CGPT")
    assert [u.exponent for u in value.metadata.denom_units] == [0, 3, 6]
    missing, _ = chain.query(
        "/cosmos.bank.v1beta1.Query/DenomMetadata",
        pb.bank_query.QueryDenomMetadataRequest(denom="uatom"),
        pb.bank_query.QueryDenomMetadataResponse,
    )
    assert (missing.code, missing.codespace) == (6, "bank")


def test_proposals_respect_block_gas_limit(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from harness import genesis_doc

    doc = genesis_doc({A: 1_000_000})
    doc.consensus_params["block"]["max_gas"] = "300000"
    chain = Chain.start(tmp_path / "g", {}, genesis=doc)
    app = chain.app
    chain.block([])
    txs = [chain.send_tx(ALICE, C, 1, sequence=s, gas=200_000) for s in range(2)]
    prepared = app.prepare_proposal(pb.abci.RequestPrepareProposal(txs=txs, max_tx_bytes=10**6))
    assert list(prepared.txs) == txs[:1]
    over = app.process_proposal(pb.abci.RequestProcessProposal(txs=txs))
    assert over.status == pb.abci.ResponseProcessProposal.REJECT
    app.store.close()
