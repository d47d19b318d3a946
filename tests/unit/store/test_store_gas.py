"""Gas metering: amounts match the Cosmos SDK's KVGasConfig and gaskv rules."""

from __future__ import annotations

import pytest

from aivm.store import CacheStore, GasConfig, GasKVStore, GasMeter, MemStore
from aivm.types.errors import AivmError, ErrOutOfGas

SDK = GasConfig()


def test_default_config_is_sdk_kv_gas_config_but_delete() -> None:
    assert (
        SDK.has_cost,
        SDK.delete_cost,
        SDK.read_cost_flat,
        SDK.read_cost_per_byte,
        SDK.write_cost_flat,
        SDK.write_cost_per_byte,
        SDK.iter_next_cost_flat,
    ) == (1000, 5000, 1000, 3, 2000, 30, 30)


def _store() -> tuple[GasKVStore, GasMeter]:
    parent = MemStore()
    parent.set(b"key1", b"value")
    parent.set(b"key2", b"vv")
    meter = GasMeter(None)
    return GasKVStore(parent, meter, SDK), meter


def test_read_write_has_delete_costs() -> None:
    store, meter = _store()
    assert store.get(b"key1") == b"value"
    assert meter.consumed == 1000 + 3 * 4 + 3 * 5
    meter.consumed = 0
    assert store.get(b"nope") is None
    assert meter.consumed == 1000 + 3 * 4
    meter.consumed = 0
    store.set(b"abc", b"12345")
    assert meter.consumed == 2000 + 30 * 3 + 30 * 5
    meter.consumed = 0
    assert store.has(b"abc")
    assert meter.consumed == 1000
    meter.consumed = 0
    store.delete(b"abc")
    assert meter.consumed == 5000


def test_iterator_costs_follow_gaskv() -> None:
    store, meter = _store()
    items = list(store.iterate())
    assert items == [(b"key1", b"value"), (b"key2", b"vv")]
    # Creation charges the first item; each advance charges the item it leaves.
    first = 3 * (4 + 5)
    second = 3 * (4 + 2)
    assert meter.consumed == (first + 30) + (first + 30) + (second + 30)
    meter.consumed = 0
    assert list(store.iterate(b"x")) == []
    assert meter.consumed == 30


def test_out_of_gas_raises_code_11_and_keeps_attempted_total() -> None:
    meter = GasMeter(2500)
    store = GasKVStore(MemStore(), meter)
    store.set(b"k", b"v")  # 2000 + 30 + 30
    with pytest.raises(AivmError) as info:
        store.set(b"k", b"v")
    err = info.value
    assert ErrOutOfGas.is_(err) and err.code == 11 and err.codespace == "sdk"
    assert "out of gas in location: WriteFlat; gasWanted: 2500, gasUsed: 4060" in err.log
    assert meter.consumed == 4060
    assert meter.is_past_limit() and meter.remaining() == 0


def test_meter_limit_edges_refund_and_overflow() -> None:
    meter = GasMeter(100)
    meter.consume(100, "exact")
    assert meter.is_out_of_gas() and not meter.is_past_limit() and meter.remaining() == 0
    meter.refund(40, "refund")
    assert meter.consumed == 60
    with pytest.raises(AivmError):
        meter.refund(61, "too much")
    infinite = GasMeter(None)
    infinite.consume(2**63, "big")
    assert infinite.remaining() is None and not infinite.is_past_limit()
    with pytest.raises(AivmError) as info:
        infinite.consume(2**63, "overflow")
    assert ErrOutOfGas.is_(info.value)
    with pytest.raises(AivmError):
        meter.consume(-1, "negative")


def test_failed_tx_branch_with_gas_leaves_no_writes() -> None:
    block = MemStore()
    branch = CacheStore(block)
    store = GasKVStore(branch, GasMeter(3000))
    store.set(b"a", b"1")
    with pytest.raises(AivmError):
        store.set(b"b", b"2")
    branch.discard()
    assert list(block.iterate()) == []


def _charge_one_by_one(meter: GasMeter, op: str, key: bytes, value: bytes) -> None:
    """The SDK's order of charges, one consume each (the reference for the fast path)."""
    if op == "set":
        meter.consume(SDK.write_cost_flat, "WriteFlat")
        meter.consume(SDK.write_cost_per_byte * len(key), "WritePerByte")
        meter.consume(SDK.write_cost_per_byte * len(value), "WritePerByte")
    else:
        meter.consume(SDK.read_cost_flat, "ReadFlat")
        meter.consume(SDK.read_cost_per_byte * len(key), "ReadPerByte")
        meter.consume(SDK.read_cost_per_byte * len(value), "ReadPerByte")


@pytest.mark.parametrize("op", ["set", "get"])
def test_every_limit_fails_where_one_by_one_charging_fails(op: str) -> None:
    """Charges are added in one step only when they cannot fail; at every limit around the
    boundaries the error, its location and ``consumed`` equal one-by-one charging."""
    key, value = b"key", b"a-value"
    total = (
        SDK.write_cost_flat + SDK.write_cost_per_byte * (len(key) + len(value))
        if op == "set"
        else SDK.read_cost_flat + SDK.read_cost_per_byte * (len(key) + len(value))
    )
    for limit in range(total + 2):
        parent = MemStore()
        parent.set(key, value)
        meter, reference = GasMeter(limit), GasMeter(limit)
        store = GasKVStore(parent, meter)
        try:
            store.set(key, value) if op == "set" else store.get(key)
            error = None
        except AivmError as exc:
            error = exc.log
        try:
            _charge_one_by_one(reference, op, key, value)
            expected = None
        except AivmError as exc:
            expected = exc.log
        assert (error, meter.consumed) == (expected, reference.consumed), limit
