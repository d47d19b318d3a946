"""Regression tests for the consensus-safety findings of issue 11 that live in the tx pipeline.

Each test builds the hostile input a reader of the code could craft and checks what every
honest node must see: the same result on a node that saw the input before (warm caches) and
one that did not (cold), a coded error instead of an exception out of an ABCI call, and one
hash per signed tx.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest

from aivm.app.ante import SignatureCache, signature_cache_key
from aivm.app.application import AppOptions
from aivm.client.tx import Signer, bank_send, build_auth_info, build_body, sign_doc_bytes
from aivm.node.abci_server import AbciServer
from aivm.sim.bug_log import bug_log
from aivm.types import pb
from aivm.types.coin import Coin
from aivm.types.errors import ErrInternal, ErrOutOfGas, ErrTxDecode, ErrUnauthorized
from harness import CHAIN_ID, DENOM, Chain, make_key

ALICE, BOB, CAROL = make_key(31), make_key(32), make_key(33)
A, B, C = (k.pubkey.address() for k in (ALICE, BOB, CAROL))
FUNDED = {A: 10_000_000, B: 10_000_000}
SEND_URL = "/cosmos.bank.v1beta1.MsgSend"


@pytest.fixture
def chains(tmp_path: Path) -> Iterator[tuple[Chain, Chain]]:
    """Two nodes of the same chain: ``warm`` sees CheckTx traffic, ``cold`` only blocks."""
    warm = Chain.start(tmp_path / "warm", FUNDED)
    cold = Chain.start(tmp_path / "cold", FUNDED)
    for chain in (warm, cold):
        chain.block([])
    yield warm, cold
    for chain in (warm, cold):
        chain.app.store.close()


@pytest.fixture
def chain(tmp_path: Path) -> Iterator[Chain]:
    c = Chain.start(tmp_path / "data", FUNDED)
    c.block([])
    yield c
    c.app.store.close()


@pytest.fixture
def lone_chain(tmp_path: Path) -> Iterator[Chain]:
    """A chain without shadow replicas: for tests that patch a bug into this node only."""
    c = Chain.start(tmp_path / "data", FUNDED, differential=False)
    c.block([])
    yield c
    c.app.store.close()


def both_blocks(chains: tuple[Chain, Chain], txs: list[bytes]) -> list[pb.abci.ExecTxResult]:
    """Run the same decided block on both nodes; their results and app hashes must agree."""
    warm, cold = chains
    first = warm.block(txs, prepare=False)
    second = cold.block(txs, prepare=False)
    assert first.app_hash == second.app_hash
    for a, b in zip(first.tx_results, second.tx_results, strict=True):
        assert (a.code, a.codespace, a.gas_used) == (b.code, b.codespace, b.gas_used)
    return list(first.tx_results)


# -- finding 1: the signature cache --------------------------------------------------------


def length_prefixed(field: int, payload: bytes) -> bytes:
    """One length-delimited protobuf field."""
    return _varint(field << 3 | 2) + _varint(len(payload)) + payload


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def test_signature_cache_cannot_be_hit_by_a_shifted_signature(
    chains: tuple[Chain, Chain],
) -> None:
    """A tx whose signature field carries the head of another tx's sign bytes.

    Tx A's body ends with a non-critical field holding ``0a len body_B``; so A's sign bytes
    end with B's sign bytes, and hashing ``pubkey ‖ signature ‖ sign bytes`` without framing
    gave B (signature = A's signature ‖ the head of A's sign bytes) the cache key of A.
    A node that had checked A accepted B; a node that had not rejected it: a fork.
    """
    warm, _ = chains
    account = warm.account(A)
    signer = Signer(ALICE, account.account_number, account.sequence)
    auth = build_auth_info([signer], [Coin(DENOM, 5000)], 200_000)
    body_b = build_body([bank_send(A, C, [Coin(DENOM, 777_777)])], "")
    body_a = build_body([bank_send(A, B, [Coin(DENOM, 1)])], "") + length_prefixed(
        1025, length_prefixed(1, body_b)
    )
    sign_bytes_a = sign_doc_bytes(body_a, auth, CHAIN_ID, account.account_number)
    sign_bytes_b = sign_doc_bytes(body_b, auth, CHAIN_ID, account.account_number)
    assert sign_bytes_a.endswith(sign_bytes_b)
    head = sign_bytes_a[: len(sign_bytes_a) - len(sign_bytes_b)]
    signature_a = ALICE.sign(sign_bytes_a)
    tx_a = pb.tx.TxRaw(body_bytes=body_a, auth_info_bytes=auth, signatures=[signature_a])
    tx_b = pb.tx.TxRaw(body_bytes=body_b, auth_info_bytes=auth, signatures=[signature_a + head])

    assert warm.check(tx_a.SerializeToString()).code == 0  # the warm node verified A
    (result,) = both_blocks(chains, [tx_b.SerializeToString()])
    assert (result.codespace, result.code) == ("sdk", ErrUnauthorized.code), result.log
    assert warm.balance(C) == 0


def test_signature_cache_key_frames_every_field() -> None:
    pub, sign_bytes, signature = b"\x02" * 33, b"sign-bytes", b"s" * 64
    assert signature_cache_key(pub, sign_bytes, signature) != signature_cache_key(
        pub, sign_bytes[1:], signature + sign_bytes[:1]
    )
    cache = SignatureCache()
    key = ALICE.pubkey.bytes
    signed = ALICE.sign(b"doc")
    assert cache.verify(key, b"doc", signed)
    assert not cache.verify(key, b"oc", signed + b"d")  # same concatenation, 65-byte signature
    assert not cache.verify(key, b"doc", signed[:63])


# -- finding 1: unknown fields at every nesting level ---------------------------------------


def signed(
    chain: Chain,
    body: bytes | None = None,
    auth: bytes | None = None,
    key: object = ALICE,
) -> bytes:
    """A TxRaw over the given (possibly crafted) body and auth info bytes, really signed."""
    account = chain.account(A)
    signer = Signer(ALICE, account.account_number, account.sequence)
    body = body if body is not None else build_body([bank_send(A, C, [Coin(DENOM, 10)])], "")
    auth = auth if auth is not None else build_auth_info([signer], [Coin(DENOM, 5000)], 200_000)
    signature = ALICE.sign(sign_doc_bytes(body, auth, CHAIN_ID, account.account_number))
    raw = pb.tx.TxRaw(body_bytes=body, auth_info_bytes=auth, signatures=[signature])
    return bytes(raw.SerializeToString())


def auth_info(chain: Chain) -> pb.tx.AuthInfo:
    account = chain.account(A)
    signer = Signer(ALICE, account.account_number, account.sequence)
    return pb.tx.AuthInfo.FromString(build_auth_info([signer], [Coin(DENOM, 5000)], 200_000))


UNKNOWN_CRITICAL = length_prefixed(99, b"x")
UNKNOWN_NON_CRITICAL = length_prefixed(1025, b"x")


def body_with_msg(msg_bytes: bytes) -> bytes:
    return pb.tx.TxBody(
        messages=[pb.AnyProto(type_url=SEND_URL, value=msg_bytes)]
    ).SerializeToString()


def nested_unknown_cases(chain: Chain) -> dict[str, tuple[bytes | None, bytes | None]]:
    """(body, auth info) pairs each carrying one unknown critical field, somewhere nested."""
    send = bank_send(A, C, [Coin(DENOM, 10)])
    coin = send.amount[0].SerializeToString()
    send_bad_coin = pb.bank_tx.MsgSend(
        from_address=send.from_address, to_address=send.to_address
    ).SerializeToString() + length_prefixed(3, coin + UNKNOWN_CRITICAL)
    info = auth_info(chain)
    fee_bad = info.SerializeToString() + length_prefixed(
        2, info.fee.SerializeToString() + UNKNOWN_CRITICAL
    )
    signer = info.signer_infos[0]
    mode_bad = pb.tx.SignerInfo(
        public_key=signer.public_key, sequence=signer.sequence
    ).SerializeToString() + length_prefixed(
        2, signer.mode_info.SerializeToString() + UNKNOWN_CRITICAL
    )
    signer_bad = pb.tx.AuthInfo(fee=info.fee).SerializeToString() + length_prefixed(1, mode_bad)
    key_bad = pb.tx.SignerInfo(
        mode_info=signer.mode_info, sequence=signer.sequence
    ).SerializeToString() + length_prefixed(
        1,
        pb.AnyProto(
            type_url=signer.public_key.type_url,
            value=signer.public_key.value + UNKNOWN_CRITICAL,
        ).SerializeToString(),
    )
    pubkey_bad = pb.tx.AuthInfo(fee=info.fee).SerializeToString() + length_prefixed(1, key_bad)
    return {
        "coin inside MsgSend": (body_with_msg(send_bad_coin), None),
        "fee inside AuthInfo": (None, fee_bad),
        "mode_info inside SignerInfo": (None, signer_bad),
        "public key inside its Any": (None, pubkey_bad),
    }


def test_unknown_fields_are_rejected_at_every_nesting_level(chains: tuple[Chain, Chain]) -> None:
    warm, _ = chains
    for case, (body, auth) in nested_unknown_cases(warm).items():
        raw = signed(warm, body, auth)
        check = warm.check(raw)
        assert (check.codespace, check.code) == ("sdk", ErrTxDecode.code), (case, check.log)
        assert "unknown field 99" in check.log or "unknown field 2" in check.log, check.log
        (result,) = both_blocks(chains, [raw])
        assert result.code == ErrTxDecode.code, (case, result.log)
    assert warm.account(A).sequence == 0


def test_non_critical_unknown_fields_are_ignored_in_the_body_only(chain: Chain) -> None:
    send = bank_send(A, C, [Coin(DENOM, 10)]).SerializeToString()
    tolerated = signed(chain, body_with_msg(send + UNKNOWN_NON_CRITICAL))
    assert chain.check(tolerated).code == 0
    info = auth_info(chain).SerializeToString()
    refused = signed(chain, auth=info + UNKNOWN_NON_CRITICAL)
    assert chain.check(refused).code == ErrTxDecode.code


# -- finding 3: coin amounts ------------------------------------------------------------------

BAD_AMOUNTS = ["²", "٣", "1_000", " 5", "+5", "-5", "", "9" * 79, "1" * 5000, "0x10"]


def tx_with_fee_amount(chain: Chain, amount: str) -> bytes:
    """An unsigned-quality tx whose fee amount is ``amount`` (signature empty)."""
    info = auth_info(chain)
    info.fee.amount[0].amount = amount
    body = build_body([bank_send(A, C, [Coin(DENOM, 10)])], "")
    raw = pb.tx.TxRaw(
        body_bytes=body, auth_info_bytes=info.SerializeToString(), signatures=[b"\x00" * 64]
    )
    return bytes(raw.SerializeToString())


def tx_with_send_amount(chain: Chain, amount: str) -> bytes:
    send = bank_send(A, C, [Coin(DENOM, 10)])
    send.amount[0].amount = amount
    return signed(chain, build_body([send], ""))


@pytest.mark.parametrize("amount", BAD_AMOUNTS)
def test_malformed_amounts_are_coded_errors_in_every_abci_call(chain: Chain, amount: str) -> None:
    for raw in (tx_with_fee_amount(chain, amount), tx_with_send_amount(chain, amount)):
        check = chain.check(raw)
        assert check.code != 0 and check.code != ErrInternal.code, check.log
        prepared = chain.app.prepare_proposal(
            pb.abci.RequestPrepareProposal(txs=[raw], max_tx_bytes=1 << 20)
        )
        assert list(prepared.txs) == []
        processed = chain.app.process_proposal(pb.abci.RequestProcessProposal(txs=[raw]))
        assert processed.status == pb.abci.ResponseProcessProposal.REJECT
        result = chain.block([raw], prepare=False).tx_results[0]
        assert result.code == check.code and result.codespace == "sdk", result.log
    assert chain.account(A).sequence == 0


def test_malformed_amount_does_not_reach_the_abci_socket_as_an_exception(chain: Chain) -> None:
    server = AbciServer(chain.app)
    raw = tx_with_fee_amount(chain, "²")
    requests = [
        pb.abci.Request(check_tx=pb.abci.RequestCheckTx(tx=raw)),
        pb.abci.Request(process_proposal=pb.abci.RequestProcessProposal(txs=[raw])),
        pb.abci.Request(
            prepare_proposal=pb.abci.RequestPrepareProposal(txs=[raw], max_tx_bytes=1 << 20)
        ),
        pb.abci.Request(
            finalize_block=pb.abci.RequestFinalizeBlock(txs=[raw], height=chain.height + 1)
        ),
    ]
    for request in requests:
        response = asyncio.run(server.handle(request))
        assert response.WhichOneof("value") == request.WhichOneof("value"), response


# -- finding 6: one signed tx, one hash ---------------------------------------------------------


def test_a_prepended_duplicate_body_is_not_a_second_valid_tx(chains: tuple[Chain, Chain]) -> None:
    warm, _ = chains
    original = signed(warm)
    decoy = body_with_msg(bank_send(A, B, [Coin(DENOM, 1)]).SerializeToString())
    malleated = length_prefixed(1, decoy) + original  # the last body_bytes wins in protobuf
    assert pb.tx.TxRaw.FromString(malleated) == pb.tx.TxRaw.FromString(original)
    check = warm.check(malleated)
    assert check.code == ErrTxDecode.code and "canonical" in check.log, check.log
    (result,) = both_blocks(chains, [malleated])
    assert result.code == ErrTxDecode.code
    (result,) = both_blocks(chains, [original])  # the owner's tx is still valid
    assert result.code == 0, result.log


def txraw_fields(raw: bytes) -> list[bytes]:
    """The encoded fields of a canonical TxRaw: body, auth info, then each signature."""
    tx = pb.tx.TxRaw.FromString(raw)
    parts = [length_prefixed(1, tx.body_bytes), length_prefixed(2, tx.auth_info_bytes)]
    return parts + [length_prefixed(3, s) for s in tx.signatures]


def padded_length(field: bytes) -> bytes:
    """The same field with its length varint one byte longer than needed."""
    tag, rest = field[:1], field[1:]
    size = 1
    while rest[size - 1] & 0x80:
        size += 1
    length = bytearray(rest[:size])
    length[-1] |= 0x80
    return tag + bytes(length) + b"\x00" + rest[size:]


NON_CANONICAL = {
    "non-minimal length varint": lambda f: padded_length(f[0]) + b"".join(f[1:]),
    "fields reordered": lambda f: f[1] + f[0] + b"".join(f[2:]),
    "auth info twice": lambda f: f[0] + f[1] + f[1] + b"".join(f[2:]),
    "explicit empty field": lambda f: b"\x0a\x00" + b"".join(f),
}


@pytest.mark.parametrize("case", sorted(NON_CANONICAL))
def test_only_the_canonical_txraw_encoding_is_accepted(chain: Chain, case: str) -> None:
    original = signed(chain)
    assert b"".join(txraw_fields(original)) == original
    changed = NON_CANONICAL[case](txraw_fields(original))
    assert changed != original
    assert pb.tx.TxRaw.FromString(changed) == pb.tx.TxRaw.FromString(original)
    assert chain.check(changed).code == ErrTxDecode.code
    assert chain.check(original).code == 0


# -- part 2.1: a handler that raises -----------------------------------------------------------


def with_raising_send(chain: Chain, where: str) -> None:
    """Replace MsgSend's handler (or its stateless check) with one that raises a bug."""

    def boom(*_: object) -> None:
        raise RuntimeError("a bug in a handler")

    route = chain.app.router.msgs[SEND_URL]
    field = "handler" if where == "handler" else "validate_basic"
    chain.app.router.msgs[SEND_URL] = dataclasses.replace(route, **{field: boom})


def test_a_raising_message_handler_fails_its_tx_with_a_coded_result(lone_chain: Chain) -> None:
    chain = lone_chain
    with_raising_send(chain, "handler")
    raw = signed(chain)
    assert chain.check(raw).code == 0  # CheckTx runs no message handler
    with bug_log().expected():  # the node survives it, and logs the BUG
        result = chain.block([raw]).tx_results[0]
    assert (result.codespace, result.code) == (ErrInternal.codespace, ErrInternal.code)
    assert "RuntimeError" in result.log
    assert chain.account(A).sequence == 1  # fee and sequence kept, as for any failed message
    assert chain.balance(C) == 0
    simulated = chain.app.query(
        pb.abci.RequestQuery(path="/cosmos.tx.v1beta1.Service/Simulate", data=b"")
    )
    assert simulated.code != 0


def test_a_raising_stateless_check_is_coded_everywhere(lone_chain: Chain) -> None:
    chain = lone_chain
    with_raising_send(chain, "validate_basic")
    raw = signed(chain)
    with bug_log().expected():  # the node survives it everywhere, and logs the BUG
        server = AbciServer(chain.app)
        request = pb.abci.Request(check_tx=pb.abci.RequestCheckTx(tx=raw))
        check = asyncio.run(server.handle(request))
        assert check.check_tx.code == ErrInternal.code, check
        process = chain.app.process_proposal(pb.abci.RequestProcessProposal(txs=[raw]))
        assert process.status == pb.abci.ResponseProcessProposal.REJECT
        prepare = chain.app.prepare_proposal(
            pb.abci.RequestPrepareProposal(txs=[raw], max_tx_bytes=1 << 20)
        )
        assert list(prepare.txs) == []
        result = chain.block([raw], prepare=False).tx_results[0]
    assert result.code == ErrInternal.code
    assert chain.account(A).sequence == 0


# -- finding 5: simulate and queries are bounded -------------------------------------------------


def simulate(chain: Chain, raw: bytes) -> pb.abci.ResponseQuery:
    request = pb.tx_service.SimulateRequest(tx_bytes=raw)
    return chain.app.query(
        pb.abci.RequestQuery(
            path="/cosmos.tx.v1beta1.Service/Simulate", data=request.SerializeToString()
        )
    )


def test_simulate_stops_at_the_node_gas_limit(tmp_path: Path) -> None:
    chain = Chain.start(tmp_path / "d", FUNDED, AppOptions(simulate_gas_limit=30_000))
    chain.block([])
    raw = signed(chain)
    response = simulate(chain, raw)
    assert (response.codespace, response.code) == ("sdk", ErrOutOfGas.code), response.log
    assert "gasWanted: 30000" in response.log
    roomy = Chain.start(tmp_path / "e", FUNDED)
    roomy.block([])
    assert simulate(roomy, signed(roomy)).code == 0


def test_queries_stop_at_the_node_gas_limit(tmp_path: Path) -> None:
    chain = Chain.start(tmp_path / "d", FUNDED, AppOptions(query_gas_limit=50))
    chain.block([])
    response, _ = chain.query(
        "/cosmos.bank.v1beta1.Query/AllBalances",
        pb.bank_query.QueryAllBalancesRequest(address=chain_address(A)),
        pb.bank_query.QueryAllBalancesResponse,
    )
    assert response.code == ErrOutOfGas.code, response.log


def test_queries_and_simulate_stop_at_the_time_limit(tmp_path: Path) -> None:
    ticks = iter(range(0, 10**12, 400_000_000))  # every clock read: 0.4 s later
    options = AppOptions(query_time_limit_ms=1_000, clock=lambda: next(ticks))
    chain = Chain.start(tmp_path / "d", FUNDED, options)
    chain.block([])
    response = simulate(chain, signed(chain))
    assert response.code == ErrOutOfGas.code and "time limit of 1000 ms" in response.log
    response, _ = chain.query(
        "/cosmos.bank.v1beta1.Query/AllBalances",
        pb.bank_query.QueryAllBalancesRequest(address=chain_address(A)),
        pb.bank_query.QueryAllBalancesResponse,
    )
    assert response.code == ErrOutOfGas.code and "time limit" in response.log


def chain_address(address: bytes) -> str:
    from aivm.types.address import acc_address

    return acc_address(address)


# -- finding 9: a finite block gas limit ---------------------------------------------------------


def test_genesis_must_bound_block_gas(tmp_path: Path) -> None:
    from aivm.app.application import AivmApp
    from aivm.store import CommitStore
    from aivm.types.errors import AivmError, ErrInvalidRequest
    from harness import genesis_doc

    doc = genesis_doc(FUNDED)
    assert doc.consensus_params["block"]["max_gas"] == "500000000"  # the default is finite
    doc.consensus_params["block"]["max_gas"] = "-1"
    app = AivmApp(CommitStore.open(tmp_path / "d"))
    with pytest.raises(AivmError) as raised:
        app.init_chain(doc.init_chain_request())
    assert ErrInvalidRequest.is_(raised.value) and "max_gas" in raised.value.log
    app.store.close()


def test_check_tx_refuses_a_tx_wanting_more_gas_than_a_block(chain: Chain) -> None:
    from aivm.types.errors import ErrInvalidGasLimit

    too_much = chain.send_tx(ALICE, C, 10, gas=500_000_001)
    check = chain.check(too_much)
    assert (check.codespace, check.code) == ("sdk", ErrInvalidGasLimit.code), check.log
    assert chain.check(chain.send_tx(ALICE, C, 10, gas=500_000_000)).code == 0


def test_a_known_field_with_the_wrong_wire_type_is_rejected_even_if_non_critical(
    chain: Chain,
) -> None:
    """The parser files a known field it cannot read as its type (here TxBody field 2047,
    non_critical_extension_options, sent as a varint) among the unknown fields; its number
    has the non-critical bit, but the SDK rejects a wire-type mismatch of a known field.
    Found by the fuzzer's 1,000,000-input run."""
    send = body_with_msg(bank_send(A, C, [Coin(DENOM, 10)]).SerializeToString())
    wrong_wire = _varint(2047 << 3 | 0) + _varint(5)
    raw = signed(chain, send + wrong_wire)
    check = chain.check(raw)
    assert check.code == ErrTxDecode.code and "wrong wire type 0" in check.log, check.log
    assert chain.block([raw], prepare=False).tx_results[0].code == ErrTxDecode.code
