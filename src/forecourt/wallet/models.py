"""Wallet tables: the top-up bonus tiers and a record of every top-up. Balances live on the ledger
(asset ``cny``: each member's ``principal`` and ``bonus`` accounts)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from forecourt.db.base import Base
from forecourt.kit.ids import new_id


class WalletBonusTier(Base):
    __tablename__ = "wallet_bonus_tiers"

    min_fen: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    bonus_fen: Mapped[int] = mapped_column(BigInteger)


class WalletTopUp(Base):
    """Money put into a member's wallet: at a counter (cash, card), by bank transfer, or paid online."""

    __tablename__ = "wallet_top_ups"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    member_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("members.id"))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    bonus_fen: Mapped[int] = mapped_column(BigInteger)
    method: Mapped[str] = mapped_column(String(24))
    reference: Mapped[str | None] = mapped_column(String(100))
    station: Mapped[str | None] = mapped_column(String(32))
    posting_id: Mapped[uuid.UUID]
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(140))

    __table_args__ = (Index("ix_wallet_top_ups_member", "member_id", "created_at"),)


class RechargeCardBatch(Base):
    """Prepaid recharge cards printed together (each with a code and a PIN)."""

    __tablename__ = "recharge_card_batches"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    face_fen: Mapped[int] = mapped_column(BigInteger)
    size: Mapped[int]
    note: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(140))


class RechargeCard(Base):
    """``issued`` (printed, not yet sold) → ``active`` (sold and activated) → ``redeemed`` into a
    wallet, once; or ``void``. The PIN is kept as a keyed digest only."""

    __tablename__ = "recharge_cards"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    batch_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("recharge_card_batches.id"))
    code: Mapped[str] = mapped_column(String(24), unique=True)
    pin_digest: Mapped[str] = mapped_column(String(64))
    face_fen: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16))
    activated_at: Mapped[datetime | None]
    activated_by: Mapped[str | None] = mapped_column(String(140))
    redeemed_at: Mapped[datetime | None]
    member_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("members.id"))
    failed_attempts: Mapped[int]

    __table_args__ = (Index("ix_recharge_cards_batch", "batch_id"),)
