"""The tier part of a member's export; kept on erasure (no personal data, pseudonymous ids)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from forecourt.kit.clock import utcnow
from forecourt.members.models import Member
from forecourt.members.pii import Pii
from forecourt.members.privacy import export_section
from forecourt.tiers import service
from forecourt.tiers.models import TierActivity


@export_section("tier", ("member_tiers", "tier_activity", "tier_history"))
def _tier(session: Session, pii: Pii, member: Member) -> dict[str, Any]:
    progress = service.progress(session, member.id, utcnow())
    return {
        "tier": progress.tier.code,
        "qualifying_value": progress.value,
        "grace_until": progress.grace_until,
        "manual_until": progress.manual_until,
        "history": [
            {"from": c.from_code, "to": c.to_code, "reason": c.reason, "at": c.occurred_at}
            for c in service.history(session, member.id)
        ],
        "activity": [
            {
                "occurred_at": a.occurred_at,
                "money_paid_fen": a.money_paid_fen,
                "liters_centi": a.liters_centi,
                "visits": a.visits,
                "points_earned": a.points_earned,
            }
            for a in session.scalars(select(TierActivity).where(TierActivity.member_id == member.id))
        ],
    }
