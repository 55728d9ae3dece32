"""Payment tables: intents (money we ask a provider to collect) and the provider's notifications.

An intent is created before the member pays; the provider's notification (verified, possibly twice,
possibly out of order) moves it to ``paid`` exactly once, and what it paid for (a wallet top-up)
happens in that same transaction, keyed by the intent so it happens once.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from forecourt.db.base import Base
from forecourt.db.types import JSONDocument
from forecourt.kit.ids import new_id


class PaymentIntent(Base):
    __tablename__ = "payment_intents"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    out_trade_no: Mapped[str] = mapped_column(String(32), unique=True)
    """Our order number as the provider knows it."""
    member_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("members.id"))
    purpose: Mapped[str] = mapped_column(String(16))
    """``top_up`` (into the wallet) or ``sale``."""
    provider: Mapped[str] = mapped_column(String(16))
    """``wechat``, ``alipay``, ``unionpay`` or ``sandbox``."""
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    refunded_fen: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16))
    """``created`` → ``paid`` | ``failed`` | ``closed``; a paid one may be ``refunded`` (in part or whole)."""
    provider_txn_id: Mapped[str | None] = mapped_column(String(64))
    station: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime]
    paid_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    details: Mapped[dict[str, Any]] = mapped_column(JSONDocument)

    __table_args__ = (
        Index("ix_payment_intents_member", "member_id", "created_at"),
        Index("ix_payment_intents_paid_at", "provider", "paid_at"),
    )


class PaymentNotification(Base):
    """A provider's notification as received: kept whether or not it verified, handled once."""

    __tablename__ = "payment_notifications"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    provider: Mapped[str] = mapped_column(String(16))
    notify_id: Mapped[str] = mapped_column(String(96))
    """The provider's id of the notification (or of the event): a repeat is recognised by it."""
    intent_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("payment_intents.id"))
    event: Mapped[str] = mapped_column(String(32))
    verified: Mapped[bool]
    outcome: Mapped[str] = mapped_column(String(32))
    received_at: Mapped[datetime]
    body: Mapped[dict[str, Any]] = mapped_column(JSONDocument)

    __table_args__ = (UniqueConstraint("provider", "notify_id"),)


class PaymentRefund(Base):
    """Money sent back through the provider that collected it (W4)."""

    __tablename__ = "payment_refunds"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    intent_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("payment_intents.id"))
    out_refund_no: Mapped[str] = mapped_column(String(32), unique=True)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16))
    """``requested`` → ``succeeded`` | ``failed``."""
    reason: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]
    completed_at: Mapped[datetime | None]
