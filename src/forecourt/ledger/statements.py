"""A member's statement of one asset (points or wallet money) for staff: page by page, newest first,
with what each posting did to each of the member's accounts of that asset (by purpose)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from forecourt.ledger.models import Entry, LedgerAccount, Posting


@dataclass(frozen=True)
class StatementLine:
    posting_id: uuid.UUID
    occurred_at: datetime
    reason: str
    memo: str
    station_code: str | None
    amounts: dict[str, int]
    """Account purpose (``available``, ``pending``, ``principal``, ``bonus`` …) → amount."""


@dataclass(frozen=True)
class Statement:
    lines: list[StatementLine]
    total: int
    """Postings in the whole statement (for page counts)."""


def member_statement(
    session: Session, member_id: uuid.UUID, asset: str, *, offset: int, limit: int
) -> Statement:
    purposes = dict(
        session.execute(
            select(LedgerAccount.id, LedgerAccount.purpose).where(
                LedgerAccount.member_id == member_id, LedgerAccount.asset == asset
            )
        ).all()
    )
    if not purposes:
        return Statement([], 0)
    touching = select(Entry.posting_id).where(Entry.account_id.in_(purposes)).distinct().subquery()
    total = int(session.scalar(select(func.count()).select_from(touching)) or 0)
    postings = session.execute(
        select(Posting.id, Posting.occurred_at, Posting.reason, Posting.memo, Posting.station_code)
        .where(Posting.id.in_(select(touching.c.posting_id)))
        .order_by(Posting.recorded_at.desc(), Posting.id.desc())
        .offset(offset)
        .limit(limit)
    ).all()
    amounts: dict[uuid.UUID, dict[str, int]] = {}
    for posting_id, account_id, amount in session.execute(
        select(Entry.posting_id, Entry.account_id, func.sum(Entry.amount))
        .where(Entry.posting_id.in_([row.id for row in postings]), Entry.account_id.in_(purposes))
        .group_by(Entry.posting_id, Entry.account_id)
    ).all():
        by_purpose = amounts.setdefault(posting_id, {})
        purpose = purposes[account_id]
        by_purpose[purpose] = by_purpose.get(purpose, 0) + int(amount)
    return Statement(
        lines=[
            StatementLine(row.id, row.occurred_at, row.reason, row.memo, row.station_code, amounts.get(row.id, {}))
            for row in postings
        ],
        total=total,
    )
