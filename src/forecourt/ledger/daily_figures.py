"""Points per business day and the liability right now, for the head office dashboard.

Figures come from the entries of members' ``available`` points accounts (aggregated in SQL):
earned = what came in (earning, settled pending points, grants), spent = what went out other than
by expiry (redemptions, deductions, reversed earnings), expired = what the expiry job took.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from forecourt.db.chain_day import chain_day, day_value, days_window
from forecourt.kit.clock import utcnow
from forecourt.ledger import liability
from forecourt.ledger.models import Entry, LedgerAccount, Posting
from forecourt.ledger.points import ASSET


@dataclass(frozen=True)
class PointsDay:
    day: date
    earned: int
    spent: int
    expired: int


def points_per_day(session: Session, first: date, last: date) -> list[PointsDay]:
    """Chain days ``first``..``last`` with points movements, oldest first."""
    start, end = days_window(first, last)
    day = chain_day(session, Posting.occurred_at, at=end)
    expiry = Posting.reason == "expiry"
    rows = session.execute(
        select(
            day,
            func.coalesce(func.sum(case((Entry.amount > 0, Entry.amount), else_=0)), 0),
            func.coalesce(func.sum(case(((Entry.amount < 0) & ~expiry, -Entry.amount), else_=0)), 0),
            func.coalesce(func.sum(case(((Entry.amount < 0) & expiry, -Entry.amount), else_=0)), 0),
        )
        .join(Entry, Entry.posting_id == Posting.id)
        .join(LedgerAccount, LedgerAccount.id == Entry.account_id)
        .where(
            LedgerAccount.asset == ASSET,
            LedgerAccount.purpose == "available",
            LedgerAccount.member_id.is_not(None),
            Posting.occurred_at >= start,
            Posting.occurred_at < end,
        )
        .group_by(day)
        .order_by(day)
    ).all()
    return [PointsDay(day_value(value), int(e), int(s), int(x)) for value, e, s, x in rows]


@dataclass(frozen=True)
class Outstanding:
    available: int
    pending: int
    unit_cost_millifen: int
    liability_fen: int
    """(available + pending) × unit cost, as the daily snapshot computes it."""


def outstanding_now(session: Session, unit_cost_millifen: int) -> Outstanding:
    """Members' points outstanding now and their value (what a snapshot taken now would say; reads only)."""
    sums = liability._sums_by_purpose(session, utcnow())
    available = sums.get((True, "available"), 0)
    pending = sums.get((True, "pending"), 0)
    return Outstanding(
        available=available,
        pending=pending,
        unit_cost_millifen=unit_cost_millifen,
        liability_fen=liability.liability_fen(available + pending, unit_cost_millifen),
    )
