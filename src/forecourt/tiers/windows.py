"""Qualification windows, in the chain's time zone (a sale at 23:30 Beijing time on 31 December
belongs to that year, whatever UTC says)."""

from __future__ import annotations

import calendar
from datetime import datetime, time

from forecourt.kit.clock import chain_zone, to_chain_time


def add_months(moment: datetime, months: int) -> datetime:
    """The same local wall time ``months`` later (or earlier), clamped to the month's last day."""
    local = to_chain_time(moment)
    index = local.month - 1 + months
    year, month = local.year + index // 12, index % 12 + 1
    return local.replace(year=year, month=month, day=min(local.day, calendar.monthrange(year, month)[1]))


def window_start(window: str, at: datetime) -> datetime | None:
    """Where the window ending at ``at`` starts; None for a cumulative window."""
    if window == "cumulative":
        return None
    if window == "calendar_year":
        return datetime.combine(
            to_chain_time(at).date().replace(month=1, day=1), time(0), tzinfo=chain_zone()
        )
    if window == "rolling_12_months":
        return add_months(at, -12)
    raise ValueError(f"unknown tier window {window!r}")


def month_start(at: datetime) -> datetime:
    """Midnight of the first day of ``at``'s local month."""
    return datetime.combine(to_chain_time(at).date().replace(day=1), time(0), tzinfo=chain_zone())
