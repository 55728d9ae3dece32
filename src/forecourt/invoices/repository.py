"""Queries of the invoices context.

The POS context offers no service function listing a member's sales with their fuel lines (its
``get_transaction`` is scoped to a device's station), so the invoiceable facts are read here from
the POS tables, read-only: ``pos_sales`` (owner, status, station, time) and ``pos_sale_lines``
(fuel lines: ``paid_fen``, ``liters``, ``refunded_liters``). Nothing here writes POS rows.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from forecourt.invoices.domain import INVOICEABLE_SALE_STATUSES, FuelLine, invoiceable_fen
from forecourt.invoices.models import InvoicedSale, InvoiceRequest
from forecourt.pos.models import Sale, SaleLine


@dataclass(frozen=True)
class SaleFacts:
    sale_id: uuid.UUID
    member_id: uuid.UUID | None
    status: str
    station: str
    occurred_at: datetime
    fuel_liters: Decimal
    invoiceable_fen: int


def _fuel_lines(session: Session, sale_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, list[FuelLine]]:
    found: dict[uuid.UUID, list[FuelLine]] = {sale_id: [] for sale_id in sale_ids}
    if not sale_ids:
        return found
    rows = session.execute(
        select(SaleLine.sale_id, SaleLine.paid_fen, SaleLine.liters, SaleLine.refunded_liters).where(
            SaleLine.sale_id.in_(list(sale_ids)), SaleLine.kind == "fuel"
        )
    ).all()
    for sale_id, paid, liters, refunded in rows:
        found[sale_id].append(FuelLine(int(paid), Decimal(liters or 0), Decimal(refunded or 0)))
    return found


def _facts(session: Session, query: Select[Sale]) -> list[SaleFacts]:
    sales = list(session.scalars(query))
    lines = _fuel_lines(session, [sale.id for sale in sales])
    return [
        SaleFacts(
            sale_id=sale.id,
            member_id=sale.member_id,
            status=sale.status,
            station=sale.station_code,
            occurred_at=sale.occurred_at,
            fuel_liters=Decimal(sale.fuel_liters),
            invoiceable_fen=invoiceable_fen(lines[sale.id]),
        )
        for sale in sales
    ]


def sales_by_id(session: Session, sale_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, SaleFacts]:
    facts = _facts(session, select(Sale).where(Sale.id.in_(list(sale_ids))))
    return {fact.sale_id: fact for fact in facts}


def uninvoiced_sales(session: Session, member_id: uuid.UUID) -> list[SaleFacts]:
    """The member's completed sales not covered by any request, with something left to invoice."""
    query = (
        select(Sale)
        .outerjoin(InvoicedSale, InvoicedSale.sale_id == Sale.id)
        .where(
            Sale.member_id == member_id,
            Sale.status.in_(INVOICEABLE_SALE_STATUSES),
            Sale.fuel_liters > 0,
            InvoicedSale.sale_id.is_(None),
        )
        .order_by(Sale.occurred_at, Sale.id)
    )
    return [fact for fact in _facts(session, query) if fact.invoiceable_fen > 0]


def requests_of_member(session: Session, member_id: uuid.UUID) -> list[InvoiceRequest]:
    return list(
        session.scalars(
            select(InvoiceRequest)
            .where(InvoiceRequest.member_id == member_id)
            .order_by(InvoiceRequest.created_at.desc(), InvoiceRequest.id)
        )
    )


def request_count(session: Session, member_id: uuid.UUID) -> int:
    counted = session.scalar(
        select(func.count()).select_from(InvoiceRequest).where(InvoiceRequest.member_id == member_id)
    )
    return int(counted or 0)


def find_requests(
    session: Session,
    *,
    status: str | None = None,
    member_id: uuid.UUID | None = None,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[InvoiceRequest]:
    query = select(InvoiceRequest)
    if status is not None:
        query = query.where(InvoiceRequest.status == status)
    if member_id is not None:
        query = query.where(InvoiceRequest.member_id == member_id)
    if created_from is not None:
        query = query.where(InvoiceRequest.created_at >= created_from)
    if created_to is not None:
        query = query.where(InvoiceRequest.created_at < created_to)
    query = query.order_by(InvoiceRequest.created_at.desc(), InvoiceRequest.id).limit(limit).offset(offset)
    return list(session.scalars(query))


def get_request(session: Session, request_id: uuid.UUID, *, lock: bool = False) -> InvoiceRequest | None:
    query = select(InvoiceRequest).where(InvoiceRequest.id == request_id)
    if lock:
        query = query.with_for_update()
    return session.scalar(query)
