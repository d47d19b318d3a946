"""Property: no input, however malformed, makes an ABCI call raise; rejected txs change nothing."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from aivm.types import pb
from harness import Chain, make_key

KEY = make_key(7)
ADDR = KEY.pubkey.address()


def mutate(raw: bytes, position: int, value: int, cut: int) -> bytes:
    """Overwrite one byte and truncate: most results are undecodable or badly signed."""
    data = bytearray(raw)
    data[position % len(data)] = value
    return bytes(data[: max(1, len(data) - cut)])


@settings(max_examples=80, deadline=None)
@given(
    st.one_of(
        st.binary(max_size=300),
        st.tuples(st.integers(0, 10_000), st.integers(0, 255), st.integers(0, 40)),
    )
)
def test_malformed_txs_are_coded_errors_and_change_nothing(
    spec: bytes | tuple[int, int, int],
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        chain = Chain.start(Path(tmp) / "d", {ADDR: 100_000})
        chain.block([])
        # every block changes state (the block time, staking's historical info): "no trace"
        # means the state of an empty block on a twin chain
        twin = Chain.start(Path(tmp) / "twin", {ADDR: 100_000}, differential=False)
        twin.block([])
        try:
            valid = chain.send_tx(KEY, bytes(20), 10)
            raw = spec if isinstance(spec, bytes) else mutate(valid, *spec)
            if raw == valid:
                return
            check = chain.check(raw)
            query = chain.app.query(
                pb.abci.RequestQuery(path="/cosmos.tx.v1beta1.Service/Simulate", data=raw)
            )
            assert isinstance(query.code, int)
            result = chain.block([raw], prepare=False).tx_results[0]
            twin.block([])
            if check.code != 0:
                assert result.code != 0
            assert result.code != 1, result.log  # never an internal error
            if chain.account(ADDR).sequence == 0:
                # rejected before the ante step finished: no fee, no trace in state at all
                assert result.code != 0
                assert chain.balance(ADDR) == 100_000
                assert chain.app.store.last_hash == twin.app.store.last_hash
        finally:
            chain.app.store.close()
            twin.app.store.close()
