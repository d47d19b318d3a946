"""Property: across random sequences of valid and invalid transactions, the total supply is
conserved, every balance stays non-negative, and the supply record matches the balances."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from aivm.modules.framework import BlockHeader, Context, ExecMode
from aivm.store import GasMeter
from aivm.types import pb
from harness import DENOM, Chain, make_key

KEYS = [make_key(100 + i) for i in range(4)]
ADDRS = [k.pubkey.address() for k in KEYS]
INITIAL = {ADDRS[0]: 50_000, ADDRS[1]: 20_000, ADDRS[2]: 5}
TOTAL = sum(INITIAL.values())

tx_strategy = st.tuples(
    st.integers(0, 3),  # sender
    st.integers(0, 3),  # recipient
    st.integers(0, 60_000),  # amount (often more than the balance)
    st.integers(0, 3_000),  # fee
    st.sampled_from(["ok", "bad_seq", "bad_sig", "low_gas", "garbage"]),
)


def all_balances(chain: Chain) -> dict[bytes, int]:
    app = chain.app
    ctx = Context(
        app.store.working, GasMeter(None), BlockHeader(chain.height, 0, ""), ExecMode.QUERY
    )
    return {addr: coins.amount_of(DENOM) for addr, coins in app.bank.iterate_all_balances(ctx)}


def build(chain: Chain, spec: tuple[int, int, int, int, str], seq_offset: dict[int, int]) -> bytes:
    sender, recipient, amount, fee, kind = spec
    if kind == "garbage":
        return bytes([sender, recipient, 0xFF, 0x01])
    account = chain.account(ADDRS[sender])
    if account is None:  # never funded: the tx fails in the ante step
        return chain.send_tx(
            KEYS[sender], ADDRS[recipient], max(amount, 1), fee, sequence=0, account_number=0
        )
    seq = account.sequence + seq_offset.get(sender, 0)
    if kind == "bad_seq":
        seq += 7
    raw = chain.send_tx(
        KEYS[sender],
        ADDRS[recipient],
        max(amount, 1),
        fee,
        gas=5_000 if kind == "low_gas" else 200_000,
        sequence=seq,
    )
    if kind == "bad_sig":
        tx = pb.tx.TxRaw.FromString(raw)
        tx.signatures[0] = bytes(64)
        return tx.SerializeToString()
    seq_offset[sender] = seq_offset.get(sender, 0) + 1
    return raw


@settings(max_examples=25, deadline=None)
@given(st.lists(st.lists(tx_strategy, max_size=6), min_size=1, max_size=5))
def test_supply_conserved_and_balances_non_negative(
    blocks: list[list[tuple[int, int, int, int, str]]],
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        chain = Chain.start(Path(tmp) / "data", INITIAL)
        chain.block([])
        try:
            for block in blocks:
                offsets: dict[int, int] = {}
                chain.block([build(chain, spec, offsets) for spec in block])
                balances = all_balances(chain)
                assert all(v >= 0 for v in balances.values())
                assert sum(balances.values()) == TOTAL
                assert (
                    chain.app.bank.get_supply(
                        Context(
                            chain.app.store.working,
                            GasMeter(None),
                            BlockHeader(1, 0, ""),
                            ExecMode.QUERY,
                        ),
                        DENOM,
                    )
                    == TOTAL
                )
        finally:
            chain.app.store.close()
