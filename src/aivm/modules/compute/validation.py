"""Stateless checks of provider declarations: hardware, runtimes, offers, capacity, texts and
collateral coins. Each failure is a coded error of the ``compute`` codespace."""

from __future__ import annotations

from collections.abc import Sequence

from aivm.modules.compute import compute_pb2, keys
from aivm.modules.compute.errors import (
    ErrInvalidCapacity,
    ErrInvalidCollateral,
    ErrInvalidDescription,
    ErrInvalidHardware,
    ErrInvalidOffer,
    ErrInvalidRuntimes,
)
from aivm.modules.compute.params import MAX_CAPACITY_LIMIT, MAX_OFFERS_LIMIT
from aivm.types import pb
from aivm.types.coin import BOND_DENOM
from aivm.types.numbers import MAX_UINT256_DIGITS, parse_digits

RUNTIMES = ("dsm", "onnxruntime", "torch")
"""Runtimes a provider may declare."""
MAX_GPU_MODEL_BYTES = 64
MAX_GPU_COUNT = 64
MAX_GPU_MEMORY_MIB = 1 << 24  # 16 TiB per GPU
MAX_CPU_CORES = 4096
MAX_MEMORY_MIB = 1 << 30  # 1 PiB
MAX_MONIKER = 70
MAX_DESCRIPTION = 280
MAX_PRICE_DIGITS = 39


def _printable(text: str) -> bool:
    return text.isprintable()


def check_hardware(hardware: compute_pb2.Hardware) -> None:
    """Bounded figures; a GPU count needs a GPU model and memory, CPU only needs neither."""
    model = hardware.gpu_model
    if len(model.encode()) > MAX_GPU_MODEL_BYTES or not _printable(model):
        raise ErrInvalidHardware.wrap(f"gpu_model: printable, at most {MAX_GPU_MODEL_BYTES} bytes")
    if hardware.gpu_count > MAX_GPU_COUNT:
        raise ErrInvalidHardware.wrap(f"gpu_count at most {MAX_GPU_COUNT}")
    if hardware.gpu_memory_mib > MAX_GPU_MEMORY_MIB:
        raise ErrInvalidHardware.wrap(f"gpu_memory_mib at most {MAX_GPU_MEMORY_MIB}")
    has_gpu = hardware.gpu_count > 0
    if has_gpu != bool(model) or has_gpu != (hardware.gpu_memory_mib > 0):
        raise ErrInvalidHardware.wrap(
            "gpu_count, gpu_model and gpu_memory_mib are all set (GPUs) or all empty (CPU only)"
        )
    if not 0 < hardware.cpu_cores <= MAX_CPU_CORES:
        raise ErrInvalidHardware.wrap(f"cpu_cores must be 1 to {MAX_CPU_CORES}")
    if not 0 < hardware.memory_mib <= MAX_MEMORY_MIB:
        raise ErrInvalidHardware.wrap(f"memory_mib must be 1 to {MAX_MEMORY_MIB}")


def check_runtimes(runtimes: Sequence[str]) -> None:
    """One to three distinct runtimes of :data:`RUNTIMES`."""
    if not runtimes:
        raise ErrInvalidRuntimes.wrap(f"declare at least one of {', '.join(RUNTIMES)}")
    if len(runtimes) > len(RUNTIMES) or len(set(runtimes)) != len(runtimes):
        raise ErrInvalidRuntimes.wrap("runtimes must be distinct")
    for runtime in runtimes:
        if runtime not in RUNTIMES:
            raise ErrInvalidRuntimes.wrap(f"{runtime[:32]!r} is not one of {', '.join(RUNTIMES)}")


def offer_price(offer: compute_pb2.Offer) -> int:
    """The offer's price per unit: an integer in [1, 2^128 − 1]; ErrInvalidOffer else."""
    price = parse_digits(offer.price_per_unit, MAX_PRICE_DIGITS, ErrInvalidOffer, "price_per_unit")
    if not 0 < price <= keys.MAX_PRICE:
        raise ErrInvalidOffer.wrap(f"price_per_unit must be 1 to {keys.MAX_PRICE}")
    return price


def check_offers(offers: Sequence[compute_pb2.Offer]) -> None:
    """At most :data:`MAX_OFFERS_LIMIT` offers, each a model id, a version name and a price;
    no two for the same model version. (That each version exists and runs off-chain, and
    the ``max_offers`` param, are checked by the handler.)"""
    if len(offers) > MAX_OFFERS_LIMIT:
        raise ErrInvalidOffer.wrap(f"at most {MAX_OFFERS_LIMIT} offers")
    seen: set[tuple[int, str]] = set()
    for offer in offers:
        if offer.model_id == 0:
            raise ErrInvalidOffer.wrap("model_id must be set")
        size = len(offer.version.encode())
        if not 0 < size <= keys.MAX_VERSION_BYTES or not _printable(offer.version):
            raise ErrInvalidOffer.wrap(f"version: printable, 1 to {keys.MAX_VERSION_BYTES} bytes")
        offer_price(offer)
        pair = (offer.model_id, offer.version)
        if pair in seen:
            raise ErrInvalidOffer.wrap(f"two offers for model {offer.model_id} {offer.version}")
        seen.add(pair)


def check_capacity(capacity: int) -> None:
    """1 to :data:`MAX_CAPACITY_LIMIT` (the ``max_capacity`` param is checked by the handler)."""
    if not 0 < capacity <= MAX_CAPACITY_LIMIT:
        raise ErrInvalidCapacity.wrap(f"capacity must be 1 to {MAX_CAPACITY_LIMIT}")


def check_texts(moniker: str, description: str) -> None:
    """Moniker at most 70 characters, description at most 280."""
    if len(moniker) > MAX_MONIKER or len(description) > MAX_DESCRIPTION:
        raise ErrInvalidDescription.wrap(
            f"moniker at most {MAX_MONIKER}, description at most {MAX_DESCRIPTION} characters"
        )


def collateral_amount(coin: pb.coin.Coin) -> int:
    """A positive amount of the bond denom; ErrInvalidCollateral otherwise."""
    if coin.denom != BOND_DENOM:
        raise ErrInvalidCollateral.wrap(f"collateral is in {BOND_DENOM}, not {coin.denom[:64]!r}")
    amount = parse_digits(coin.amount, MAX_UINT256_DIGITS, ErrInvalidCollateral, "amount")
    if amount <= 0:
        raise ErrInvalidCollateral.wrap("the amount must be positive")
    return amount


def check_declaration(
    hardware: compute_pb2.Hardware,
    runtimes: Sequence[str],
    offers: Sequence[compute_pb2.Offer],
    capacity: int,
    moniker: str,
    description: str,
) -> None:
    """Every stateless check of what a register or update message declares."""
    check_hardware(hardware)
    check_runtimes(runtimes)
    check_offers(offers)
    check_capacity(capacity)
    check_texts(moniker, description)
