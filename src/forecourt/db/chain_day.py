"""Business days in SQL: grouping timestamps by the chain's day on SQLite and PostgreSQL alike.

PostgreSQL converts each ``timestamptz`` to the chain's zone (``timezone(zone, ts)``), so daylight
saving is exact. SQLite keeps the UTC wall time and has no zone database: the chain's UTC offset at
``at`` is added, which is exact for zones without daylight saving (the chain's Asia/Shanghai) and off
by an hour around a change for zones with one.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func
from sqlalchemy.orm import Session

from forecourt.kit.clock import chain_zone, utcnow


def chain_day(session: Session, column: Any, *, at: datetime | None = None) -> ColumnElement[Any]:
    """The chain's business day of ``column`` (a UTC timestamp column) as an SQL expression; read
    the values back with ``day_value``."""
    zone = chain_zone()
    if session.get_bind().dialect.name == "postgresql":
        return func.date(func.timezone(str(zone), column))
    offset = (at or utcnow()).astimezone(zone).utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    return func.date(column, f"{minutes:+d} minutes")


def day_value(value: Any) -> date:
    """A day as the database returned it (a ``date`` on PostgreSQL, ISO text on SQLite)."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def days_window(first: date, last: date) -> tuple[datetime, datetime]:
    """The moments from the start of ``first`` to the end of ``last`` (chain days, inclusive)."""
    zone = chain_zone()
    return (
        datetime.combine(first, time(0), tzinfo=zone),
        datetime.combine(last + timedelta(days=1), time(0), tzinfo=zone),
    )
