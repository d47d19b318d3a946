"""SIGN_MODE_LEGACY_AMINO_JSON: the encoder's bytes (pinned against cosmjs and the SDK's rules)
and the ante step accepting, refusing and bounding amino-signed txs (ADR 0015)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from aivm.client.tx import Signer, amino_sign_doc_bytes, bank_send, sign_tx
from aivm.client.wallet import Wallet
from aivm.types import amino_json, pb
from aivm.types.address import acc_address
from aivm.types.amino_json import AminoJSONError, encode_msg, sign_doc_bytes
from aivm.types.coin import Coin
from harness import CHAIN_ID, DENOM, Chain, make_key

A = "aivm1qyqszqgpqyqszqgpqyqszqgpqyqszqgprwjfk9"
B = "aivm1qgpqyqszqgpqyqszqgpqyqszqgpqyqszj25van"
V = "aivmvaloper1qyqszqgpqyqszqgpqyqszqgpqyqszqgp7n5wgz"
C = pb.coin.Coin

# Produced once by cosmjs 0.39 (tests/compat/cosmjs/amino.mjs, mode `vectors`): the messages
# below, protobuf-encoded, decoded by cosmjs' Registry, converted by its default AminoTypes,
# then makeSignDoc + serializeSignDoc. tests/integration/test_cosmjs_amino.py re-runs cosmjs
# live on these and more messages.
COSMJS_SEND = (
    b'{"account_number":"7","chain_id":"aivm-devnet-1","fee":{"amount":[{"amount":"5000",'
    b'"denom":"ucgpt"}],"gas":"200000"},"memo":"a \\u003cb\\u003e \\u0026 c","msgs":[{"type":'
    b'"cosmos-sdk/MsgSend","value":{"amount":[{"amount":"1234","denom":"ucgpt"}],'
    b'"from_address":"aivm1qyqszqgpqyqszqgpqyqszqgpqyqszqgprwjfk9","to_address":'
    b'"aivm1qgpqyqszqgpqyqszqgpqyqszqgpqyqszj25van"}}],"sequence":"3"}'
)
COSMJS_DELEGATE = (
    b'{"account_number":"0","chain_id":"aivm-devnet-1","fee":{"amount":[],"gas":"250000"},'
    b'"memo":"","msgs":[{"type":"cosmos-sdk/MsgDelegate","value":{"amount":{"amount":"3000000",'
    b'"denom":"ucgpt"},"delegator_address":"aivm1qyqszqgpqyqszqgpqyqszqgpqyqszqgprwjfk9",'
    b'"validator_address":"aivmvaloper1qyqszqgpqyqszqgpqyqszqgpqyqszqgp7n5wgz"}}],'
    b'"sequence":"12","timeout_height":"99"}'
)


def test_msg_send_sign_bytes_equal_cosmjs() -> None:
    send = pb.bank_tx.MsgSend(from_address=A, to_address=B, amount=[C(denom=DENOM, amount="1234")])
    doc = sign_doc_bytes(
        amino_json.encode_msgs([send]),
        "aivm-devnet-1",
        7,
        3,
        [C(denom=DENOM, amount="5000")],
        200_000,
        "a <b> & c",
    )
    assert doc == COSMJS_SEND


def test_msg_delegate_sign_bytes_equal_cosmjs() -> None:
    delegate = pb.staking_tx.MsgDelegate(
        delegator_address=A, validator_address=V, amount=C(denom=DENOM, amount="3000000")
    )
    doc = sign_doc_bytes(
        amino_json.encode_msgs([delegate]), "aivm-devnet-1", 0, 12, [], 250_000, "", 99
    )
    assert doc == COSMJS_DELEGATE


def test_client_amino_doc_is_the_encoders() -> None:
    key = make_key(1)
    msg = bank_send(key.pubkey.address(), b"\x02" * 20, [Coin(DENOM, 5)])
    doc = amino_sign_doc_bytes([msg], Signer(key, 4, 9), "c-1", [Coin(DENOM, 10)], 1000, "m")
    assert doc.startswith(b'{"account_number":"4","chain_id":"c-1","fee":{"amount":[{"amount"')
    assert doc.endswith(b'"memo":"m","msgs":[' + encode_msg(msg).encode() + b'],"sequence":"9"}')


def test_sdk_rules_where_cosmjs_differs() -> None:
    """The node verifies as the SDK encodes (names from the proto options, empty fields
    omitted, U+2028 escaped); cosmjs' own converters differ on these."""
    commission = pb.distribution_tx.MsgWithdrawValidatorCommission(validator_address=V)
    assert encode_msg(commission).startswith('{"type":"cosmos-sdk/MsgWithdrawValCommission"')
    edit = pb.staking_tx.MsgEditValidator(
        description=pb.staking.Description(moniker="m"), validator_address=V
    )
    assert '"description":{"moniker":"m"}' in encode_msg(edit)
    doc = sign_doc_bytes([], "c", 0, 0, [], 0, "\u2028\u2029<>&\x01\x7f\b")
    assert b'"memo":"\\u2028\\u2029\\u003c\\u003e\\u0026\\u0001\x7f\\b"' in doc


def test_legacy_dec_fields_are_decimal_strings_and_malformed_ones_are_refused() -> None:
    rates = pb.staking.CommissionRates(
        rate="100000000000000000", max_rate="1000000000000000000", max_change_rate=""
    )
    msg = pb.staking_tx.MsgCreateValidator(
        description=pb.staking.Description(moniker="v"),
        commission=rates,
        min_self_delegation="1",
        validator_address=V,
        value=C(denom=DENOM, amount="10"),
    )
    msg.pubkey.CopyFrom(pb.pack_any(pb.ed25519.PubKey(key=bytes(range(32)))))
    text = encode_msg(msg)
    assert (
        '"commission":{"max_change_rate":"0","max_rate":"1.000000000000000000",'
        '"rate":"0.100000000000000000"}'
    ) in text
    key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
    assert f'"pubkey":{{"type":"tendermint/PubKeyEd25519","value":"{key}"}}' in text
    msg.commission.rate = "0.1"
    with pytest.raises(AminoJSONError, match="into Dec"):
        encode_msg(msg)


def test_mint_update_params_uses_the_sdk_names_of_its_private_pool_types() -> None:
    from aivm.modules.mint import types as mint

    msg = mint.MsgUpdateParams(
        authority=A,
        params=mint.Params(mint_denom=DENOM, inflation_max="200000000000000000"),
    )
    assert encode_msg(msg) == (
        '{"type":"cosmos-sdk/x/mint/MsgUpdateParams","value":{"authority":"' + A + '",'
        '"params":{"goal_bonded":"0","inflation_max":"0.200000000000000000",'
        '"inflation_min":"0","inflation_rate_change":"0","mint_denom":"ucgpt"}}}'
    )


def test_dont_omitempty_message_left_unset_is_refused() -> None:
    with pytest.raises(AminoJSONError, match="dont_omit_empty"):
        encode_msg(pb.staking_tx.MsgDelegate(delegator_address=A, validator_address=V))


def test_timestamps_and_durations_as_amino_writes_them() -> None:
    from google.protobuf.duration_pb2 import Duration
    from google.protobuf.timestamp_pb2 import Timestamp

    encoder = amino_json._Encoder(amino_json.public_keys_only)
    assert encoder.message(Timestamp(seconds=0)) == '"1970-01-01T00:00:00Z"'
    assert encoder.message(Timestamp(seconds=1, nanos=500)) == '"1970-01-01T00:00:01.0000005Z"'
    assert encoder.message(Timestamp(seconds=-62135596800)) == '"0001-01-01T00:00:00Z"'
    assert encoder.message(Duration(seconds=3, nanos=5)) == '"3000000005"'
    with pytest.raises(AminoJSONError):
        encoder.message(Duration(seconds=2**62))


def test_aivm_messages_are_named_by_module_and_every_routed_name_is_unique(
    tmp_path: Path,
) -> None:
    chain = Chain.start(tmp_path / "d", {}, differential=False)
    names: dict[str, str] = {}
    for url, route in sorted(chain.app.router.msgs.items()):
        name = amino_json.amino_name(route.message_class.DESCRIPTOR)
        assert name is not None, url
        if url.startswith("/aivm."):
            module = url.split(".")[1]
            assert name == f"aivm/{module}/{route.message_class.DESCRIPTOR.name}"
        assert name not in names, f"{url} and {names.get(name)} share the amino name {name}"
        names[name] = url
    assert names["cosmos-sdk/MsgSend"] == "/cosmos.bank.v1beta1.MsgSend"


def test_wallet_sign_mode_is_checked() -> None:
    wallet = Wallet(make_key(3), sign_mode="amino-json")
    assert wallet.sign_mode == "amino-json"
    with pytest.raises(ValueError, match="unknown sign mode"):
        Wallet(make_key(3), sign_mode="textual")


# --- the ante step ------------------------------------------------------------------------------

KEY = make_key(11)
SENDER = KEY.pubkey.address()
RECIPIENT = make_key(12).pubkey.address()


@pytest.fixture
def chain(tmp_path: Path) -> Chain:
    c = Chain.start(tmp_path / "data", {SENDER: 10_000_000}, differential=False)
    c.block([])
    return c


def _amino_send(
    chain: Chain,
    amount: int = 1000,
    chain_id: str = CHAIN_ID,
    memo: str = "amino <send> & co",
    mode: str = "amino-json",
) -> bytes:
    account = chain.account(SENDER)
    assert account is not None
    return sign_tx(
        [bank_send(SENDER, RECIPIENT, [Coin(DENOM, amount)])],
        [Signer(KEY, account.account_number, account.sequence)],
        chain_id=chain_id,
        fee=[Coin(DENOM, 5000)],
        gas_limit=200_000,
        memo=memo,
        sign_mode=mode,
    )


def _rebuild(raw: bytes, body: pb.tx.TxBody | None = None, mode: int | None = None) -> bytes:
    """``raw`` with another body or sign mode, keeping its signature."""
    tx = pb.tx.TxRaw.FromString(raw)
    if body is not None:
        tx.body_bytes = body.SerializeToString()
    if mode is not None:
        auth = pb.tx.AuthInfo.FromString(tx.auth_info_bytes)
        auth.signer_infos[0].mode_info.single.mode = mode
        tx.auth_info_bytes = auth.SerializeToString()
    return bytes(tx.SerializeToString())


def test_amino_signed_send_lands_with_the_gas_of_direct(chain: Chain) -> None:
    raw = _amino_send(chain)
    assert chain.check(raw).code == 0
    result = chain.block([raw]).tx_results[0]
    assert result.code == 0, result.log
    assert chain.balance(RECIPIENT) == 1000
    amino_again = _amino_send(chain)
    direct = _amino_send(chain, mode="direct")
    assert len(direct) == len(amino_again)
    direct_result = chain.block([direct]).tx_results[0]
    assert direct_result.code == 0
    amino_result = chain.block([_amino_send(chain)]).tx_results[0]
    assert amino_result.code == 0
    assert direct_result.gas_used == amino_result.gas_used
    assert chain.balance(RECIPIENT) == 3000


def test_amino_signature_for_another_chain_is_refused_and_changes_nothing(chain: Chain) -> None:
    raw = _amino_send(chain, chain_id="other-chain-1")
    check = chain.check(raw)
    assert (check.codespace, check.code) == ("sdk", 4)
    assert "signature verification failed" in check.log
    result = chain.block([raw], prepare=False).tx_results[0]
    assert (result.codespace, result.code) == ("sdk", 4)
    assert chain.balance(SENDER) == 10_000_000
    assert chain.account(SENDER).sequence == 0  # type: ignore[union-attr]


def test_amino_signature_does_not_verify_as_direct_nor_a_changed_memo(chain: Chain) -> None:
    raw = _amino_send(chain)
    as_direct = _rebuild(raw, mode=pb.signing.SIGN_MODE_DIRECT)
    assert chain.check(as_direct).code == 4
    body = pb.tx.TxBody.FromString(pb.tx.TxRaw.FromString(raw).body_bytes)
    body.memo = "amino <send> & co!"
    assert chain.check(_rebuild(raw, body=body)).code == 4


@pytest.mark.parametrize(
    "mode", [pb.signing.SIGN_MODE_TEXTUAL, pb.signing.SIGN_MODE_DIRECT_AUX, 9999]
)
def test_other_sign_modes_keep_a_coded_error(chain: Chain, mode: int) -> None:
    raw = _rebuild(_amino_send(chain), mode=mode)
    check = chain.check(raw)
    assert (check.codespace, check.code) == ("sdk", 37)
    assert f"sign mode {mode} is not supported" in check.log


def test_multisig_mode_info_keeps_a_coded_error(chain: Chain) -> None:
    tx = pb.tx.TxRaw.FromString(_amino_send(chain))
    auth = pb.tx.AuthInfo.FromString(tx.auth_info_bytes)
    auth.signer_infos[0].mode_info.multi.mode_infos.add().single.mode = 127
    tx.auth_info_bytes = auth.SerializeToString()
    check = chain.check(tx.SerializeToString())
    assert (check.codespace, check.code) == ("sdk", 37)


def test_what_amino_json_cannot_cover_is_refused(chain: Chain) -> None:
    """A timeout timestamp, non-critical extension options and unknown non-critical fields
    are outside the StdSignDoc: an amino signature would not protect them."""
    raw = _amino_send(chain)
    body = pb.tx.TxBody.FromString(pb.tx.TxRaw.FromString(raw).body_bytes)
    stamped = pb.tx.TxBody()
    stamped.CopyFrom(body)
    stamped.timeout_timestamp.seconds = 2_000_000_000
    check = chain.check(_rebuild(raw, body=stamped))
    assert (check.code, "timeout timestamp" in check.log) == (18, True)
    extended = pb.tx.TxBody()
    extended.CopyFrom(body)
    extended.non_critical_extension_options.append(pb.pack_any(pb.secp256k1.PubKey(key=b"k")))
    check = chain.check(_rebuild(raw, body=extended))
    assert (check.code, "extension options" in check.log) == (18, True)
    tx = pb.tx.TxRaw.FromString(raw)
    tx.body_bytes = tx.body_bytes + b"\xfa\x3f\x01\x00"  # field 1023 | 1024 = non-critical
    check = chain.check(tx.SerializeToString())
    assert check.code == 2, check.log


def test_amino_encoding_stays_linear_in_the_tx_size(chain: Chain) -> None:
    """The worst case per byte: every memo and address character escaped to 6 bytes; the
    sign bytes stay within a small multiple of the raw tx and take milliseconds."""
    account = chain.account(SENDER)
    assert account is not None
    hostile = pb.bank_tx.MsgSend(
        from_address=acc_address(SENDER),
        to_address="<" * 60_000,
        amount=[C(denom="<&>", amount="1") for _ in range(2000)],
    )
    msgs = [hostile] * 4
    started = time.perf_counter()
    doc = amino_sign_doc_bytes(msgs, Signer(KEY, 0, 0), CHAIN_ID, memo="<" * 256)
    elapsed = time.perf_counter() - started
    raw = sign_tx(msgs, [Signer(KEY, 0, 0)], CHAIN_ID, memo="<" * 256)
    assert len(doc) <= 7 * len(raw)
    assert elapsed < 2.0
