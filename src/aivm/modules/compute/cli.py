"""compute commands: ``aivm tx compute register-provider|update-provider|add-collateral|
heartbeat|pause|resume|exit|unjail`` and ``aivm query compute params|provider|providers|asks|
slash-records``; jobs: ``aivm tx compute submit-job|cancel-job|top-up-job|submit-result|
report-unservable|settle-job|commit-bid|reveal-bid``, ``aivm query compute job|jobs|
provider-stats|reference-price|reason-codes``
and ``aivm compute run`` (the provider node's ``aivm provider …`` is ``aivm.cli.provider``).
A tx command returns once CheckTx accepted the tx; ``--wait`` waits for the
block (``--timeout`` seconds) and shows the tx's result. ``aivm.cli.main`` finds this file
through the module list."""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aivm.cli import common as cli
from aivm.client.client import DEFAULT_REST, Client
from aivm.client.results import TxResult
from aivm.client.wallet import Wallet
from aivm.modules.compute import compute_pb2
from aivm.modules.compute.client import (
    CRITICALITY_BY_NAME,
    JOB_STATE_BY_NAME,
    MODE_BY_NAME,
    SLA_BY_NAME,
    STATUS_BY_NAME,
    TIER_BY_NAME,
    ComputeClient,
    describe_job,
)
from aivm.types.coin import BOND_DENOM


def _amount(text: str) -> int:
    """``1000`` or ``1000ucgpt``."""
    digits = text.removesuffix(BOND_DENOM)
    if not digits.isdigit():
        raise cli.CliError(f"amount {text!r} is not an integer number of {BOND_DENOM}")
    return int(digits)


def _offer(text: str) -> compute_pb2.Offer:
    """``MODEL_ID:VERSION:PRICE`` (price in ucgpt per unit)."""
    parts = text.split(":")
    if len(parts) != 3 or not parts[0].isdigit() or not parts[2].removesuffix(BOND_DENOM).isdigit():
        raise cli.CliError(f"offer {text!r} is not MODEL_ID:VERSION:PRICE")
    return ComputeClient.offer(int(parts[0]), parts[1], _amount(parts[2]))


def _declaration(args: argparse.Namespace) -> dict[str, object]:
    hardware = ComputeClient.hardware(
        args.gpu_model, args.gpu_count, args.gpu_memory_mib, args.cpu_cores, args.memory_mib
    )
    return {
        "hardware": hardware,
        "runtimes": [r for r in args.runtimes.split(",") if r],
        "offers": [_offer(o) for o in args.offer],
        "capacity": args.capacity,
        "moniker": args.moniker,
        "description": args.description,
    }


def _emit_tx(s: cli.Settings, result: TxResult) -> None:
    cli.emit(s, {"txhash": result.hash, "code": result.code, "raw_log": result.log})


def cmd_register(s: cli.Settings, args: argparse.Namespace) -> None:
    wallet = cli.keyring_wallet(s, args.from_)
    declaration = _declaration(args)
    collateral = _amount(args.collateral)
    cli.confirm(s, f"register {wallet.address} as a provider with {collateral}{BOND_DENOM}")
    with cli.tx_client(s, args) as client:
        result = ComputeClient(client).register(wallet, collateral, **declaration)  # type: ignore[arg-type]
    _emit_tx(s, result)


def cmd_update(s: cli.Settings, args: argparse.Namespace) -> None:
    wallet = cli.keyring_wallet(s, args.from_)
    declaration = _declaration(args)
    with cli.tx_client(s, args) as client:
        _emit_tx(s, ComputeClient(client).update(wallet, **declaration))  # type: ignore[arg-type]


def cmd_add_collateral(s: cli.Settings, args: argparse.Namespace) -> None:
    wallet = cli.keyring_wallet(s, args.from_)
    amount = _amount(args.amount)
    cli.confirm(s, f"add {amount}{BOND_DENOM} of collateral")
    with cli.tx_client(s, args) as client:
        _emit_tx(s, ComputeClient(client).add_collateral(wallet, amount))


def _simple(
    call: Callable[[ComputeClient, Wallet], TxResult],
) -> Callable[[cli.Settings, argparse.Namespace], None]:
    def run(s: cli.Settings, args: argparse.Namespace) -> None:
        wallet = cli.keyring_wallet(s, args.from_)
        with cli.tx_client(s, args) as client:
            _emit_tx(s, call(ComputeClient(client), wallet))

    return run


def cmd_params(s: cli.Settings, args: argparse.Namespace) -> None:
    with s.client() as client:
        cli.emit(s, cli.proto_json(ComputeClient(client).params()))


def cmd_provider(s: cli.Settings, args: argparse.Namespace) -> None:
    with s.client() as client:
        cli.emit(s, cli.proto_json(ComputeClient(client).provider(args.address)))


def cmd_providers(s: cli.Settings, args: argparse.Namespace) -> None:
    with s.client() as client:
        found = ComputeClient(client).providers(args.status, args.tier)
    cli.emit(s, {"providers": [cli.proto_json(p) for p in found]})


def cmd_asks(s: cli.Settings, args: argparse.Namespace) -> None:
    max_price = None if args.max_price is None else _amount(args.max_price)
    with s.client() as client:
        found = ComputeClient(client).asks(args.model_id, args.version, args.tier, max_price)
    cli.emit(s, {"asks": [cli.proto_json(a) for a in found]})


def cmd_slashes(s: cli.Settings, args: argparse.Namespace) -> None:
    with s.client() as client:
        records = ComputeClient(client).slash_records(args.operator or "")
    cli.emit(s, {"records": [cli.proto_json(r) for r in records]})


def _declaration_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--gpu-model", default="", help="e.g. H100-SXM (none for CPU only)")
    p.add_argument("--gpu-count", type=int, default=0)
    p.add_argument("--gpu-memory-mib", type=int, default=0, help="memory per GPU, MiB")
    p.add_argument("--cpu-cores", type=int, required=True)
    p.add_argument("--memory-mib", type=int, required=True, help="host memory, MiB")
    p.add_argument("--runtimes", required=True, help="comma-separated: onnxruntime,torch,dsm")
    p.add_argument(
        "--offer",
        action="append",
        default=[],
        metavar="MODEL_ID:VERSION:PRICE",
        help="an off-chain model version and its price per unit in ucgpt (repeatable)",
    )
    p.add_argument("--capacity", type=int, default=1, help="concurrent jobs")
    p.add_argument("--moniker", default="")
    p.add_argument("--description", default="")


def _tx_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--from", dest="from_", required=True, help="key name or address")
    cli.add_wait_flags(p)


def register(
    subs: cli.Group, tx: cli.Group, query: cli.Group, leaf: cli.Leaf, branch: cli.Branch
) -> None:
    """Add ``aivm tx compute`` and ``aivm query compute`` (see
    :data:`aivm.cli.common.Register`)."""
    txs = branch(tx, "compute", "Compute provider transactions")
    p = leaf(
        txs,
        "register-provider",
        cmd_register,
        "Register as a compute provider with collateral, hardware, runtimes and offers",
        "  aivm tx compute register-provider --collateral 100000000ucgpt --gpu-model H100-SXM "
        "--gpu-count 8 --gpu-memory-mib 81920 --cpu-cores 96 --memory-mib 1048576 "
        "--runtimes onnxruntime,torch --offer 1:1.0.0:250 --capacity 4 --from alice --yes",
    )
    p.add_argument("--collateral", required=True, help=f"collateral in {BOND_DENOM}")
    _declaration_flags(p)
    _tx_flags(p)
    p = leaf(
        txs,
        "update-provider",
        cmd_update,
        "Replace the hardware, runtimes, offers, capacity and texts",
        "  aivm tx compute update-provider --cpu-cores 16 --memory-mib 65536 "
        "--runtimes onnxruntime --offer 1:1.0.0:200 --from alice --yes",
    )
    _declaration_flags(p)
    _tx_flags(p)
    p = leaf(
        txs,
        "add-collateral",
        cmd_add_collateral,
        "Top up the collateral",
        "  aivm tx compute add-collateral 5000000ucgpt --from alice --yes",
    )
    p.add_argument("amount")
    _tx_flags(p)
    simple = (
        ("heartbeat", ComputeClient.heartbeat, "Tell the chain the provider is up"),
        ("pause", ComputeClient.pause, "Take the offers off the market"),
        ("resume", ComputeClient.resume, "Put the offers back on the market"),
        ("exit", ComputeClient.exit, "Leave; the collateral returns after the unbonding time"),
        ("unjail", ComputeClient.unjail, "Leave jail once its time is over"),
    )
    for name, call, summary in simple:
        p = leaf(txs, name, _simple(call), summary, f"  aivm tx compute {name} --from alice --yes")
        _tx_flags(p)

    qs = branch(query, "compute", "Compute provider queries")
    leaf(qs, "params", cmd_params, "The compute params", "  aivm query compute params")
    p = leaf(
        qs,
        "provider",
        cmd_provider,
        "A provider and whether it is available now",
        "  aivm query compute provider aivm1...",
    )
    p.add_argument("address")
    p = leaf(
        qs,
        "providers",
        cmd_providers,
        "Providers (filter by status and tier)",
        "  aivm query compute providers --status active --tier standard",
    )
    p.add_argument("--status", choices=sorted(STATUS_BY_NAME))
    p.add_argument("--tier", choices=sorted(TIER_BY_NAME))
    p = leaf(
        qs,
        "asks",
        cmd_asks,
        "Asks for a model version, cheapest first",
        "  aivm query compute asks 1 1.0.0 --tier standard --max-price 300",
    )
    p.add_argument("model_id", type=int)
    p.add_argument("version")
    p.add_argument("--tier", choices=sorted(TIER_BY_NAME))
    p.add_argument("--max-price")
    p = leaf(
        qs,
        "slash-records",
        cmd_slashes,
        "Provider slash records",
        "  aivm query compute slash-records --operator aivm1...",
    )
    p.add_argument("--operator")

    # --- jobs ---
    register_jobs(txs, qs, leaf)
    register_compute_run(subs, leaf, branch)

    # --- payment channels ---
    register_channels(txs, qs, leaf)

    # --- hardware checks ---
    register_hardware_checks(qs, leaf)


# --- jobs ---


def _model_version(text: str) -> tuple[int, str]:
    """``MODEL_ID:VERSION``."""
    model, _, version = text.partition(":")
    if not model.isdigit() or not version:
        raise cli.CliError(f"model {text!r} is not MODEL_ID:VERSION")
    return int(model), version


def _hex_arg(text: str, what: str) -> bytes:
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise cli.CliError(f"{what} {text!r} is not hex") from None


def _emit_job_tx(s: cli.Settings, result: Any, **more: Any) -> None:
    cli.emit(s, {"txhash": result.hash, "code": result.code, "raw_log": result.log} | more)


# -- tx compute (jobs) ------------------------------------------------------------------------


def cmd_submit_job(s: cli.Settings, args: argparse.Namespace) -> None:
    wallet = cli.keyring_wallet(s, args.from_)
    model_id, version = _model_version(args.model)
    inline = b""
    if args.input_file:
        inline = Path(args.input_file).read_bytes()
    elif args.input_inline is not None:
        inline = args.input_inline.encode()
    digest = _hex_arg(args.input_digest, "--input-digest") if args.input_digest else b""
    if args.input_cid and not digest:
        raise cli.CliError("--input-cid needs --input-digest (hex sha256 of the input)")
    price = _amount(args.max_price)
    cli.confirm(s, f"submit a job on model {model_id}:{version} at up to {price}{BOND_DENOM}/unit")
    with cli.tx_client(s, args) as client:
        submitted = ComputeClient(client).submit_job(
            wallet,
            model_id,
            version,
            price,
            input_cid=args.input_cid or "",
            input_inline=b"" if args.input_cid else inline,
            input_digest=digest,
            units=args.units,
            deadline_blocks=args.deadline_blocks,
            sla_class=args.sla_class,
            criticality=args.criticality,
            redundancy=args.redundancy,
            mode=args.mode,
            min_tier=args.min_tier,
            timeout=args.timeout,
        )
    _emit_job_tx(s, submitted.tx, job_id=submitted.job_id)


def cmd_cancel_job(s: cli.Settings, args: argparse.Namespace) -> None:
    wallet = cli.keyring_wallet(s, args.from_)
    with cli.tx_client(s, args) as client:
        _emit_job_tx(s, ComputeClient(client).cancel_job(wallet, args.job_id))


def cmd_top_up_job(s: cli.Settings, args: argparse.Namespace) -> None:
    wallet = cli.keyring_wallet(s, args.from_)
    price = None if args.max_price is None else _amount(args.max_price)
    with cli.tx_client(s, args) as client:
        result = ComputeClient(client).top_up_job(wallet, args.job_id, price, args.extend_blocks)
    _emit_job_tx(s, result)


def cmd_submit_result(s: cli.Settings, args: argparse.Namespace) -> None:
    wallet = cli.keyring_wallet(s, args.from_)
    comparison = Path(args.comparison_file).read_bytes() if args.comparison_file else b""
    with cli.tx_client(s, args) as client:
        result = ComputeClient(client).submit_result(
            wallet,
            args.job_id,
            args.output_cid,
            _hex_arg(args.output_digest, "output digest"),
            comparison,
            args.runtime,
            args.runtime_metadata,
        )
    _emit_job_tx(s, result)


def cmd_report_unservable(s: cli.Settings, args: argparse.Namespace) -> None:
    wallet = cli.keyring_wallet(s, args.from_)
    with cli.tx_client(s, args) as client:
        _emit_job_tx(s, ComputeClient(client).report_unservable(wallet, args.job_id, args.detail))


def cmd_settle_job(s: cli.Settings, args: argparse.Namespace) -> None:
    wallet = cli.keyring_wallet(s, args.from_)
    with cli.tx_client(s, args) as client:
        _emit_job_tx(s, ComputeClient(client).settle_job(wallet, args.job_id))


def _bids_file(s: cli.Settings) -> Path:
    return Path(s.home) / "compute-bids.json"


def cmd_commit_bid(s: cli.Settings, args: argparse.Namespace) -> None:
    wallet = cli.keyring_wallet(s, args.from_)
    salt = bytes.fromhex(args.salt) if args.salt else os.urandom(16)
    price = _amount(args.price)
    with cli.tx_client(s, args) as client:
        result = ComputeClient(client).commit_bid(wallet, args.job_id, price, salt)
    saved = _load_bids(s)
    saved[f"{args.job_id}/{wallet.address}"] = {"price": str(price), "salt": salt.hex()}
    path = _bids_file(s)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(saved, indent=1, sort_keys=True) + "\n")
    print(f"salt {salt.hex()} kept in {path} for reveal-bid", file=sys.stderr)
    _emit_job_tx(s, result)


def _load_bids(s: cli.Settings) -> dict[str, dict[str, str]]:
    path = _bids_file(s)
    if not path.exists():
        return {}
    loaded: dict[str, dict[str, str]] = json.loads(path.read_text())
    return loaded


def cmd_reveal_bid(s: cli.Settings, args: argparse.Namespace) -> None:
    wallet = cli.keyring_wallet(s, args.from_)
    saved = _load_bids(s).get(f"{args.job_id}/{wallet.address}", {})
    price_text = args.price or saved.get("price")
    salt_text = args.salt or saved.get("salt")
    if price_text is None or salt_text is None:
        raise cli.CliError(
            f"no saved bid for job {args.job_id} by {wallet.address} in {_bids_file(s)}: "
            "give --price and --salt"
        )
    price, salt = _amount(price_text), bytes.fromhex(salt_text)
    with cli.tx_client(s, args) as client:
        _emit_job_tx(s, ComputeClient(client).reveal_bid(wallet, args.job_id, price, salt))


def cmd_reason_codes(s: cli.Settings, args: argparse.Namespace) -> None:
    with s.client() as client:
        codes = ComputeClient(client).reason_codes()
    cli.emit(s, {"codes": [cli.proto_json(c) for c in codes]})


# -- query compute (jobs) ---------------------------------------------------------------------


def cmd_job(s: cli.Settings, args: argparse.Namespace) -> None:
    with s.client() as client:
        cli.emit(s, cli.proto_json(ComputeClient(client).job(args.job_id)))


def cmd_jobs(s: cli.Settings, args: argparse.Namespace) -> None:
    with s.client() as client:
        found = ComputeClient(client).jobs(args.client or "", args.provider or "", args.state)
    cli.emit(s, {"jobs": [cli.proto_json(j) for j in found]})


def cmd_provider_stats(s: cli.Settings, args: argparse.Namespace) -> None:
    with s.client() as client:
        cli.emit(s, cli.proto_json(ComputeClient(client).provider_stats(args.operator)))


def cmd_reference_price(s: cli.Settings, args: argparse.Namespace) -> None:
    with s.client() as client:
        found = ComputeClient(client).reference_price(args.model_id, args.version, args.tier)
    cli.emit(s, cli.proto_json(found))


# -- compute run ------------------------------------------------------------------------------


class _Progress:
    """A tqdm line per stage of ``client.modules.compute.run`` (on stderr)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.bar: Any = None

    def __call__(self, stage: str, detail: str) -> None:
        if not self.enabled:
            return
        from tqdm import tqdm

        if self.bar is None:
            self.bar = tqdm(total=6, file=sys.stderr, bar_format="{desc} [{n}/{total}]")
        steps = ("upload", "submitted", "waiting for match", "running", "challenge window")
        order = {name: i + 1 for i, name in enumerate(steps)}
        order |= {"download": 6, "done": 6}
        self.bar.n = max(self.bar.n, order.get(stage, self.bar.n))
        self.bar.set_description_str(f"{stage}: {detail}"[:100])
        self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def cmd_compute_run(s: cli.Settings, args: argparse.Namespace) -> None:
    wallet = cli.keyring_wallet(s, args.from_)
    model_id, version = _model_version(args.model)
    data = Path(args.input).read_bytes()
    price = _amount(args.max_price)
    cli.confirm(
        s,
        f"run model {model_id}:{version} on {len(data)} input bytes for up to "
        f"{price * args.units * args.redundancy}{BOND_DENOM}",
    )
    progress = _Progress(not args.no_progress)
    rest = args.rest or DEFAULT_REST
    try:
        with Client(s.node, rest=rest, chain_id=s.chain_id, gas_price=s.gas_prices) as client:
            found = ComputeClient(client).run(
                wallet,
                model_id,
                version,
                data,
                price,
                args.units,
                args.redundancy,
                deadline_blocks=args.deadline_blocks,
                sla_class=args.sla_class,
                min_tier=args.min_tier,
                criticality=args.criticality,
                timeout=args.timeout,
                progress=progress,
            )
    finally:
        progress.close()
    shown: dict[str, Any] = {
        "job_id": found.job.id,
        "state": describe_job(found.job),
        "output_cid": found.job.output_cid,
        "output_sha256": hashlib.sha256(found.output).hexdigest(),
        "output_bytes": len(found.output),
        "metadata": found.metadata,
    }
    if args.out:
        Path(args.out).write_bytes(found.output)
        shown["written"] = args.out
    cli.emit(s, shown)


def _job_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--units", type=int, default=1, help="units of work (default 1)")
    p.add_argument("--redundancy", type=int, default=1, help="providers running it (default 1)")
    p.add_argument("--deadline-blocks", type=int, default=100, help="default 100")
    p.add_argument("--sla-class", choices=sorted(SLA_BY_NAME), default="standard")
    p.add_argument("--min-tier", choices=sorted(TIER_BY_NAME), default="entry")
    p.add_argument(
        "--criticality",
        choices=list(CRITICALITY_BY_NAME),
        default="low",
        help="how critical the result is: the verification policy picks the methods it must "
        "pass before payment (`aivm query verify policy`; default low)",
    )


def register_jobs(tx: cli.Group, query: cli.Group, leaf: cli.Leaf) -> None:
    """``aivm tx compute <job command>`` and ``aivm query compute <job query>``."""
    p = leaf(
        tx,
        "submit-job",
        cmd_submit_job,
        "Submit a job (escrow locked); the input inline, from a file, or a stored CID",
        "  aivm tx compute submit-job 1:1.0.0 --input-file x.npy --max-price 250 "
        "--from alice --yes --wait\n"
        "  aivm tx compute submit-job 1:1.0.0 --input-cid bafy... --input-digest 9f86... "
        "--max-price 250 --redundancy 3 --from alice --yes",
    )
    p.add_argument("model", metavar="MODEL_ID:VERSION")
    p.add_argument("--input-file", help="inline input bytes from this file")
    p.add_argument("--input-inline", help="inline input text (UTF-8)")
    p.add_argument("--input-cid", help="input already in the content store")
    p.add_argument("--input-digest", help="hex sha256 of the input (needed with --input-cid)")
    p.add_argument("--max-price", required=True, help=f"max price per unit in {BOND_DENOM}")
    p.add_argument("--mode", choices=sorted(MODE_BY_NAME), default="instant")
    _job_flags(p)
    _tx_flags(p)
    p = leaf(
        tx,
        "cancel-job",
        cmd_cancel_job,
        "Cancel an unmatched job (refund)",
        "  aivm tx compute cancel-job 7 --from alice --yes",
    )
    p.add_argument("job_id", type=int)
    _tx_flags(p)
    p = leaf(
        tx,
        "top-up-job",
        cmd_top_up_job,
        "Raise a job's max price and/or extend its deadline",
        "  aivm tx compute top-up-job 7 --max-price 300 --extend-blocks 50 --from alice --yes",
    )
    p.add_argument("job_id", type=int)
    p.add_argument("--max-price", default=None)
    p.add_argument("--extend-blocks", type=int, default=0)
    _tx_flags(p)
    p = leaf(
        tx,
        "submit-result",
        cmd_submit_result,
        "Submit a result for a job assigned to you (the provider node does this)",
        "  aivm tx compute submit-result 7 bafy... 9f86d0... --from provider --yes",
    )
    p.add_argument("job_id", type=int)
    p.add_argument("output_cid")
    p.add_argument("output_digest", help="hex sha256 of the output bytes")
    p.add_argument("--comparison-file", help="output bytes inline (tolerance/tokens models)")
    p.add_argument("--runtime", default="")
    p.add_argument("--runtime-metadata", default="", help="JSON, at most 1 KiB")
    _tx_flags(p)
    p = leaf(
        tx,
        "report-unservable",
        cmd_report_unservable,
        "Report that a job's input cannot be fetched (no penalty)",
        "  aivm tx compute report-unservable 7 'input CID not found' --from provider --yes",
    )
    p.add_argument("job_id", type=int)
    p.add_argument("detail")
    _tx_flags(p)
    p = leaf(
        tx,
        "settle-job",
        cmd_settle_job,
        "Settle a job whose challenge window has passed (anyone)",
        "  aivm tx compute settle-job 7 --from alice --yes",
    )
    p.add_argument("job_id", type=int)
    _tx_flags(p)
    p = leaf(
        tx,
        "commit-bid",
        cmd_commit_bid,
        "Commit a sealed bid on an auction job (the salt is kept in <home>/compute-bids.json)",
        "  aivm tx compute commit-bid 7 --price 90 --from provider --yes",
    )
    p.add_argument("job_id", type=int)
    p.add_argument("--price", required=True, help="price per unit, ucgpt")
    p.add_argument("--salt", help="hex salt (default: 16 random bytes)")
    _tx_flags(p)
    p = leaf(
        tx,
        "reveal-bid",
        cmd_reveal_bid,
        "Reveal a sealed bid after the commit window (price and salt from commit-bid's file)",
        "  aivm tx compute reveal-bid 7 --from provider --yes",
    )
    p.add_argument("job_id", type=int)
    p.add_argument("--price", help="price per unit (default: the one commit-bid kept)")
    p.add_argument("--salt", help="hex salt (default: the one commit-bid kept)")
    _tx_flags(p)

    leaf(
        query,
        "reason-codes",
        cmd_reason_codes,
        "Registered provider slash reason codes",
        "  aivm query compute reason-codes",
    )
    p = leaf(query, "job", cmd_job, "A job", "  aivm query compute job 7")
    p.add_argument("job_id", type=int)
    p = leaf(
        query,
        "jobs",
        cmd_jobs,
        "Jobs (of a client, assigned to a provider, in a state)",
        "  aivm query compute jobs --provider aivm1... --state running",
    )
    p.add_argument("--client")
    p.add_argument("--provider")
    p.add_argument("--state", choices=sorted(JOB_STATE_BY_NAME))
    p = leaf(
        query,
        "provider-stats",
        cmd_provider_stats,
        "A provider's SLA record, success rate, response time and reputation",
        "  aivm query compute provider-stats aivm1...",
    )
    p.add_argument("operator")
    p = leaf(
        query,
        "reference-price",
        cmd_reference_price,
        "The reference price of a model version in a tier",
        "  aivm query compute reference-price 1 1.0.0 --tier standard",
    )
    p.add_argument("model_id", type=int)
    p.add_argument("version")
    p.add_argument("--tier", choices=sorted(TIER_BY_NAME), default="entry")


def register_compute_run(subs: cli.Group, leaf: cli.Leaf, branch: cli.Branch) -> None:
    """``aivm compute run`` (a top-level group: running models on the market)."""
    compute = branch(subs, "compute", "Run models on the compute market")
    p = leaf(
        compute,
        "run",
        cmd_compute_run,
        "Run a model version on the market: upload, submit, wait, download, check the digest",
        "  aivm compute run 1:1.0.0 digits.npy --max-price 250 --out logits.bin --from alice "
        "--yes\n  aivm compute run 2:1.0.0 prompt.json --max-price 500 --redundancy 3 "
        "--from alice --yes -o json",
    )
    p.add_argument("model", metavar="MODEL_ID:VERSION")
    p.add_argument("input", help="input file (.npy for tensor models, JSON for generation)")
    p.add_argument("--max-price", required=True, help=f"max price per unit in {BOND_DENOM}")
    p.add_argument("--out", help="write the output bytes here")
    p.add_argument("--timeout", type=float, default=300.0, help="seconds to wait (default 300)")
    p.add_argument("--no-progress", action="store_true", help="no progress display")
    p.add_argument("--from", dest="from_", required=True, help="key name or address")
    p.add_argument("--rest", default=None, help=f"REST gateway (default {DEFAULT_REST})")
    _job_flags(p)


# --- payment channels ---


def cmd_open_channel(s: cli.Settings, args: argparse.Namespace) -> None:
    wallet = cli.keyring_wallet(s, args.from_)
    deposit = _amount(args.deposit)
    cli.confirm(s, f"open a channel to {args.provider} with {deposit}{BOND_DENOM}")
    with cli.tx_client(s, args) as client:
        result = ComputeClient(client).open_channel(
            wallet, args.provider, deposit, args.duration_blocks
        )
    shown: dict[str, object] = {"txhash": result.hash, "code": result.code, "raw_log": result.log}
    if result.code == 0:
        shown["channel_id"] = ComputeClient.channel_id_of(result)
    cli.emit(s, shown)


def cmd_topup_channel(s: cli.Settings, args: argparse.Namespace) -> None:
    wallet = cli.keyring_wallet(s, args.from_)
    amount = _amount(args.amount)
    cli.confirm(s, f"add {amount}{BOND_DENOM} to channel {args.channel_id}")
    with cli.tx_client(s, args) as client:
        _emit_tx(s, ComputeClient(client).topup_channel(wallet, args.channel_id, amount))


def _signature(text: str) -> bytes:
    try:
        signature = bytes.fromhex(text.removeprefix("0x"))
    except ValueError:
        raise cli.CliError("the signature must be hex") from None
    if len(signature) != 64:
        raise cli.CliError(f"the signature must be 64 bytes, got {len(signature)}")
    return signature


def cmd_redeem_voucher(s: cli.Settings, args: argparse.Namespace) -> None:
    wallet = cli.keyring_wallet(s, args.from_)
    cumulative, signature = _amount(args.cumulative), _signature(args.signature)
    with cli.tx_client(s, args) as client:
        result = ComputeClient(client).redeem_voucher(
            wallet, args.channel_id, cumulative, signature
        )
    _emit_tx(s, result)


def cmd_close_channel(s: cli.Settings, args: argparse.Namespace) -> None:
    wallet = cli.keyring_wallet(s, args.from_)
    cli.confirm(s, f"close channel {args.channel_id}")
    with cli.tx_client(s, args) as client:
        _emit_tx(s, ComputeClient(client).close_channel(wallet, args.channel_id))


def cmd_sign_voucher(s: cli.Settings, args: argparse.Namespace) -> None:
    """Off line: no node is contacted; the chain id comes from --chain-id or the config."""
    if not s.chain_id:
        raise cli.CliError("sign-voucher is offline: give --chain-id (or set chain-id)")
    wallet = cli.keyring_wallet(s, args.from_)
    cumulative = _amount(args.cumulative)
    signature = ComputeClient.sign_voucher(wallet, s.chain_id, args.channel_id, cumulative)
    cli.emit(
        s,
        {
            "channel_id": args.channel_id,
            "cumulative_amount": str(cumulative),
            "chain_id": s.chain_id,
            "signature": signature.hex(),
        },
    )


def cmd_channel(s: cli.Settings, args: argparse.Namespace) -> None:
    with s.client() as client:
        cli.emit(s, cli.proto_json(ComputeClient(client).channel(args.channel_id)))


def cmd_channels(s: cli.Settings, args: argparse.Namespace) -> None:
    with s.client() as client:
        found = ComputeClient(client).channels(args.client or "", args.provider or "")
    cli.emit(s, {"channels": [cli.proto_json(c) for c in found]})


def register_channels(txs: cli.Group, qs: cli.Group, leaf: cli.Leaf) -> None:
    """``aivm tx compute open-channel|topup-channel|redeem-voucher|close-channel|sign-voucher``
    and ``aivm query compute channel|channels``."""
    p = leaf(
        txs,
        "open-channel",
        cmd_open_channel,
        "Open a payment channel to a provider with a deposit",
        "  aivm tx compute open-channel aivm1prov... 5000000ucgpt --duration-blocks 10000 "
        "--from alice --yes --wait",
    )
    p.add_argument("provider")
    p.add_argument("deposit", help=f"deposit in {BOND_DENOM}")
    p.add_argument("--duration-blocks", type=int, required=True, help="lifetime in blocks")
    _tx_flags(p)
    p = leaf(
        txs,
        "topup-channel",
        cmd_topup_channel,
        "Add to an open channel's deposit (its client)",
        "  aivm tx compute topup-channel 1 1000000ucgpt --from alice --yes",
    )
    p.add_argument("channel_id", type=int)
    p.add_argument("amount")
    _tx_flags(p)
    p = leaf(
        txs,
        "redeem-voucher",
        cmd_redeem_voucher,
        "Present the client's cumulative voucher (paid after the challenge period)",
        "  aivm tx compute redeem-voucher 1 250000 <hex signature> --from provider --yes",
    )
    p.add_argument("channel_id", type=int)
    p.add_argument("cumulative", help=f"total paid over the channel, in {BOND_DENOM}")
    p.add_argument("signature", help="the client's 64-byte signature, hex")
    _tx_flags(p)
    p = leaf(
        txs,
        "close-channel",
        cmd_close_channel,
        "Close a channel (provider: at once; client: after the challenge period)",
        "  aivm tx compute close-channel 1 --from alice --yes",
    )
    p.add_argument("channel_id", type=int)
    _tx_flags(p)
    p = leaf(
        txs,
        "sign-voucher",
        cmd_sign_voucher,
        "Sign a voucher off line as the channel's client (prints the hex signature)",
        "  aivm tx compute sign-voucher 1 250000 --from alice --chain-id aivm-1",
    )
    p.add_argument("channel_id", type=int)
    p.add_argument("cumulative", help=f"total paid over the channel, in {BOND_DENOM}")
    p.add_argument("--from", dest="from_", required=True, help="key name or address")
    p = leaf(qs, "channel", cmd_channel, "A payment channel", "  aivm query compute channel 1")
    p.add_argument("channel_id", type=int)
    p = leaf(
        qs,
        "channels",
        cmd_channels,
        "Payment channels (filter by client and provider)",
        "  aivm query compute channels --client aivm1...",
    )
    p.add_argument("--client")
    p.add_argument("--provider")


# --- hardware checks ---

HARDWARE_STATUS_BY_NAME = {
    "open": compute_pb2.HARDWARE_CHECK_STATUS_OPEN,
    "passed": compute_pb2.HARDWARE_CHECK_STATUS_PASSED,
    "failed": compute_pb2.HARDWARE_CHECK_STATUS_FAILED,
    "inconclusive": compute_pb2.HARDWARE_CHECK_STATUS_INCONCLUSIVE,
}


def cmd_hardware_challenge(s: cli.Settings, args: argparse.Namespace) -> None:
    with s.client() as client:
        found = ComputeClient(client).hardware_challenge(args.challenge_id)
    cli.emit(s, cli.proto_json(found))


def cmd_hardware_challenges(s: cli.Settings, args: argparse.Namespace) -> None:
    status = HARDWARE_STATUS_BY_NAME[args.status] if args.status else 0
    with s.client() as client:
        found = ComputeClient(client).hardware_challenges(
            args.provider or "", args.validator or "", status
        )
    cli.emit(s, {"challenges": [cli.proto_json(c) for c in found]})


def register_hardware_checks(qs: cli.Group, leaf: cli.Leaf) -> None:
    """``aivm query compute hardware-challenge ID | hardware-challenges [--provider
    --validator --status]`` (answering, committing and revealing: the SDK and
    ``aivm.worker.hardware_checks``)."""
    p = leaf(
        qs,
        "hardware-challenge",
        cmd_hardware_challenge,
        "A hardware challenge (timed workload, committee verdicts, outcome)",
        "  aivm query compute hardware-challenge 1",
    )
    p.add_argument("challenge_id", type=int)
    p = leaf(
        qs,
        "hardware-challenges",
        cmd_hardware_challenges,
        "Hardware challenges (of a provider, or open ones on a validator's committee)",
        "  aivm query compute hardware-challenges --provider aivm1... --status failed",
    )
    p.add_argument("--provider")
    p.add_argument("--validator", help="open challenges on this compute validator's committee")
    p.add_argument("--status", choices=sorted(HARDWARE_STATUS_BY_NAME))
