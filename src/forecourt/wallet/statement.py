"""The member's wallet statement: their latest wallet movements (top-ups, payments, refunds, fuel
credit), newest first, as the member page shows them."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from forecourt.ledger.statement import StatementLine, member_statement
from forecourt.wallet.service import ASSET


def recent_entries(session: Session, member_id: uuid.UUID, *, limit: int = 20) -> list[StatementLine]:
    """Each line's ``amounts`` by account: ``principal``, ``bonus``, ``fuel_credit``."""
    return member_statement(session, member_id, ASSET, limit=limit)
