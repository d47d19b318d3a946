"""Result comparison rules of the compute module (``aivm.modules.compute.compare``): results
are refused with coded errors when they cannot be compared, ``agree`` decides exact, token and
element-wise tolerance agreement in exact arithmetic (checked against a ``Fraction``
reference, at the boundary to the ulp, and where float64 math would decide wrongly), and
``majority`` picks the agreeing majority deterministically."""

from __future__ import annotations

import ast
import hashlib
import inspect
import struct
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aivm.modules.compute import compare, compute_pb2
from aivm.modules.compute.compare import ComparisonRule, agree, check_result, majority
from aivm.types.dec import Dec
from aivm.types.errors import AivmError
from aivm.types.protogen import ai_pb2

MAX = 65_536
EXACT = ComparisonRule("exact", Dec.zero(), Dec.zero())
TOKENS = ComparisonRule("tokens", Dec.zero(), Dec.zero())


def tol(atol: str, rtol: str) -> ComparisonRule:
    return ComparisonRule("tolerance", Dec.from_str(atol), Dec.from_str(rtol))


def f32(*values: float) -> bytes:
    return struct.pack(f"<{len(values)}f", *values)


def words(*bits: int) -> bytes:
    return struct.pack(f"<{len(bits)}I", *bits)


def bits_of(value: float) -> int:
    word: int = struct.unpack("<I", struct.pack("<f", value))[0]
    return word


def result(data: bytes) -> compute_pb2.JobResult:
    return compute_pb2.JobResult(output_digest=hashlib.sha256(data).digest(), comparison_data=data)


def code_of(call: object) -> tuple[str, int]:
    assert callable(call)
    with pytest.raises(AivmError) as caught:
        call()
    return caught.value.codespace, caught.value.code


# -- rule_of --------------------------------------------------------------------------------


def test_rule_of_reads_the_declared_rule() -> None:
    old = ai_pb2.ModelVersion(execution_path="onchain")  # registered before rules existed
    assert compare.rule_of(old) == EXACT
    version = ai_pb2.ModelVersion(
        execution_path="offchain",
        comparison="tolerance",
        comparison_atol="0.000100000000000000",
        comparison_rtol="0.001000000000000000",
    )
    assert compare.rule_of(version) == tol("0.0001", "0.001")
    version = ai_pb2.ModelVersion(execution_path="offchain", comparison="tokens")
    assert compare.rule_of(version) == TOKENS
    bad = ai_pb2.ModelVersion(execution_path="offchain", comparison="fuzzy")
    assert code_of(lambda: compare.rule_of(bad)) == ("ai", 13)


# -- check_result ---------------------------------------------------------------------------


def test_check_result_accepts_well_formed_results() -> None:
    data = f32(1.5, -2.0, 0.0)
    check_result(EXACT, hashlib.sha256(b"any output").digest(), b"", MAX)
    check_result(EXACT, hashlib.sha256(data).digest(), data, MAX)
    check_result(tol("0", "0"), hashlib.sha256(data).digest(), data, MAX)
    ids = words(0, 7, 0xFFFFFFFF, 0x7FC00000)  # token ids: any uint32, NaN patterns too
    check_result(TOKENS, hashlib.sha256(ids).digest(), ids, MAX)


@pytest.mark.parametrize(
    ("rule", "digest", "data", "detail"),
    [
        (EXACT, b"\x00" * 31, b"", "32 bytes"),
        (EXACT, hashlib.sha256(b"x").digest(), b"y", "differs from the digest"),
        (tol("0", "0"), hashlib.sha256(b"").digest(), b"", "needs the output"),
        (TOKENS, hashlib.sha256(b"").digest(), b"", "needs the output"),
        (TOKENS, hashlib.sha256(b"abcde").digest(), b"abcde", "4-byte"),
        (tol("0", "0"), hashlib.sha256(f32(1.0)).digest(), f32(2.0), "differs from the digest"),
        (TOKENS, hashlib.sha256(b"a" * (MAX + 4)).digest(), b"a" * (MAX + 4), "exceeds"),
        (EXACT, hashlib.sha256(b"a" * (MAX + 1)).digest(), b"a" * (MAX + 1), "exceeds"),
    ],
)
def test_check_result_refuses(
    rule: ComparisonRule, digest: bytes, data: bytes, detail: str
) -> None:
    with pytest.raises(AivmError) as caught:
        check_result(rule, digest, data, MAX)
    assert (caught.value.codespace, caught.value.code) == ("compute", 40)
    assert detail in str(caught.value)


@pytest.mark.parametrize(
    "bad", [0x7FC00000, 0xFFC00001, 0x7F800000, 0xFF800000, 0x7F800001], ids=str
)
def test_check_result_refuses_nan_and_infinity_under_tolerance(bad: int) -> None:
    data = f32(1.0, 2.0) + words(bad)
    with pytest.raises(AivmError) as caught:
        check_result(tol("1", "1"), hashlib.sha256(data).digest(), data, MAX)
    assert (caught.value.codespace, caught.value.code) == ("compute", 40)
    assert "element 2 is not a finite float32" in str(caught.value)


# -- agree: exact and tokens ----------------------------------------------------------------


def test_exact_compares_digests_only() -> None:
    a, b = result(f32(1.0)), result(f32(1.0000001))
    assert agree(EXACT, a, a) and not agree(EXACT, a, b)
    assert not agree(EXACT, result(f32(0.0)), result(f32(-0.0)))  # bytes differ
    # tolerance would have accepted them: the rule decides
    assert agree(tol("0.001", "0"), a, b)


def test_tokens_agree_on_the_same_sequence_and_name_the_first_difference() -> None:
    same = words(5, 9, 11, 3)
    assert agree(TOKENS, result(same), result(words(5, 9, 11, 3)))
    assert not agree(TOKENS, result(same), result(words(5, 9, 12, 3)))
    assert compare.first_difference(same, same) is None
    assert compare.first_difference(same, words(5, 9, 12, 3)) == 2
    assert compare.first_difference(same, words(6, 9, 11, 3)) == 0
    assert compare.first_difference(same, words(5, 9, 11, 3 + (1 << 24))) == 3
    assert compare.first_difference(same, words(5, 9)) == 2  # a prefix: where it stops
    assert compare.first_difference(words(5, 9), same) == 2
    assert compare.first_difference(b"", same) == 0


@given(st.lists(st.integers(0, 2**32 - 1), max_size=40), st.data())
def test_first_difference_matches_a_plain_scan(tokens: list[int], data: st.DataObject) -> None:
    other = list(tokens)
    if len(other) > 0 and data.draw(st.booleans()):
        index = data.draw(st.integers(0, len(other) - 1))
        other[index] = data.draw(st.integers(0, 2**32 - 1))
    if data.draw(st.booleans()):
        other = other[: data.draw(st.integers(0, len(other)))]
    expected = next(
        (i for i, (x, y) in enumerate(zip(tokens, other, strict=False)) if x != y),
        None if tokens == other else min(len(tokens), len(other)),
    )
    a, b = words(*tokens), words(*other)
    assert compare.first_difference(a, b) == expected == compare.first_difference(b, a)


# -- agree: tolerance -----------------------------------------------------------------------


def test_tolerance_boundary_is_inclusive_to_the_ulp() -> None:
    # atol alone: |0 - 2^-10| = 0.0009765625 exactly
    rule = tol("0.0009765625", "0")
    edge = bits_of(2.0**-10)
    assert agree(rule, result(f32(0.0)), result(words(edge)))
    assert not agree(rule, result(f32(0.0)), result(words(edge + 1)))  # one ulp beyond
    assert agree(rule, result(f32(0.0)), result(words(edge - 1)))
    # rtol alone: |1.25 - 1| = 0.25 = 0.2 · max(1, 1.25)
    rule = tol("0", "0.2")
    assert agree(rule, result(f32(1.0)), result(f32(1.25)))
    assert not agree(rule, result(words(bits_of(1.0) - 1)), result(f32(1.25)))
    assert not agree(rule, result(f32(1.0)), result(words(bits_of(1.25) + 1)))
    # both: 0.05 + 0.16 · 1.25 = 0.25, with signs
    rule = tol("0.05", "0.16")
    assert agree(rule, result(f32(-1.0)), result(f32(-1.25)))
    assert not agree(rule, result(f32(-1.0)), result(words(bits_of(-1.25) + 1)))


def test_tolerance_signs_zeros_subnormals_and_extremes() -> None:
    zero = tol("0", "0")
    assert agree(zero, result(f32(0.0)), result(f32(-0.0)))  # the same value
    plus, minus = result(words(1)), result(words(0x80000001))  # ± the smallest subnormal s
    assert not agree(zero, plus, minus)
    assert not agree(tol("0", "1"), plus, minus)  # |s - (-s)| = 2s > 1 · s
    assert agree(tol("0.000000000000000001", "0"), plus, minus)  # 2s ≈ 2.8e-45 ≤ 1e-18
    big = bits_of(3.4028234663852886e38)  # largest finite float32
    assert agree(tol("0", "0.000001"), result(words(big)), result(words(big - 1)))
    assert not agree(tol("1000000", "0"), result(words(big)), result(words(big ^ 0x80000000)))


def reference_agree(atol: Fraction, rtol: Fraction, a: bytes, b: bytes) -> bool:
    """The tolerance rule with Fractions (struct's float32 → float64 is exact)."""
    xs = struct.unpack(f"<{len(a) // 4}f", a)
    ys = struct.unpack(f"<{len(b) // 4}f", b)
    if len(xs) != len(ys):
        return False
    for x, y in zip(xs, ys, strict=True):
        fx, fy = Fraction(x), Fraction(y)
        if abs(fx - fy) > atol + rtol * max(abs(fx), abs(fy)):
            return False
    return True


FINITE_BITS = st.integers(0, 2**32 - 1).filter(lambda w: w & 0x7F800000 != 0x7F800000)
DECIMALS = st.one_of(
    st.sampled_from(["0", "0.00001", "0.001", "0.1", "1", "0.000000000000000001"]),
    st.builds(
        lambda whole, frac: f"{whole}.{frac:018d}", st.integers(0, 3), st.integers(0, 10**18 - 1)
    ),
)


@st.composite
def near_pairs(draw: st.DrawFn) -> tuple[list[int], list[int]]:
    """Arrays of finite float32 bits and a second array a few ulps (or signs) away."""
    xs = draw(st.lists(FINITE_BITS, min_size=1, max_size=8))
    ys = []
    for x in xs:
        kind = draw(st.sampled_from(["same", "ulps", "sign", "any"]))
        if kind == "same":
            y = x
        elif kind == "ulps":
            y = max(0, min(2**32 - 1, x + draw(st.integers(-(2**20), 2**20))))
        elif kind == "sign":
            y = x ^ 0x80000000
        else:
            y = draw(FINITE_BITS)
        ys.append(y if y & 0x7F800000 != 0x7F800000 else x)
    return xs, ys


@given(near_pairs(), DECIMALS, DECIMALS)
def test_tolerance_matches_the_fraction_reference_and_is_symmetric(
    pair: tuple[list[int], list[int]], atol: str, rtol: str
) -> None:
    a, b = words(*pair[0]), words(*pair[1])
    rule = tol(atol, rtol)
    expected = reference_agree(
        Fraction(Dec.from_str(atol).bigint(), 10**18),
        Fraction(Dec.from_str(rtol).bigint(), 10**18),
        a,
        b,
    )
    assert agree(rule, result(a), result(b)) == expected
    assert agree(rule, result(b), result(a)) == expected


@given(st.lists(FINITE_BITS, min_size=1, max_size=6), DECIMALS)
def test_tolerance_at_the_exact_boundary(xs: list[int], rtol: str) -> None:
    """atol set to the largest element distance (when it is a finite decimal) agrees; any
    smaller atol (by one 10^-18) does not."""
    ys = [min(x + 3, 0x7F7FFFFF) if x < 0x7F800000 else x + 3 for x in xs]
    ys = [y if y & 0x7F800000 != 0x7F800000 else x for x, y in zip(xs, ys, strict=True)]
    a, b = words(*xs), words(*ys)
    fa = struct.unpack(f"<{len(xs)}f", a)
    fb = struct.unpack(f"<{len(ys)}f", b)
    distance = max(abs(Fraction(x) - Fraction(y)) for x, y in zip(fa, fb, strict=True))
    scaled = distance * 10**18
    if scaled.denominator != 1 or scaled > 10**24 or distance == 0:
        return  # not an 18-place decimal (or nothing to test)
    atol = Dec.raw(int(scaled))
    assert agree(ComparisonRule("tolerance", atol, Dec.zero()), result(a), result(b))
    below = ComparisonRule("tolerance", Dec.raw(int(scaled) - 1), Dec.zero())
    assert not agree(below, result(a), result(b))
    assert agree(ComparisonRule("tolerance", atol, Dec.from_str(rtol)), result(a), result(b))


def test_tolerance_refuses_length_mismatch_nan_and_inf() -> None:
    rule = tol("1000", "1")
    assert not agree(rule, result(f32(1.0, 2.0)), result(f32(1.0)))
    assert not agree(rule, result(f32(1.0)), result(f32(1.0) + b"\x00"))
    assert not agree(rule, result(f32(1.0)), result(words(0x7FC00000)))
    assert not agree(rule, result(words(0x7F800000)), result(words(0x7F7FFFFF)))
    # NaN bits equal on both sides, digests differ: still no agreement
    assert not agree(rule, result(words(0x7FC00000, 1)), result(words(0x7FC00000, 2)))
    # with equal digests every rule agrees (the digest is the output)
    nan = result(words(0x7FC00000))
    assert agree(rule, nan, nan)


def test_float_math_would_decide_wrongly_here_and_is_not_used() -> None:
    """atol = 0.100000001490116119 is below float32(0.1) = 0.100000001490116119384765625 by
    3.8e-19, so the exact rule disagrees; float64(atol) rounds up to float32(0.1), so a
    numpy.isclose-style float comparison would agree."""
    atol_text = "0.100000001490116119"
    x, y = 0.0, struct.unpack("<f", struct.pack("<f", 0.1))[0]
    assert abs(x - y) <= float(atol_text)  # what float math concludes
    rule = tol(atol_text, "0")
    assert not agree(rule, result(f32(x)), result(f32(y)))
    assert agree(tol("0.100000001490116120", "0"), result(f32(x)), result(f32(y)))


def test_compare_module_uses_no_floats() -> None:
    tree = ast.parse(inspect.getsource(compare))
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant):
            assert not isinstance(node.value, float), f"float literal at line {node.lineno}"
            if isinstance(node.value, str) and node.value.startswith("<"):
                assert not set(node.value) & set("fde"), "struct format decodes floats"
        if isinstance(node, ast.Name):
            assert node.id not in ("float", "Fraction", "Decimal"), node.id
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = [a.name for a in node.names] + [getattr(node, "module", "") or ""]
            for name in names:
                assert name.split(".")[0] not in ("numpy", "math", "fractions", "decimal")
        if isinstance(node, ast.JoinedStr):  # f-string struct formats: only "<{n}I"
            text = ast.unparse(node)
            if text.startswith("f'<"):
                assert text.endswith("I'"), text


# -- gas ------------------------------------------------------------------------------------


def test_comparison_gas_follows_the_work() -> None:
    assert compare.comparison_gas(EXACT, 10**6) == compare.comparison_gas(EXACT, 0)
    assert compare.comparison_gas(TOKENS, 4096) == compare.COMPARE_BASE_GAS
    small, large = (compare.comparison_gas(tol("0", "0"), n) for n in (4, 65_536))
    assert large - small == (16_384 - 1) * compare.TOLERANCE_GAS_PER_ELEMENT
    assert compare.majority_gas(EXACT, 0, 3) == 3 * compare.COMPARE_BASE_GAS
    assert compare.check_gas(tol("0", "0"), 1000) > compare.check_gas(TOKENS, 1000)


# -- majority -------------------------------------------------------------------------------


def many(*values: float) -> list[compute_pb2.JobResult]:
    return [result(f32(v)) for v in values]


@pytest.mark.parametrize(
    ("rule", "values", "expected"),
    [
        (EXACT, (1.0,), (0, [0])),
        (EXACT, (1.0, 1.0), (0, [0, 1])),
        (EXACT, (1.0, 2.0), None),  # 1 of 2 is no strict majority
        (EXACT, (1.0, 2.0, 1.0), (0, [0, 2])),
        (EXACT, (2.0, 1.0, 1.0), (1, [1, 2])),  # the liar first
        (EXACT, (1.0, 2.0, 3.0), None),
        (EXACT, (1.0, 2.0, 1.0, 2.0, 1.0), (0, [0, 2, 4])),
        (EXACT, (1.0, 2.0, 1.0, 2.0, 3.0), None),  # 2-2-1: tie, and no strict majority
        (EXACT, (5.0, 5.0, 1.0, 1.0, 1.0), (2, [2, 3, 4])),
        # non-transitive: 0 ~ 1, 1 ~ 2, 0 !~ 2 (atol 1): 1 is the pivot, all three agree with it
        (tol("1", "0"), (0.0, 1.0, 2.0), (1, [0, 1, 2])),
        (tol("1", "0"), (2.0, 1.0, 0.0), (1, [0, 1, 2])),
        # a path of five: 1, 2 and 3 tie on three; the lowest index wins
        (tol("1", "0"), (0.0, 1.0, 2.0, 3.0, 4.0), (1, [0, 1, 2])),
        (tol("1", "0"), (0.0, 2.0, 4.0), None),
        (tol("1", "0"), (0.0, 0.5, 9.0, 9.5), None),  # two pairs of two: no strict majority
    ],
)
def test_majority(
    rule: ComparisonRule, values: tuple[float, ...], expected: tuple[int, list[int]] | None
) -> None:
    assert majority(rule, many(*values)) == expected


def test_majority_of_nothing_is_none() -> None:
    assert majority(EXACT, []) is None


@given(st.lists(st.integers(0, 6), min_size=1, max_size=7))
def test_majority_is_a_strict_majority_around_the_best_supported_pivot(values: list[int]) -> None:
    rule = tol("1", "0")
    results = many(*(float(v) for v in values))
    found = majority(rule, results)
    support = [sum(abs(v - w) <= 1 for w in values) for v in values]
    pivot = support.index(max(support))
    members = [j for j, w in enumerate(values) if abs(values[pivot] - w) <= 1]
    assert found == ((pivot, members) if 2 * len(members) > len(values) else None)
