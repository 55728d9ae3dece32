"""The member's sales in their export; kept on erasure (no personal data, pseudonymous ids)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from forecourt.members.models import Member
from forecourt.members.pii import Pii
from forecourt.members.privacy import export_section
from forecourt.pos.models import Authorization, Sale


@export_section("sales", ("pos_sales", "pos_authorizations"))
def _sales(session: Session, pii: Pii, member: Member) -> dict[str, Any]:
    sales = session.scalars(select(Sale).where(Sale.member_id == member.id).order_by(Sale.occurred_at))
    authorizations = session.scalars(select(Authorization).where(Authorization.member_id == member.id))
    return {
        "sales": [
            {
                "id": sale.id,
                "station": sale.station_code,
                "occurred_at": sale.occurred_at,
                "status": sale.status,
                "gross_fen": sale.gross_fen,
                "discount_fen": sale.discount_fen,
                "due_fen": sale.due_fen,
                "points_earned": sale.points_earned,
                "points_redeemed": sale.points_redeemed,
                "lines": sale.document.get("lines", []),
            }
            for sale in sales
        ],
        "prepay_authorizations": [
            {
                "id": a.id,
                "status": a.status,
                "grade": a.grade,
                "amount_fen": a.amount_fen,
                "created_at": a.created_at,
            }
            for a in authorizations
        ],
    }
