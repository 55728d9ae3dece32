"""Cursor pagination: stable under inserts, cheap at any depth (no OFFSET).

A cursor is the sort key of the last row a page returned, opaque to clients (base64 JSON).
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from forecourt.errors import InvalidRequest

T = TypeVar("T")

DEFAULT_LIMIT = 50
MAX_LIMIT = 500


class InvalidCursor(InvalidRequest):
    code = "invalid_cursor"
    default_message = "The cursor is not one this API returned."


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


def encode_cursor(*values: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(values), default=str).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, *parsers: Callable[[Any], Any]) -> list[Any]:
    """The values of a cursor, each passed through its parser (``str``, ``uuid.UUID``, …)."""
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(values, list) or len(values) != len(parsers):
            raise InvalidCursor()
        return [parse(value) for parse, value in zip(parsers, values, strict=True)]
    except (binascii.Error, ValueError, TypeError) as exc:
        raise InvalidCursor() from exc


def parse_datetime(value: str) -> datetime:
    """An aware datetime; a cursor without an offset was not made by this API."""
    parsed = datetime.fromisoformat(value)
    if parsed.utcoffset() is None:
        raise ValueError("cursor datetime has no offset")
    return parsed


def decode_time_cursor(cursor: str | None) -> tuple[datetime, uuid.UUID] | None:
    """The (moment, id) sort key of a newest-first page, or None for the first page."""
    if not cursor:
        return None
    moment, row_id = decode_cursor(cursor, parse_datetime, uuid.UUID)
    return moment, row_id


def time_page(
    rows: Sequence[Any], limit: int, key: Callable[[Any], tuple[datetime, uuid.UUID]]
) -> tuple[list[Any], str | None]:
    """The first ``limit`` rows of ``limit + 1`` fetched, and the cursor of the next page if there is one."""
    if len(rows) <= limit:
        return list(rows), None
    moment, row_id = key(rows[limit - 1])
    return list(rows[:limit]), encode_cursor(moment.isoformat(), str(row_id))
