"""Using coupons (C5, C6): what the checkout may use, consuming them with the sale, giving them back
on a refund, and verification (核销) of standalone vouchers by a station or a partner.

A coupon moves from ``available`` to ``used`` by one conditional update in the sale's transaction:
of two sales racing for one coupon, exactly one commits. A fully refunded sale gives its coupons
back if they are still valid, otherwise they are recorded ``refunded_expired`` [seed 002].
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from forecourt.audit import service as audit
from forecourt.config import get_settings
from forecourt.coupons import repository, templates
from forecourt.coupons.domain import Applied, CouponOffer, HeldCoupon, Occasion, occasion_refusal
from forecourt.coupons.errors import (
    CouponAlreadyUsed,
    CouponExpired,
    CouponNotApplicable,
    CouponNotFound,
    CouponNotVerifiable,
    PartnerAccountRequired,
)
from forecourt.coupons.issuance import normalise_code
from forecourt.coupons.models import Coupon, CouponTemplate
from forecourt.coupons.schemas import VerifyResult
from forecourt.kit.actor import Actor
from forecourt.kit.clock import to_chain_time


def _held(coupon: Coupon, template: CouponTemplate) -> HeldCoupon:
    """(A coupon without dates was never claimed: it counts as expired.)"""
    return HeldCoupon(
        id=coupon.id,
        template=template.code,
        title=template.name,
        terms=templates.terms_of(template),
        valid_from=coupon.valid_from or coupon.issued_at,
        expires_at=coupon.expires_at or coupon.issued_at,
    )


def occasion(at: datetime, station: str, region: str, tier: str) -> Occasion:
    return Occasion(at=at, local=to_chain_time(at), station=station, region=region, tier=tier)


def held_coupons(session: Session, member_id: uuid.UUID, at: datetime) -> list[HeldCoupon]:
    """The member's available coupons that have not expired at ``at``, first-expiring first.
    A partner's vouchers are left out: they pay for the partner's service (its car wash), so only
    the partner verifies them; partner-funded discounts on a sale are used at the pump like others."""
    return [
        _held(coupon, template) for coupon, template in repository.usable_coupons_of(session, member_id, at)
    ]


def usable_now(session: Session, member_id: uuid.UUID, where: Occasion) -> list[HeldCoupon]:
    """What the attendant sees on identify: coupons usable here and now (before the basket)."""
    return [c for c in held_coupons(session, member_id, where.at) if occasion_refusal(c, where) is None]


def _named(
    session: Session, member_id: uuid.UUID, ids: Sequence[uuid.UUID], at: datetime
) -> list[HeldCoupon]:
    rows = repository.member_coupons_by_id(session, member_id, ids)
    named: list[HeldCoupon] = []
    for coupon_id in dict.fromkeys(ids):
        found = rows.get(coupon_id)
        if found is None:
            raise CouponNotFound(coupon_id=str(coupon_id))
        coupon, template = found
        if coupon.status == "used":
            raise CouponAlreadyUsed(coupon_id=str(coupon_id))
        if coupon.status != "available" or (coupon.expires_at is not None and coupon.expires_at <= at):
            raise CouponExpired(coupon_id=str(coupon_id), status=coupon.status)
        if template.funder == "partner" and template.kind == "voucher":
            raise CouponNotApplicable(coupon_id=str(coupon_id), reason="partner_only")
        named.append(_held(coupon, template))
    return named


def offer(
    session: Session,
    member_id: uuid.UUID,
    wanted: str | Sequence[uuid.UUID],
    where: Occasion,
) -> CouponOffer | None:
    """The coupon stage's input for a sale: all usable coupons for ``auto``, the named ones otherwise."""
    if not wanted:
        return None
    auto = wanted == "auto"
    return CouponOffer(
        held=tuple(held_coupons(session, member_id, where.at)) if auto else (),
        chosen=() if isinstance(wanted, str) else tuple(_named(session, member_id, list(wanted), where.at)),
        occasion=where,
        max_per_order=get_settings().coupons_per_order,
    )


def use(
    session: Session,
    applied: Sequence[Applied],
    *,
    member_id: uuid.UUID,
    sale_id: uuid.UUID,
    station: str,
    used_by: str,
    at: datetime,
) -> None:
    """Consume the sale's coupons; a coupon used meanwhile by another sale fails this one."""
    for item in applied:
        done = repository.use_coupon(
            session,
            item.coupon.id,
            member_id,
            sale_id=sale_id,
            station=station,
            used_by=used_by,
            at=at,
            discount_fen=item.amount_fen,
        )
        if not done:
            raise CouponAlreadyUsed(coupon_id=str(item.coupon.id))


def return_for_refund(session: Session, sale_id: uuid.UUID, now: datetime) -> list[tuple[uuid.UUID, str]]:
    """A fully refunded sale's coupons: back to ``available`` while still valid, else
    ``refunded_expired``; coupons a rule granted for the sale are voided if still unused (buying and
    refunding must not farm coupons). Returns (coupon id, new status)."""
    coupons = repository.used_by_sale(session, sale_id)
    result: list[tuple[uuid.UUID, str]] = []
    for coupon in coupons:
        valid = coupon.expires_at is not None and coupon.expires_at > now
        coupon.status = "available" if valid else "refunded_expired"
        coupon.returned_at = now
        if valid:
            coupon.used_at = coupon.used_sale_id = coupon.used_station = coupon.used_by = None
            coupon.discount_fen = None
        result.append((coupon.id, coupon.status))
    granted = repository.unused_granted_by_sale(session, sale_id)
    for coupon in granted:
        coupon.status = "void"
        coupon.returned_at = now
        result.append((coupon.id, coupon.status))
    session.flush()
    return result


def verify(
    session: Session,
    code: str,
    *,
    station: str | None,
    region: str,
    actor: Actor,
    now: datetime,
    partner_code: str | None = None,
) -> VerifyResult:
    """核销 a standalone voucher (car wash …) by its code: at a station in its scope, or by the
    partner whose coupon it is (recording the settlement price). Coupons that discount a sale are
    used at the pump, not verified. Audited: who verified which coupon, where."""
    row = repository.coupon_by_code_for_update(session, normalise_code(code))
    if row is None or row[0].member_id is None:
        raise CouponNotFound(code="***")
    coupon, template = row
    if coupon.status == "used":  # a scan repeated at the console: say when and where it was used
        raise CouponAlreadyUsed(
            coupon_id=str(coupon.id),
            used_at=coupon.used_at.isoformat() if coupon.used_at else None,
            used_station=coupon.used_station,
        )
    if coupon.status != "available" or coupon.expires_at is None or coupon.expires_at <= now:
        raise CouponExpired(coupon_id=str(coupon.id), status=coupon.status)
    if partner_code is not None:
        if template.funder != "partner" or template.partner_code != partner_code:
            raise CouponNotVerifiable(coupon_id=str(coupon.id), reason="not_partner")
        if template.kind != "voucher":
            raise CouponNotVerifiable(coupon_id=str(coupon.id), reason="needs_sale")
    else:
        if template.kind != "voucher":
            raise CouponNotVerifiable(coupon_id=str(coupon.id), reason="needs_sale")
        if template.funder == "partner":
            raise PartnerAccountRequired(coupon_id=str(coupon.id))
    held = _held(coupon, template)
    if station is not None:
        reason = occasion_refusal(held, Occasion(now, to_chain_time(now), station, region, tier=""))
        if reason is not None and reason != "wrong_tier":
            raise CouponNotVerifiable(coupon_id=str(coupon.id), reason=reason)
    elif coupon.valid_from is not None and coupon.valid_from > now:
        raise CouponNotVerifiable(coupon_id=str(coupon.id), reason="not_yet_valid")
    settlement = template.settlement_fen if partner_code is not None else None
    coupon.status = "used"
    coupon.used_at = now
    coupon.used_station = station
    coupon.used_by = actor.label
    coupon.discount_fen = template.face_value_fen
    session.flush()
    audit.record(
        session,
        actor,
        "coupon.verify",
        "coupon",
        coupon.id,
        after={
            "template": template.code,
            "station": station,
            "partner": partner_code,
            "settlement_fen": settlement,
        },
    )
    return VerifyResult(
        coupon_id=coupon.id,
        template=template.code,
        title=template.name,
        used_at=now,
        station=station,
        settlement_fen=settlement,
    )
