"""Capability declarations: what each role's operators may declare, and the capability score
the declaration is worth in the selection score.

Every score is a :class:`Dec` in ``[1, 2]``: a declaration can at most double an operator's
weight against the same bond. The declared figures are not proven here (the modules that
observe the work adjust the performance multiplier instead), so every term is capped and
grows with the logarithm of a figure (its bit length), never linearly:

- **compute**: ``1 + tier + 0.3 × min(bits(benchmark_tflops), 14) / 14
  + 0.3 × min(bits(accelerators × memory_gib), 14) / 14`` with tier CPU 0, consumer GPU 0.15,
  datacenter GPU 0.3, flagship GPU 0.4 (14 bits: 16,384 TFLOPS, 16 TiB of memory);
  ``benchmark_tokens_per_second`` is recorded, not scored.
- **ai**: ``1 + 0.4 × min(runtimes, 4) / 4 + 0.6 × methods / 6`` (distinct runtimes from
  :data:`RUNTIMES`, distinct verification methods).
- **data**: ``1 + min(max(bits(storage_bytes) − 30, 0), 20) / 20`` (from 1 GiB to 1 PiB).
"""

from __future__ import annotations

from aivm.modules.roles import roles_pb2
from aivm.modules.roles.errors import ErrInvalidCapability
from aivm.types.dec import Dec

RUNTIMES = ("dsm", "onnxruntime", "pytorch", "tensorflow", "jax", "tensorrt", "vllm", "llamacpp")
"""Runtimes an AI operator may declare (adding one is a consensus change)."""
MAX_BENCHMARK = 10**12
"""Largest benchmark figure accepted (far above any machine)."""
MAX_ACCELERATORS = 4096
MAX_MEMORY_GIB = 1 << 20
TIER_POINTS = {
    roles_pb2.HARDWARE_CLASS_CPU: Dec("0"),
    roles_pb2.HARDWARE_CLASS_GPU_CONSUMER: Dec("0.15"),
    roles_pb2.HARDWARE_CLASS_GPU_DATACENTER: Dec("0.3"),
    roles_pb2.HARDWARE_CLASS_GPU_FLAGSHIP: Dec("0.4"),
}
KIND_OF_ROLE: dict[int, str] = {
    roles_pb2.ROLE_AI: "ai",
    roles_pb2.ROLE_COMPUTE: "compute",
    roles_pb2.ROLE_DATA: "data",
}
VERIFICATION_METHODS = tuple(
    v
    for v in roles_pb2.VerificationMethod.values()
    if v != roles_pb2.VERIFICATION_METHOD_UNSPECIFIED
)


def check_capability(role: int, capability: roles_pb2.Capability) -> None:
    """ErrInvalidCapability unless ``capability`` is a valid declaration for ``role``."""
    kind = capability.WhichOneof("kind")
    if kind != KIND_OF_ROLE.get(role):
        raise ErrInvalidCapability.wrap(
            f"the {KIND_OF_ROLE.get(role, '?')} role needs a {KIND_OF_ROLE.get(role, '?')} "
            f"declaration, not {kind or 'none'}"
        )
    if kind == "compute":
        _check_compute(capability.compute)
    elif kind == "ai":
        _check_ai(capability.ai)
    elif capability.data.storage_bytes == 0:
        raise ErrInvalidCapability.wrap("storage_bytes must be positive")


def _check_compute(compute: roles_pb2.ComputeCapability) -> None:
    if compute.hardware_class not in TIER_POINTS:
        raise ErrInvalidCapability.wrap(f"unknown hardware class {compute.hardware_class}")
    gpu = compute.hardware_class != roles_pb2.HARDWARE_CLASS_CPU
    if gpu and compute.accelerators == 0:
        raise ErrInvalidCapability.wrap("a GPU class needs at least one accelerator")
    if compute.accelerators > MAX_ACCELERATORS:
        raise ErrInvalidCapability.wrap(f"at most {MAX_ACCELERATORS} accelerators")
    if not 0 < compute.memory_gib <= MAX_MEMORY_GIB:
        raise ErrInvalidCapability.wrap(f"memory_gib must be 1 to {MAX_MEMORY_GIB}")
    if compute.benchmark_tflops > MAX_BENCHMARK or (
        compute.benchmark_tokens_per_second > MAX_BENCHMARK
    ):
        raise ErrInvalidCapability.wrap(f"benchmark figures are at most {MAX_BENCHMARK}")


def _check_ai(ai: roles_pb2.AiCapability) -> None:
    runtimes = list(ai.runtimes)
    if not runtimes:
        raise ErrInvalidCapability.wrap("declare at least one runtime")
    unknown = [r for r in runtimes if r not in RUNTIMES]
    if unknown:
        raise ErrInvalidCapability.wrap(f"unknown runtime {unknown[0][:32]!r}; known: {RUNTIMES}")
    if len(set(runtimes)) != len(runtimes):
        raise ErrInvalidCapability.wrap("runtimes must be distinct")
    methods = list(ai.methods)
    if not methods:
        raise ErrInvalidCapability.wrap("declare at least one verification method")
    if any(m not in VERIFICATION_METHODS for m in methods):
        raise ErrInvalidCapability.wrap("unknown verification method")
    if len(set(methods)) != len(methods):
        raise ErrInvalidCapability.wrap("verification methods must be distinct")


def _part(weight: str, numerator: int, denominator: int) -> Dec:
    """``weight × numerator / denominator``, truncated to 18 decimals."""
    return Dec(weight).mul_int(numerator).quo_truncate(Dec(denominator))


def capability_score(capability: roles_pb2.Capability) -> Dec:
    """The score of a valid declaration, in [1, 2] (formulas: the module docstring)."""
    kind = capability.WhichOneof("kind")
    if kind == "compute":
        c = capability.compute
        memory = max(c.accelerators, 1) * c.memory_gib
        return (
            Dec.one()
            + TIER_POINTS[c.hardware_class]
            + _part("0.3", min(c.benchmark_tflops.bit_length(), 14), 14)
            + _part("0.3", min(memory.bit_length(), 14), 14)
        )
    if kind == "ai":
        return (
            Dec.one()
            + _part("0.4", min(len(capability.ai.runtimes), 4), 4)
            + _part("0.6", len(capability.ai.methods), len(VERIFICATION_METHODS))
        )
    if kind == "data":
        bits = capability.data.storage_bytes.bit_length()
        return Dec.one() + _part("1", min(max(bits - 30, 0), 20), 20)
    return Dec.one()


def selection_score(bond: int, capability: Dec, performance: Dec) -> int:
    """``bond × capability × performance``, truncated to an integer (exact integer math)."""
    scale = 10**18
    return bond * capability.bigint() * performance.bigint() // (scale * scale)
