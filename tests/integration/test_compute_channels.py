"""compute payment channels over ABCI: open, top up, redeem cumulative vouchers (by the
provider or the client), payouts after the challenge period, closes by either side, expiry,
every refusal's coded error (stale, over the deposit, wrong key, wrong chain, another
channel's voucher, strangers), double-spend attempts, balances conserved, queries, genesis
helpers, invariants catching a corrupted channel, and the simulation's channel flow."""

from __future__ import annotations

import dataclasses
import random
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import json_format

from aivm.crypto.keys import SECP256K1_N
from aivm.modules.compute import channels as ch
from aivm.modules.compute import compute_pb2
from aivm.modules.compute.channels import ChannelKeeper, sign_voucher
from aivm.modules.compute.params import DEFAULT_PARAMS
from aivm.modules.framework import BlockHeader, Context, ExecMode
from aivm.store import CacheStore, GasMeter
from aivm.types import pb
from aivm.types.address import acc_address, module_address
from aivm.types.errors import AivmError
from harness import CHAIN_ID, DENOM, Chain, genesis_doc, make_key

CLIENT, PROVIDER, OTHER, STRANGER = (make_key(300 + i) for i in range(4))
CLIENT_ADDR, PROVIDER_ADDR, OTHER_ADDR, STRANGER_ADDR = (
    acc_address(k.pubkey.address()) for k in (CLIENT, PROVIDER, OTHER, STRANGER)
)
COMPUTE_ACCOUNT = module_address("compute")
Q = "/aivm.compute.v1.Query/"
FEE = 20_000
CHALLENGE = 5
MAX_BLOCKS = 50
COLLATERAL = 5_000


# -- chain ------------------------------------------------------------------------------------


def params() -> dict[str, Any]:
    base = json_format.MessageToDict(DEFAULT_PARAMS.to_proto(), preserving_proto_field_name=True)
    base.update(
        min_collateral="1000",
        channel_challenge_blocks=str(CHALLENGE),
        max_channel_blocks=str(MAX_BLOCKS),
    )
    return dict(base)


def start(path: Path, differential: bool = False) -> Chain:
    """PROVIDER is a registered provider (CPU, no offers); CLIENT, OTHER and STRANGER are
    funded and have signed a tx (their keys are on chain)."""
    funded = {k.pubkey.address(): 10**10 for k in (CLIENT, PROVIDER, OTHER, STRANGER)}
    doc = genesis_doc(funded, with_accounts=True)
    doc.app_state["compute"] = {"params": params()}
    chain = Chain.start(path, funded, genesis=doc, differential=differential)
    chain.block([])
    register = compute_pb2.MsgRegisterProvider(
        operator=PROVIDER_ADDR,
        collateral=coin(COLLATERAL),
        hardware=compute_pb2.Hardware(cpu_cores=8, memory_mib=16384),
        runtimes=["onnxruntime"],
        capacity=2,
    )
    assert chain.deliver(PROVIDER, register).code == 0
    for key in (CLIENT, OTHER, STRANGER):
        assert (
            chain.deliver(
                key,
                pb.bank_tx.MsgSend(
                    from_address=acc_address(key.pubkey.address()),
                    to_address=acc_address(key.pubkey.address()),
                    amount=[coin(1)],
                ),
            ).code
            == 0
        )
    return chain


@pytest.fixture
def chain(tmp_path: Path) -> Chain:
    return start(tmp_path / "data")


def coin(amount: int, denom: str = DENOM) -> pb.coin.Coin:
    return pb.coin.Coin(denom=denom, amount=str(amount))


def channels_of(chain: Chain) -> ChannelKeeper:
    keeper: ChannelKeeper = chain.app.manager.by_name["compute"].channels
    return keeper


def keeper_ctx(chain: Chain) -> tuple[ChannelKeeper, Context]:
    """The channel keeper and a FINALIZE context on the working state (committed with the
    next block)."""
    header = BlockHeader(chain.height + 1, (chain.time_s + 1) * 10**9, CHAIN_ID)
    ctx = Context(chain.app.store.working, GasMeter(None), header, ExecMode.FINALIZE)
    return channels_of(chain), ctx


def code(result: pb.abci.ExecTxResult) -> tuple[str, int]:
    return result.codespace, result.code


def events(
    result: pb.abci.ExecTxResult | pb.abci.ResponseFinalizeBlock, kind: str
) -> list[dict[str, str]]:
    return [
        {a.key: a.value for a in e.attributes if a.key not in ("mode", "msg_index")}
        for e in result.events
        if e.type == kind
    ]


@dataclasses.dataclass
class Ledger:
    """Balances of the client, the provider and the compute account, and the fees paid."""

    chain: Chain
    paid_fees: dict[bytes, int] = dataclasses.field(default_factory=dict)

    def send(self, key: Any, msg: pb.Message) -> pb.abci.ExecTxResult:
        """Deliver ``msg`` signed by ``key``; count its fee when it made it into a block."""
        raw = self.chain.msgs_tx(key, [msg])
        check = self.chain.check(raw)
        if check.code != 0:
            self.chain.block([])
            return pb.abci.ExecTxResult(code=check.code, codespace=check.codespace, log=check.log)
        signer = key.pubkey.address()
        self.paid_fees[signer] = self.paid_fees.get(signer, 0) + FEE
        return self.chain.block([raw]).tx_results[0]

    def total(self) -> int:
        """Client + provider + compute account + fees paid by them: constant."""
        return sum(self.balances()) + sum(self.paid_fees.values())

    def fees(self, key: Any) -> int:
        """Fees ``key`` paid for the txs that made it into a block."""
        return self.paid_fees.get(key.pubkey.address(), 0)

    def balances(self) -> tuple[int, int, int]:
        return (
            self.chain.balance(CLIENT.pubkey.address()),
            self.chain.balance(PROVIDER.pubkey.address()),
            self.chain.balance(COMPUTE_ACCOUNT),
        )


def open_msg(
    deposit: int | pb.coin.Coin = 1_000, duration: int = 20, **changes: Any
) -> compute_pb2.MsgOpenChannel:
    amount = coin(deposit) if isinstance(deposit, int) else deposit
    fields: dict[str, Any] = dict(
        client=CLIENT_ADDR, provider=PROVIDER_ADDR, deposit=amount, duration_blocks=duration
    )
    fields.update(changes)
    return compute_pb2.MsgOpenChannel(**fields)


def open_channel(ledger: Ledger, deposit: int = 1_000, duration: int = 20) -> int:
    result = ledger.send(CLIENT, open_msg(deposit, duration))
    assert result.code == 0, result.log
    data = pb.sdk_abci.TxMsgData.FromString(result.data)
    response = compute_pb2.MsgOpenChannelResponse.FromString(data.msg_responses[0].value)
    return int(response.channel_id)


def voucher(
    channel_id: int,
    cumulative: int,
    presenter: str = PROVIDER_ADDR,
    key: Any = CLIENT,
    chain_id: str = CHAIN_ID,
) -> compute_pb2.MsgRedeemVoucher:
    return compute_pb2.MsgRedeemVoucher(
        provider=presenter,
        channel_id=channel_id,
        cumulative_amount=str(cumulative),
        signature=sign_voucher(key.bytes, chain_id, channel_id, cumulative),
    )


def query_channel(chain: Chain, channel_id: int) -> compute_pb2.Channel | None:
    result, value = chain.query(
        Q + "Channel",
        compute_pb2.QueryChannelRequest(channel_id=channel_id),
        compute_pb2.QueryChannelResponse,
    )
    if result.code != 0:
        assert (result.codespace, result.code) == ("compute", 60), result.log
        return None
    found: compute_pb2.Channel = value.channel
    return found


def blocks(chain: Chain, count: int) -> list[pb.abci.ResponseFinalizeBlock]:
    return [chain.block([]) for _ in range(count)]


def all_events(responses: list[pb.abci.ResponseFinalizeBlock], kind: str) -> list[dict[str, str]]:
    return [e for r in responses for e in events(r, kind)]


def clean(chain: Chain) -> None:
    keeper, ctx = keeper_ctx(chain)
    problems = (
        ch.check_channel_escrow(ctx, keeper)
        + ch.check_channel_records(ctx, keeper)
        + ch.check_channel_indexes(ctx, keeper)
    )
    assert problems == []
    chain.block([])
    assert chain.app.check_invariants() == []  # the module's, channels' included


# -- the life of a channel --------------------------------------------------------------------


def test_open_topup_redeem_payout_and_provider_close(chain: Chain) -> None:
    ledger = Ledger(chain)
    total = ledger.total()
    client0, provider0, module0 = ledger.balances()
    result = ledger.send(CLIENT, open_msg(1_000, 20))
    assert result.code == 0, result.log
    opened = events(result, "compute_channel_open")
    assert opened == [
        {
            "channel_id": "1",
            "client": CLIENT_ADDR,
            "provider": PROVIDER_ADDR,
            "deposit": "1000ucgpt",
            "expiry_height": str(chain.height + 20),
        }
    ]
    record = query_channel(chain, 1)
    assert record is not None and record.state == ch.OPEN and record.deposit == "1000"
    assert record.client_pubkey == CLIENT.pubkey.bytes
    result = ledger.send(
        CLIENT, compute_pb2.MsgTopUpChannel(client=CLIENT_ADDR, channel_id=1, amount=coin(500))
    )
    assert result.code == 0, result.log
    assert events(result, "compute_channel_topup") == [
        {"channel_id": "1", "amount": "500ucgpt", "deposit": "1500ucgpt"}
    ]
    assert ledger.balances()[2] == module0 + 1_500
    result = ledger.send(PROVIDER, voucher(1, 300))
    assert result.code == 0, result.log
    final = chain.height + CHALLENGE
    assert events(result, "compute_channel_redeem") == [
        {
            "channel_id": "1",
            "presenter": PROVIDER_ADDR,
            "cumulative": "300ucgpt",
            "claim": "300ucgpt",
            "final_height": str(final),
        }
    ]
    responses = blocks(chain, CHALLENGE)
    assert all_events(responses, "compute_channel_payout") == [
        {"channel_id": "1", "provider": PROVIDER_ADDR, "amount": "300ucgpt", "redeemed": "300ucgpt"}
    ]
    assert events(responses[-1], "compute_channel_payout")  # paid at exactly final_height
    record = query_channel(chain, 1)
    assert record is not None and (record.redeemed, record.claimed) == ("300", "300")
    assert record.claim_final_height == 0
    assert ledger.send(PROVIDER, voucher(1, 500)).code == 0
    result = ledger.send(PROVIDER, compute_pb2.MsgCloseChannel(sender=PROVIDER_ADDR, channel_id=1))
    assert result.code == 0, result.log
    assert events(result, "compute_channel_close") == [
        {
            "channel_id": "1",
            "by": "provider",
            "status": "closed",
            "paid": "200ucgpt",
            "redeemed": "500ucgpt",
            "refund": "1000ucgpt",
        }
    ]
    assert query_channel(chain, 1) is None
    client, provider, module = ledger.balances()
    assert module == module0
    assert provider - provider0 == 500 - ledger.fees(PROVIDER) == 500 - 3 * FEE
    assert client - client0 == -500 - ledger.fees(CLIENT) == -500 - 2 * FEE
    assert ledger.total() == total
    blocks(chain, CHALLENGE + 1)  # the claim's old due entry was removed with the channel
    assert ledger.total() == total
    clean(chain)


def test_client_close_lets_the_provider_redeem_inside_the_challenge_period(chain: Chain) -> None:
    ledger = Ledger(chain)
    total = ledger.total()
    channel_id = open_channel(ledger)
    assert ledger.send(PROVIDER, voucher(channel_id, 100)).code == 0
    result = ledger.send(
        CLIENT, compute_pb2.MsgCloseChannel(sender=CLIENT_ADDR, channel_id=channel_id)
    )
    assert result.code == 0, result.log
    close_height = chain.height + CHALLENGE
    assert events(result, "compute_channel_close") == [
        {"channel_id": "1", "by": "client", "status": "closing", "close_height": str(close_height)}
    ]
    record = query_channel(chain, channel_id)
    assert record is not None and record.state == ch.CLOSING and record.close_height == close_height
    # closing: no top-up, no second close by the client; the provider still redeems
    top_up = compute_pb2.MsgTopUpChannel(client=CLIENT_ADDR, channel_id=channel_id, amount=coin(5))
    assert code(ledger.send(CLIENT, top_up)) == ("compute", 64)
    again = compute_pb2.MsgCloseChannel(sender=CLIENT_ADDR, channel_id=channel_id)
    assert code(ledger.send(CLIENT, again)) == ("compute", 64)
    assert ledger.send(PROVIDER, voucher(channel_id, 640)).code == 0
    responses = blocks(chain, close_height - chain.height)
    # the claim (final height before close_height) pays first, the rest at close_height
    assert all_events(responses, "compute_channel_payout") == [
        {"channel_id": "1", "provider": PROVIDER_ADDR, "amount": "640ucgpt", "redeemed": "640ucgpt"}
    ]
    assert events(responses[-1], "compute_channel_close") == [
        {
            "channel_id": "1",
            "by": "timeout",
            "status": "closed",
            "paid": "0ucgpt",
            "redeemed": "640ucgpt",
            "refund": "360ucgpt",
        }
    ]
    assert query_channel(chain, channel_id) is None
    assert ledger.total() == total
    clean(chain)


def test_the_client_may_present_a_later_voucher_and_the_provider_is_paid(chain: Chain) -> None:
    ledger = Ledger(chain)
    channel_id = open_channel(ledger)
    provider0 = ledger.balances()[1]
    assert ledger.send(PROVIDER, voucher(channel_id, 200)).code == 0
    final = query_channel(chain, channel_id).claim_final_height  # type: ignore[union-attr]
    result = ledger.send(CLIENT, voucher(channel_id, 450, presenter=CLIENT_ADDR))
    assert result.code == 0, result.log
    assert events(result, "compute_channel_redeem")[0]["presenter"] == CLIENT_ADDR
    # the replacement keeps the pending claim's final height
    record = query_channel(chain, channel_id)
    assert record is not None and record.claimed == "450" and record.claim_final_height == final
    while chain.height < final:
        chain.block([])
    assert ledger.balances()[1] - provider0 + ledger.fees(PROVIDER) == 450
    clean(chain)


def test_double_spend_is_impossible(chain: Chain) -> None:
    """Vouchers are cumulative: redeeming two pays the higher one, once; re-presenting either
    is stale, and what is paid never exceeds the deposit."""
    ledger = Ledger(chain)
    total = ledger.total()
    channel_id = open_channel(ledger, deposit=1_000)
    _, provider0, _ = ledger.balances()
    first, second = voucher(channel_id, 400), voucher(channel_id, 700)
    assert ledger.send(PROVIDER, first).code == 0
    assert ledger.send(PROVIDER, second).code == 0
    assert code(ledger.send(PROVIDER, first)) == ("compute", 65)
    blocks(chain, CHALLENGE)
    assert code(ledger.send(PROVIDER, second)) == ("compute", 65)  # after the payout too
    assert code(ledger.send(PROVIDER, first)) == ("compute", 65)
    assert ledger.balances()[1] - provider0 + ledger.fees(PROVIDER) == 700
    # a third voucher pays only the difference; nothing is paid beyond the deposit
    assert ledger.send(PROVIDER, voucher(channel_id, 1_000)).code == 0
    assert code(ledger.send(PROVIDER, voucher(channel_id, 1_001))) == ("compute", 66)
    blocks(chain, CHALLENGE)
    assert ledger.balances()[1] - provider0 + ledger.fees(PROVIDER) == 1_000
    result = ledger.send(
        PROVIDER, compute_pb2.MsgCloseChannel(sender=PROVIDER_ADDR, channel_id=channel_id)
    )
    assert events(result, "compute_channel_close")[0]["refund"] == "0ucgpt"
    assert ledger.total() == total
    clean(chain)


# -- refusals ---------------------------------------------------------------------------------


def test_bad_vouchers_are_refused_with_coded_errors(chain: Chain) -> None:
    ledger = Ledger(chain)
    channel_id = open_channel(ledger, deposit=1_000)
    other_id = open_channel(ledger, deposit=1_000)
    assert ledger.send(PROVIDER, voucher(channel_id, 300)).code == 0
    cases = [
        (voucher(channel_id, 300), ("compute", 65)),  # equal: stale
        (voucher(channel_id, 299), ("compute", 65)),  # lower: stale
        (voucher(channel_id, 1_001), ("compute", 66)),  # over the deposit
        (voucher(channel_id, 400, key=PROVIDER), ("compute", 67)),  # signed by someone else
        (voucher(channel_id, 400, chain_id="another-chain"), ("compute", 67)),
        (voucher(channel_id, 400, presenter=STRANGER_ADDR), ("compute", 63)),
        (voucher(404, 400), ("compute", 60)),
    ]
    for msg, expected in cases:
        key = STRANGER if msg.provider == STRANGER_ADDR else PROVIDER
        assert code(ledger.send(key, msg)) == expected, msg
    # the other channel's voucher (same client, same amount) does not pay this one
    stolen = voucher(other_id, 400)
    stolen.channel_id = channel_id
    assert code(ledger.send(PROVIDER, stolen)) == ("compute", 67)
    # malformed: stopped by the stateless check
    short = voucher(channel_id, 400)
    short.signature = short.signature[:63]
    assert code(ledger.send(PROVIDER, short)) == ("compute", 68)
    zero = voucher(channel_id, 0)
    assert code(ledger.send(PROVIDER, zero)) == ("compute", 68)
    high_s = voucher(channel_id, 400)
    r, s = high_s.signature[:32], int.from_bytes(high_s.signature[32:], "big")
    high_s.signature = r + (SECP256K1_N - s).to_bytes(32, "big")
    assert code(ledger.send(PROVIDER, high_s)) == ("compute", 67)
    record = query_channel(chain, channel_id)
    assert record is not None and record.claimed == "300"
    clean(chain)


def test_bad_opens_top_ups_and_closes_are_refused(chain: Chain) -> None:
    ledger = Ledger(chain)
    cases = [
        (CLIENT, open_msg(provider=OTHER_ADDR), ("compute", 2)),  # not a provider
        (CLIENT, open_msg(provider=CLIENT_ADDR), ("compute", 61)),  # to itself
        (CLIENT, open_msg(duration=0), ("compute", 61)),
        (CLIENT, open_msg(duration=MAX_BLOCKS + 1), ("compute", 61)),
        (CLIENT, open_msg(deposit=coin(5, "uatom")), ("compute", 61)),
        (CLIENT, open_msg(deposit=0), ("compute", 61)),
        (CLIENT, open_msg(deposit=10**11), ("sdk", 5)),  # insufficient funds
    ]
    for key, msg, expected in cases:
        assert code(ledger.send(key, msg)) == expected, msg
    channel_id = open_channel(ledger, duration=MAX_BLOCKS)
    top_up = compute_pb2.MsgTopUpChannel(client=OTHER_ADDR, channel_id=channel_id, amount=coin(5))
    assert code(ledger.send(OTHER, top_up)) == ("compute", 63)
    missing = compute_pb2.MsgTopUpChannel(client=CLIENT_ADDR, channel_id=9, amount=coin(5))
    assert code(ledger.send(CLIENT, missing)) == ("compute", 60)
    zero_id = compute_pb2.MsgCloseChannel(sender=CLIENT_ADDR, channel_id=0)
    assert code(ledger.send(CLIENT, zero_id)) == ("compute", 61)
    stranger = compute_pb2.MsgCloseChannel(sender=STRANGER_ADDR, channel_id=channel_id)
    assert code(ledger.send(STRANGER, stranger)) == ("compute", 63)
    assert query_channel(chain, channel_id).state == ch.OPEN  # type: ignore[union-attr]


def test_a_client_without_a_public_key_cannot_open(chain: Chain) -> None:
    keeper, ctx = keeper_ctx(chain)
    fresh = make_key(399).pubkey.address()
    keeper.bank.send_coins(ctx, CLIENT.pubkey.address(), fresh, ch._coins(10_000))
    with pytest.raises(AivmError) as raised:
        keeper.open(ctx, fresh, PROVIDER.pubkey.address(), 1_000, 10)
    assert ch.ErrNoClientPubkey.is_(raised.value)


# -- expiry -----------------------------------------------------------------------------------


def test_expiry_starts_the_challenge_period_then_settles(chain: Chain) -> None:
    ledger = Ledger(chain)
    total = ledger.total()
    channel_id = open_channel(ledger, deposit=800, duration=4)
    expiry = query_channel(chain, channel_id).expiry_height  # type: ignore[union-attr]
    assert ledger.send(PROVIDER, voucher(channel_id, 250)).code == 0  # pays before expiry
    while chain.height < expiry:
        response = chain.block([])
    assert events(response, "compute_channel_close") == [
        {
            "channel_id": "1",
            "by": "expiry",
            "status": "closing",
            "close_height": str(expiry + CHALLENGE),
        }
    ]
    top_up = compute_pb2.MsgTopUpChannel(client=CLIENT_ADDR, channel_id=channel_id, amount=coin(5))
    assert code(ledger.send(CLIENT, top_up)) == ("compute", 64)
    assert ledger.send(PROVIDER, voucher(channel_id, 600)).code == 0  # still in time
    responses = blocks(chain, CHALLENGE)
    closed = all_events(responses, "compute_channel_close")
    assert closed[-1]["status"] == "closed" and closed[-1]["refund"] == "200ucgpt"
    assert query_channel(chain, channel_id) is None
    assert ledger.total() == total
    clean(chain)


def test_top_up_at_the_expiry_height_is_refused(chain: Chain) -> None:
    keeper, ctx = keeper_ctx(chain)
    client, provider = CLIENT.pubkey.address(), PROVIDER.pubkey.address()
    record = keeper.open(ctx, client, provider, 100, 1)
    late = dataclasses.replace(
        ctx, header=dataclasses.replace(ctx.header, height=ctx.header.height + 1)
    )
    with pytest.raises(AivmError) as raised:
        keeper.top_up(late, client, record.id, 10)
    assert ch.ErrChannelExpired.is_(raised.value)


# -- queries, genesis, invariants -------------------------------------------------------------


def test_channels_query_filters_by_party_and_paginates(chain: Chain) -> None:
    ledger = Ledger(chain)
    ids = [open_channel(ledger) for _ in range(3)]
    open_other = open_msg(client=OTHER_ADDR)
    assert ledger.send(OTHER, open_other).code == 0

    def listed(**request: Any) -> tuple[list[int], bytes]:
        req = compute_pb2.QueryChannelsRequest(**request)
        result, value = chain.query(Q + "Channels", req, compute_pb2.QueryChannelsResponse)
        assert result.code == 0, result.log
        return [c.id for c in value.channels], value.pagination.next_key

    assert listed()[0] == [*ids, 4]
    assert listed(client=CLIENT_ADDR)[0] == ids
    assert listed(client=OTHER_ADDR)[0] == [4]
    assert listed(provider=PROVIDER_ADDR)[0] == [*ids, 4]
    assert listed(client=OTHER_ADDR, provider=PROVIDER_ADDR)[0] == [4]
    assert listed(client=STRANGER_ADDR)[0] == []
    page, next_key = listed(client=CLIENT_ADDR, pagination=pb.pagination.PageRequest(limit=2))
    assert page == ids[:2] and next_key
    rest, _ = listed(client=CLIENT_ADDR, pagination=pb.pagination.PageRequest(key=next_key))
    assert rest == ids[2:]
    result, _ = chain.query(
        Q + "Channels",
        compute_pb2.QueryChannelsRequest(client="nope"),
        compute_pb2.QueryChannelsResponse,
    )
    assert result.code != 0
    paths = {route.path for route in ch.CHANNEL_REST_ROUTES}
    assert paths == {"/aivm/compute/v1/channels", "/aivm/compute/v1/channels/{channel_id}"}


def test_genesis_helpers_round_trip(chain: Chain) -> None:
    ledger = Ledger(chain)
    first = open_channel(ledger)
    second = open_channel(ledger, deposit=700)
    assert ledger.send(PROVIDER, voucher(first, 100)).code == 0
    close = compute_pb2.MsgCloseChannel(sender=CLIENT_ADDR, channel_id=second)
    assert ledger.send(CLIENT, close).code == 0
    keeper, ctx = keeper_ctx(chain)
    exported, next_id = ch.export_channels(keeper, ctx)
    assert [c.id for c in exported] == [first, second] and next_id == 3
    assert ch.channels_escrow(exported) == 1_000 + 700
    # import into a branch with the channel keys wiped: the same state comes back
    branch = CacheStore(ctx.store)
    fresh = dataclasses.replace(ctx, store=branch)
    before = sorted(branch.iterate(b"compute/\x20", b"compute/\x25"))
    for key, _ in before:
        branch.delete(key)
    ch.import_channels(keeper, fresh, exported, next_id)
    assert sorted(branch.iterate(b"compute/\x20", b"compute/\x25")) == before
    for bad in (
        [exported[0], exported[0]],  # twice
        [copy_channel(exported[0], claimed="5000")],  # claimed over the deposit
        [copy_channel(exported[0], client_pubkey=b"\x02")],
    ):
        with pytest.raises(AivmError) as raised:
            ch.validate_channels(bad, next_id)
        assert (raised.value.codespace, raised.value.code) == ("compute", 19)
    with pytest.raises(AivmError):
        ch.validate_channels(exported, 2)  # next id not above every id


def test_app_genesis_round_trip_keeps_channels_running(chain: Chain, tmp_path: Path) -> None:
    ledger = Ledger(chain)
    channel_id = open_channel(ledger, deposit=900)
    assert ledger.send(PROVIDER, voucher(channel_id, 400)).code == 0
    close = compute_pb2.MsgCloseChannel(sender=CLIENT_ADDR, channel_id=channel_id)
    assert ledger.send(CLIENT, close).code == 0
    doc = chain.app.export_genesis()
    exported = doc.app_state["compute"]
    assert [c["id"] for c in exported["channels"]] == [str(channel_id)]
    assert exported["next_channel_id"] == "2"
    again = Chain.start(tmp_path / "b", {}, genesis=doc, differential=False)
    again.block([])
    record = query_channel(again, channel_id)
    assert record is not None and record == query_channel(chain, channel_id)
    # the new chain starts again at height 1: the rebuilt due entries pay at the same heights
    responses = blocks(again, record.close_height - again.height)
    closed = all_events(responses, "compute_channel_close")
    assert [(e["status"], e["refund"]) for e in closed] == [("closed", "500ucgpt")]
    assert query_channel(again, channel_id) is None
    assert again.app.check_invariants() == []
    tampered = json_format.ParseDict(exported, compute_pb2.GenesisState())
    tampered.channels[0].deposit = "901"
    doc.app_state["compute"] = json_format.MessageToDict(tampered, preserving_proto_field_name=True)
    with pytest.raises(AivmError, match="compute account holds"):
        Chain.start(tmp_path / "c", {}, genesis=doc, differential=False)


def copy_channel(record: compute_pb2.Channel, **changes: Any) -> compute_pb2.Channel:
    copy = compute_pb2.Channel()
    copy.CopyFrom(record)
    for name, value in changes.items():
        setattr(copy, name, value)
    return copy


def test_invariants_catch_a_corrupted_channel(chain: Chain) -> None:
    ledger = Ledger(chain)
    channel_id = open_channel(ledger)
    assert ledger.send(PROVIDER, voucher(channel_id, 100)).code == 0
    keeper, ctx = keeper_ctx(chain)
    invariants = ch.channel_invariants(keeper)
    assert {name: check(ctx) for name, check in invariants.items()} == {
        "channel_escrow": [],
        "channel_records": [],
        "channel_indexes": [],
    }
    record = keeper.require_channel(ctx, channel_id)
    record.claimed = "2000"  # above the deposit
    keeper.set_channel(ctx, record)
    assert invariants["channel_records"](ctx) == [
        "channel 1: want redeemed 0 ≤ claimed 2000 ≤ deposit 1000"
    ]
    record.claimed, record.deposit = "100", str(10**15)  # more than the account holds
    keeper.set_channel(ctx, record)
    assert invariants["channel_escrow"](ctx)[0].startswith("compute account holds")
    record.deposit = "1000"
    keeper.set_channel(ctx, record)
    stray = ch.due_key(chain.height + 7, channel_id, ch.DUE_CLOSE)
    ctx.store.set(b"compute/" + stray, b"\x01")
    assert invariants["channel_indexes"](ctx) == [f"stray channel entry: {stray.hex()}"]


# -- differential replay and the simulation's flow --------------------------------------------


def test_differential_replay_of_channels(tmp_path: Path) -> None:
    """Every node computes the same state (the harness's shadow replicas check each block)."""
    chain = start(tmp_path / "data", differential=True)
    ledger = Ledger(chain)
    channel_id = open_channel(ledger)
    assert ledger.send(PROVIDER, voucher(channel_id, 10)).code == 0
    assert (
        ledger.send(
            CLIENT, compute_pb2.MsgCloseChannel(sender=CLIENT_ADDR, channel_id=channel_id)
        ).code
        == 0
    )
    blocks(chain, CHALLENGE + 1)
    assert query_channel(chain, channel_id) is None


@dataclasses.dataclass
class FakeEnv:
    """What :func:`check_channel_flow` reads of the simulation's environment."""

    rng: random.Random
    ctx: Context
    height: int
    accounts: list[bytes]

    def scratch(self, module: str) -> dict[str, Any]:
        return {}


def test_simulation_flow_and_ops(chain: Chain) -> None:
    keeper, ctx = keeper_ctx(chain)
    accounts = [k.pubkey.address() for k in (CLIENT, PROVIDER, OTHER)]
    env = FakeEnv(random.Random(7), ctx, chain.height + 1, accounts)
    assert ch.check_channel_flow(keeper, env) == []
    ops = ch.channel_sim_ops(keeper)
    assert set(ops) == {
        "open_channel",
        "topup_channel",
        "redeem_voucher",
        "close_channel",
        "channel_flow",
    }
    built = ops["open_channel"].run(env)
    assert built is None or isinstance(built[0], compute_pb2.MsgOpenChannel)
    assert ops["redeem_voucher"].run(env) is None  # no channel yet
    clean(chain)


# -- CLI --------------------------------------------------------------------------------------


def test_sign_voucher_offline_over_the_cli(offline_run: Any) -> None:
    import json

    from aivm.client.wallet import Wallet
    from aivm.crypto.hd import generate_mnemonic

    mnemonic = generate_mnemonic()
    code_, _, err = offline_run("keys", "import", "alice", stdin=mnemonic + "\n")
    assert code_ == 0, err
    args = ("tx", "compute", "sign-voucher", "7", "2500ucgpt", "--from", "alice", "-o", "json")
    code_, out, err = offline_run(*args, "--chain-id", "aivm-cli-1")
    assert code_ == 0, err
    shown = json.loads(out)
    assert (shown["channel_id"], shown["cumulative_amount"]) == (7, "2500")
    pubkey = Wallet.from_mnemonic(mnemonic).pubkey.bytes
    signature = bytes.fromhex(shown["signature"])
    assert ch.verify_voucher(pubkey, "aivm-cli-1", 7, 2500, signature)
    assert not ch.verify_voucher(pubkey, "aivm-cli-2", 7, 2500, signature)
    code_, _, err = offline_run(*args)  # no chain id: it will not guess one
    assert code_ != 0 and "--chain-id" in err


@pytest.mark.slow
def test_channel_flow_over_cli_sdk_and_rest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    import requests

    from aivm.client import Client, Wallet
    from chain_drivers import start_chain
    from cli_runner import cli_runner, import_keys

    with start_chain("devnet", tmp_path / "devnet") as endpoint:
        provider = Wallet.from_mnemonic(endpoint.accounts[0].mnemonic)
        with Client(endpoint.rpc_url) as client:
            sdk = client.modules.compute
            hardware = sdk.hardware(cpu_cores=4, memory_mib=8192)
            collateral = DEFAULT_PARAMS.min_collateral
            assert sdk.register(provider, collateral, hardware, ["onnxruntime"]).code == 0
        run = import_keys(
            cli_runner(endpoint.rpc_url, tmp_path / "home", capsys, monkeypatch), endpoint, 1
        )
        tx = ("--from", "dev1", "--yes", "--wait", "-o", "json")
        code_, out, err = run(
            "tx", "compute", "open-channel", provider.address, "1000000ucgpt",
            "--duration-blocks", "1000", *tx,
        )  # fmt: skip
        assert code_ == 0, err
        opened = json.loads(out)
        assert opened["code"] == 0, out
        channel_id = str(opened["channel_id"])
        code_, out, err = run(
            "tx", "compute", "sign-voucher", channel_id, "250000", "--from", "dev1",
            "--chain-id", endpoint.chain_id, "-o", "json",
        )  # fmt: skip
        assert code_ == 0, err
        signature = json.loads(out)["signature"]
        with Client(endpoint.rpc_url) as client:
            sdk = client.modules.compute
            redeemed = sdk.redeem_voucher(
                provider, int(channel_id), 250_000, bytes.fromhex(signature)
            )
            assert redeemed.code == 0, redeemed.log
            assert sdk.channel(int(channel_id)).claimed == "250000"
            assert [c.id for c in sdk.channels(provider=provider.address)] == [int(channel_id)]
        code_, out, err = run("query", "compute", "channel", channel_id, "-o", "json")
        assert code_ == 0, err
        assert json.loads(out)["claimed"] == "250000"
        code_, out, err = run("tx", "compute", "topup-channel", channel_id, "5ucgpt", *tx)
        assert code_ == 0 and json.loads(out)["code"] == 0, err + out
        base = endpoint.rest_url + "/aivm/compute/v1/channels"
        body = requests.get(f"{base}/{channel_id}", timeout=30).json()
        assert body["channel"]["deposit"] == "1000005"
        body = requests.get(base, params={"provider": provider.address}, timeout=30).json()
        assert [c["id"] for c in body["channels"]] == [channel_id]
        with Client(endpoint.rpc_url) as client:
            closed = client.modules.compute.close_channel(provider, int(channel_id))
            assert closed.code == 0, closed.log
        code_, out, err = run(
            "query", "compute", "channels", "--client", endpoint.accounts[1].address, "-o", "json"
        )
        assert code_ == 0 and json.loads(out)["channels"] == [], err + out
        code_, out, err = run("query", "compute", "channel", channel_id, "-o", "json")
        assert code_ != 0 and "(compute code 60)" in err, err + out
