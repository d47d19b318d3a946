"""The hardware profile ``aivm provider init`` measures on this machine: CPU cores, memory,
GPUs (through ``nvidia-smi`` when it is installed, else none) and a quick onnxruntime
throughput figure (a float32 matrix product, in GFLOP/s).

Example::

    profile = probe()
    print(profile.cpu_cores, profile.memory_mib, profile.gpu_model, profile.onnx_gflops)
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class HardwareProfile:
    """What was measured (GPU memory is per GPU, as the chain's declaration wants it)."""

    cpu_cores: int
    memory_mib: int
    gpu_model: str = ""
    gpu_count: int = 0
    gpu_memory_mib: int = 0
    onnxruntime: str = ""
    onnx_gflops: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        """The profile as a plain dict (the ``[hardware]`` table)."""
        return asdict(self)


def cpu_cores() -> int:
    """Cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def memory_mib() -> int:
    """Physical memory in MiB."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // (1 << 20))
    except (ValueError, OSError, AttributeError):
        return 1024


def parse_nvidia_smi(text: str) -> tuple[str, int, int]:
    """(model, count, memory MiB of the first GPU) from ``nvidia-smi
    --query-gpu=name,memory.total --format=csv,noheader,nounits`` output."""
    rows = [line.split(",") for line in text.strip().splitlines() if line.strip()]
    rows = [r for r in rows if len(r) >= 2 and r[1].strip().isdigit()]
    if not rows:
        return "", 0, 0
    return rows[0][0].strip()[:64], len(rows), int(rows[0][1].strip())


def gpus(timeout: float = 10.0) -> tuple[str, int, int]:
    """(model, count, memory MiB per GPU) of the NVIDIA GPUs, or ("", 0, 0)."""
    binary = shutil.which("nvidia-smi")
    if binary is None:
        return "", 0, 0
    try:
        done = subprocess.run(
            [binary, "--query-gpu=name,memory.total", "--format=csv,noheader,nounits"],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return "", 0, 0
    return parse_nvidia_smi(done.stdout) if done.returncode == 0 else ("", 0, 0)


def onnx_throughput(size: int = 256, seconds: float = 0.3) -> float:
    """GFLOP/s of onnxruntime (CPU) on a ``size``² float32 MatMul, measured for about
    ``seconds``."""
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("MatMul", ["a", "b"], ["c"])],
        "probe",
        [
            helper.make_tensor_value_info("a", TensorProto.FLOAT, [size, size]),
            helper.make_tensor_value_info("b", TensorProto.FLOAT, [size, size]),
        ],
        [helper.make_tensor_value_info("c", TensorProto.FLOAT, [size, size])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = min(model.ir_version, 9)
    session = ort.InferenceSession(
        onnx.load_from_string(model.SerializeToString()).SerializeToString(),
        providers=["CPUExecutionProvider"],
    )
    rng = np.random.default_rng(0)
    feeds = {k: rng.standard_normal((size, size), dtype=np.float32) for k in ("a", "b")}
    session.run(None, feeds)  # warm up
    runs, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds or runs < 3:
        session.run(None, feeds)
        runs += 1
    return round(2 * size**3 * runs / elapsed / 1e9, 2)


def probe(measure: bool = True) -> HardwareProfile:
    """Measure this machine (``measure=False`` skips the onnxruntime timing)."""
    import onnxruntime as ort

    model, count, gpu_mem = gpus()
    return HardwareProfile(
        cpu_cores=cpu_cores(),
        memory_mib=memory_mib(),
        gpu_model=model,
        gpu_count=count,
        gpu_memory_mib=gpu_mem,
        onnxruntime=ort.__version__,
        onnx_gflops=onnx_throughput() if measure else 0.0,
    )
