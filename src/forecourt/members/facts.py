"""What other capabilities know about a member, shown with the member: points, tier, wallet.

The points ledger, tiers and wallet register providers here as they land; until one does, a
member has no points, the entry tier and an empty wallet.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from forecourt.members.models import Member


@dataclass
class MemberFacts:
    points_available: int = 0
    points_pending: int = 0
    tier_code: str = "regular"
    tier_name: str = "普通"
    wallet_balance_fen: int = 0
    extra: dict[str, object] = field(default_factory=dict)


FactProvider = Callable[[Session, Member, MemberFacts], None]
PROVIDERS: list[FactProvider] = []
PROVIDER_MODULES = (
    "forecourt.ledger.member_facts",
    "forecourt.tiers.member_facts",
    "forecourt.wallet.member_facts",
)
"""Modules whose import registers providers (imported on first use)."""


def fact_provider(function: FactProvider) -> FactProvider:
    PROVIDERS.append(function)
    return function


def facts_of(session: Session, member: Member) -> MemberFacts:
    for module in PROVIDER_MODULES:
        importlib.import_module(module)
    facts = MemberFacts()
    for provide in PROVIDERS:
        provide(session, member, facts)
    return facts
