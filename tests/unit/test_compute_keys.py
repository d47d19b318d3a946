"""compute: the tier mapping (memory per GPU), the offer-index key encoding (sorts by price
within a model version and tier), the exit-queue key, and the stateless checks."""

from __future__ import annotations

import pytest

from aivm.modules.compute import compute_pb2, keys
from aivm.modules.compute.errors import (
    ErrInvalidHardware,
    ErrInvalidOffer,
    ErrInvalidParams,
    ErrInvalidRuntimes,
)
from aivm.modules.compute.params import DEFAULT_PARAMS, params_from_proto
from aivm.modules.compute.validation import check_hardware, check_offers, check_runtimes
from aivm.types.errors import AivmError

ALICE, BOB = b"\x01" * 20, b"\x02" * 20


def gpu(memory_mib: int, count: int = 1) -> compute_pb2.Hardware:
    return compute_pb2.Hardware(
        gpu_model="G", gpu_count=count, gpu_memory_mib=memory_mib, cpu_cores=8, memory_mib=8192
    )


@pytest.mark.parametrize(
    ("hardware", "tier"),
    [
        (compute_pb2.Hardware(cpu_cores=64, memory_mib=1 << 20), compute_pb2.TIER_ENTRY),
        (gpu(8 * 1024, count=8), compute_pb2.TIER_ENTRY),  # many small GPUs: still entry
        (gpu(12 * 1024 - 1), compute_pb2.TIER_ENTRY),
        (gpu(12 * 1024), compute_pb2.TIER_STANDARD),
        (gpu(40 * 1024 - 1), compute_pb2.TIER_STANDARD),
        (gpu(40 * 1024), compute_pb2.TIER_HIGH_PERFORMANCE),
        (gpu(141 * 1024, count=8), compute_pb2.TIER_HIGH_PERFORMANCE),
        (compute_pb2.Hardware(gpu_memory_mib=80 * 1024), compute_pb2.TIER_ENTRY),  # no GPU count
    ],
)
def test_tier_is_a_function_of_memory_per_gpu(hardware: compute_pb2.Hardware, tier: int) -> None:
    assert keys.tier_of(hardware) == tier


def test_offer_keys_sort_by_price_then_operator_within_model_version_and_tier() -> None:
    entries = [
        keys.offer_key(1, "1.0.0", 2, 300, ALICE),
        keys.offer_key(1, "1.0.0", 2, 256, BOB),
        keys.offer_key(1, "1.0.0", 2, 256, ALICE),
        keys.offer_key(1, "1.0.0", 2, 5, BOB),
        keys.offer_key(1, "1.0.0", 3, 1, ALICE),  # another tier
        keys.offer_key(1, "1.0.01", 2, 1, ALICE),  # another version, longer name
        keys.offer_key(2, "1.0.0", 2, 1, ALICE),  # another model
    ]
    prefix = keys.asks_prefix(1, "1.0.0", 2)
    book = sorted(k for k in entries if k.startswith(prefix))
    assert [keys.split_ask(k[len(prefix) :]) for k in book] == [
        (5, BOB),
        (256, ALICE),
        (256, BOB),
        (300, ALICE),
    ]
    key = keys.offer_key(7, "2.1.0", 1, 1 << 100, ALICE)
    assert key == (
        b"\x03"
        + (7).to_bytes(8, "big")
        + b"\x052.1.0"
        + b"\x01"
        + (1 << 100).to_bytes(16, "big")
        + b"\x14"
        + ALICE
    )
    tier, price, address = keys.split_version_ask(key[len(keys.version_prefix(7, "2.1.0")) :])
    assert (tier, price, address) == (1, 1 << 100, ALICE)


def test_keys_refuse_what_does_not_fit() -> None:
    with pytest.raises(AivmError):
        keys.price_bytes(keys.MAX_PRICE + 1)
    with pytest.raises(AivmError):
        keys.version_prefix(1, "v" * 65)
    with pytest.raises(AivmError):
        keys.version_prefix(1, "")
    assert keys.exit_key(5, ALICE) == b"\x04" + (5).to_bytes(8, "big") + b"\x14" + ALICE


@pytest.mark.parametrize(
    "hardware",
    [
        compute_pb2.Hardware(cpu_cores=1, memory_mib=0),
        compute_pb2.Hardware(cpu_cores=5000, memory_mib=1),
        compute_pb2.Hardware(gpu_model="G", cpu_cores=1, memory_mib=1),
        compute_pb2.Hardware(gpu_count=1, gpu_memory_mib=1, cpu_cores=1, memory_mib=1),
        compute_pb2.Hardware(
            gpu_model="G\n", gpu_count=1, gpu_memory_mib=1, cpu_cores=1, memory_mib=1
        ),
        compute_pb2.Hardware(
            gpu_model="G", gpu_count=65, gpu_memory_mib=1, cpu_cores=1, memory_mib=1
        ),
    ],
)
def test_bad_hardware_is_refused(hardware: compute_pb2.Hardware) -> None:
    with pytest.raises(AivmError) as info:
        check_hardware(hardware)
    assert ErrInvalidHardware.is_(info.value)


def test_runtimes_and_offers_checks() -> None:
    check_runtimes(["dsm", "onnxruntime", "torch"])
    for bad in ([], ["jax"], ["dsm", "dsm"], ["dsm", "onnxruntime", "torch", "dsm"]):
        with pytest.raises(AivmError) as info:
            check_runtimes(bad)
        assert ErrInvalidRuntimes.is_(info.value)
    ok = compute_pb2.Offer(model_id=1, version="1.0.0", price_per_unit="1")
    check_offers(
        [ok]
        + [compute_pb2.Offer(model_id=1, version=f"2.{i}.0", price_per_unit="9") for i in range(63)]
    )
    for price in ("0", "-1", "1.5", "", str(keys.MAX_PRICE + 1), "9" * 40):
        with pytest.raises(AivmError) as info:
            check_offers([compute_pb2.Offer(model_id=1, version="1.0.0", price_per_unit=price)])
        assert ErrInvalidOffer.is_(info.value)
    with pytest.raises(AivmError):
        check_offers([ok] * 65)


def test_params_are_checked() -> None:
    assert params_from_proto(DEFAULT_PARAMS.to_proto()) == DEFAULT_PARAMS
    for field, value in (
        ("min_collateral", "0"),
        ("min_collateral", "x"),
        ("heartbeat_timeout_blocks", 0),
        ("max_offers", 65),
        ("max_capacity", 0),
        ("initial_reputation", "1.000000000000000001"),
        ("initial_reputation", "half"),
        ("jail_duration_ns", 0),
        ("max_slash_records", 0),
    ):
        proto = DEFAULT_PARAMS.to_proto()
        setattr(proto, field, value)
        with pytest.raises(AivmError) as info:
            params_from_proto(proto)
        assert ErrInvalidParams.is_(info.value), field
