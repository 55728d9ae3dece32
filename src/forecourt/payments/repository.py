"""Every query of the payments context."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from forecourt.db.upsert import insert_for
from forecourt.payments.models import PaymentIntent, PaymentNotification, PaymentRefund


def intent_for_update(session: Session, intent_id: uuid.UUID) -> PaymentIntent | None:
    return session.scalar(select(PaymentIntent).where(PaymentIntent.id == intent_id).with_for_update())


def intent_by_trade_no_for_update(session: Session, out_trade_no: str) -> PaymentIntent | None:
    return session.scalar(
        select(PaymentIntent).where(PaymentIntent.out_trade_no == out_trade_no).with_for_update()
    )


def refund_by_number(session: Session, out_refund_no: str) -> PaymentRefund | None:
    return session.scalar(select(PaymentRefund).where(PaymentRefund.out_refund_no == out_refund_no))


def claim_notification(session: Session, row: dict[str, Any]) -> uuid.UUID | None:
    """Insert the notification unless (provider, notify_id) is already recorded: its id, or None."""
    statement = (
        insert_for(session, PaymentNotification)
        .values(**row)
        .on_conflict_do_nothing(index_elements=["provider", "notify_id"])
        .returning(PaymentNotification.id)
    )
    found: uuid.UUID | None = session.execute(statement).scalar()
    return found


def notification_for_update(session: Session, provider: str, notify_id: str) -> PaymentNotification | None:
    return session.scalar(
        select(PaymentNotification)
        .where(PaymentNotification.provider == provider, PaymentNotification.notify_id == notify_id)
        .with_for_update()
    )


def list_intents(
    session: Session,
    *,
    member_id: uuid.UUID | None,
    status: str | None,
    provider: str | None,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[PaymentIntent]:
    query = select(PaymentIntent)
    if member_id is not None:
        query = query.where(PaymentIntent.member_id == member_id)
    if status is not None:
        query = query.where(PaymentIntent.status == status)
    if provider is not None:
        query = query.where(PaymentIntent.provider == provider)
    if after is not None:
        moment, last_id = after
        query = query.where(
            or_(
                PaymentIntent.created_at < moment,
                and_(PaymentIntent.created_at == moment, PaymentIntent.id < last_id),
            )
        )
    query = query.order_by(PaymentIntent.created_at.desc(), PaymentIntent.id.desc()).limit(limit + 1)
    return list(session.scalars(query))


def refunds_of(session: Session, intent_id: uuid.UUID) -> list[PaymentRefund]:
    return list(
        session.scalars(
            select(PaymentRefund)
            .where(PaymentRefund.intent_id == intent_id)
            .order_by(PaymentRefund.created_at)
        )
    )


def top_ups_since(session: Session, member_id: uuid.UUID, since: datetime) -> list[tuple[datetime, int]]:
    """(created_at, amount) of the member's top-up intents since ``since`` not failed or closed."""
    rows = session.execute(
        select(PaymentIntent.created_at, PaymentIntent.amount_fen).where(
            PaymentIntent.member_id == member_id,
            PaymentIntent.purpose == "top_up",
            PaymentIntent.created_at >= since,
            PaymentIntent.status.not_in(("failed", "closed")),
        )
    ).all()
    return [(moment, int(amount)) for moment, amount in rows]
