"""Time. Stored and compared in UTC; the chain's time zone only where business days matter.

``utcnow`` is the one way to read the clock, so tests travel in time with time-machine.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from forecourt.config import get_settings


def utcnow() -> datetime:
    return datetime.now(UTC)


@lru_cache(maxsize=8)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def chain_zone() -> ZoneInfo:
    """The chain's time zone (``FORECOURT_TIMEZONE``, default Asia/Shanghai)."""
    return _zone(get_settings().timezone)


def to_chain_time(moment: datetime) -> datetime:
    return require_aware(moment).astimezone(chain_zone())


def chain_date(moment: datetime) -> date:
    """The business day a moment belongs to, in the chain's time zone."""
    return to_chain_time(moment).date()


def require_aware(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.tzinfo.utcoffset(moment) is None:
        raise ValueError("naive datetimes are not accepted; give a time zone offset")
    return moment
