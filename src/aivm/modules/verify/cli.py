"""``aivm query verify`` (policy, params, session, duties, trail) and ``aivm tx verify``
(commit-verdict, reveal-verdict: what a drawn AI validator sends by hand; ``aivm verifier
start`` does it for every duty)."""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

from aivm.cli import common as cli
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
    qs = branch(query, "verify", "Verification queries (policy, sessions, trails)")
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
