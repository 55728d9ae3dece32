"""Helpers of the admin program page tests: moments in chain time, workbooks read back."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from io import BytesIO
from typing import Any

from openpyxl import load_workbook

from forecourt.kit.clock import chain_zone, utcnow

SATURDAY, WEDNESDAY = 6, 3


def last_local(weekday: int, hour: int = 10) -> datetime:
    """The latest past moment (within the last week) that is ``weekday`` (ISO) at ``hour`` local."""
    now = utcnow().astimezone(chain_zone())
    day = now.date() - timedelta(days=(now.isoweekday() - weekday) % 7)
    moment = datetime.combine(day, time(hour), tzinfo=chain_zone())
    return moment if moment <= now else moment - timedelta(days=7)


def local_input(moment: datetime) -> str:
    """A moment as a ``datetime-local`` input holds it (chain time, no offset)."""
    return moment.astimezone(chain_zone()).strftime("%Y-%m-%dT%H:%M")


def workbook_rows(response: Any) -> list[tuple[Any, ...]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    sheet = load_workbook(BytesIO(response.content), read_only=True).worksheets[0]
    return [tuple(row) for row in sheet.iter_rows(values_only=True)]
