"""The ``tx_search`` / ``subscribe`` query parser: every query the node took still parses the
same, adversarial queries are refused or parsed in milliseconds (it was a backtracking regex:
20,000 characters took 5 s of the block producer's thread), and the length and condition
limits hold."""

from __future__ import annotations

import contextlib
import time

import pytest

from aivm.devnet.jsonrpc import INVALID_PARAMS, RpcError
from aivm.devnet.rpc import Condition, parse_query, query_matches
from aivm.devnet.txindex import int64_value

ADDRESS = "aivm1qypqxpq9qcrsszg2pvxq6rs0zqg3yyc5z5tpwp"
HASH = "A" * 64
GUARD_S = 0.2
"""A generous bound on one parse (linear: microseconds to a few milliseconds); a guard, not a
benchmark."""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"tx.hash='{HASH}'", [("tx.hash", "=", HASH)]),
        ("tx.height=5", [("tx.height", "=", "5")]),
        ("tm.event='NewBlock'", [("tm.event", "=", "NewBlock")]),
        (
            f"tm.event = 'Tx' AND transfer.recipient = '{ADDRESS}'",
            [("tm.event", "=", "Tx"), ("transfer.recipient", "=", ADDRESS)],
        ),
        (
            f"message.sender='{ADDRESS}' AND tx.height=12",
            [("message.sender", "=", ADDRESS), ("tx.height", "=", "12")],
        ),
        (
            "tx.height >= 3 and tx.height<9 AND\ttx.height > -1 AND tx.height <= '8'",
            [
                ("tx.height", ">=", "3"),
                ("tx.height", "<", "9"),
                ("tx.height", ">", "-1"),
                ("tx.height", "<=", "8"),
            ],
        ),
        ("  a/b_c-d.e = ''  ", [("a/b_c-d.e", "=", "")]),
        ("message.memo = 'x AND y = 2'", [("message.memo", "=", "x AND y = 2")]),
    ],
)
def test_the_queries_clients_send_still_parse(
    text: str, expected: list[tuple[str, str, str]]
) -> None:
    assert [(c.key, c.op, c.value) for c in parse_query(text)] == expected


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("", "empty query"),
        ("   ", "empty query"),
        ("tx.hash=unquoted", "expected a 'quoted string' or an int64 number"),
        ("tx.height=5x", "expected whitespace and AND"),
        ("a='x' OR b='y'", "expected AND"),
        ("a='x' ANDb='y'", "expected whitespace after AND"),
        ("a='x'", None),
        ("a 'x'", "expected one of"),
        ("='x'", "expected a key"),
        ("a='x", "unterminated string"),
        ("a='x' AND", "expected whitespace after AND"),
        ("tx.height > 'abc'", "operator > needs an int64 value"),
        ("tx.height > '²'", "operator > needs an int64 value"),
        ("tx.height = ٣", "expected a 'quoted string' or an int64 number"),
        ("tx.height < 99999999999999999999", "expected a 'quoted string' or an int64 number"),
        ("tx.height < 1_0", "expected whitespace and AND"),
    ],
)
def test_malformed_queries_are_invalid_params(text: str, why: str | None) -> None:
    if why is None:
        parse_query(text)
        return
    with pytest.raises(RpcError) as err:
        parse_query(text)
    assert err.value.code == INVALID_PARAMS and why in err.value.data


def test_length_and_condition_limits() -> None:
    longest = "a='" + "x" * 508 + "'"  # 512 bytes
    assert len(longest) == 512 and parse_query(longest)[0].value == "x" * 508
    with pytest.raises(RpcError, match="maximum query length exceeded"):
        parse_query(longest + " ")
    with pytest.raises(RpcError, match="maximum query length exceeded"):
        parse_query("a='" + "é" * 255 + "'")  # 259 characters, 514 bytes
    eight = " AND ".join(f"k{i}={i}" for i in range(8))
    assert len(parse_query(eight)) == 8
    with pytest.raises(RpcError, match=r"too many query conditions \(the limit is 8\)"):
        parse_query(eight + " AND k8=8")
    assert len(parse_query(eight + " AND k8=8", max_conditions=9)) == 9


ADVERSARIAL = {
    "spaces": " " * 20_000,
    "key": "a" * 20_000,
    "spaces in value": "a = 'x'" + " " * 20_000 + "x",
    "spaces before AND": "a = 1" + " " * 20_000 + "AND b = 2",
    "many ANDs": "a=1" + " AND" * 5_000,
    "unterminated": "a = '" + "x" * 20_000,
    "operators": "a" + "<" * 20_000,
    "digits": "a > " + "9" * 20_000,
    "conditions": " AND ".join(["tx.height>1"] * 1_500),
}


@pytest.mark.parametrize("text", ADVERSARIAL.values(), ids=ADVERSARIAL.keys())
def test_adversarial_20k_queries_are_refused_at_once(text: str) -> None:
    assert len(text) >= 15_000
    start = time.perf_counter()
    with pytest.raises(RpcError) as err:
        parse_query(text)
    assert time.perf_counter() - start < GUARD_S
    assert err.value.code == INVALID_PARAMS


@pytest.mark.parametrize("text", ADVERSARIAL.values(), ids=ADVERSARIAL.keys())
def test_the_parser_is_linear_without_the_limits(text: str) -> None:
    """With the limits lifted, the scan itself stays fast: no input makes it backtrack."""
    start = time.perf_counter()
    with contextlib.suppress(RpcError):
        parse_query(text, max_length=10**6, max_conditions=10**6)
    assert time.perf_counter() - start < GUARD_S


def test_matching_uses_ascii_int64_values_only() -> None:
    above = parse_query("tx.height > 5")
    assert query_matches(above, {"tx.height": ["6"]})
    assert not query_matches(above, {"tx.height": ["5"]})
    for odd in ("٧", "1_0", " 7", "9" * 30, "7.0", ""):
        assert not query_matches(above, {"tx.height": [odd]}), odd
    assert query_matches(above, {"tx.height": ["x", "9"]})  # any value of the key
    assert not query_matches(above, {})
    assert Condition("a", "=", "v").matches(["u", "v"])
    assert query_matches(parse_query("a='v' AND b=2"), {"a": ["v"], "b": ["2"]})


def test_int64_values() -> None:
    assert int64_value("42") == 42 and int64_value("-42") == -42
    assert int64_value(str(2**63 - 1)) == 2**63 - 1 and int64_value(str(-(2**63))) == -(2**63)
    for text in (str(2**63), "²", "٣", "1_0", " 1", "+1", "", "-", "1" * 5000):
        assert int64_value(text) is None, text
