"""storage messages: pay retention for an object, open and answer availability challenges."""

from __future__ import annotations

from collections.abc import Sequence

from aivm.crypto import unixfs
from aivm.crypto.cid import CidError, validate_cid
from aivm.modules.addr import addr_bytes
from aivm.modules.framework import Context, MsgRoute
from aivm.modules.storage import keys
from aivm.modules.storage.errors import (
    ErrChallengeClosed,
    ErrInvalidChunkProof,
    ErrInvalidCid,
    ErrInvalidRetention,
    ErrNotObjectOwner,
    ErrSizeMismatch,
    ErrTooLarge,
)
from aivm.modules.storage.keeper import StorageKeeper
from aivm.types.coin_proto import coins_from_proto, coins_to_proto
from aivm.types.protogen import storage_pb2


def validate_store(msg: storage_pb2.MsgStoreObject) -> None:
    """Stateless checks of a retention payment."""
    addr_bytes(msg.owner)
    _check_cid(msg.cid)
    if msg.retention_blocks <= 0:
        raise ErrInvalidRetention.wrap("retention_blocks must be positive")


def _check_cid(cid: str) -> None:
    try:
        validate_cid(cid)
    except CidError as exc:
        raise ErrInvalidCid.wrap(str(exc)) from None


def handle_store(
    keeper: StorageKeeper, ctx: Context, msg: storage_pb2.MsgStoreObject
) -> storage_pb2.MsgStoreObjectResponse:
    """Create an object record (or extend its retention) and pay for it."""
    params = keeper.get_params(ctx)
    if msg.retention_blocks < params.min_retention:
        raise ErrInvalidRetention.wrap(f"retention must be at least {params.min_retention} blocks")
    if msg.size > params.max_object_size:
        raise ErrTooLarge.wrap(f"{msg.size} bytes exceed {params.max_object_size}")
    _check_size_fits_cid(msg.cid, msg.size)
    record = keeper.find_object(ctx, msg.cid)
    if record is None:
        record = storage_pb2.StoredObject(
            cid=msg.cid,
            size=msg.size,
            chunks=unixfs.chunk_count(msg.size),
            owner=msg.owner,
            retained_until=ctx.header.height,
            created_height=ctx.header.height,
        )
    elif record.size != msg.size:
        raise ErrSizeMismatch.wrap(f"{msg.cid} is recorded with {record.size} bytes")
    elif record.owner != msg.owner:
        raise ErrNotObjectOwner.wrap(f"{msg.cid} is owned by {record.owner}")
    price = keeper.retention_price(ctx, msg.size, msg.retention_blocks)
    if price:
        keeper.bank.send_coins_to_module(ctx, addr_bytes(msg.owner), keys.MODULE_ACCOUNT, price)
    record.retained_until = max(record.retained_until, ctx.header.height) + msg.retention_blocks
    total = coins_from_proto(record.paid) + price
    del record.paid[:]
    record.paid.extend(coins_to_proto(total))
    keeper.set_object(ctx, record)
    ctx.emit(
        "aivm.storage.v1.EventStoreObject",
        ("cid", msg.cid),
        ("owner", msg.owner),
        ("size", str(msg.size)),
        ("retained_until", str(record.retained_until)),
        ("price", str(price)),
    )
    return storage_pb2.MsgStoreObjectResponse(retained_until=record.retained_until)


def _check_size_fits_cid(cid: str, size: int) -> None:
    """A raw-leaf CID holds one chunk at most; a dag-pb CID more than one."""
    single = unixfs.chunk_count(size) <= 1
    if single != cid.startswith(unixfs.RAW_CID_PREFIX):
        raise ErrSizeMismatch.wrap(f"a {size}-byte object cannot have CID {cid}")


def validate_open(msg: storage_pb2.MsgOpenChallenge) -> None:
    """Stateless checks of a challenge."""
    addr_bytes(msg.challenger)
    _check_cid(msg.cid)


def handle_open(
    keeper: StorageKeeper, ctx: Context, msg: storage_pb2.MsgOpenChallenge
) -> storage_pb2.MsgOpenChallengeResponse:
    """Open a challenge on a stored object: the chunk index comes from the block hash."""
    record = keeper.get_object(ctx, msg.cid)
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
    """Stateless checks of an answer."""
    addr_bytes(msg.responder)
    if msg.challenge_id == 0:
        raise ErrChallengeClosed.wrap("challenge ids start at 1")


def handle_answer(
    keeper: StorageKeeper, ctx: Context, msg: storage_pb2.MsgAnswerChallenge
) -> storage_pb2.MsgAnswerChallengeResponse:
    """Verify the chunk and its Merkle path against the object's CID; close the challenge."""
    challenge = keeper.get_challenge(ctx, msg.challenge_id)
    if challenge.status != storage_pb2.CHALLENGE_STATUS_OPEN:
        raise ErrChallengeClosed.wrap(
            f"challenge {challenge.id} is {storage_pb2.ChallengeStatus.Name(challenge.status)}"
        )
    record = keeper.get_object(ctx, challenge.cid)
    try:
        proof = unixfs.ChunkProof.decode(msg.proof)
        unixfs.verify_chunk(record.cid, record.size, challenge.chunk_index, msg.chunk, proof)
    except CidError as exc:
        raise ErrInvalidChunkProof.wrap(str(exc)) from None
    challenge.status = storage_pb2.CHALLENGE_STATUS_PASSED
    challenge.responder = msg.responder
    keeper.set_challenge(ctx, challenge)
    ctx.emit(
        "aivm.storage.v1.EventChallengeAnswered",
        ("challenge_id", str(challenge.id)),
        ("cid", challenge.cid),
        ("responder", msg.responder),
    )
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
