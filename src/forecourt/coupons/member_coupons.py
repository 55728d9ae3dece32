"""What a member sees of coupons: their wallet of coupons (卡包) and the coupon centre (领券中心)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from forecourt.coupons import templates
from forecourt.coupons.issuance import claim_refusal, stock_period
from forecourt.coupons.models import Coupon, CouponStock, CouponTemplate
from forecourt.coupons.schemas import CentreEntry, CouponRead


def _read(coupon: Coupon, template: CouponTemplate) -> CouponRead:
    return CouponRead(
        id=coupon.id,
        code=coupon.code,
        template=template.code,
        title=template.name,
        kind=template.kind,
        status=coupon.status,
        channel=coupon.channel,
        face_value_fen=template.face_value_fen,
        valid_from=coupon.valid_from,
        expires_at=coupon.expires_at,
        used_at=coupon.used_at,
        used_station=coupon.used_station,
        description=templates.describe(template),
    )


def read_one(session: Session, coupon_id: uuid.UUID) -> CouponRead:
    coupon, template = session.execute(
        select(Coupon, CouponTemplate)
        .join(CouponTemplate, CouponTemplate.id == Coupon.template_id)
        .where(Coupon.id == coupon_id)
    ).one()
    return _read(coupon, template)


def coupons_of(session: Session, member_id: uuid.UUID, status: str, now: datetime) -> list[CouponRead]:
    """``available`` (usable or soon usable), ``used``, ``expired`` (incl. refunded after expiry), ``all``."""
    query = (
        select(Coupon, CouponTemplate)
        .join(CouponTemplate, CouponTemplate.id == Coupon.template_id)
        .where(Coupon.member_id == member_id)
    )
    if status == "available":
        query = query.where(Coupon.status == "available", Coupon.expires_at > now)
    elif status == "used":
        query = query.where(Coupon.status == "used")
    elif status == "expired":
        query = query.where(
            or_(
                Coupon.status == "refunded_expired",
                (Coupon.status == "available") & (Coupon.expires_at <= now),
            )
        )
    rows = session.execute(query.order_by(Coupon.expires_at, Coupon.id).limit(500))
    return [_read(coupon, template) for coupon, template in rows]


def centre(session: Session, member_id: uuid.UUID, now: datetime) -> list[CentreEntry]:
    """Claimable templates, with the stock left and how many the member holds; member-day coupons
    appear all month with ``open_now`` true on the 8th."""
    offered = [
        template
        for template in templates.list_templates(session, status="active")
        if template.claimable and claim_refusal(template, now) in (None, "not_open_yet", "not_member_day")
    ]
    entries: list[CentreEntry] = []
    for template in offered:
        period = stock_period(template, now)
        issued = session.scalar(
            select(CouponStock.issued).where(
                CouponStock.template_id == template.id, CouponStock.period == period
            )
        )
        held = session.scalar(
            select(func.count())
            .select_from(Coupon)
            .where(
                Coupon.template_id == template.id,
                Coupon.member_id == member_id,
                Coupon.claim_period == period,
            )
        )
        entries.append(
            CentreEntry(
                template=template.code,
                title=template.name,
                kind=template.kind,
                description=templates.describe(template),
                face_value_fen=template.face_value_fen,
                left=None if template.total_stock is None else max(template.total_stock - (issued or 0), 0),
                held=int(held or 0),
                per_member_limit=template.per_member_limit,
                claim_until=template.claim_until,
                member_day=template.member_day,
                open_now=claim_refusal(template, now) is None,
            )
        )
    return entries
