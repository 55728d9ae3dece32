"""Coupon reports: the funnel issued → claimed → used, and the discount cost per funder.

Periods are chain-time dates, both ends included. The funnel counts coupons *issued* in the
period and follows them to their claim and use (whenever that happened), so the rates are those of
one cohort; cost is what the used ones took off. Funding counts coupons *used* in the period (a
refunded sale's coupon is not used): what each funder owes for its discounts — HQ, each station
for its own, each partner — and the settlement owed to partners for the coupons they verified (a
partner coupon that discounted a sale was not verified by the partner: no settlement).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Literal

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from forecourt.coupons.models import Coupon, CouponTemplate
from forecourt.coupons.schemas import FundingRow, FunnelRow
from forecourt.kit.clock import chain_zone

FunnelBy = Literal["template", "batch", "channel"]


def period_bounds(date_from: date, date_to: date) -> tuple[datetime, datetime]:
    zone = chain_zone()
    return (
        datetime.combine(date_from, time(), tzinfo=zone),
        datetime.combine(date_to + timedelta(days=1), time(), tzinfo=zone),
    )


def funnel(session: Session, by: FunnelBy, date_from: date, date_to: date) -> list[FunnelRow]:
    start, end = period_bounds(date_from, date_to)
    key = {
        "template": CouponTemplate.code,
        "batch": Coupon.batch_id,
        "channel": Coupon.channel,
    }[by]
    used = Coupon.status.in_(("used", "refunded_expired"))
    rows = session.execute(
        select(
            key,
            func.count(),
            func.count(Coupon.claimed_at),
            func.sum(case((used, 1), else_=0)),
            func.coalesce(func.sum(case((used, Coupon.discount_fen), else_=0)), 0),
        )
        .join(CouponTemplate, CouponTemplate.id == Coupon.template_id)
        .where(Coupon.issued_at >= start, Coupon.issued_at < end)
        .group_by(key)
        .order_by(key)
    )
    return [
        FunnelRow(
            key="-" if k is None else str(k),
            issued=issued,
            claimed=claimed,
            used=int(n_used or 0),
            discount_fen=int(cost),
        )
        for k, issued, claimed, n_used, cost in rows
    ]


def funding(session: Session, date_from: date, date_to: date) -> list[FundingRow]:
    start, end = period_bounds(date_from, date_to)
    verified_by_partner = (CouponTemplate.funder == "partner") & Coupon.used_sale_id.is_(None)
    settlement = case((verified_by_partner, CouponTemplate.settlement_fen), else_=0)
    station = case((CouponTemplate.funder == "station", Coupon.used_station), else_=None)
    rows = session.execute(
        select(
            CouponTemplate.funder,
            CouponTemplate.partner_code,
            station,
            func.count(),
            func.coalesce(func.sum(Coupon.discount_fen), 0),
            func.coalesce(func.sum(settlement), 0),
        )
        .join(CouponTemplate, CouponTemplate.id == Coupon.template_id)
        .where(Coupon.status == "used", Coupon.used_at >= start, Coupon.used_at < end)
        .group_by(CouponTemplate.funder, CouponTemplate.partner_code, station)
        .order_by(CouponTemplate.funder, CouponTemplate.partner_code, station)
    )
    return [
        FundingRow(
            funder=funder,
            partner_code=partner,
            station=at,
            used=used,
            discount_fen=int(cost),
            settlement_fen=int(settle),
        )
        for funder, partner, at, used, cost, settle in rows
    ]
