"""Sales per business day, for the head office dashboard (aggregated in SQL)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from forecourt.db.chain_day import chain_day, day_value, days_window
from forecourt.pos.models import Sale


@dataclass(frozen=True)
class SalesDay:
    day: date
    sales: int
    gross_fen: int
    """What the baskets cost before discounts, points and wallet."""
    refunded_fen: int
    members: int
    """Distinct members identified at a sale that day (the day's active members)."""


def sales_per_day(session: Session, first: date, last: date) -> list[SalesDay]:
    """Each chain day ``first``..``last`` that had a sale, oldest first (refunded sales included,
    with what was refunded)."""
    start, end = days_window(first, last)
    day = chain_day(session, Sale.occurred_at, at=end)
    rows = session.execute(
        select(
            day,
            func.count(),
            func.coalesce(func.sum(Sale.gross_fen), 0),
            func.coalesce(func.sum(Sale.refunded_fen), 0),
            func.count(func.distinct(Sale.member_id)),
        )
        .where(Sale.occurred_at >= start, Sale.occurred_at < end)
        .group_by(day)
        .order_by(day)
    ).all()
    return [
        SalesDay(day_value(value), int(count), int(gross), int(refunded), int(members))
        for value, count, gross, refunded, members in rows
    ]
