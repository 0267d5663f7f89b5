from __future__ import annotations

import pytest

from pos_core.protocol import (
    BAD_JSON,
    BAD_MESSAGE,
    ProtocolError,
    decode,
    encode,
    error_reply,
    field_int,
    field_str,
)


def test_round_trip() -> None:
    msg = {"type": "sale.submit", "req": "r1", "sale": {"total": 100}}
    assert decode(encode(msg)) == msg


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("{nope", BAD_JSON),
        ("[1]", BAD_MESSAGE),
        ('{"req":"x"}', BAD_MESSAGE),
        ('{"type":""}', BAD_MESSAGE),
        (b'{"type":"x"}', BAD_MESSAGE),
        ('{"type":"x","req":5}', BAD_MESSAGE),
        ('{"type":"x","req":"' + "r" * 101 + '"}', BAD_MESSAGE),
    ],
)
def test_bad_frames_get_a_code_and_a_sentence(frame: str | bytes, code: str) -> None:
    with pytest.raises(ProtocolError) as err:
        decode(frame)
    assert err.value.code == code
    assert str(err.value).endswith(".")


def test_fields_are_checked_and_errors_echo_req() -> None:
    msg = {"type": "x", "req": "r9", "limit": 5000, "name": ""}
    with pytest.raises(ProtocolError, match="from 1 to 1000") as err:
        field_int(msg, "limit", low=1, high=1000)
    assert err.value.req == "r9"
    assert field_int({"type": "x"}, "limit", default=50, low=1, high=1000) == 50
    with pytest.raises(ProtocolError):
        field_int({"type": "x", "limit": True}, "limit")
    with pytest.raises(ProtocolError):
        field_str(msg, "name")
    assert error_reply("bad_json", "No.", "r1") == {"type": "error", "code": "bad_json", "message": "No.", "req": "r1"}


@pytest.mark.parametrize("req", ["null", "5", "true", '"' + "r" * 101 + '"'])
def test_a_req_that_is_not_a_string_of_at_most_100_characters_is_refused(req: str) -> None:
    with pytest.raises(ProtocolError, match="'req' must be a string") as err:
        decode('{"type":"stock.query","req":' + req + "}")
    assert (err.value.code, err.value.req) == (BAD_MESSAGE, None)


def test_deeply_nested_frames_are_bad_json_not_a_crash() -> None:
    with pytest.raises(ProtocolError) as err:
        decode("[" * 100_000 + "]" * 100_000)
    assert err.value.code == BAD_JSON


def test_text_with_a_nul_character_is_refused_wherever_it_hides() -> None:
    """PostgreSQL cannot store NUL in text: a message carrying one is refused at the door."""
    for frame in (
        r'{"type":"order.place","req":"r1","customer_name":"Bob\u0000"}',
        r'{"type":"sale.submit","req":"r1","sale":{"lines":[{"name":"Tea\u0000"}]}}',
        r'{"type":"x","req":"r1","d":{"k\u0000":1}}',
    ):
        with pytest.raises(ProtocolError, match="NUL") as err:
            decode(frame)
        assert (err.value.code, err.value.req) == (BAD_MESSAGE, "r1")
    with pytest.raises(ProtocolError, match="NUL") as in_req:
        decode(r'{"type":"x","req":"r\u00001"}')
    assert in_req.value.req is None  # not echoed: the reply would carry the NUL it refuses
    # A backslash followed by the letters u0000 is text like any other.
    assert decode(r'{"type":"x","note":"\\u0000"}')["note"] == "\\u0000"
    nested = r'{"type":"x","d":' + "[" * 5000 + r'"\u0000"' + "]" * 5000 + "}"
    with pytest.raises(ProtocolError) as deep:
        decode(nested)
    assert deep.value.code in (BAD_JSON, BAD_MESSAGE)
