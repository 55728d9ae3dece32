"""The wallet's part of what is shown with a member."""

from __future__ import annotations

from sqlalchemy.orm import Session

from forecourt.members.facts import MemberFacts, fact_provider
from forecourt.members.models import Member
from forecourt.wallet import service


@fact_provider
def _wallet(session: Session, member: Member, facts: MemberFacts) -> None:
    facts.wallet_balance_fen = service.balances(session, member.id).total_fen
