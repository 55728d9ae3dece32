from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from forecourt.db.base import Base
from forecourt.kit.ids import new_id


class Sale(Base):
    """A committed sale at a station (a POS transaction). ``document`` is the answer the POS got
    at commit (lines, discounts, points, receipt), kept whole so ``GET`` returns exactly that."""

    __tablename__ = "pos_sales"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    station_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("stations.id"))
    station_code: Mapped[str] = mapped_column(String(32))
    pos_txn_id: Mapped[str] = mapped_column(String(64))
    device_id: Mapped[uuid.UUID | None]
    member_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("members.id"))
    authorization_id: Mapped[uuid.UUID | None]
    occurred_at: Mapped[datetime]
    recorded_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(20))
    """``completed``, ``partially_refunded`` or ``refunded``."""
    tier_code: Mapped[str | None] = mapped_column(String(32))
    gross_fen: Mapped[int] = mapped_column(BigInteger)
    discount_fen: Mapped[int] = mapped_column(BigInteger)
    points_redeemed: Mapped[int] = mapped_column(BigInteger)
    wallet_fen: Mapped[int] = mapped_column(BigInteger)
    due_fen: Mapped[int] = mapped_column(BigInteger)
    paid_fen: Mapped[int] = mapped_column(BigInteger)
    """What earns points: external payment plus wallet principal (SPEC §5)."""
    points_earned: Mapped[int] = mapped_column(BigInteger)
    fuel_liters: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    earn_posting_id: Mapped[uuid.UUID | None]
    redeem_posting_id: Mapped[uuid.UUID | None]
    refunded_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    document: Mapped[dict[str, Any]]

    __table_args__ = (
        UniqueConstraint("station_id", "pos_txn_id"),
        Index("ix_pos_sales_member_id_occurred_at", "member_id", "occurred_at"),
        Index("ix_pos_sales_occurred_at", "occurred_at"),
    )


class SaleLine(Base):
    __tablename__ = "pos_sale_lines"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    sale_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("pos_sales.id"))
    line_id: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(8))
    grade: Mapped[str | None] = mapped_column(String(8))
    sku: Mapped[str | None] = mapped_column(String(64))
    category: Mapped[str] = mapped_column(String(32))
    liters: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    quantity: Mapped[int | None]
    unit_price_fen: Mapped[int] = mapped_column(BigInteger)
    gross_fen: Mapped[int] = mapped_column(BigInteger)
    discount_fen: Mapped[int] = mapped_column(BigInteger)
    net_fen: Mapped[int] = mapped_column(BigInteger)
    points_fen: Mapped[int] = mapped_column(BigInteger)
    """The part of the line paid with points (a point is worth one fen)."""
    paid_fen: Mapped[int] = mapped_column(BigInteger)
    """The part that earns points: net less any wallet bonus money."""
    refunded_liters: Mapped[Decimal] = mapped_column(Numeric(10, 2), default=Decimal(0))
    refunded_quantity: Mapped[int] = mapped_column(default=0)

    __table_args__ = (UniqueConstraint("sale_id", "line_id"),)


class SalePayment(Base):
    __tablename__ = "pos_sale_payments"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    sale_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("pos_sales.id"), index=True)
    method: Mapped[str] = mapped_column(String(16))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    refunded_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    reference: Mapped[str | None] = mapped_column(String(64), index=True)
    """The provider's order number of a QR-code or card payment (what its bill lists), for
    reconciliation."""


class SaleRefund(Base):
    __tablename__ = "pos_refunds"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    sale_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("pos_sales.id"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    full: Mapped[bool]
    refunded_fen: Mapped[int] = mapped_column(BigInteger)
    points_clawed_back: Mapped[int] = mapped_column(BigInteger)
    points_returned: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime]
    document: Mapped[dict[str, Any]]


class Authorization(Base):
    """A prepay at the pump: the price and discounts are fixed when the driver pays in advance;
    the sale is completed on the litres actually dispensed, or the authorization is cancelled or
    expires (30 minutes)."""

    __tablename__ = "pos_authorizations"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    station_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("stations.id"))
    device_id: Mapped[uuid.UUID | None]
    member_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("members.id"))
    status: Mapped[str] = mapped_column(String(16))
    """``open``, ``completed``, ``cancelled`` or ``expired``."""
    grade: Mapped[str] = mapped_column(String(8))
    nozzle: Mapped[str | None] = mapped_column(String(8))
    unit_price_fen: Mapped[int] = mapped_column(BigInteger)
    fuel_discount_bp: Mapped[int]
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    """What the driver prepaid: the pump stops there."""
    payment_method: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)
    closed_at: Mapped[datetime | None]
    sale_id: Mapped[uuid.UUID | None]
    request: Mapped[dict[str, Any]]
