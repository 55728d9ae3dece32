"""A member's own sales, newest first, a page at a time (the member page's history)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from forecourt.pos.models import Sale


@dataclass(frozen=True)
class MemberSale:
    id: uuid.UUID
    occurred_at: datetime
    station_code: str
    status: str
    due_fen: int
    paid_fen: int
    discount_fen: int
    refunded_fen: int
    points_earned: int
    points_redeemed: int
    fuel_liters: Decimal


def member_sales(
    session: Session, member_id: uuid.UUID, *, offset: int, limit: int
) -> tuple[list[MemberSale], int]:
    """One page of the member's sales (newest first) and how many there are in all."""
    total = session.scalar(select(func.count()).select_from(Sale).where(Sale.member_id == member_id)) or 0
    rows = session.scalars(
        select(Sale)
        .where(Sale.member_id == member_id)
        .order_by(Sale.occurred_at.desc(), Sale.id.desc())
        .offset(offset)
        .limit(limit)
    )
    return [
        MemberSale(
            id=sale.id,
            occurred_at=sale.occurred_at,
            station_code=sale.station_code,
            status=sale.status,
            due_fen=sale.due_fen,
            paid_fen=sale.paid_fen,
            discount_fen=sale.discount_fen,
            refunded_fen=sale.refunded_fen,
            points_earned=sale.points_earned,
            points_redeemed=sale.points_redeemed,
            fuel_liters=sale.fuel_liters,
        )
        for sale in rows
    ], int(total)
