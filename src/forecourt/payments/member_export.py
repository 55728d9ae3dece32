"""The payments part of a member's export; kept on erasure (finance's record of money received)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from forecourt.members.models import Member
from forecourt.members.pii import Pii
from forecourt.members.privacy import export_section
from forecourt.payments.models import PaymentIntent


@export_section("payments", ("payment_intents",))
def _payments(session: Session, pii: Pii, member: Member) -> dict[str, Any]:
    intents = session.scalars(
        select(PaymentIntent).where(PaymentIntent.member_id == member.id).order_by(PaymentIntent.created_at)
    )
    return {
        "payments": [
            {
                "purpose": i.purpose,
                "provider": i.provider,
                "amount_fen": i.amount_fen,
                "refunded_fen": i.refunded_fen,
                "status": i.status,
                "created_at": i.created_at,
                "paid_at": i.paid_at,
            }
            for i in intents
        ]
    }
