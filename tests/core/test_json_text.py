"""JSON text as the store writes it: the canonical form is the standard library's, byte for byte."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pos_core.json_text import canonical, compact, parse

# Any text but lone surrogates (not UTF-8, so never in a frame a server reads): controls,
# quotes, backslashes, U+2028, astral characters.
TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=12)
INT64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
VALUES = st.recursive(
    st.none() | st.booleans() | INT64 | TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=20,
)


def _standard(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


@settings(max_examples=400)
@given(VALUES)
def test_canonical_is_the_standard_librarys_sorted_compact_text(value: Any) -> None:
    assert canonical(value) == _standard(value)
    assert compact(value) == json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    assert parse(canonical(value)) == value


def test_what_orjson_will_not_write_falls_back_to_the_same_text() -> None:
    for value in ({"quantity": 10**30}, {"name": "\ud800"}, {1: "integer key"}):
        assert canonical(value) == _standard(value)
        assert compact(value) == json.dumps(value, separators=(",", ":"), ensure_ascii=False)


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
