"""A member's postings in one asset, newest first, with what each did to each of their accounts.

The points history (``ledger.history.member_postings``) is this for points' available and pending
accounts; the wallet's statement reads the ``cny`` accounts (principal, bonus, fuel credit).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from forecourt.db.keyset import before_key
from forecourt.ledger.models import Entry, LedgerAccount, Posting


@dataclass(frozen=True)
class StatementLine:
    posting_id: uuid.UUID
    occurred_at: datetime
    recorded_at: datetime
    reason: str
    memo: str
    amounts: dict[str, int] = field(default_factory=dict)
    """Account purpose → what the posting added (+) or took (−) there."""

    @property
    def total(self) -> int:
        return sum(self.amounts.values())


def member_statement(
    session: Session,
    member_id: uuid.UUID,
    asset: str,
    *,
    before: tuple[datetime, uuid.UUID] | None = None,
    limit: int,
) -> list[StatementLine]:
    """The member's postings in ``asset``, newest first (keyset-paged by (recorded_at, id))."""
    purposes: dict[uuid.UUID, str] = {
        row.id: row.purpose
        for row in session.execute(
            select(LedgerAccount.id, LedgerAccount.purpose).where(
                LedgerAccount.member_id == member_id, LedgerAccount.asset == asset
            )
        )
    }
    if not purposes:
        return []
    query = (
        select(Posting.id, Posting.occurred_at, Posting.recorded_at, Posting.reason, Posting.memo)
        .join(Entry, Entry.posting_id == Posting.id)
        .where(Entry.account_id.in_(purposes))
        .group_by(Posting.id, Posting.occurred_at, Posting.recorded_at, Posting.reason, Posting.memo)
        .order_by(Posting.recorded_at.desc(), Posting.id.desc())
        .limit(limit)
    )
    if before is not None:
        query = query.where(before_key((Posting.recorded_at, Posting.id), before))
    postings = session.execute(query).all()
    amounts: dict[uuid.UUID, dict[str, int]] = {row.id: {} for row in postings}
    for posting_id, account_id, total in session.execute(
        select(Entry.posting_id, Entry.account_id, func.sum(Entry.amount))
        .where(Entry.posting_id.in_(list(amounts)), Entry.account_id.in_(purposes))
        .group_by(Entry.posting_id, Entry.account_id)
    ):
        amounts[posting_id][purposes[account_id]] = int(total)
    return [
        StatementLine(
            posting_id=row.id,
            occurred_at=row.occurred_at,
            recorded_at=row.recorded_at,
            reason=row.reason,
            memo=row.memo,
            amounts=amounts[row.id],
        )
        for row in postings
    ]
