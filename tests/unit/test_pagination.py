from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from forecourt.kit.pagination import InvalidCursor, decode_cursor, encode_cursor, parse_datetime


def test_a_cursor_round_trips_its_values():
    moment, key = datetime(2026, 11, 22, 8, 0, tzinfo=UTC), uuid.uuid4()
    cursor = encode_cursor(moment.isoformat(), str(key))
    assert decode_cursor(cursor, parse_datetime, uuid.UUID) == [moment, key]


@pytest.mark.parametrize(
    "cursor", ["%%%", "bm90IGpzb24", encode_cursor("a"), encode_cursor("not-a-date", "x")]
)
def test_a_cursor_we_did_not_issue_is_refused(cursor):
    with pytest.raises(InvalidCursor):
        decode_cursor(cursor, parse_datetime, uuid.UUID)
