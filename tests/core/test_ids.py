"""Record ids are RFC 9562 version 7 UUIDs that sort by creation time."""

from __future__ import annotations

import re
import time
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pos_core.ids import new_id, uuid7_at

LOWER_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def test_the_rfc_9562_example_layout() -> None:
    # RFC 9562 appendix A.6: unix_ts_ms 0x017F22E279B0 (Tuesday, February 22, 2022 2:22:22 PM GMT-05:00).
    made = uuid7_at(0x017F22E279B0, bytes.fromhex("0cc3" + "18c4dc0c0c07398f"))
    assert str(made) == "017f22e2-79b0-7cc3-98c4-dc0c0c07398f"
    assert made.version == 7
    assert made.variant == uuid.RFC_4122


def test_a_new_id_is_lowercase_version_7_with_the_current_time() -> None:
    before = time.time_ns() // 1_000_000
    made = new_id()
    after = time.time_ns() // 1_000_000
    assert LOWER_UUID.match(made)
    assert before <= int(made.replace("-", "")[:12], 16) <= after


@given(st.integers(0, (1 << 48) - 2), st.binary(min_size=10, max_size=10), st.binary(min_size=10, max_size=10))
def test_a_later_millisecond_always_sorts_after(ms: int, first: bytes, second: bytes) -> None:
    assert str(uuid7_at(ms, first)) < str(uuid7_at(ms + 1, second))


def test_out_of_range_input_is_refused() -> None:
    with pytest.raises(ValueError, match="48 bits"):
        uuid7_at(1 << 48, bytes(10))
    with pytest.raises(ValueError, match="10 bytes"):
        uuid7_at(0, bytes(9))


@given(st.integers(0, (1 << 48) - 1), st.binary(min_size=10, max_size=10))
def test_the_random_bytes_land_where_rfc_9562_puts_them(ms: int, random: bytes) -> None:
    """74 of the 80 random bits are kept; the version and variant take the other 6."""
    made = uuid7_at(ms, random)
    assert made.version == 7
    assert made.variant == uuid.RFC_4122
    assert made.bytes[:6] == ms.to_bytes(6, "big")
    assert made.bytes[6] & 0x0F == random[0] & 0x0F
    assert made.bytes[7:8] == random[1:2]
    assert made.bytes[8] & 0x3F == random[2] & 0x3F
    assert made.bytes[9:] == random[3:]


def test_new_ids_parse_as_the_uuids_they_print() -> None:
    for _ in range(200):
        made = new_id()
        assert LOWER_UUID.match(made)
        assert str(uuid.UUID(made)) == made
        assert uuid.UUID(made).version == 7


def test_a_forked_process_makes_other_ids_than_its_parent() -> None:
    """The random part comes from ``random``'s generator: a forked child must not repeat the
    parent's sequence (``random`` reseeds itself after ``fork``), or two processes of one store
    would make the same ids."""
    import multiprocessing

    context = multiprocessing.get_context("fork")
    with context.Pool(1) as pool:
        child = pool.apply(_ids, (50,))
    parent = _ids(50)
    assert len(set(child) | set(parent)) == 100  # not even the random bits repeat


def test_ids_do_not_repeat_when_the_global_generator_is_seeded_again() -> None:
    """Hypothesis seeds ``random`` the same for every example: the ids of two examples run in
    the same millisecond must still differ."""
    import random

    state = random.getstate()
    try:
        random.seed(1)
        first = _ids(20)
        random.seed(1)
        second = _ids(20)
    finally:
        random.setstate(state)
    assert len(set(first) | set(second)) == 40


def _ids(count: int) -> list[int]:
    """The random bits of ``count`` new ids (the time in front of them may differ anyway)."""
    return [uuid.UUID(new_id()).int & (1 << 80) - 1 for _ in range(count)]
