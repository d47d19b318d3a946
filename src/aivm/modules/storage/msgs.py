"""storage messages: pay retention for an object, open and answer availability challenges."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from aivm.crypto import unixfs
from aivm.crypto.cid import CidError
from aivm.modules.addr import addr_bytes
from aivm.modules.framework import Context, MsgRoute
from aivm.modules.storage import holders, keys
from aivm.modules.storage.errors import (
    ErrChallengeClosed,
    ErrHashMismatch,
    ErrInvalidChunkProof,
    ErrInvalidCid,
    ErrInvalidRetention,
    ErrInvalidRootBlock,
    ErrNotAssignee,
    ErrSizeMismatch,
    ErrTooLarge,
)
from aivm.modules.storage.keeper import StorageKeeper
from aivm.types.coin_proto import coins_from_proto, coins_to_proto
from aivm.types.protogen import storage_pb2

MAX_ROOT_BLOCK_BYTES = unixfs.CHUNK_SIZE
"""No root block is larger: a raw leaf holds at most one chunk, and a dag-pb node of 174
links is about 8.7 KB."""


def validate_store(msg: storage_pb2.MsgStoreObject) -> None:
    """Stateless checks of a retention payment (the root block is verified in the handler)."""
    addr_bytes(msg.owner)
    check_cid(msg.cid)
    if msg.retention_blocks <= 0:
        raise ErrInvalidRetention.wrap("retention_blocks must be positive")
    if len(msg.root_block) > MAX_ROOT_BLOCK_BYTES:
        raise ErrInvalidRootBlock.wrap(
            f"root block of {len(msg.root_block)} bytes exceeds {MAX_ROOT_BLOCK_BYTES}"
        )


def check_cid(cid: str) -> None:
    """ErrInvalidCid unless ``cid`` is a CID the chain records (base32 CIDv1, sha2-256)."""
    _parse_cid(cid)


def _parse_cid(cid: str) -> tuple[int, bytes]:
    """(codec, digest) of ``cid``; ErrInvalidCid when it is not a CID the chain records."""
    try:
        return unixfs.parse_cid(cid)
    except CidError as exc:
        raise ErrInvalidCid.wrap(str(exc)) from None


def handle_store(
    keeper: StorageKeeper, ctx: Context, msg: storage_pb2.MsgStoreObject
) -> storage_pb2.MsgStoreObjectResponse:
    """Create the owner's record of an object (or extend it) and pay for it.

    The size comes from the root block, never from the sender: see :func:`proven_size`.
    """
    params = keeper.get_params(ctx)
    if msg.retention_blocks < params.min_retention:
        raise ErrInvalidRetention.wrap(f"retention must be at least {params.min_retention} blocks")
    size = proven_size(ctx, params, msg.cid, msg.root_block)
    if msg.size and msg.size != size:
        raise ErrSizeMismatch.wrap(f"{msg.cid} holds {size} bytes, not the declared {msg.size}")
    if size > params.max_object_size:
        raise ErrTooLarge.wrap(f"{size} bytes exceed {params.max_object_size}")
    record = keeper.find_object(ctx, msg.cid, msg.owner) or storage_pb2.StoredObject(
        cid=msg.cid,
        size=size,
        chunks=unixfs.chunk_count(size),
        owner=msg.owner,
        retained_until=ctx.header.height,
        created_height=ctx.header.height,
    )
    price = keeper.retention_price(ctx, size, msg.retention_blocks)
    if price:
        keeper.bank.send_coins_to_module(ctx, addr_bytes(msg.owner), keys.MODULE_ACCOUNT, price)
    record.retained_until = max(record.retained_until, ctx.header.height) + msg.retention_blocks
    total = coins_from_proto(record.paid) + price
    del record.paid[:]
    record.paid.extend(coins_to_proto(total))
    keeper.set_object(ctx, record)
    holders.on_store(keeper, ctx, msg.cid, record.retained_until)
    ctx.emit(
        "aivm.storage.v1.EventStoreObject",
        ("cid", msg.cid),
        ("owner", msg.owner),
        ("size", str(size)),
        ("retained_until", str(record.retained_until)),
        ("price", str(price)),
    )
    return storage_pb2.MsgStoreObjectResponse(retained_until=record.retained_until, size=size)


def proven_size(ctx: Context, params: storage_pb2.Params, cid: str, root_block: bytes) -> int:
    """The size of object ``cid`` as its root block proves it.

    The block must hash to the CID's digest (else ErrHashMismatch). A raw CID's block is the
    whole object; a dag-pb CID's block is the root UnixFS file node, whose ``filesize`` is the
    size (a malformed node is ErrInvalidRootBlock). Gas is charged per byte hashed and parsed
    before the work is done.
    """
    codec, digest = _parse_cid(cid)
    _charge_hashing(ctx, params, len(root_block), "storage: hash root block")
    if hashlib.sha256(root_block).digest() != digest:
        raise ErrHashMismatch.wrap(
            f"the root block ({len(root_block)} bytes) does not hash to {cid}; MsgStoreObject "
            "must carry the CID's root block"
        )
    if codec == unixfs.RAW:
        size = len(root_block)
    else:
        _charge(ctx, params.gas_per_byte_parsed, len(root_block), "storage: parse root block")
        try:
            size = unixfs.file_size(root_block)
        except CidError as exc:
            raise ErrInvalidRootBlock.wrap(f"{cid}: {exc}") from None
    check_size_fits_cid(cid, size)
    return size


def _charge(ctx: Context, gas_per_byte: int, length: int, descriptor: str) -> None:
    ctx.gas_meter.consume(gas_per_byte * length, descriptor)


def _charge_hashing(ctx: Context, params: storage_pb2.Params, length: int, descriptor: str) -> None:
    """``gas_per_kib_hashed`` per KiB (rounded up): sha256 is far cheaper than a gas unit
    per byte."""
    ctx.gas_meter.consume(-(-length * params.gas_per_kib_hashed // 1024), descriptor)


def check_size_fits_cid(cid: str, size: int) -> None:
    """A raw-leaf CID holds one chunk at most; a dag-pb CID more than one."""
    single = unixfs.chunk_count(size) <= 1
    if single != cid.startswith(unixfs.RAW_CID_PREFIX):
        raise ErrSizeMismatch.wrap(f"a {size}-byte object cannot have CID {cid}")


def validate_open(msg: storage_pb2.MsgOpenChallenge) -> None:
    """Stateless checks of a challenge."""
    addr_bytes(msg.challenger)
    check_cid(msg.cid)


def handle_open(
    keeper: StorageKeeper, ctx: Context, msg: storage_pb2.MsgOpenChallenge
) -> storage_pb2.MsgOpenChallengeResponse:
    """Open a challenge on a stored object: the chunk index comes from the block hash.

    A challenge names the CID, not a record: availability is a property of the content, and
    every record of a CID has the same proven size. The CID needs at least one record.
    """
    record = keeper.first_record(ctx, msg.cid)
    index = unixfs.challenge_index(ctx.header.seed, msg.cid, record.chunks)
    challenge = storage_pb2.Challenge(
        id=keeper.next_challenge_id(ctx),
        cid=msg.cid,
        chunk_index=index,
        challenger=msg.challenger,
        opened_height=ctx.header.height,
        deadline_height=ctx.header.height + keeper.get_params(ctx).challenge_window,
        status=storage_pb2.CHALLENGE_STATUS_OPEN,
    )
    keeper.set_challenge(ctx, challenge)
    ctx.emit(
        "aivm.storage.v1.EventChallengeOpened",
        ("challenge_id", str(challenge.id)),
        ("cid", msg.cid),
        ("chunk_index", str(index)),
        ("deadline_height", str(challenge.deadline_height)),
    )
    return storage_pb2.MsgOpenChallengeResponse(challenge_id=challenge.id, chunk_index=index)


def validate_answer(msg: storage_pb2.MsgAnswerChallenge) -> None:
    """Stateless checks of an answer (no chunk is larger than CHUNK_SIZE)."""
    addr_bytes(msg.responder)
    if msg.challenge_id == 0:
        raise ErrChallengeClosed.wrap("challenge ids start at 1")
    if len(msg.chunk) > unixfs.CHUNK_SIZE:
        raise ErrInvalidChunkProof.wrap(f"a chunk is at most {unixfs.CHUNK_SIZE} bytes")


def handle_answer(
    keeper: StorageKeeper, ctx: Context, msg: storage_pb2.MsgAnswerChallenge
) -> storage_pb2.MsgAnswerChallengeResponse:
    """Verify the chunk and its Merkle path against the object's CID; close the challenge.

    A scheduled challenge (one with an ``assignee``) takes only its assignee's answer
    (ErrNotAssignee otherwise, checked before any hashing); its pass is recorded for the
    assignee (:func:`aivm.modules.storage.holders.record_pass`). A user-opened challenge asks
    whether the content is available at all and penalises nobody, so anyone may answer it.
    Gas: every byte of chunk and proof is hashed, every byte of the proof parsed.
    """
    challenge = keeper.get_challenge(ctx, msg.challenge_id)
    if challenge.status != storage_pb2.CHALLENGE_STATUS_OPEN:
        raise ErrChallengeClosed.wrap(
            f"challenge {challenge.id} is {storage_pb2.ChallengeStatus.Name(challenge.status)}"
        )
    if ctx.header.height > challenge.deadline_height:  # imported open at genesis, say
        raise ErrChallengeClosed.wrap(
            f"challenge {challenge.id} expired at height {challenge.deadline_height}"
        )
    if challenge.assignee and addr_bytes(msg.responder) != addr_bytes(challenge.assignee):
        raise ErrNotAssignee.wrap(
            f"challenge {challenge.id} is assigned to {challenge.assignee}, not {msg.responder}"
        )
    record = keeper.first_record(ctx, challenge.cid)
    params = keeper.get_params(ctx)
    hashed = len(msg.chunk) + len(msg.proof)
    _charge_hashing(ctx, params, hashed, "storage: hash chunk and proof")
    _charge(ctx, params.gas_per_byte_parsed, len(msg.proof), "storage: parse chunk proof")
    try:
        proof = unixfs.ChunkProof.decode(msg.proof)
        unixfs.verify_chunk(record.cid, record.size, challenge.chunk_index, msg.chunk, proof)
    except CidError as exc:
        raise ErrInvalidChunkProof.wrap(str(exc)) from None
    challenge.responder = msg.responder
    keeper.close_challenge(ctx, challenge, storage_pb2.CHALLENGE_STATUS_PASSED)
    ctx.emit(
        "aivm.storage.v1.EventChallengeAnswered",
        ("challenge_id", str(challenge.id)),
        ("cid", challenge.cid),
        ("responder", msg.responder),
    )
    if challenge.assignee:
        holders.record_pass(keeper, ctx, challenge)
    return storage_pb2.MsgAnswerChallengeResponse()


def msg_routes(keeper: StorageKeeper) -> Sequence[MsgRoute]:
    """Routes of the storage message service."""
    return [
        MsgRoute(
            message_class=storage_pb2.MsgStoreObject,
            signers=lambda msg: [addr_bytes(msg.owner)],
            validate_basic=validate_store,
            handler=lambda ctx, msg: handle_store(keeper, ctx, msg),
        ),
        MsgRoute(
            message_class=storage_pb2.MsgOpenChallenge,
            signers=lambda msg: [addr_bytes(msg.challenger)],
            validate_basic=validate_open,
            handler=lambda ctx, msg: handle_open(keeper, ctx, msg),
        ),
        MsgRoute(
            message_class=storage_pb2.MsgAnswerChallenge,
            signers=lambda msg: [addr_bytes(msg.responder)],
            validate_basic=validate_answer,
            handler=lambda ctx, msg: handle_answer(keeper, ctx, msg),
        ),
    ]
