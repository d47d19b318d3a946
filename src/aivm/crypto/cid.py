"""IPFS-compatible content identifiers (CIDv1, sha2-256) of files and blocks.

A file's CID is what ``ipfs add --cid-version=1`` prints for it (see
:mod:`aivm.crypto.unixfs` for the DAG layout); ``validate_cid`` accepts the base32 CIDv1 form
with codec ``raw`` or ``dag-pb`` and a sha2-256 multihash, which is what AIVM records.
"""

from __future__ import annotations

from aivm.crypto.unixfs import CidError, cid_of, cid_of_stream, parse_cid, raw_cid

__all__ = ["CidError", "cid_of", "cid_of_stream", "parse_cid", "raw_cid", "validate_cid"]


def validate_cid(text: str) -> None:
    """Raise :class:`CidError` unless ``text`` is a canonical base32 CIDv1 with sha2-256."""
    parse_cid(text)
