"""The risk part of a member's export: decisions taken about them (the member's right to know why
a payment was refused); kept on erasure (no personal data)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from forecourt.members.models import Member
from forecourt.members.pii import Pii
from forecourt.members.privacy import export_section
from forecourt.risk.models import RiskDecision


@export_section("risk", ("risk_decisions",))
def _risk(session: Session, pii: Pii, member: Member) -> dict[str, Any]:
    decisions = session.scalars(
        select(RiskDecision).where(RiskDecision.member_id == member.id).order_by(RiskDecision.decided_at)
    )
    return {
        "risk_decisions": [
            {"action": d.action, "outcome": d.outcome, "rule": d.rule, "decided_at": d.decided_at}
            for d in decisions
        ]
    }
