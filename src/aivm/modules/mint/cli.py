"""mint commands: ``aivm query mint params|inflation|annual-provisions`` (decimals shown as the
SDK's CLI shows them, e.g. ``0.130000000000000000``)."""

from __future__ import annotations

import argparse
from typing import Any

from aivm.cli import common as cli
from aivm.modules.mint import types
from aivm.modules.mint.params import Minter, MintParams
from aivm.modules.mint.queries import QUERY_ANNUAL_PROVISIONS, QUERY_INFLATION, QUERY_PARAMS
from aivm.types.dec import Dec


def _query(s: cli.Settings, path: str, request: Any, response: Any) -> Any:
    with s.client() as client:
        return client.query(path, request, response)


def cmd_params(s: cli.Settings, args: argparse.Namespace) -> None:
    """`aivm query mint params`."""
    answer = _query(s, QUERY_PARAMS, types.QueryParamsRequest(), types.QueryParamsResponse)
    cli.emit(s, MintParams.from_proto(answer.params).to_json())


def cmd_inflation(s: cli.Settings, args: argparse.Namespace) -> None:
    """`aivm query mint inflation`."""
    answer = _query(s, QUERY_INFLATION, types.QueryInflationRequest(), types.QueryInflationResponse)
    cli.emit(s, {"inflation": str(Dec.from_proto_str(answer.inflation.decode() or "0"))})


def cmd_annual_provisions(s: cli.Settings, args: argparse.Namespace) -> None:
    """`aivm query mint annual-provisions`."""
    answer = _query(
        s,
        QUERY_ANNUAL_PROVISIONS,
        types.QueryAnnualProvisionsRequest(),
        types.QueryAnnualProvisionsResponse,
    )
    value = Dec.from_proto_str(answer.annual_provisions.decode() or "0")
    cli.emit(s, {"annual_provisions": str(Minter(annual_provisions=value).annual_provisions)})


def register(
    subs: cli.Group, tx: cli.Group, query: cli.Group, leaf: cli.Leaf, branch: cli.Branch
) -> None:
    """Add ``aivm query mint`` (see :data:`aivm.cli.common.Register`)."""
    q = branch(query, "mint", "Mint module queries (inflation)")
    leaf(q, "params", cmd_params, "Minting params", "  aivm query mint params -o json")
    leaf(q, "inflation", cmd_inflation, "Current inflation rate", "  aivm query mint inflation")
    leaf(
        q,
        "annual-provisions",
        cmd_annual_provisions,
        "Current annual provisions (ucgpt per year)",
        "  aivm query mint annual-provisions",
    )
