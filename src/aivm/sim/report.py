"""Reports of a simulation run, and failing block sequences as text and as JSON.

A failing sequence saved with :func:`save_repro` is replayed by
``scripts/simulate.py --replay FILE`` (or :func:`load_repro` + ``shrink.replay_blocks``).
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from aivm.sim.runner import SimBlock, SimConfig, SimFailure, SimStats, WarmCall
from aivm.sim.txgen import SimTx
from aivm.types import pb


def format_stats(stats: SimStats) -> str:
    """Blocks/s, then per operation: txs built, and finalized results by code."""
    rate = stats.blocks / stats.seconds if stats.seconds else 0.0
    lines = [
        f"{stats.blocks} blocks, {stats.txs} txs finalized in {stats.seconds:.1f} s: "
        f"{rate:.1f} blocks/s, {stats.txs / stats.seconds if stats.seconds else 0:.0f} tx/s; "
        f"{stats.restores} state-synced replicas restored",
        f"{'operation':<28}{'built':>7}  results",
    ]
    for kind in sorted(set(stats.ops) | set(stats.results)):
        results = stats.results.get(kind, Counter())
        text = ", ".join(f"{label} {count}" for label, count in results.most_common())
        lines.append(f"{kind:<28}{stats.ops.get(kind, 0):>7}  {text}")
    if stats.skipped:
        lines.append(
            "nothing to do: " + ", ".join(f"{k} {v}" for k, v in sorted(stats.skipped.items()))
        )
    lines.append("faults: " + ", ".join(f"{k} {v}" for k, v in stats.faults.most_common()))
    return "\n".join(lines)


def describe_tx(tx: SimTx) -> str:
    """One line: operation, fault, then :func:`describe_raw`."""
    must = ", must fail" if tx.must_fail else ""
    return f"{tx.kind} [fault {tx.fault}{must}] {describe_raw(tx.raw)}"


def describe_raw(raw: bytes) -> str:
    """Size, hash and (when it decodes) messages, sequences, gas and fee of tx bytes."""
    head = f"{len(raw)} B {hashlib.sha256(raw).hexdigest()[:12].upper()}"
    try:
        tx = pb.tx.TxRaw.FromString(raw)
        body = pb.tx.TxBody.FromString(tx.body_bytes)
        auth = pb.tx.AuthInfo.FromString(tx.auth_info_bytes)
    except Exception:  # tampered bytes need not decode
        return head + " (does not decode)"
    msgs = ",".join(any_msg.type_url.rsplit(".", 1)[-1] for any_msg in body.messages)
    seqs = ",".join(str(info.sequence) for info in auth.signer_infos)
    fee = ",".join(f"{c.amount}{c.denom}" for c in auth.fee.amount) or "0"
    return f"{head} {msgs} seq {seqs} gas {auth.fee.gas_limit} fee {fee}"


def describe_blocks(blocks: Sequence[SimBlock]) -> str:
    """The blocks, one tx per line, with the warm app's calls before each block summarised."""
    lines = []
    for height, block in enumerate(blocks, start=1):
        calls = Counter(_call_label(call) for call in block.warm_calls)
        lines.append(
            f"block {height}{' (proposed without PrepareProposal)' if block.byzantine else ''}"
            f": {len(block.txs)} txs; warm app served "
            + (", ".join(f"{k} ×{v}" for k, v in sorted(calls.items())) or "nothing")
        )
        lines.extend(f"  {describe_tx(tx)}" for tx in block.txs)
        proposed = {tx.raw for tx in block.txs}
        lines.extend(
            f"  {_call_label(call)} only: {describe_raw(call.data)}"
            for call in block.warm_calls
            if call.kind != "query" and call.data not in proposed
        )
        if block.restore_after:
            lines.append(f"  then a replica is restored from a snapshot of height {height}")
    return "\n".join(lines)


def _call_label(call: WarmCall) -> str:
    if call.kind in ("check", "recheck"):
        return "CheckTx" if call.kind == "check" else "ReCheckTx"
    return call.path.rsplit("/", 1)[-1]


def save_repro(
    path: Path, config: SimConfig, failure: SimFailure, blocks: Sequence[SimBlock]
) -> None:
    """Write a failing sequence (config, failure, every tx and warm call in hex) as JSON."""
    document = {
        "config": asdict(config),
        "failure": {"kind": failure.kind, "height": failure.height, "detail": failure.detail},
        "blocks": [_block_json(block) for block in blocks],
    }
    path.write_text(json.dumps(document, indent=1))


def load_repro(path: Path) -> tuple[SimConfig, str, list[SimBlock]]:
    """(config, failure kind, blocks) of a file written by :func:`save_repro`."""
    document: dict[str, Any] = json.loads(path.read_text())
    blocks = [
        SimBlock(
            txs=tuple(
                SimTx(bytes.fromhex(t["raw"]), t["kind"], t["fault"], t["must_fail"])
                for t in block["txs"]
            ),
            warm_calls=tuple(
                WarmCall(c["kind"], bytes.fromhex(c["data"]), c["path"], c.get("height", 0))
                for c in block["warm_calls"]
            ),
            byzantine=block["byzantine"],
            restore_after=block["restore_after"],
        )
        for block in document["blocks"]
    ]
    settings = dict(document["config"])
    settings["skip"] = tuple(settings.get("skip", ()))
    return SimConfig(**settings), document["failure"]["kind"], blocks


def _block_json(block: SimBlock) -> dict[str, Any]:
    return {
        "byzantine": block.byzantine,
        "restore_after": block.restore_after,
        "txs": [
            {"raw": t.raw.hex(), "kind": t.kind, "fault": t.fault, "must_fail": t.must_fail}
            for t in block.txs
        ],
        "warm_calls": [
            {"kind": c.kind, "path": c.path, "data": c.data.hex(), "height": c.height}
            for c in block.warm_calls
        ],
    }
