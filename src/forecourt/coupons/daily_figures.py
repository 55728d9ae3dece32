"""Coupons issued and used per business day, for the head office dashboard (aggregated in SQL)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from forecourt.coupons.models import Coupon
from forecourt.db.chain_day import chain_day, day_value, days_window

USED = ("used", "refunded_expired")


@dataclass(frozen=True)
class CouponDay:
    day: date
    issued: int
    used: int
    discount_fen: int
    """What the coupons used that day took off."""


def coupons_per_day(session: Session, first: date, last: date) -> list[CouponDay]:
    """Chain days ``first``..``last`` with coupons issued or used, oldest first."""
    start, end = days_window(first, last)
    issued_day = chain_day(session, Coupon.issued_at, at=end)
    issued = {
        day_value(value): int(count)
        for value, count in session.execute(
            select(issued_day, func.count())
            .where(Coupon.issued_at >= start, Coupon.issued_at < end)
            .group_by(issued_day)
        ).all()
    }
    used_day = chain_day(session, Coupon.used_at, at=end)
    used = {
        day_value(value): (int(count), int(discount))
        for value, count, discount in session.execute(
            select(used_day, func.count(), func.coalesce(func.sum(Coupon.discount_fen), 0))
            .where(Coupon.used_at >= start, Coupon.used_at < end, Coupon.status.in_(USED))
            .group_by(used_day)
        ).all()
    }
    return [
        CouponDay(day, issued.get(day, 0), *used.get(day, (0, 0))) for day in sorted(set(issued) | set(used))
    ]
