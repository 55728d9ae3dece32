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

from sqlalchemy.orm import Session

from forecourt.coupons import repository
from forecourt.coupons.schemas import FundingRow, FunnelRow
from forecourt.kit.clock import chain_zone


def period_bounds(date_from: date, date_to: date) -> tuple[datetime, datetime]:
    zone = chain_zone()
    return (
        datetime.combine(date_from, time(), tzinfo=zone),
        datetime.combine(date_to + timedelta(days=1), time(), tzinfo=zone),
    )


def funnel(session: Session, by: repository.FunnelBy, date_from: date, date_to: date) -> list[FunnelRow]:
    start, end = period_bounds(date_from, date_to)
    return [
        FunnelRow(
            key="-" if k is None else str(k),
            issued=issued,
            claimed=claimed,
            used=int(n_used or 0),
            discount_fen=int(cost),
        )
        for k, issued, claimed, n_used, cost in repository.funnel_totals(session, by, start, end)
    ]


def funding(session: Session, date_from: date, date_to: date) -> list[FundingRow]:
    start, end = period_bounds(date_from, date_to)
    return [
        FundingRow(
            funder=funder,
            partner_code=partner,
            station=at,
            used=used,
            discount_fen=int(cost),
            settlement_fen=int(settle),
        )
        for funder, partner, at, used, cost, settle in repository.funding_totals(session, start, end)
    ]
