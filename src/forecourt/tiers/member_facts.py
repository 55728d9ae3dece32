"""The member's tier shown with the member (``forecourt.members.facts``)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from forecourt.members.facts import MemberFacts, fact_provider
from forecourt.members.models import Member
from forecourt.tiers import service


@fact_provider
def tier_facts(session: Session, member: Member, facts: MemberFacts) -> None:
    tier = service.current(session, member.id)
    facts.tier_code, facts.tier_name = tier.code, tier.name
