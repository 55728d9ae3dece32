"""A station's sales of one chain business day, for the station console's shift report.

The day is the chain's (``Asia/Shanghai`` by default): sales whose ``occurred_at`` falls in
[00:00, 24:00) local time. Figures are as committed: refunds are reported beside them
(``refunded_fen``), not netted out. Litres are per grade from the sale lines; money by payment
method from the sale's payment rows (the wallet's parts appear as ``wallet``, ``wallet_bonus`` and
``fuel_credit``). Coupons used are the coupon discounts the sales carried.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from forecourt.kit.clock import chain_zone
from forecourt.pos.models import Sale, SaleLine, SalePayment


@dataclass(frozen=True)
class ShiftTotals:
    day: date
    sales: int
    gross_fen: int
    discount_fen: int
    due_fen: int
    wallet_fen: int
    refunded_fen: int
    points_earned: int
    points_redeemed: int
    coupons_used: int
    liters_by_grade: dict[str, Decimal]
    paid_by_method: dict[str, int]


@dataclass(frozen=True)
class ShiftSale:
    id: uuid.UUID
    pos_txn_id: str
    occurred_at: datetime
    member: bool
    fuel_liters: Decimal
    gross_fen: int
    discount_fen: int
    due_fen: int
    points_earned: int
    points_redeemed: int
    status: str


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The UTC moments where the chain's business day ``day`` begins and ends."""
    zone = chain_zone()
    start = datetime.combine(day, time(0), tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def _of_day(station_id: uuid.UUID, day: date) -> list[ColumnElement[bool]]:
    start, end = day_bounds(day)
    return [Sale.station_id == station_id, Sale.occurred_at >= start, Sale.occurred_at < end]


def shift_totals(session: Session, station_id: uuid.UUID, day: date) -> ShiftTotals:
    where = _of_day(station_id, day)
    row = session.execute(
        select(
            func.count(Sale.id),
            func.coalesce(func.sum(Sale.gross_fen), 0),
            func.coalesce(func.sum(Sale.discount_fen), 0),
            func.coalesce(func.sum(Sale.due_fen), 0),
            func.coalesce(func.sum(Sale.wallet_fen), 0),
            func.coalesce(func.sum(Sale.refunded_fen), 0),
            func.coalesce(func.sum(Sale.points_earned), 0),
            func.coalesce(func.sum(Sale.points_redeemed), 0),
        ).where(*where)
    ).one()
    liters = session.execute(
        select(SaleLine.grade, func.sum(SaleLine.liters))
        .join(Sale, Sale.id == SaleLine.sale_id)
        .where(*where, SaleLine.kind == "fuel")
        .group_by(SaleLine.grade)
        .order_by(SaleLine.grade)
    ).all()
    payments = session.execute(
        select(SalePayment.method, func.sum(SalePayment.amount_fen))
        .join(Sale, Sale.id == SalePayment.sale_id)
        .where(*where)
        .group_by(SalePayment.method)
        .order_by(SalePayment.method)
    ).all()
    documents = session.scalars(select(Sale.document).where(*where, Sale.discount_fen > 0))
    coupons_used = sum(
        len({d.get("ref") for d in document.get("discounts", ()) if d.get("source") == "coupon"})
        for document in documents
    )
    return ShiftTotals(
        day=day,
        sales=int(row[0]),
        gross_fen=int(row[1]),
        discount_fen=int(row[2]),
        due_fen=int(row[3]),
        wallet_fen=int(row[4]),
        refunded_fen=int(row[5]),
        points_earned=int(row[6]),
        points_redeemed=int(row[7]),
        coupons_used=coupons_used,
        liters_by_grade={grade or "": Decimal(value or 0) for grade, value in liters},
        paid_by_method={method: int(amount or 0) for method, amount in payments if amount},
    )


def shift_sales(
    session: Session, station_id: uuid.UUID, day: date, *, offset: int, limit: int
) -> tuple[Sequence[ShiftSale], int]:
    """One page of the day's sales, latest first, and how many there are."""
    where = _of_day(station_id, day)
    total = int(session.scalar(select(func.count(Sale.id)).where(*where)) or 0)
    rows = session.scalars(
        select(Sale).where(*where).order_by(Sale.occurred_at.desc(), Sale.id).offset(offset).limit(limit)
    )
    return [
        ShiftSale(
            id=sale.id,
            pos_txn_id=sale.pos_txn_id,
            occurred_at=sale.occurred_at,
            member=sale.member_id is not None,
            fuel_liters=sale.fuel_liters,
            gross_fen=sale.gross_fen,
            discount_fen=sale.discount_fen,
            due_fen=sale.due_fen,
            points_earned=sale.points_earned,
            points_redeemed=sale.points_redeemed,
            status=sale.status,
        )
        for sale in rows
    ], total
