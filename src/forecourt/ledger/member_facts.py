"""Points shown with a member (``forecourt.members.facts``)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from forecourt.ledger import points
from forecourt.members.facts import MemberFacts, fact_provider
from forecourt.members.models import Member


@fact_provider
def points_facts(session: Session, member: Member, facts: MemberFacts) -> None:
    balances = points.balances(session, member.id)
    facts.points_available = balances.available
    facts.points_pending = balances.pending
