"""The list of printed (and partner) code batches for head office, newest first, with how many of
each batch's codes members have claimed."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from forecourt.coupons.models import Coupon, CouponBatch, CouponTemplate
from forecourt.coupons.schemas import BatchRead


def list_batches(
    session: Session, *, template: str | None = None, offset: int = 0, limit: int = 50
) -> tuple[list[BatchRead], int]:
    """One page of batches (of one template, if named) and how many there are in all."""
    claimed = (
        select(func.count())
        .select_from(Coupon)
        .where(Coupon.batch_id == CouponBatch.id, Coupon.status != "unclaimed")
        .scalar_subquery()
    )
    query = select(CouponBatch, CouponTemplate.code, claimed).join(
        CouponTemplate, CouponTemplate.id == CouponBatch.template_id
    )
    counting = select(func.count()).select_from(CouponBatch)
    if template:
        query = query.where(CouponTemplate.code == template)
        counting = counting.join(CouponTemplate, CouponTemplate.id == CouponBatch.template_id).where(
            CouponTemplate.code == template
        )
    rows = session.execute(
        query.order_by(CouponBatch.created_at.desc(), CouponBatch.id).offset(offset).limit(limit)
    ).all()
    return (
        [
            BatchRead(
                id=batch.id,
                template=code,
                channel=batch.channel,
                size=batch.size,
                note=batch.note,
                created_at=batch.created_at,
                created_by=batch.created_by,
                claimed=int(count or 0),
            )
            for batch, code, count in rows
        ],
        int(session.scalar(counting) or 0),
    )
