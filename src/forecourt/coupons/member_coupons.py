"""What a member sees of coupons: their wallet of coupons (卡包) and the coupon centre (领券中心)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.orm import Session

from forecourt.coupons import repository, templates
from forecourt.coupons.issuance import claim_refusal, stock_period
from forecourt.coupons.models import Coupon, CouponTemplate
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
    return _read(*repository.coupon_with_template(session, coupon_id))


def coupons_of(session: Session, member_id: uuid.UUID, status: str, now: datetime) -> list[CouponRead]:
    """``available`` (usable or soon usable), ``used``, ``expired`` (incl. refunded after expiry), ``all``."""
    rows = repository.coupons_of(session, member_id, status, now, limit=500)
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
        issued = repository.issued_in_period(session, template.id, period)
        held = repository.count_held_in_period(session, template.id, member_id, period)
        entries.append(
            CentreEntry(
                template=template.code,
                title=template.name,
                kind=template.kind,
                description=templates.describe(template),
                face_value_fen=template.face_value_fen,
                left=None if template.total_stock is None else max(template.total_stock - issued, 0),
                held=held,
                per_member_limit=template.per_member_limit,
                claim_until=template.claim_until,
                member_day=template.member_day,
                open_now=claim_refusal(template, now) is None,
            )
        )
    return entries
