"""``aivm storage put|get|stat`` (the node's content store over REST) and ``aivm tx storage``
/ ``aivm query storage`` (on-chain object records and availability challenges).

``aivm.cli.main`` finds this file through the module list and calls :func:`register`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from tqdm import tqdm

from aivm.cli import common as cli
from aivm.client.storage import StorageClient, StorageError
from aivm.modules.storage.client import StorageTxClient, size_of_root_block

DEFAULT_REST = "http://127.0.0.1:1317"
BAR_MIN_BYTES = 1 << 20


def _rest(args: argparse.Namespace) -> StorageClient:
    return StorageClient(args.rest or DEFAULT_REST)


@contextmanager
def _bar(
    s: cli.Settings, total: int, label: str, initial: int = 0
) -> Iterator[Callable[[int], None] | None]:
    """A tqdm progress bar on a terminal for files of 1 MiB or more (never in JSON output);
    ``initial`` bytes are already there (a resumed download)."""
    if s.output == "json" or total < BAR_MIN_BYTES or not sys.stderr.isatty():
        yield None
        return
    with tqdm(
        total=total, initial=initial, unit="B", unit_scale=True, desc=label, file=sys.stderr
    ) as bar:
        yield bar.update


def cmd_put(s: cli.Settings, args: argparse.Namespace) -> None:
    path = Path(args.file)
    if not path.is_file():
        raise cli.CliError(f"{path} is not a file")
    with _bar(s, path.stat().st_size, "upload") as progress:
        stat = _rest(args).put(path, progress)
    cli.emit(s, {"cid": stat.cid, "size": str(stat.size), "chunks": str(stat.chunks)})


def cmd_get(s: cli.Settings, args: argparse.Namespace) -> None:
    client = _rest(args)
    size = client.stat(args.cid).size
    dest = Path(args.output_file or args.cid)
    part = dest.with_name(dest.name + ".part")
    have = part.stat().st_size if part.is_file() and not args.no_resume else 0
    with _bar(s, size, "download", initial=min(have, size)) as progress:
        stat = client.get(args.cid, dest, resume=not args.no_resume, progress=progress)
    cli.emit(s, {"cid": stat.cid, "size": str(stat.size), "path": str(dest), "verified": True})


def cmd_stat(s: cli.Settings, args: argparse.Namespace) -> None:
    stat = _rest(args).stat(args.cid)
    cli.emit(s, {"cid": stat.cid, "size": str(stat.size), "chunks": str(stat.chunks)})


def cmd_tx_store(s: cli.Settings, args: argparse.Namespace) -> None:
    wallet = cli.keyring_wallet(s, args.from_)
    with s.client() as client:
        chain = StorageTxClient(client)
        root_block, size = _root_block(chain, args)
        cli.confirm(s, f"pay retention of {args.cid} ({size} bytes) for {args.blocks} blocks")
        stored = chain.store(
            wallet, args.cid, args.blocks, root_block=root_block, size=args.size or 0
        )
    cli.emit(
        s,
        {
            "cid": stored.cid,
            "size": str(stored.size),
            "retained_until": str(stored.retained_until),
            "txhash": stored.txhash,
        },
    )


def _root_block(chain: StorageTxClient, args: argparse.Namespace) -> tuple[bytes, int]:
    """The CID's root block from ``--file``, else from the node's content store, and the size
    it proves."""
    if args.file is not None and not Path(args.file).is_file():
        raise cli.CliError(f"{args.file} is not a file")
    try:
        if args.file is not None:
            block = chain.root_block(args.cid, source=Path(args.file))
        else:
            block = chain.root_block(args.cid, content=_rest(args))
        return block, size_of_root_block(args.cid, block)
    except StorageError as exc:
        raise cli.CliError(str(exc)) from None


def cmd_tx_challenge(s: cli.Settings, args: argparse.Namespace) -> None:
    wallet = cli.keyring_wallet(s, args.from_)
    cli.confirm(s, f"challenge the availability of {args.cid}")
    with s.client() as client:
        opened = StorageTxClient(client).open_challenge(wallet, args.cid)
    cli.emit(
        s,
        {
            "challenge_id": str(opened.challenge_id),
            "chunk_index": str(opened.chunk_index),
            "txhash": opened.txhash,
        },
    )


def cmd_tx_answer(s: cli.Settings, args: argparse.Namespace) -> None:
    wallet = cli.keyring_wallet(s, args.from_)
    with s.client() as client:
        chain = StorageTxClient(client)
        challenge = chain.challenge(args.challenge_id)
        chunk, proof = _rest(args).chunk(challenge.cid, challenge.chunk_index)
        cli.confirm(s, f"answer challenge {args.challenge_id} with chunk {challenge.chunk_index}")
        result = chain.answer_challenge(wallet, args.challenge_id, chunk, proof)
    cli.emit(s, {"challenge_id": str(args.challenge_id), "txhash": result.hash})


def cmd_tx_answer_assigned(s: cli.Settings, args: argparse.Namespace) -> None:
    wallet = cli.keyring_wallet(s, args.from_)
    with s.client() as client:
        cli.confirm(s, f"answer every open challenge assigned to {wallet.address}")
        answered = StorageTxClient(client).answer_assigned(wallet, _rest(args))
    cli.emit(
        s,
        {
            "answered": [
                {
                    "challenge_id": str(a.challenge_id),
                    "cid": a.cid,
                    "chunk_index": str(a.chunk_index),
                    "txhash": a.txhash,
                    "error": a.error,
                }
                for a in answered
            ]
        },
    )


def cmd_query_holders(s: cli.Settings, args: argparse.Namespace) -> None:
    with s.client() as client:
        cli.emit(s, cli.proto_json(StorageTxClient(client).holders(args.cid)))


def cmd_query_holder_objects(s: cli.Settings, args: argparse.Namespace) -> None:
    with s.client() as client:
        cids = StorageTxClient(client).holder_objects(args.holder)
    cli.emit(s, {"holder": args.holder, "cids": cids})


def cmd_query_holder_stats(s: cli.Settings, args: argparse.Namespace) -> None:
    with s.client() as client:
        cli.emit(s, cli.proto_json(StorageTxClient(client).holder_stats(args.holder)))


def cmd_query_assigned(s: cli.Settings, args: argparse.Namespace) -> None:
    with s.client() as client:
        found = StorageTxClient(client).assigned_challenges(args.assignee)
    cli.emit(s, {"challenges": [cli.proto_json(c) for c in found]})


def cmd_query_object(s: cli.Settings, args: argparse.Namespace) -> None:
    with s.client() as client:
        cli.emit(s, cli.proto_json(StorageTxClient(client).object(args.cid, args.owner or "")))


def cmd_query_records(s: cli.Settings, args: argparse.Namespace) -> None:
    with s.client() as client:
        records = StorageTxClient(client).records(args.cid)
    cli.emit(s, {"records": [cli.proto_json(record) for record in records]})


def cmd_query_challenge(s: cli.Settings, args: argparse.Namespace) -> None:
    with s.client() as client:
        cli.emit(s, cli.proto_json(StorageTxClient(client).challenge(args.id)))


def _rest_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--rest", default=None, help=f"REST gateway of the node (default {DEFAULT_REST})"
    )


def register(
    subs: cli.Group, tx: cli.Group, query: cli.Group, leaf: cli.Leaf, branch: cli.Branch
) -> None:
    """Add ``aivm storage``, ``aivm tx storage`` and ``aivm query storage`` (see
    :data:`aivm.cli.common.Register`)."""
    storage = branch(
        subs, "storage", "Upload, download and inspect files in the node's content store"
    )
    p = leaf(
        storage,
        "put",
        cmd_put,
        "Upload a file; prints its IPFS-compatible CID",
        "  aivm storage put model.dsm\n  aivm storage put card.md -o json",
    )
    p.add_argument("file")
    _rest_flag(p)
    p = leaf(
        storage,
        "get",
        cmd_get,
        "Download a file, resuming a partial download, verified against its CID",
        "  aivm storage get bafy... --output-file model.dsm",
    )
    p.add_argument("cid")
    p.add_argument("--output-file", help="where to write it (default: the CID)")
    p.add_argument("--no-resume", action="store_true", help="start over instead of resuming")
    _rest_flag(p)
    p = leaf(
        storage, "stat", cmd_stat, "Size and chunks of a stored file", "  aivm storage stat bafy..."
    )
    p.add_argument("cid")
    _rest_flag(p)

    txs = branch(tx, "storage", "Storage module transactions (retention, availability challenges)")
    p = leaf(
        txs,
        "store",
        cmd_tx_store,
        "Create or extend your record of an object and pay its retention; the root block that "
        "proves its size comes from --file or the node's content store",
        "  aivm tx storage store bafy... --blocks 1000 --from alice --yes\n"
        "  aivm tx storage store bafy... --file model.dsm --blocks 1000 --from alice --yes",
    )
    p.add_argument("cid")
    p.add_argument(
        "--file", help="the object's file, to compute its root block locally (default: the node)"
    )
    p.add_argument("--size", type=int, help="expected size, checked by the chain (default: any)")
    p.add_argument("--blocks", type=int, required=True, help="blocks of retention to pay")
    p.add_argument("--from", dest="from_", required=True)
    _rest_flag(p)
    p = leaf(
        txs,
        "challenge",
        cmd_tx_challenge,
        "Challenge the availability of a stored object",
        "  aivm tx storage challenge bafy... --from bob --yes",
    )
    p.add_argument("cid")
    p.add_argument("--from", dest="from_", required=True)
    p = leaf(
        txs,
        "answer",
        cmd_tx_answer,
        "Answer a challenge with the chunk and Merkle path from the node's content store",
        "  aivm tx storage answer 3 --from alice --yes",
    )
    p.add_argument("challenge_id", type=int)
    p.add_argument("--from", dest="from_", required=True)
    _rest_flag(p)
    p = leaf(
        txs,
        "answer-assigned",
        cmd_tx_answer_assigned,
        "Answer every open scheduled challenge assigned to --from, with chunks and Merkle "
        "paths from the node's content store (one tx)",
        "  aivm tx storage answer-assigned --from holder --yes",
    )
    p.add_argument("--from", dest="from_", required=True)
    _rest_flag(p)

    qs = branch(query, "storage", "Storage module queries")
    p = leaf(
        qs,
        "object",
        cmd_query_object,
        "An object record: the --owner's, or the first record of the CID",
        "  aivm query storage object bafy...\n  aivm query storage object bafy... --owner aivm1...",
    )
    p.add_argument("cid")
    p.add_argument("--owner", help="whose record (default: the first by owner address)")
    p = leaf(
        qs,
        "records",
        cmd_query_records,
        "Every record of an object (one per paying account)",
        "  aivm query storage records bafy...",
    )
    p.add_argument("cid")
    p = leaf(
        qs, "challenge", cmd_query_challenge, "A challenge", "  aivm query storage challenge 3"
    )
    p.add_argument("id", type=int)
    p = leaf(
        qs,
        "holders",
        cmd_query_holders,
        "The data-role holders assigned to an object",
        "  aivm query storage holders bafy...",
    )
    p.add_argument("cid")
    p = leaf(
        qs,
        "holder-objects",
        cmd_query_holder_objects,
        "The objects a data-role holder is assigned",
        "  aivm query storage holder-objects aivm1...",
    )
    p.add_argument("holder")
    p = leaf(
        qs,
        "holder-stats",
        cmd_query_holder_stats,
        "A holder's missed and passed scheduled challenges",
        "  aivm query storage holder-stats aivm1...",
    )
    p.add_argument("holder")
    p = leaf(
        qs,
        "assigned",
        cmd_query_assigned,
        "The open scheduled challenges assigned to a holder",
        "  aivm query storage assigned aivm1...",
    )
    p.add_argument("assignee")
