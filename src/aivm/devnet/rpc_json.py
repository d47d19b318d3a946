"""CometBFT 0.38 JSON shapes of blocks, results and events (as its RPC marshals them).

int64 fields are strings, uint32/int32 fields numbers, ``HexBytes`` upper-case hex, ``[]byte``
base64, event attributes plain strings with an ``index`` flag.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable
from typing import Any

from aivm.app.genesis import format_time
from aivm.devnet.blockstore import BlockRecord, Header
from aivm.types import pb

BLOCK_PROTOCOL = "11"
P2P_PROTOCOL = "8"
COMETBFT_VERSION = "0.38.17"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def hexu(data: bytes) -> str:
    return data.hex().upper()


def time_json(time_ns: int) -> str:
    return format_time(time_ns // 1_000_000_000, time_ns % 1_000_000_000)


def events_json(events: Iterable[pb.abci.Event]) -> list[dict[str, Any]]:
    return [
        {
            "type": e.type,
            "attributes": [
                {"key": a.key, "value": a.value, "index": a.index} for a in e.attributes
            ],
        }
        for e in events
    ]


def broadcast_json(r: pb.abci.ResponseCheckTx, hash_: bytes) -> dict[str, Any]:
    """The result of ``broadcast_tx_sync``/``_async``: the CheckTx outcome and the tx hash."""
    return {
        "code": r.code,
        "data": b64(r.data),
        "log": r.log,
        "codespace": r.codespace,
        "hash": hexu(hash_),
    }


def exec_result_json(r: pb.abci.ExecTxResult | pb.abci.ResponseCheckTx) -> dict[str, Any]:
    """A tx result (FinalizeBlock or CheckTx: the same fields) in CometBFT's JSON form."""
    return {
        "code": r.code,
        "data": b64(r.data) if r.data else None,
        "log": r.log,
        "info": r.info,
        "gas_wanted": str(r.gas_wanted),
        "gas_used": str(r.gas_used),
        "events": events_json(r.events),
        "codespace": r.codespace,
    }


check_tx_json = exec_result_json
"""CheckTx results have the same shape."""


def block_id_json(block_hash: bytes) -> dict[str, Any]:
    if not block_hash:
        return {"hash": "", "parts": {"total": 0, "hash": ""}}
    part = hashlib.sha256(block_hash).digest()
    return {"hash": hexu(block_hash), "parts": {"total": 1, "hash": hexu(part)}}


def header_json(h: Header) -> dict[str, Any]:
    return {
        "version": {"block": BLOCK_PROTOCOL, "app": "1"},
        "chain_id": h.chain_id,
        "height": str(h.height),
        "time": time_json(h.time_ns),
        "last_block_id": block_id_json(h.last_block_hash),
        "last_commit_hash": hexu(h.last_commit_hash),
        "data_hash": hexu(h.data_hash),
        "validators_hash": hexu(h.validators_hash),
        "next_validators_hash": hexu(h.validators_hash),
        "consensus_hash": hexu(h.consensus_hash),
        "app_hash": hexu(h.app_hash),
        "last_results_hash": hexu(h.last_results_hash),
        "evidence_hash": hexu(h.evidence_hash),
        "proposer_address": hexu(h.proposer_address),
    }


def commit_json(record: BlockRecord | None, validator_address: bytes) -> dict[str, Any]:
    """The commit for ``record`` (the empty commit before height 1)."""
    if record is None:
        return {"height": "0", "round": 0, "block_id": block_id_json(b""), "signatures": []}
    return {
        "height": str(record.header.height),
        "round": 0,
        "block_id": block_id_json(record.hash),
        "signatures": [
            {
                "block_id_flag": 2,
                "validator_address": hexu(validator_address),
                "timestamp": time_json(record.header.time_ns),
                "signature": b64(record.signature),
            }
        ],
    }


def block_json(
    record: BlockRecord, previous: BlockRecord | None, validator_address: bytes
) -> dict[str, Any]:
    return {
        "header": header_json(record.header),
        "data": {"txs": [b64(t) for t in record.txs]},
        "evidence": {"evidence": []},
        "last_commit": commit_json(previous, validator_address),
    }


def block_meta_json(record: BlockRecord) -> dict[str, Any]:
    return {
        "block_id": block_id_json(record.hash),
        "block_size": str(record.size),
        "header": header_json(record.header),
        "num_txs": str(len(record.txs)),
    }


def finalize_block_json(results: pb.abci.ResponseFinalizeBlock) -> dict[str, Any]:
    return {
        "events": events_json(results.events),
        "tx_results": [exec_result_json(r) for r in results.tx_results],
        "validator_updates": [validator_update_json(u) for u in results.validator_updates],
        "consensus_param_updates": None,
        "app_hash": b64(results.app_hash),
    }


def validator_update_json(update: pb.abci.ValidatorUpdate) -> dict[str, Any]:
    """An EndBlock validator update as CometBFT 0.38 marshals ``abci.ValidatorUpdate``."""
    return {
        "pub_key": {
            "Sum": {
                "type": "tendermint.crypto.PublicKey_Ed25519",
                "value": {"ed25519": b64(update.pub_key.ed25519)},
            }
        },
        "power": str(update.power),
    }


def block_results_json(record: BlockRecord) -> dict[str, Any]:
    results = record.results
    return {
        "height": str(record.header.height),
        # CometBFT marshals empty (nil) lists here as null
        "txs_results": [exec_result_json(r) for r in results.tx_results] or None,
        "finalize_block_events": events_json(results.events) or None,
        "validator_updates": [validator_update_json(u) for u in results.validator_updates] or None,
        "consensus_param_updates": None,
        "app_hash": b64(results.app_hash),
    }


def tx_json(record: BlockRecord, index: int) -> dict[str, Any]:
    raw = record.txs[index]
    return {
        "hash": hexu(hashlib.sha256(raw).digest()),
        "height": str(record.header.height),
        "index": index,
        "tx_result": exec_result_json(record.results.tx_results[index]),
        "tx": b64(raw),
    }


def event_map(events: Iterable[pb.abci.Event], base: dict[str, list[str]]) -> dict[str, list[str]]:
    """The ``type.key → [values]`` map CometBFT attaches to pubsub messages."""
    out = {k: list(v) for k, v in base.items()}
    for event in events:
        for attr in event.attributes:
            out.setdefault(f"{event.type}.{attr.key}", []).append(attr.value)
    return out
