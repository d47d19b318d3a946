"""``aivm query verify`` (policy, params, session, duties, trail) and ``aivm tx verify``
(commit-verdict, reveal-verdict: what a drawn AI validator sends by hand; ``aivm verifier
start`` does it for every duty)."""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path
from typing import Any

from aivm.cli import common as cli
from aivm.modules.verify import verify_pb2
from aivm.modules.verify.client import VerifyClient
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
    if not out:
        raise cli.CliError("nothing to set: give TEE, zk or TOPLOC flags (see --help)")
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
    txs = branch(tx, "verify", "Verification transactions of drawn AI validators")
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
        "  aivm tx verify set-model 3:1.0.0 --toploc-context 128 --from owner",
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
    qs = branch(query, "verify", "Verification queries (policy, sessions, trails)")
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
