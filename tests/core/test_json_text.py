"""JSON text as the store writes it: the canonical form is the standard library's, byte for byte."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pos_core.json_text import canonical, compact, parse

# Any text but lone surrogates (not UTF-8, so never in a frame a server reads): controls,
# quotes, backslashes, U+2028, astral characters.
TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=12)
INT64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
FINITE = st.floats(allow_nan=False, allow_infinity=False)


def _values(scalars: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
        max_leaves=20,
    )


WITHOUT_FLOATS = _values(st.none() | st.booleans() | INT64 | TEXT)
WITH_FLOATS = _values(st.none() | st.booleans() | INT64 | TEXT | FINITE)


def _standard(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


@settings(max_examples=300)
@given(WITHOUT_FLOATS)
def test_without_floats_both_forms_are_the_standard_librarys_text(value: Any) -> None:
    assert canonical(value) == _standard(value)
    assert compact(value) == json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    assert parse(canonical(value)) == value


@settings(max_examples=300)
@given(WITH_FLOATS)
def test_with_floats_canonical_is_the_standard_librarys_and_compact_says_the_same(value: Any) -> None:
    assert canonical(value) == _standard(value)
    assert parse(compact(value)) == value


def test_what_orjson_would_write_otherwise_is_left_to_the_standard_library() -> None:
    for value in (
        {"quantity": 10**30},
        {"name": "\ud800"},
        {1: "integer key"},
        {"alert_after_s": 1.5e-05},
        {"alert_after_s": math.inf},
        [math.nan],
    ):
        assert canonical(value) == _standard(value)


def test_a_sale_fingerprint_from_before_orjson_still_matches() -> None:
    # Written by json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False) before
    # this module existed: a resend of this sale must fingerprint the same.
    sale = {"id": "s-1", "lines": [{"name": "Crème brûlée ☕", "sku": 'X\n\t"1\\'}], "total": 450, "paid": None}
    before = '{"id":"s-1","lines":[{"name":"Crème brûlée ☕","sku":"X\\n\\t\\"1\\\\"}],"paid":null,"total":450}'
    assert canonical(sale) == before


@pytest.mark.parametrize("text", ["{", '{"a":NaN}', '{"a":"\\ud800"}', "[" * 2000])
def test_parse_refuses_what_is_not_json(text: str) -> None:
    with pytest.raises(json.JSONDecodeError):  # what json.loads raises, so callers catch the same
        parse(text)
