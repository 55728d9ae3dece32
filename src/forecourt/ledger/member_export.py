"""The ledger's part of a member's export. Ledger rows are kept on erasure: they hold pseudonymous
ids only, and the hash chains must stay whole."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from forecourt.ledger import history, points
from forecourt.ledger.models import PointAdjustment
from forecourt.members.models import Member
from forecourt.members.pii import Pii
from forecourt.members.privacy import export_section


@export_section("points", ("ledger_accounts", "point_adjustments"))
def _points(session: Session, pii: Pii, member: Member) -> dict[str, Any]:
    balances = points.balances(session, member.id)
    return {
        "available": balances.available,
        "pending": balances.pending,
        "lots": [
            {"amount": lot.amount, "remaining": lot.remaining, "expires_at": lot.expires_at}
            for lot in history.open_lots(session, member.id)
        ],
        "postings": [
            line.__dict__ for line in history.member_postings(session, member.id, before=None, limit=100_000)
        ],
        "adjustments": [
            {
                "amount": row.amount,
                "reason": row.reason,
                "status": row.status,
                "requested_at": row.requested_at,
            }
            for row in session.scalars(select(PointAdjustment).where(PointAdjustment.member_id == member.id))
        ],
    }
