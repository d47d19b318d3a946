"""``aivm query verify`` (policy, params, session, duties, trail, disputes, open-disputes,
challengeable) and ``aivm tx verify`` (commit-verdict, reveal-verdict: what a drawn AI
validator sends by hand, ``aivm verifier start`` does it for every duty; open-dispute, bisect,
final-step: the moves of an optimistic-verification dispute game).

The final step's tensors come in a JSON file (``--inputs``): a list with one object per input
tensor of the disputed operator, in ``trace.operator_sources`` order::

    [{"index": 2, "values": [[1, -3, 0], [4, 5, 6]], "proof": ["9f…", "03…"]}]

``index`` is the tensor's trace step, ``values`` its rows (a 2-D list of integers; or
``"data"``: hex of the raw little-endian int64 values with ``"rows"`` and ``"cols"``),
``proof`` its hash's proof under the agreed leaf (``trace.prove_tensor(mine, lo, index)``).
:func:`final_step_inputs_json` writes it from a trace. A float (``optimistic_float`` ONNX)
model's tensors add ``"dtype": "float32"`` (``values`` of any shape, or ``data`` with
``"shape"``); its provider's ``--claimed`` file is one such object, proved under its own leaf.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from aivm.ai.verify import trace
from aivm.cli import common as cli
from aivm.client.errors import ChainError, ClientError
from aivm.modules.verify import verify_pb2
from aivm.modules.verify.client import VerifyClient, enum_name, next_move
from aivm.modules.verify.queries import criticality_name, method_name


def _digest_of(args: argparse.Namespace) -> tuple[bytes, bytes]:
    """(sha256, inline bytes) of ``--output-file FILE``, or the ``--digest`` hex alone."""
    if args.output_file:
        data = Path(args.output_file).read_bytes()
        return hashlib.sha256(data).digest(), data if args.inline else b""
    if not args.digest:
        raise cli.CliError("give --output-file FILE or --digest HEX")
    try:
        digest = bytes.fromhex(args.digest)
    except ValueError:
        raise cli.CliError("--digest must be 64 hex digits") from None
    if len(digest) != 32:
        raise cli.CliError("--digest must be 64 hex digits")
    return digest, b""


def cmd_commit(s: cli.Settings, args: argparse.Namespace) -> None:
    """Commit a verdict; prints the salt the reveal needs."""
    wallet = cli.keyring_wallet(s, args.from_)
    digest, _ = _digest_of(args)
    cli.confirm(s, f"commit a verdict on job {args.job_id}")
    with cli.tx_client(s, args) as client:
        salt = VerifyClient(client).commit(wallet, args.job_id, digest)
    cli.emit(s, {"job_id": args.job_id, "digest": digest.hex(), "salt": salt.hex()})


def cmd_reveal(s: cli.Settings, args: argparse.Namespace) -> None:
    """Reveal a committed verdict."""
    wallet = cli.keyring_wallet(s, args.from_)
    digest, inline = _digest_of(args)
    try:
        salt = bytes.fromhex(args.salt)
    except ValueError:
        raise cli.CliError("--salt must be hex (as `commit-verdict` printed it)") from None
    cli.confirm(s, f"reveal the verdict on job {args.job_id}")
    with cli.tx_client(s, args) as client:
        result = VerifyClient(client).reveal(wallet, args.job_id, digest, salt, inline)
    cli.emit(s, {"txhash": result.hash, "code": result.code, "raw_log": result.log})


def cmd_policy(s: cli.Settings, args: argparse.Namespace) -> None:
    with s.client() as client:
        entries = VerifyClient(client).policy()
    cli.emit(
        s,
        {
            "policy": [
                {
                    "criticality": criticality_name(e.rule.criticality),
                    "methods": [method_name(m) for m in e.rule.methods],
                    "validators": e.rule.validators,
                    "sample_rate": e.rule.sample_rate,
                    "challenge_window_blocks": e.rule.challenge_window_blocks,
                    "explanation": e.explanation,
                }
                for e in entries
            ],
            "methods_available": list(entries[0].methods_available) if entries else [],
        },
    )


def cmd_params(s: cli.Settings, args: argparse.Namespace) -> None:
    with s.client() as client:
        cli.emit(s, cli.proto_json(VerifyClient(client).params()))


def cmd_session(s: cli.Settings, args: argparse.Namespace) -> None:
    with s.client() as client:
        cli.emit(s, cli.proto_json(VerifyClient(client).session(args.job_id)))


def cmd_duties(s: cli.Settings, args: argparse.Namespace) -> None:
    with s.client() as client:
        duties = VerifyClient(client).duties(args.validator)
    cli.emit(s, {"duties": [cli.proto_json(d) for d in duties]})


def cmd_trail(s: cli.Settings, args: argparse.Namespace) -> None:
    with s.client() as client:
        cli.emit(s, cli.proto_json(VerifyClient(client).trail(args.job_id)))


# -- optimistic disputes ----------------------------------------------------------------------


def dispute_view(d: verify_pb2.Dispute) -> dict[str, Any]:
    """A dispute game as the CLI shows it: names for enums, hex for hashes, the next move."""
    return {
        "job_id": d.job_id,
        "number": d.number,
        "status": enum_name(verify_pb2.DisputeStatus, d.status, "DISPUTE_STATUS_"),
        "provider": d.provider,
        "challenger": d.challenger,
        "bond": d.bond,
        "steps": d.n,
        "lo": d.lo,
        "hi": d.hi,
        "turn": enum_name(verify_pb2.Party, d.turn, "PARTY_"),
        "deadline": d.deadline,
        "rounds": d.rounds,
        "float_model": d.float_model,
        "vote_pending": d.vote_pending,
        "vote_rounds": d.vote_rounds,
        "next": next_move(d),
        "winner": enum_name(verify_pb2.Party, d.winner, "PARTY_"),
        "outcome": enum_name(verify_pb2.DisputeOutcome, d.outcome, "DISPUTE_OUTCOME_"),
        "paid": d.paid,
        "detail": d.detail,
        "provider_root": d.provider_root.hex(),
        "challenger_root": d.challenger_root.hex(),
        "lo_leaf": d.lo_leaf.hex(),
        "provider_hi_leaf": d.provider_hi_leaf.hex(),
        "challenger_hi_leaf": d.challenger_hi_leaf.hex(),
        "pending_leaf": d.pending_leaf.hex(),
        "opened_height": d.opened_height,
        "finished_height": d.finished_height,
    }


def _hash_arg(text: str, flag: str) -> bytes:
    """A 32-byte hash given as 64 hex digits."""
    try:
        value = bytes.fromhex(text.strip().removeprefix("0x"))
    except ValueError:
        raise cli.CliError(f"{flag} must be 64 hex digits") from None
    if len(value) != trace.HASH_SIZE:
        raise cli.CliError(f"{flag} must be 64 hex digits (32 bytes), got {len(value)} bytes")
    return value


def _hash_list(text: str, flag: str) -> list[bytes]:
    """Comma-separated 32-byte hashes (an empty text: none)."""
    return [_hash_arg(v, flag) for v in text.split(",") if v.strip()]


def _is_int(value: object, lo: int, hi: int) -> bool:
    return type(value) is int and lo <= value <= hi


def _float_values(entry: dict[str, Any], where: str) -> npt.NDArray[np.float32]:
    """The float32 array of a float model's tensor entry (``values`` of any rank, or ``data``
    hex of little-endian float32 with ``shape``)."""
    if "values" in entry:
        try:
            array = np.array(entry["values"], dtype=np.float64)
        except (TypeError, ValueError):
            raise cli.CliError(f"{where}: values must be a nested list of numbers") from None
        if array.size == 0 or not 1 <= array.ndim <= 4:
            raise cli.CliError(f"{where}: values must be a non-empty array of 1 to 4 dimensions")
        return array.astype(np.float32)
    try:
        data = bytes.fromhex(entry["data"])
        shape = tuple(int(d) for d in entry["shape"])
    except (KeyError, TypeError, ValueError):
        raise cli.CliError(f"{where}: give values, or data (hex) with shape") from None
    if not shape or min(shape) < 1 or len(data) != 4 * int(np.prod(shape)):
        raise cli.CliError(f"{where}: data must hold the float32 values of shape {list(shape)}")
    return np.frombuffer(data, "<f4").reshape(shape).astype(np.float32)


def _tensor_values(entry: dict[str, Any], where: str) -> npt.NDArray[Any]:
    """The array of one ``--inputs`` entry: 2-D int64 (``values``, or ``data`` + ``rows`` +
    ``cols``), or float32 with ``"dtype": "float32"`` (float models)."""
    dtype = entry.get("dtype", "")
    if dtype == "float32":
        return _float_values(entry, where)
    if dtype:
        raise cli.CliError(f"{where}: dtype must be float32 (or absent: int64 rows)")
    if "values" in entry:
        rows = entry["values"]
        if not (
            isinstance(rows, list)
            and rows
            and all(isinstance(r, list) and r and len(r) == len(rows[0]) for r in rows)
            and all(_is_int(v, -(2**63), 2**63 - 1) for r in rows for v in r)
        ):
            raise cli.CliError(f"{where}: values must be rows of equally many int64 integers")
        return np.array(rows, dtype=np.int64)
    try:
        data = bytes.fromhex(entry["data"])
        rows, cols = int(entry["rows"]), int(entry["cols"])
    except (KeyError, TypeError, ValueError):
        raise cli.CliError(f"{where}: give values, or data (hex) with rows and cols") from None
    if rows < 1 or cols < 1 or len(data) != 8 * rows * cols:
        raise cli.CliError(f"{where}: data must hold rows × cols × 8 bytes")
    return np.frombuffer(data, "<i8").reshape(rows, cols).astype(np.int64)


def _trace_tensor(entry: object, where: str) -> verify_pb2.TraceTensor:
    """One tensor object of an ``--inputs`` or ``--claimed`` file."""
    if not isinstance(entry, dict) or not _is_int(entry.get("index"), 0, 2**32 - 1):
        raise cli.CliError(f"{where}: each tensor needs its trace step as index (≥ 0)")
    proof = entry.get("proof", [])
    if not isinstance(proof, list) or not all(isinstance(p, str) for p in proof):
        raise cli.CliError(f"{where}: proof must be a list of hex hashes")
    hashes = [_hash_arg(p, f"{where}: proof") for p in proof]
    return VerifyClient.trace_tensor(entry["index"], _tensor_values(entry, where), hashes)


def _json_file(path: Path, flag: str) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise cli.CliError(f"{flag} {path}: {exc}") from None


def load_final_step_inputs(path: Path) -> list[verify_pb2.TraceTensor]:
    """The TraceTensors of an ``--inputs`` JSON file (see the module docstring)."""
    entries = _json_file(path, "--inputs")
    if isinstance(entries, dict):
        entries = entries.get("inputs")
    if not isinstance(entries, list) or not entries:
        raise cli.CliError(f"--inputs {path}: expected a non-empty list of tensors")
    return [
        _trace_tensor(entry, f"--inputs {path}: tensor {number}")
        for number, entry in enumerate(entries)
    ]


def final_step_inputs_json(
    tensors: Sequence[npt.NDArray[np.int64]],
    commitment: trace.TraceCommitment,
    lo: int,
    sources: Sequence[int],
) -> list[dict[str, Any]]:
    """The ``--inputs`` JSON of a final game at ``lo`` from one's own trace: tensors
    ``sources`` (``trace.operator_sources(program, lo)``) with their proofs under ``P_lo``."""
    return [
        {
            "index": s,
            "values": np.asarray(tensors[s]).tolist(),
            "proof": [p.hex() for p in trace.prove_tensor(commitment, lo, s)],
        }
        for s in sources
    ]


def _tx_outcome(client: Any, job_id: int, result: Any) -> dict[str, Any]:
    """The included tx and the job's newest dispute game after it."""
    shown: dict[str, Any] = {"txhash": result.hash, "code": result.code, "raw_log": result.log}
    try:
        games = VerifyClient(client).disputes(job_id)
    except ChainError:
        games = []
    if games:
        shown["dispute"] = dispute_view(games[-1])
    return shown


def cmd_open_dispute(s: cli.Settings, args: argparse.Namespace) -> None:
    """A challenger disputes a provider's trace of a job with its own."""
    wallet = cli.keyring_wallet(s, args.from_)
    root = _hash_arg(args.root, "--root")
    leaf = _hash_arg(args.last_leaf, "--last-leaf")
    proof = _hash_list(args.last_proof, "--last-proof")
    artifact = Path(args.artifact).read_bytes() if args.artifact else b""
    question = "" if s.yes else f"dispute {args.provider}'s trace of job {args.job_id}, {_bond(s)}"
    cli.confirm(s, question)
    with cli.tx_client(s, args) as client:
        result = VerifyClient(client).open_dispute(
            wallet, args.job_id, args.provider, root, leaf, proof, artifact
        )
        cli.emit(s, _tx_outcome(client, args.job_id, result))


def _bond(s: cli.Settings) -> str:
    """The dispute bond in words (as the params say, when the node answers)."""
    try:
        with s.client() as client:
            bond = VerifyClient(client).params().dispute_bond
    except (ClientError, OSError):
        return "posting the dispute bond"
    return f"posting a bond of {bond}ucgpt (returned if you win, the provider's if you lose)"


def cmd_bisect(s: cli.Settings, args: argparse.Namespace) -> None:
    """Post this party's leaf at the round's mid step."""
    wallet = cli.keyring_wallet(s, args.from_)
    leaf = _hash_arg(args.leaf, "--leaf")
    proof = _hash_list(args.proof, "--proof")
    cli.confirm(s, f"post a bisection leaf in the dispute of job {args.job_id}")
    with cli.tx_client(s, args) as client:
        result = VerifyClient(client).bisect(wallet, args.job_id, leaf, proof)
        cli.emit(s, _tx_outcome(client, args.job_id, result))


def cmd_final_step(s: cli.Settings, args: argparse.Namespace) -> None:
    """Decide a final game: the chain runs the disputed operator."""
    wallet = cli.keyring_wallet(s, args.from_)
    inputs = load_final_step_inputs(Path(args.inputs))
    claimed = None
    if args.claimed:
        claimed = _trace_tensor(_json_file(Path(args.claimed), "--claimed"), "--claimed")
        if args.artifact or args.peaks:
            raise cli.CliError("a float model's step (--claimed) takes no --artifact or --peaks")
    elif not (args.artifact and args.peaks):
        raise cli.CliError(
            "give --artifact and --peaks (a DSM model), or --claimed (a float model's step)"
        )
    artifact = Path(args.artifact).read_bytes() if args.artifact else b""
    peaks = _hash_list(args.peaks or "", "--peaks")
    cli.confirm(s, f"send the final step of the dispute of job {args.job_id}")
    with cli.tx_client(s, args) as client:
        result = VerifyClient(client).final_step(
            wallet, args.job_id, artifact, inputs, peaks, claimed
        )
        cli.emit(s, _tx_outcome(client, args.job_id, result))


def _height(client: Any) -> int | None:
    try:
        return int(client.status().latest_block_height)
    except (ClientError, OSError, ValueError):
        return None


def cmd_disputes(s: cli.Settings, args: argparse.Namespace) -> None:
    with s.client() as client:
        games = VerifyClient(client).disputes(args.job_id)
        height = _height(client)
    shown = [dispute_view(d) for d in games]
    cli.emit(s, {"job_id": args.job_id, "height": height, "disputes": shown})


def cmd_open_disputes(s: cli.Settings, args: argparse.Namespace) -> None:
    with s.client() as client:
        games = VerifyClient(client).open_disputes(args.party)
        height = _height(client)
    cli.emit(s, {"height": height, "disputes": [dispute_view(d) for d in games]})


def cmd_challengeable(s: cli.Settings, args: argparse.Namespace) -> None:
    with s.client() as client:
        jobs = VerifyClient(client).challengeable()
        height = _height(client)
    listed = []
    for j in jobs:
        entry: dict[str, Any] = {"job_id": j.job_id, "challenge_end_height": j.challenge_end_height}
        if height is not None:
            entry["blocks_left"] = max(0, j.challenge_end_height - height)
        listed.append(entry)
    cli.emit(s, {"height": height, "jobs": listed})


def _model_version(text: str) -> tuple[int, str]:
    model, sep, version = text.partition(":")
    if not sep or not model.isdigit() or not version:
        raise cli.CliError(f"{text!r}: expected MODEL_ID:VERSION, e.g. 1:1.0.0")
    return int(model), version


def _hex_list(values: list[str], flag: str) -> list[bytes]:
    try:
        return [bytes.fromhex(v) for v in values]
    except ValueError:
        raise cli.CliError(f"{flag} takes hex") from None


def _requirements(args: argparse.Namespace) -> dict[str, Any]:
    """The TEE requirement, zk circuit and TOPLOC config the flags describe."""
    out: dict[str, Any] = {}
    measurements = _hex_list(args.tee_measurement, "--tee-measurement")
    if measurements or args.tee_required:
        out["tee"] = verify_pb2.TeeRequirement(
            required=args.tee_required,
            allowed_measurements=measurements,
            accepted_tcb_statuses=args.tcb_status,
        )
    if args.zk_settings or args.zk_vk or args.zk_srs:
        if not (args.zk_settings and args.zk_vk and args.zk_srs):
            raise cli.CliError("a zk circuit needs --zk-settings, --zk-vk and --zk-srs")
        srs = Path(args.zk_srs).read_bytes()
        out["zk"] = verify_pb2.ZkCircuit(
            settings=Path(args.zk_settings).read_bytes(),
            verifying_key=Path(args.zk_vk).read_bytes(),
            srs=srs,
            srs_digest=hashlib.sha256(srs).digest(),
            required=args.zk_required,
        )
    if args.toploc_context:
        out["toploc"] = verify_pb2.ToplocConfig(
            required=args.toploc_required,
            context=args.toploc_context,
            max_exp_mismatches=args.toploc_max_exp_mismatches,
            max_mant_err_mean=args.toploc_max_mant_err_mean,
            max_mant_err_median=args.toploc_max_mant_err_median,
            greedy=not args.toploc_no_greedy,
        )
    if args.optimistic_float:
        out["optimistic_float"] = True
    if not out:
        raise cli.CliError(
            "nothing to set: give TEE, zk, TOPLOC or --optimistic-float flags (see --help)"
        )
    return out


def cmd_set_model(s: cli.Settings, args: argparse.Namespace) -> None:
    """The model owner registers how a version is verified."""
    wallet = cli.keyring_wallet(s, args.from_)
    model_id, version = _model_version(args.model)
    requirements = _requirements(args)
    cli.confirm(s, f"set the verification of model {model_id} v{version}: {sorted(requirements)}")
    with cli.tx_client(s, args) as client:
        result = VerifyClient(client).set_model_verification(
            wallet, model_id, version, **requirements
        )
    cli.emit(s, {"txhash": result.hash, "code": result.code, "raw_log": result.log})


def cmd_upload_collateral(s: cli.Settings, args: argparse.Namespace) -> None:
    """The params authority or an active data validator uploads DCAP collateral."""
    wallet = cli.keyring_wallet(s, args.from_)
    raw = Path(args.file).read_bytes()
    cli.confirm(s, f"upload {len(raw)} bytes of DCAP collateral")
    with cli.tx_client(s, args) as client:
        result = VerifyClient(client).upload_collateral(wallet, raw)
    cli.emit(s, {"txhash": result.hash, "code": result.code, "digest": result.digest})


def cmd_model(s: cli.Settings, args: argparse.Namespace) -> None:
    model_id, version = _model_version(args.model)
    with s.client() as client:
        cli.emit(s, cli.proto_json(VerifyClient(client).model_verification(model_id, version)))


def cmd_collaterals(s: cli.Settings, args: argparse.Namespace) -> None:
    with s.client() as client:
        found = VerifyClient(client).tee_collaterals()
    cli.emit(s, {"collaterals": [cli.proto_json(c) for c in found]})


def _verdict_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("job_id", type=int)
    p.add_argument("--output-file", help="the output file this validator computed")
    p.add_argument("--digest", help="or its sha256 (hex)")
    p.add_argument(
        "--inline", action="store_true", help="reveal: send the output inline (tolerance/tokens)"
    )
    p.add_argument("--from", dest="from_", required=True, help="key name or address")
    cli.add_wait_flags(p)


def register(
    subs: cli.Group, tx: cli.Group, query: cli.Group, leaf: cli.Leaf, branch: cli.Branch
) -> None:
    """Add ``aivm tx verify`` and ``aivm query verify``."""
    txs = branch(
        tx, "verify", "Verification transactions: verdicts, model settings, optimistic disputes"
    )
    p = leaf(
        txs,
        "commit-verdict",
        cmd_commit,
        "Commit to the output you computed for a job you were drawn for (prints the salt)",
        "  aivm tx verify commit-verdict 7 --output-file out.bin --from val1 --yes",
    )
    _verdict_flags(p)
    p = leaf(
        txs,
        "reveal-verdict",
        cmd_reveal,
        "Reveal a committed verdict",
        "  aivm tx verify reveal-verdict 7 --output-file out.bin --salt 9f… --from val1 --yes",
    )
    _verdict_flags(p)
    p.add_argument("--salt", required=True, help="hex, as commit-verdict printed it")
    p = leaf(
        txs,
        "set-model",
        cmd_set_model,
        "The model owner sets how a version is verified: TEE measurements, zk circuit, TOPLOC",
        "  aivm tx verify set-model 1:1.0.0 --tee-measurement <96 hex MRTD> --from owner\n"
        "  aivm tx verify set-model 2:1.0.0 --zk-settings settings.json --zk-vk vk.key "
        "--zk-srs kzg.srs --from owner\n"
        "  aivm tx verify set-model 3:1.0.0 --toploc-context 128 --from owner\n"
        "  aivm tx verify set-model 4:1.0.0 --optimistic-float --from owner",
    )
    p.add_argument("model", help="MODEL_ID:VERSION")
    p.add_argument(
        "--tee-measurement",
        action="append",
        default=[],
        metavar="HEX",
        help="allowed MRTD (48 B), MRTD‖RTMR0-3 (240 B) or MRENCLAVE (32 B); repeat",
    )
    p.add_argument("--tee-required", action="store_true", help="every job needs a quote")
    p.add_argument(
        "--tcb-status",
        action="append",
        default=[],
        metavar="STATUS",
        help="accepted TCB status (default UpToDate); repeat",
    )
    p.add_argument("--zk-settings", help="EZKL settings JSON file")
    p.add_argument("--zk-vk", help="EZKL verifying key file")
    p.add_argument("--zk-srs", help="the 388-byte verifier SRS file (aivm.ai.verify.zk.reduce_srs)")
    p.add_argument("--zk-required", action="store_true", help="every job needs a proof")
    p.add_argument("--toploc-context", type=int, default=0, help="the model's window (ids)")
    p.add_argument("--toploc-required", action="store_true", help="every job needs fingerprints")
    p.add_argument("--toploc-max-exp-mismatches", type=int, default=2)
    p.add_argument("--toploc-max-mant-err-mean", default="0.03125")
    p.add_argument("--toploc-max-mant-err-median", type=int, default=0)
    p.add_argument(
        "--toploc-no-greedy",
        action="store_true",
        help="do not require each token to be the greedy choice",
    )
    p.add_argument(
        "--optimistic-float",
        action="store_true",
        help="an ONNX tolerance version whose trace ends with its output: optimistic disputes "
        "apply to it, the last disputed step voted on by AI validators",
    )
    p.add_argument("--from", dest="from_", required=True, help="the model owner's key")
    cli.add_wait_flags(p)
    p = leaf(
        txs,
        "upload-collateral",
        cmd_upload_collateral,
        "Upload Intel DCAP collateral (params authority or an active data validator)",
        "  aivm tx verify upload-collateral tdx_collateral.json --from data1 --yes",
    )
    p.add_argument("file", help="dcap-qvl QuoteCollateralV3 JSON")
    p.add_argument("--from", dest="from_", required=True, help="key name or address")
    cli.add_wait_flags(p)
    _dispute_commands(txs, leaf)
    qs = branch(
        query, "verify", "Verification queries (policy, sessions, trails, disputes)"
    )
    p = leaf(
        qs,
        "model",
        cmd_model,
        "How a model version is verified",
        "  aivm query verify model 1:1.0.0",
    )
    p.add_argument("model", help="MODEL_ID:VERSION")
    leaf(
        qs,
        "tee-collaterals",
        cmd_collaterals,
        "Stored DCAP collateral records",
        "  aivm query verify tee-collaterals",
    )
    leaf(
        qs,
        "policy",
        cmd_policy,
        "Criticality → methods, k, rates, windows",
        "  aivm query verify policy",
    )
    leaf(qs, "params", cmd_params, "The verify params", "  aivm query verify params")
    p = leaf(
        qs, "session", cmd_session, "A job's verification session", "  aivm query verify session 7"
    )
    p.add_argument("job_id", type=int)
    p = leaf(
        qs,
        "duties",
        cmd_duties,
        "Rounds a validator must commit or reveal in",
        "  aivm query verify duties aivm1...",
    )
    p.add_argument("validator")
    p = leaf(
        qs,
        "trail",
        cmd_trail,
        "A paid job's attestation trail: model, providers, evidence, verdicts, settlement",
        "  aivm query verify trail 7",
    )
    p.add_argument("job_id", type=int)
    p = leaf(
        qs,
        "disputes",
        cmd_disputes,
        "A job's optimistic dispute games: status, lo/hi, whose turn and the next move, outcome",
        "  aivm query verify disputes 7\n  aivm query verify disputes 7 -o json",
    )
    p.add_argument("job_id", type=int)
    p = leaf(
        qs,
        "open-disputes",
        cmd_open_disputes,
        "Undecided dispute games (optionally only those ADDR plays in)",
        "  aivm query verify open-disputes\n  aivm query verify open-disputes --party aivm1...",
    )
    p.add_argument("--party", default=None, help="a provider or challenger address")
    leaf(
        qs,
        "challengeable",
        cmd_challengeable,
        "Optimistic jobs still taking disputes, with the end of their challenge window",
        "  aivm query verify challengeable",
    )


def _dispute_commands(txs: cli.Group, leaf: cli.Leaf) -> None:
    """``aivm tx verify open-dispute``, ``bisect`` and ``final-step``."""
    p = leaf(
        txs,
        "open-dispute",
        cmd_open_dispute,
        "Dispute an accepted provider's trace of a DSM job with your own (posts the dispute "
        "bond); the values are your trace's root, last leaf P_n and its proof (trace."
        "open_output), as `aivm verify trace JOB` prints them when the traces differ",
        "  aivm tx verify open-dispute 7 --provider aivm1... --root 5e… --last-leaf 0c… "
        "--last-proof 9f…,03… --from challenger --yes --wait",
    )
    p.add_argument("job_id", type=int)
    p.add_argument("--provider", required=True, help="the accepted provider disputed")
    p.add_argument("--root", required=True, metavar="HEX", help="your trace commitment")
    p.add_argument("--last-leaf", required=True, metavar="HEX", help="your leaf at the last step")
    p.add_argument(
        "--last-proof", required=True, metavar="HEX,HEX..", help="its proof under --root"
    )
    p.add_argument(
        "--artifact",
        help="DSM: the model's artifact file, to show the provider's step count is not the "
        "model's operator count (the challenger wins at once)",
    )
    p.add_argument("--from", dest="from_", required=True, help="the challenger's key")
    cli.add_wait_flags(p)
    p = leaf(
        txs,
        "bisect",
        cmd_bisect,
        "Post your leaf at the round's mid step (lo + hi) // 2 of the job's open dispute "
        "(the provider first each round, then the challenger); `aivm verify trace JOB` prints "
        "the leaf and proof of a trace computed locally",
        "  aivm tx verify bisect 7 --leaf 41… --proof 9f…,03… --from provider1 --yes --wait",
    )
    p.add_argument("job_id", type=int)
    p.add_argument("--leaf", required=True, metavar="HEX", help="your leaf P_mid")
    p.add_argument(
        "--proof", required=True, metavar="HEX,HEX..", help="its proof (trace.prove_step)"
    )
    p.add_argument("--from", dest="from_", required=True, help="key name or address")
    cli.add_wait_flags(p)
    p = leaf(
        txs,
        "final-step",
        cmd_final_step,
        "Decide a final dispute (hi = lo + 1): DSM, the chain runs operator hi - 1 on the "
        "opened tensors and compares the result with the provider's leaf (`aivm verify trace "
        "JOB` writes the files and prints the peaks); a float model, the provider opens the "
        "node's inputs and its claimed output (--claimed) for AI validators to vote on",
        "  aivm tx verify final-step 7 --artifact model.dsm --inputs tensors.json "
        "--peaks 7a…,c2… --from provider1 --yes --wait\n\n"
        "tensors.json: one object per input tensor of the operator, in its source order:\n"
        '  [{"index": 2, "values": [[1, -3, 0]], "proof": ["9f…", "03…"]}]\n'
        "  index: the tensor's trace step; values: its rows (int64), or \"data\" (hex of the\n"
        "  little-endian int64 values) with \"rows\" and \"cols\"; proof: its hash under the\n"
        "  agreed leaf lo_leaf (trace.prove_tensor(mine, lo, index)).\n"
        "  Float model tensors add \"dtype\": \"float32\" (values of any shape, or data with\n"
        "  \"shape\"); claimed.json is one such object: tensor hi, proved under your leaf P_hi.\n"
        "  aivm tx verify final-step 9 --inputs node_inputs.json --claimed claimed.json "
        "--from provider1 --yes",
    )
    p.add_argument("job_id", type=int)
    p.add_argument("--artifact", help="DSM: the model version's artifact file")
    p.add_argument("--inputs", required=True, help="JSON file of the operator's input tensors")
    p.add_argument(
        "--peaks",
        metavar="HEX,HEX..",
        help="DSM: peaks of the agreed prefix P_lo (trace.prove_prefix)",
    )
    p.add_argument(
        "--claimed", help="float model: JSON file of the provider's claimed tensor hi"
    )
    p.add_argument("--from", dest="from_", required=True, help="key name or address")
    cli.add_wait_flags(p)
