"""The committed protobuf modules are exactly what scripts/gen_proto.py makes from proto/."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_generated_protobuf_files_are_up_to_date() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gen_proto.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr + result.stdout


def test_type_urls_follow_the_design() -> None:
    from aivm.types.protogen import ai_pb2, storage_pb2

    assert ai_pb2.MsgInfer.DESCRIPTOR.full_name == "aivm.ai.v1.MsgInfer"
    assert storage_pb2.MsgStoreObject.DESCRIPTOR.full_name == "aivm.storage.v1.MsgStoreObject"
