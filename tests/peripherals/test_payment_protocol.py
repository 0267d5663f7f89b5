"""The card terminal protocol v1 byte for byte: every message, what decoding tolerates and refuses."""

from __future__ import annotations

import json

import pytest

from peripherals.payment.protocol import (
    MAX_LINE,
    Accepted,
    Approved,
    Busy,
    Cancel,
    Cancelled,
    Declined,
    Error,
    Pay,
    Prompt,
    ProtocolError,
    Refund,
    Reply,
    Request,
    Status,
    UnknownIntent,
    UnsupportedVersion,
    clean_text,
    decode_reply,
    decode_request,
    encode,
    take_lines,
)

IID = "6f1c0a4e-2b8d-4c3e-9a51-0d7e3f2b1c95"
JID = "0b5e7a1c-93d2-4f60-8e1a-7c4d2b9f3a10"
PAN = "4571736281954727"


@pytest.mark.parametrize(
    ("message", "wire"),
    [
        (
            Pay(IID, 1250, "EUR"),
            b'{"v":1,"type":"pay","intent_id":"%s","amount":1250,"currency":"EUR"}\n' % IID.encode(),
        ),
        (
            Refund(IID, 500, "EUR", JID),
            b'{"v":1,"type":"refund","intent_id":"%s","amount":500,"currency":"EUR","original_intent_id":"%s"}\n'
            % (IID.encode(), JID.encode()),
        ),
        (
            Refund(IID, 1, "JPY"),
            b'{"v":1,"type":"refund","intent_id":"%s","amount":1,"currency":"JPY","original_intent_id":null}\n'
            % IID.encode(),
        ),
        (Status(IID), b'{"v":1,"type":"status","intent_id":"%s"}\n' % IID.encode()),
        (Cancel(IID), b'{"v":1,"type":"cancel","intent_id":"%s"}\n' % IID.encode()),
    ],
)
def test_requests_encode_to_exact_bytes_and_back(message: Request, wire: bytes) -> None:
    assert encode(message) == wire
    assert decode_request(wire) == message


@pytest.mark.parametrize(
    ("message", "wire"),
    [
        (Accepted(IID), b'{"v":1,"type":"accepted","intent_id":"%s"}\n' % IID.encode()),
        (
            Prompt(IID, "enter_pin", "Enter PIN"),
            b'{"v":1,"type":"prompt","intent_id":"%s","code":"enter_pin","text":"Enter PIN"}\n' % IID.encode(),
        ),
        (
            Prompt(IID, "insert_card", "Karte einführen"),  # non-ASCII travels escaped: the line stays ASCII
            b'{"v":1,"type":"prompt","intent_id":"%s","code":"insert_card","text":"Karte einf\\u00fchren"}\n'
            % IID.encode(),
        ),
        (
            Approved(IID, "SA0001", "VISA", "4727"),
            b'{"v":1,"type":"approved","intent_id":"%s","auth_code":"SA0001","card_brand":"VISA","last4":"4727"}\n'
            % IID.encode(),
        ),
        (
            Declined(IID, "Not authorised"),
            b'{"v":1,"type":"declined","intent_id":"%s","reason":"Not authorised"}\n' % IID.encode(),
        ),
        (Cancelled(IID), b'{"v":1,"type":"cancelled","intent_id":"%s"}\n' % IID.encode()),
        (UnknownIntent(IID), b'{"v":1,"type":"unknown_intent","intent_id":"%s"}\n' % IID.encode()),
        (Busy(IID), b'{"v":1,"type":"busy","intent_id":"%s"}\n' % IID.encode()),
        (
            Error(None, "unsupported protocol version"),
            b'{"v":1,"type":"error","intent_id":null,"reason":"unsupported protocol version"}\n',
        ),
    ],
)  # fmt: skip
def test_replies_encode_to_exact_bytes_and_back(message: Reply, wire: bytes) -> None:
    assert encode(message) == wire
    assert decode_reply(wire) == message


def test_decoding_tolerates_form_but_keeps_only_known_fields() -> None:
    line = (
        b'{ "amount" : 1250 , "currency":"EUR", "type":"pay", "v":1, "intent_id":"%s", "note":"x" }\r\n' % IID.encode()
    )
    assert decode_request(line) == Pay(IID, 1250, "EUR")
    raw_utf8 = json.dumps(
        {"v": 1, "type": "prompt", "intent_id": IID, "code": "insert_card", "text": "Karte einführen"},
        ensure_ascii=False,
    )
    assert decode_reply(raw_utf8.encode()) == Prompt(IID, "insert_card", "Karte einführen")
    leaky = (
        b'{"v":1,"type":"approved","intent_id":"%s","auth_code":"A1","card_brand":"VISA","last4":"4727",' % IID.encode()
    )
    approved = decode_reply(leaky + b'"pan":"%s","track2":";%s=2512?"}\n' % (PAN.encode(), PAN.encode()))
    assert approved == Approved(IID, "A1", "VISA", "4727")  # the extra fields are gone, not kept anywhere


def _pay(**fields: object) -> bytes:
    body: dict[str, object] = {"v": 1, "type": "pay", "intent_id": IID, "amount": 1250, "currency": "EUR"}
    body.update(fields)
    return json.dumps(body).encode()


def _approved(**fields: object) -> bytes:
    body: dict[str, object] = {"v": 1, "type": "approved", "intent_id": IID, "auth_code": "A1", "card_brand": "VISA"}
    body.update({"last4": "4727", **fields})
    return json.dumps(body).encode()


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        (b"not json\n", "not a JSON line"),
        (b"\xff\xfe{}\n", "not a JSON line"),
        (b"[1, 2]\n", "not a JSON object"),
        (b'{"type":"pay"}\n', "no protocol version"),
        (b'{"v":true,"type":"status","intent_id":"%s"}' % IID.encode(), "no protocol version"),
        (b'{"v":"1","type":"status","intent_id":"%s"}' % IID.encode(), "no protocol version"),
        (b'{"v":1,"type":"charge"}', "unknown message type"),
        (
            b'{"v":1,"type":"approved","intent_id":"%s"}' % IID.encode(),
            "unknown message type",
        ),  # a reply, not a request
        (_pay(amount=0), "amount"),
        (_pay(amount=-5), "amount"),
        (_pay(amount=12.5), "amount"),
        (_pay(amount="1250"), "amount"),
        (_pay(amount=True), "amount"),
        (_pay(amount=1_000_000_000), "amount"),
        (_pay(amount=float("nan")), "amount"),
        (_pay(currency="eur"), "currency"),
        (_pay(currency="EURO"), "currency"),
        (_pay(intent_id=IID.upper()), "intent_id"),
        (_pay(intent_id=None), "intent_id"),
        (b'{"v":1,"type":"status"}', "intent_id"),
        (b'{"v":1,"type":"status","intent_id":"' + b"x" * MAX_LINE + b'"}', f"longer than {MAX_LINE}"),
    ],
)
def test_bad_requests_are_refused_without_echoing_them(line: bytes, problem: str) -> None:
    with pytest.raises(ProtocolError, match=problem) as err:
        decode_request(line)
    assert IID not in str(err.value)


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        (_approved(last4="12345"), "last4"),
        (_approved(last4=PAN), "last4"),
        (_approved(last4="47a7"), "last4"),
        (_approved(last4=4727), "last4"),
        (_approved(card_brand="VISA " + PAN), "card_brand"),
        (_approved(auth_code="AB-12"), "auth_code"),
        (_approved(auth_code="123456789"), "auth_code"),
        (b'{"v":1,"type":"prompt","intent_id":"%s","code":"Insert Card","text":"x"}' % IID.encode(), "code"),
        (b'{"v":1,"type":"declined","intent_id":"%s","reason":42}' % IID.encode(), "reason"),
        (b'{"v":1,"type":"pay","intent_id":"%s","amount":1,"currency":"EUR"}' % IID.encode(), "unknown message type"),
    ],
)
def test_bad_replies_are_refused_without_echoing_card_digits(line: bytes, problem: str) -> None:
    with pytest.raises(ProtocolError, match=problem) as err:
        decode_reply(line)
    assert PAN[:5] not in str(err.value)


def test_another_version_is_named_as_such() -> None:
    with pytest.raises(UnsupportedVersion, match="protocol version 2 is not 1"):
        decode_request(b'{"v":2,"type":"pay","intent_id":"%s","amount":1,"currency":"EUR"}' % IID.encode())


@pytest.mark.parametrize(
    ("text", "clean"),
    [
        ("Insert card", "Insert card"),
        ("Amount 12.50 EUR", "Amount 12.50 EUR"),
        ("Card " + PAN, "Card " + "*" * 16),
        ("Card 4571 7362 8195 4727 read", "Card **** **** **** **** read"),
        ("PAN 4571-7362-8195-4727", "PAN ****-****-****-****"),
        ("ref 12345", "ref *****"),
        ("1234 ok", "1234 ok"),
        ("beep\x07\r\nnow", "beep???now"),
        ("x" * 100, "x" * 80),
    ],
)
def test_free_text_loses_digit_runs_and_control_characters(text: str, clean: str) -> None:
    assert clean_text(text) == clean
    assert Prompt(IID, "see_terminal", text).text == clean
    assert decode_reply(encode(Declined(IID, text))) == Declined(IID, clean)


def test_take_lines_splits_a_stream_in_any_chunks() -> None:
    wire = encode(Accepted(IID)) + encode(Prompt(IID, "insert_card", "Insert card")) + encode(Cancelled(IID))
    buffer = bytearray()
    lines: list[bytes] = []
    for i in range(0, len(wire), 7):
        buffer += wire[i : i + 7]
        lines += take_lines(buffer)
    assert [decode_reply(line) for line in lines] == [
        Accepted(IID),
        Prompt(IID, "insert_card", "Insert card"),
        Cancelled(IID),
    ]
    assert buffer == b""


def test_take_lines_refuses_a_line_that_never_ends() -> None:
    buffer = bytearray(b"x" * (MAX_LINE - 1))
    assert take_lines(buffer) == []
    buffer += b"x"
    with pytest.raises(ProtocolError, match="longer than"):
        take_lines(buffer)
