"""The rewards part of a member's export; kept on erasure (no personal data, pseudonymous ids)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from forecourt.members.models import Member
from forecourt.members.pii import Pii
from forecourt.members.privacy import export_section
from forecourt.rules.models import CheckIn, RewardGrant, RuleUsage, TaskProgress


@export_section("rewards", ("reward_grants", "member_check_ins", "rule_usage", "task_progress"))
def _rewards(session: Session, pii: Pii, member: Member) -> dict[str, Any]:
    def rows(model: Any) -> list[Any]:
        return list(session.scalars(select(model).where(model.member_id == member.id)))

    return {
        "rewards": [
            {"rule": r.rule_code, "points": r.points, "status": r.status, "granted_at": r.granted_at}
            for r in rows(RewardGrant)
        ],
        "check_ins": [{"day": c.day, "streak": c.streak, "points": c.points} for c in rows(CheckIn)],
        "capped_rule_usage": [
            {"rule": u.rule_code, "period": u.period, "points": u.points} for u in rows(RuleUsage)
        ],
        "task_progress": [
            {"rule": t.rule_code, "period": t.period, "amount_centi": t.amount_centi}
            for t in rows(TaskProgress)
        ],
    }
