"""Queries of the reconciliation context."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from forecourt.payments.models import PaymentIntent, PaymentRefund
from forecourt.reconciliation.models import (
    ProviderStatement,
    ReconciliationItem,
    ReconciliationRun,
    StatementLine,
)


def statement_by_digest(session: Session, digest: str) -> ProviderStatement | None:
    return session.scalar(select(ProviderStatement).where(ProviderStatement.digest == digest))


def statements_of_day(session: Session, provider: str, day: date) -> list[ProviderStatement]:
    """Oldest import first."""
    return list(
        session.scalars(
            select(ProviderStatement)
            .where(ProviderStatement.provider == provider, ProviderStatement.business_date == day)
            .order_by(ProviderStatement.imported_at, ProviderStatement.id)
        )
    )


def providers_with_statements(session: Session, day: date) -> list[str]:
    return sorted(
        set(session.scalars(select(ProviderStatement.provider).where(ProviderStatement.business_date == day)))
    )


def lines_of(session: Session, statement_id: uuid.UUID) -> list[StatementLine]:
    return list(session.scalars(select(StatementLine).where(StatementLine.statement_id == statement_id)))


def paid_intents(session: Session, provider: str, start: datetime, end: datetime) -> list[PaymentIntent]:
    return list(
        session.scalars(
            select(PaymentIntent).where(
                PaymentIntent.provider == provider,
                PaymentIntent.paid_at >= start,
                PaymentIntent.paid_at < end,
                PaymentIntent.status.in_(("paid", "refunded")),
            )
        )
    )


def refunds(session: Session, provider: str, start: datetime, end: datetime) -> list[PaymentRefund]:
    """Refunds through the provider that it made (or is making) within the period."""
    return list(
        session.scalars(
            select(PaymentRefund)
            .join(PaymentIntent, PaymentIntent.id == PaymentRefund.intent_id)
            .where(
                PaymentIntent.provider == provider,
                PaymentRefund.status != "failed",
                or_(
                    (PaymentRefund.completed_at >= start) & (PaymentRefund.completed_at < end),
                    PaymentRefund.completed_at.is_(None)
                    & (PaymentRefund.created_at >= start)
                    & (PaymentRefund.created_at < end),
                ),
            )
        )
    )


def items_of_day(session: Session, provider: str, day: date) -> list[ReconciliationItem]:
    return list(
        session.scalars(
            select(ReconciliationItem).where(
                ReconciliationItem.provider == provider, ReconciliationItem.business_date == day
            )
        )
    )


def item_for_update(session: Session, item_id: uuid.UUID) -> ReconciliationItem | None:
    return session.scalar(
        select(ReconciliationItem).where(ReconciliationItem.id == item_id).with_for_update()
    )


def list_items(
    session: Session,
    *,
    status: str | None,
    provider: str | None,
    business_date: date | None,
    classification: str | None,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[ReconciliationItem]:
    """Newest found first, ``limit + 1`` rows."""
    query = select(ReconciliationItem)
    if status:
        query = query.where(ReconciliationItem.status == status)
    if provider:
        query = query.where(ReconciliationItem.provider == provider)
    if business_date:
        query = query.where(ReconciliationItem.business_date == business_date)
    if classification:
        query = query.where(ReconciliationItem.classification == classification)
    if after is not None:
        moment, row_id = after
        query = query.where(
            or_(
                ReconciliationItem.found_at < moment,
                (ReconciliationItem.found_at == moment) & (ReconciliationItem.id < row_id),
            )
        )
    query = query.order_by(ReconciliationItem.found_at.desc(), ReconciliationItem.id.desc())
    return list(session.scalars(query.limit(limit + 1)))


def runs(session: Session, day: date, provider: str | None) -> list[ReconciliationRun]:
    query = select(ReconciliationRun).where(ReconciliationRun.business_date == day)
    if provider:
        query = query.where(ReconciliationRun.provider == provider)
    return list(session.scalars(query.order_by(ReconciliationRun.provider)))


def count_open(session: Session, day: date, provider: str | None) -> int:
    query = select(func.count()).where(
        ReconciliationItem.status == "open", ReconciliationItem.business_date == day
    )
    if provider:
        query = query.where(ReconciliationItem.provider == provider)
    return int(session.scalar(query) or 0)
