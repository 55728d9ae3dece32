"""Members per business day, for the head office dashboard (aggregated in SQL)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from forecourt.db.chain_day import chain_day, day_value, days_window
from forecourt.members.models import Member


def new_members_per_day(session: Session, first: date, last: date) -> dict[date, int]:
    """Members registered on each chain day ``first``..``last`` (days without any are left out)."""
    start, end = days_window(first, last)
    day = chain_day(session, Member.created_at, at=end)
    rows = session.execute(
        select(day, func.count()).where(Member.created_at >= start, Member.created_at < end).group_by(day)
    ).all()
    return {day_value(value): int(count) for value, count in rows}


def member_count(session: Session) -> int:
    """Members not erased."""
    return int(
        session.scalar(select(func.count()).select_from(Member).where(Member.status != "deleted")) or 0
    )
