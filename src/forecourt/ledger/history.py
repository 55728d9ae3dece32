"""A member's points as they see them: balances, open lots, what expires next, and the postings."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from forecourt.db.keyset import before_key
from forecourt.ledger.models import Entry, LedgerAccount, Lot, Posting
from forecourt.ledger.points import ASSET


@dataclass(frozen=True)
class LedgerLine:
    posting_id: uuid.UUID
    occurred_at: datetime
    recorded_at: datetime
    reason: str
    memo: str
    available: int
    pending: int


def member_postings(
    session: Session,
    member_id: uuid.UUID,
    *,
    before: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[LedgerLine]:
    """The member's points postings, newest first, with what each did to available and pending."""
    account_ids = {
        purpose: account_id
        for account_id, purpose in session.execute(
            select(LedgerAccount.id, LedgerAccount.purpose).where(
                LedgerAccount.member_id == member_id, LedgerAccount.asset == ASSET
            )
        )
    }
    if not account_ids:
        return []
    query = (
        select(Posting.id, Posting.occurred_at, Posting.recorded_at, Posting.reason, Posting.memo)
        .join(Entry, Entry.posting_id == Posting.id)
        .where(Entry.account_id.in_(account_ids.values()))
        .group_by(Posting.id, Posting.occurred_at, Posting.recorded_at, Posting.reason, Posting.memo)
        .order_by(Posting.recorded_at.desc(), Posting.id.desc())
        .limit(limit)
    )
    if before is not None:
        query = query.where(before_key((Posting.recorded_at, Posting.id), before))
    postings = session.execute(query).all()
    amounts: dict[tuple[uuid.UUID, uuid.UUID], int] = {
        (posting_id, account_id): int(total)
        for posting_id, account_id, total in session.execute(
            select(Entry.posting_id, Entry.account_id, func.sum(Entry.amount))
            .where(
                Entry.posting_id.in_([row.id for row in postings]), Entry.account_id.in_(account_ids.values())
            )
            .group_by(Entry.posting_id, Entry.account_id)
        )
    }
    available_id, pending_id = account_ids.get("available"), account_ids.get("pending")
    return [
        LedgerLine(
            posting_id=row.id,
            occurred_at=row.occurred_at,
            recorded_at=row.recorded_at,
            reason=row.reason,
            memo=row.memo,
            available=amounts.get((row.id, available_id), 0) if available_id else 0,
            pending=amounts.get((row.id, pending_id), 0) if pending_id else 0,
        )
        for row in postings
    ]


def open_lots(session: Session, member_id: uuid.UUID) -> Sequence[Lot]:
    """Lots with points left, soonest expiry first (never-expiring last)."""
    return session.scalars(
        select(Lot)
        .join(LedgerAccount, LedgerAccount.id == Lot.account_id)
        .where(LedgerAccount.member_id == member_id, LedgerAccount.asset == ASSET, Lot.remaining > 0)
        .order_by(Lot.expires_at.is_(None), Lot.expires_at, Lot.created_at)
    ).all()
