"""``aivm tx ai``, ``aivm query ai`` and ``aivm ai`` (import, run, verify-local) commands.

``aivm.cli.main`` finds this file through the module list and calls :func:`register`."""

from __future__ import annotations

import argparse
import decimal
import hashlib
import sys
from pathlib import Path

from aivm.ai import runtime
from aivm.cli import common as cli
from aivm.client.storage import StorageClient, StorageError
from aivm.modules.ai.client import AiClient, Registered
from aivm.modules.ai.comparison import KINDS, Rule, parse_rule
from aivm.types.errors import AivmError

DEFAULT_REST = "http://127.0.0.1:1317"


def _values(text: list[str]) -> list[int | str]:
    """Input values from ``1,2,3`` or ``1 2 3``: all integers → integers, else decimals."""
    items: list[int | str] = [v for chunk in text for v in chunk.replace(",", " ").split()]
    if not items:
        raise cli.CliError("give the input values, e.g. 0.5,32,1200")
    if all(str(v).lstrip("-").isdigit() for v in items):
        return [int(v) for v in items]
    return items


def cmd_register(s: cli.Settings, args: argparse.Namespace) -> None:
    if args.offchain:
        _register_offchain(s, args)
        return
    if not args.artifact:
        raise cli.CliError("give the DSM artifact file (or --offchain for an off-chain model)")
    if args.artifact_cid or args.artifact_sha256 or args.artifact_size or args.blocks:
        raise cli.CliError(
            "--artifact-cid/--artifact-sha256/--artifact-size/--blocks need --offchain"
        )
    _rule(args.comparison, _decimal(args.atol, "--atol"), _decimal(args.rtol, "--rtol"), False)
    artifact = Path(args.artifact).read_bytes()
    program = runtime.load(artifact)
    wallet = cli.keyring_wallet(s, args.from_)
    print(
        f"register {args.name} {args.version} ({len(artifact)} bytes, "
        f"{program.input_width} inputs) as {wallet.address}",
        file=sys.stderr,
    )
    cli.confirm(s, "confirm transaction before signing and broadcasting")
    with s.client() as client:
        done = AiClient(client).register_model(
            wallet,
            artifact,
            args.name,
            args.version,
            price=args.price or (),
            tags=args.tag or (),
            license=args.license,
            input_schema=args.input_schema,
            output_schema=args.output_schema,
            model_card_cid=args.model_card_cid,
            format=args.format,
            comparison=args.comparison,
            gas=s.gas,
        )
    _emit_registered(s, done, "onchain", "exact")


def _register_offchain(s: cli.Settings, args: argparse.Namespace) -> None:
    """``--offchain``: upload the file (or name a stored object), pay its retention and
    register, in one tx after the upload."""
    by_cid = bool(args.artifact_cid or args.artifact_sha256 or args.artifact_size)
    if bool(args.artifact) == by_cid:
        raise cli.CliError(
            "give the artifact file, or --artifact-cid, --artifact-sha256 and --artifact-size"
        )
    if by_cid and not (args.artifact_cid and args.artifact_sha256 and args.artifact_size):
        raise cli.CliError("--artifact-cid, --artifact-sha256 and --artifact-size go together")
    if args.artifact and not args.blocks:
        raise cli.CliError("uploading the artifact needs --blocks (retention to pay)")
    if args.artifact and not Path(args.artifact).is_file():
        raise cli.CliError(f"{args.artifact} is not a file")
    atol, rtol = _decimal(args.atol, "--atol"), _decimal(args.rtol, "--rtol")
    rule = _rule(args.comparison, atol, rtol, True)
    wallet = cli.keyring_wallet(s, args.from_)
    what = args.artifact or args.artifact_cid
    print(
        f"register off-chain {args.name} {args.version} ({what}, {args.format or 'onnx'}, compared "
        f"{rule.kind}) as {wallet.address}",
        file=sys.stderr,
    )
    cli.confirm(s, "confirm upload and transaction before signing and broadcasting")
    try:
        with s.client() as client:
            done = AiClient(client).register_model(
                wallet,
                Path(args.artifact) if args.artifact else None,
                args.name,
                args.version,
                price=args.price or (),
                tags=args.tag or (),
                license=args.license,
                input_schema=args.input_schema,
                output_schema=args.output_schema,
                model_card_cid=args.model_card_cid,
                offchain=True,
                format=args.format or "onnx",
                artifact_cid=args.artifact_cid,
                artifact_sha256=args.artifact_sha256,
                artifact_size=args.artifact_size,
                retention_blocks=args.blocks,
                comparison=args.comparison,
                atol=atol,
                rtol=rtol,
                content=StorageClient(args.rest or DEFAULT_REST),
                gas=s.gas,
            )
    except StorageError as exc:
        raise cli.CliError(f"content store: {exc}") from None
    _emit_registered(s, done, "offchain", rule.kind)


def _emit_registered(s: cli.Settings, done: Registered, path: str, comparison: str) -> None:
    cli.emit(
        s,
        {
            "model_id": str(done.model_id),
            "version": done.version,
            "execution_path": path,
            "artifact_cid": done.artifact_cid,
            "comparison": comparison,
            "txhash": done.txhash,
            "gas_used": str(done.gas_used),
        },
    )


def _rule(kind: str, atol: str, rtol: str, offchain: bool) -> Rule:
    """The rule the chain will store, checked here first: the chain's message and code."""
    try:
        return parse_rule(kind, atol, rtol, offchain=offchain)
    except AivmError as exc:
        raise cli.CliError(
            f"{exc.error.description} ({exc.codespace} code {exc.code}): {exc.detail}"
        ) from None


def _decimal(text: str, flag: str) -> str:
    """A tolerance as the chain's plain decimal: ``1e-4`` → ``0.0001`` (exact, no floats)."""
    if not text:
        return ""
    try:
        value = decimal.Decimal(text)
    except decimal.InvalidOperation:
        raise cli.CliError(f"{flag}: not a number: {text!r}") from None
    if not value.is_finite() or not -40 <= value.adjusted() <= 40:
        raise cli.CliError(f"{flag}: not a finite number of sensible size: {text!r}")
    plain = format(value, "f")
    return plain.rstrip("0").rstrip(".") if "." in plain else plain


def cmd_infer(s: cli.Settings, args: argparse.Namespace) -> None:
    wallet = cli.keyring_wallet(s, args.from_)
    values = _values(args.values)
    cli.confirm(s, f"run model {args.model_id} on {values}")
    with s.client() as client:
        result = AiClient(client).infer(wallet, args.model_id, values, args.version, gas=s.gas)
    cli.emit(
        s,
        {
            "execution_id": str(result.execution_id),
            "output": result.output,
            "gas": str(result.gas),
            "txhash": result.txhash,
            "height": str(result.height),
        },
    )


def cmd_set_status(s: cli.Settings, args: argparse.Namespace) -> None:
    wallet = cli.keyring_wallet(s, args.from_)
    cli.confirm(s, f"set model {args.model_id} {args.version} to {args.status}")
    with s.client() as client:
        result = AiClient(client).set_status(
            wallet, args.model_id, args.version, args.status, args.reason
        )
    cli.emit(s, {"txhash": result.hash, "height": str(result.height)})


def cmd_transfer(s: cli.Settings, args: argparse.Namespace) -> None:
    wallet = cli.keyring_wallet(s, args.from_)
    cli.confirm(s, f"give model {args.model_id} to {args.new_owner}")
    with s.client() as client:
        result = AiClient(client).transfer(wallet, args.model_id, args.new_owner)
    cli.emit(s, {"txhash": result.hash, "height": str(result.height)})


def cmd_query_model(s: cli.Settings, args: argparse.Namespace) -> None:
    with s.client() as client:
        cli.emit(s, cli.proto_json(AiClient(client).model(args.model_id)))


def cmd_query_models(s: cli.Settings, args: argparse.Namespace) -> None:
    with s.client() as client:
        models = AiClient(client).models(args.owner or "", args.tag or "", args.limit)
    cli.emit(s, {"models": [cli.proto_json(m) for m in models]})


def cmd_query_execution(s: cli.Settings, args: argparse.Namespace) -> None:
    with s.client() as client:
        record = AiClient(client).execution(args.id)
    cli.emit(s, cli.proto_json(record))


def cmd_query_params(s: cli.Settings, args: argparse.Namespace) -> None:
    with s.client() as client:
        cli.emit(s, cli.proto_json(AiClient(client).params()))


def cmd_verify_local(s: cli.Settings, args: argparse.Namespace) -> None:
    with s.client() as client:
        result = AiClient(client).verify_execution(args.id)
    cli.emit(
        s,
        {
            "execution_id": str(result.execution_id),
            "ok": result.ok,
            "recorded_output": result.recorded_output,
            "local_output": result.local_output,
            "model_sha256": result.model_sha256,
            "detail": result.detail,
        },
    )
    if not result.ok:
        raise cli.CliError(f"execution {args.id}: {result.detail}")


def cmd_run(s: cli.Settings, args: argparse.Namespace) -> None:
    artifact = Path(args.artifact).read_bytes()
    program = runtime.load(artifact)
    values = _values(args.values)
    row = runtime.quantize_row(program, values)
    output = program.run(runtime.check_rows(program, runtime.as_rows([row])))
    cli.emit(
        s,
        {
            "input": row,
            "output": [int(v) for v in output.reshape(-1)],
            "gas": str(program.gas_per_row(runtime.GasTable())),
            "load_gas": str(program.load_gas(runtime.GasTable())),
            "model_sha256": hashlib.sha256(artifact).hexdigest(),
        },
    )


def cmd_import(s: cli.Settings, args: argparse.Namespace) -> None:
    from aivm.ai.importers.files import import_file

    imported = import_file(
        Path(args.model),
        kind=args.kind,
        decimals=args.decimals,
        calibration=Path(args.calibration) if args.calibration else None,
    )
    Path(args.out).write_bytes(imported.artifact)
    program = runtime.load(imported.artifact)
    cli.emit(
        s,
        {
            "artifact": args.out,
            "bytes": str(len(imported.artifact)),
            "sha256": hashlib.sha256(imported.artifact).hexdigest(),
            "inputs": str(program.input_width),
            "outputs": str(program.output_width),
            "gas_per_inference": str(program.gas_per_row(runtime.GasTable())),
            "load_gas": str(program.load_gas(runtime.GasTable())),
        },
    )


def register(
    subs: cli.Group, tx: cli.Group, query: cli.Group, leaf: cli.Leaf, branch: cli.Branch
) -> None:
    """Add ``aivm tx ai``, ``aivm query ai`` and ``aivm ai`` (see
    :data:`aivm.cli.common.Register`)."""
    txai = branch(tx, "ai", "AI module transactions (model registry, on-chain inference)")
    p = leaf(
        txai,
        "register",
        cmd_register,
        "Register a model or a new version: on-chain (DSM artifact in the tx) or off-chain "
        "(--offchain: the file is uploaded to the content store and its retention paid in the "
        "same tx, or an object already stored is named by --artifact-cid/-sha256/-size)",
        "  aivm tx ai register credit.dsm --name credit --version 1.0.0 --price 100ucgpt "
        "--tag credit --from alice --yes\n"
        "  aivm tx ai register lm.onnx --offchain --format onnx --blocks 100000 --name tiny-lm "
        "--version 1.0.0 --comparison tolerance --atol 1e-4 --rtol 1e-3 --from alice --yes\n"
        "  aivm tx ai register --offchain --artifact-cid bafy... --artifact-sha256 HEX "
        "--artifact-size 123456 --comparison tokens --name lm --version 1.1.0 --from alice --yes",
    )
    p.add_argument(
        "artifact",
        nargs="?",
        help="DSM artifact file (made by `aivm ai import`); with --offchain, the model file to "
        "upload (ONNX, ...)",
    )
    p.add_argument("--name", required=True, help="model name (lowercase, unique on chain)")
    p.add_argument("--version", required=True, help="semantic version, e.g. 1.0.0")
    p.add_argument(
        "--price", default="", help="price per inference paid to the owner, e.g. 100ucgpt"
    )
    p.add_argument("--tag", action="append", help="tag (repeatable)")
    p.add_argument("--license", default="", help="license identifier, e.g. Apache-2.0")
    p.add_argument("--input-schema", default="", help="JSON describing the input")
    p.add_argument("--output-schema", default="", help="JSON describing the output")
    p.add_argument("--model-card-cid", default="", help="CID of the model card (aivm storage put)")
    p.add_argument(
        "--offchain", action="store_true", help="an off-chain model (run by compute providers)"
    )
    p.add_argument(
        "--format",
        default="",
        help="artifact format (default: onnx off-chain, aivm-dsm/1 on-chain)",
    )
    p.add_argument("--artifact-cid", default="", help="off-chain: CID of an object already stored")
    p.add_argument("--artifact-sha256", default="", help="off-chain: its sha256 (hex)")
    p.add_argument("--artifact-size", type=int, default=0, help="off-chain: its size in bytes")
    p.add_argument(
        "--blocks",
        type=int,
        default=0,
        help="off-chain: blocks of storage retention to pay for the artifact in the same tx "
        "(required when uploading; with --artifact-cid, extends your record)",
    )
    p.add_argument(
        "--comparison",
        choices=KINDS,
        default="",
        help="how redundant off-chain results are compared (default exact)",
    )
    p.add_argument("--atol", default="", help="tolerance: absolute, e.g. 1e-4 (default 0.00001)")
    p.add_argument("--rtol", default="", help="tolerance: relative, e.g. 1e-3 (default 0.001)")
    p.add_argument(
        "--rest", default=None, help=f"REST gateway of the node (default {DEFAULT_REST})"
    )
    p.add_argument("--from", dest="from_", required=True, help="key name of the owner")

    p = leaf(
        txai,
        "infer",
        cmd_infer,
        "Run an on-chain model on one input row",
        "  aivm tx ai infer 1 0.42,35,1200.5 --from alice --yes\n"
        "  aivm tx ai infer 1 --version 1.0.0 --from alice --yes -- 12 -3 7",
    )
    p.add_argument("model_id", type=int, help="model id")
    p.add_argument(
        "values",
        nargs="+",
        help="input values (integers, or decimals quantized by the model); put `--` before "
        "values that start with '-'",
    )
    p.add_argument("--version", default="", help="model version (default: latest)")
    p.add_argument("--from", dest="from_", required=True, help="key name of the caller")

    p = leaf(
        txai,
        "set-status",
        cmd_set_status,
        "Deprecate, revoke or re-activate a model version",
        "  aivm tx ai set-status 1 1.0.0 revoked --reason 'biased' --from alice --yes",
    )
    p.add_argument("model_id", type=int)
    p.add_argument("version")
    p.add_argument("status", choices=["active", "deprecated", "revoked"])
    p.add_argument("--reason", default="", help="why (required to deprecate or revoke)")
    p.add_argument("--from", dest="from_", required=True)

    p = leaf(
        txai,
        "transfer",
        cmd_transfer,
        "Give a model to another account",
        "  aivm tx ai transfer 1 aivm1... --from alice --yes",
    )
    p.add_argument("model_id", type=int)
    p.add_argument("new_owner")
    p.add_argument("--from", dest="from_", required=True)

    qai = branch(query, "ai", "AI module queries")
    p = leaf(qai, "model", cmd_query_model, "A model and its versions", "  aivm query ai model 1")
    p.add_argument("model_id", type=int)
    p = leaf(qai, "models", cmd_query_models, "List models", "  aivm query ai models --tag credit")
    p.add_argument("--owner", help="only this owner's models")
    p.add_argument("--tag", help="only models with this tag")
    p.add_argument("--limit", type=int, default=100)
    p = leaf(
        qai, "execution", cmd_query_execution, "An execution record", "  aivm query ai execution 7"
    )
    p.add_argument("id", type=int)
    leaf(qai, "params", cmd_query_params, "ai module params", "  aivm query ai params -o json")

    ai = branch(subs, "ai", "Local AI tools: import models, run artifacts, verify executions")
    p = leaf(
        ai,
        "verify-local",
        cmd_verify_local,
        "Re-run a recorded on-chain execution locally and confirm the identical output",
        "  aivm ai verify-local 7",
    )
    p.add_argument("id", type=int, help="execution id")
    p = leaf(
        ai,
        "run",
        cmd_run,
        "Run a DSM artifact locally on one input row",
        "  aivm ai run credit.dsm 0.42,35,1200.5",
    )
    p.add_argument("artifact")
    p.add_argument("values", nargs="+", help="input row; put `--` before values starting with '-'")
    p = leaf(
        ai,
        "import",
        cmd_import,
        "Convert a trained model (scikit-learn joblib/pickle, XGBoost JSON/UBJ, LightGBM text, "
        "ONNX) into a DSM artifact",
        "  aivm ai import model.joblib --out credit.dsm\n"
        "  aivm ai import mlp.onnx --out mlp.dsm --calibration calib.csv",
    )
    p.add_argument("model", help="trained model file")
    p.add_argument("--out", required=True, help="where to write the DSM artifact")
    p.add_argument(
        "--kind", choices=["auto", "sklearn", "xgboost", "lightgbm", "onnx"], default="auto"
    )
    p.add_argument("--decimals", type=int, default=6, help="input decimals for tree/linear models")
    p.add_argument("--calibration", help="CSV of calibration rows for float ONNX models")
