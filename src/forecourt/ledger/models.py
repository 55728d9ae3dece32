"""Accounts, postings, entries and lots of the double-entry ledger.

Member accounts keep a cached balance (checked never to go below zero) and the head of their hash
chain; program accounts keep neither, so no row is updated by every posting (their balances are
sums of entries). Postings and entries are never updated or deleted.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, Date, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from forecourt.db.base import Base
from forecourt.kit.ids import new_id

GENESIS = "0" * 64


class LedgerAccount(Base):
    __tablename__ = "ledger_accounts"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    code: Mapped[str] = mapped_column(String(80), unique=True)
    """``points:member:<member id>:available``, ``points:program:issuance`` …: pseudonymous only."""
    asset: Mapped[str] = mapped_column(String(16))
    purpose: Mapped[str] = mapped_column(String(24))
    member_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("members.id"))
    balance: Mapped[int] = mapped_column(BigInteger, default=0)
    """Cached for member accounts (never below zero); unused (0) for program accounts."""
    head_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    head_hash: Mapped[str] = mapped_column(String(64), default=GENESIS)
    created_at: Mapped[datetime]

    __table_args__ = (Index("ix_ledger_accounts_member_id", "member_id"),)

    @property
    def is_member(self) -> bool:
        return self.member_id is not None


class Posting(Base):
    """One balanced movement: its entries sum to zero. Signed, idempotent, never edited."""

    __tablename__ = "ledger_postings"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    asset: Mapped[str] = mapped_column(String(16))
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    reason: Mapped[str] = mapped_column(String(48))
    actor: Mapped[str] = mapped_column(String(140))
    occurred_at: Mapped[datetime]
    recorded_at: Mapped[datetime]
    reverses_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("ledger_postings.id"))
    memo: Mapped[str] = mapped_column(String(200), default="")
    station_code: Mapped[str | None] = mapped_column(String(32))
    """The station a sale-related posting belongs to (for earn/burn by station)."""
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)
    fingerprint: Mapped[str] = mapped_column(String(64))
    """Digest of what was asked for, to tell a retry from a different request with the same key."""
    content_hash: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(String(128))
    key_id: Mapped[str] = mapped_column(String(32))

    __table_args__ = (
        Index("ix_ledger_postings_occurred_at", "occurred_at"),
        Index("ix_ledger_postings_recorded_at", "recorded_at"),
        Index("ix_ledger_postings_reverses_id", "reverses_id"),
    )


class Entry(Base):
    __tablename__ = "ledger_entries"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    posting_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("ledger_postings.id"))
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("ledger_accounts.id"))
    amount: Mapped[int] = mapped_column(BigInteger)
    seq: Mapped[int | None] = mapped_column(BigInteger)
    """Position in the member account's chain (program accounts are not chained)."""
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    hash: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (
        Index("ix_ledger_entries_posting_id", "posting_id"),
        Index("ix_ledger_entries_account_id_seq", "account_id", "seq"),
        Index(
            "uq_ledger_entries_account_chain",
            "account_id",
            "seq",
            unique=True,
            sqlite_where=text("seq IS NOT NULL"),
            postgresql_where=text("seq IS NOT NULL"),
        ),
    )


class Lot(Base):
    """Value that arrived in a member account together, with its expiry; spent earliest-expiring first."""

    __tablename__ = "ledger_lots"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("ledger_accounts.id"))
    posting_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("ledger_postings.id"))
    amount: Mapped[int] = mapped_column(BigInteger)
    remaining: Mapped[int] = mapped_column(BigInteger)
    expires_at: Mapped[datetime | None]
    """None: never expires (e.g. the top tier's benefit)."""
    created_at: Mapped[datetime]

    __table_args__ = (
        Index("ix_ledger_lots_account_id_expires_at", "account_id", "expires_at"),
        Index(
            "ix_ledger_lots_due",
            "expires_at",
            sqlite_where=text("remaining > 0"),
            postgresql_where=text("remaining > 0"),
        ),
    )


class LotMovement(Base):
    """How much of a lot a posting took (or, reversed, gave back)."""

    __tablename__ = "ledger_lot_movements"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    lot_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("ledger_lots.id"))
    posting_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("ledger_postings.id"))
    amount: Mapped[int] = mapped_column(BigInteger)
    """Negative when the posting took from the lot."""

    __table_args__ = (
        Index("ix_ledger_lot_movements_posting_id", "posting_id"),
        Index("ix_ledger_lot_movements_lot_id", "lot_id"),
    )


class Digest(Base):
    """A signed fingerprint of every member account's chain head at a moment, chained to the
    previous digest: rows deleted or rewritten wholesale after a digest no longer match it."""

    __tablename__ = "ledger_digests"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    taken_at: Mapped[datetime]
    accounts: Mapped[int] = mapped_column(BigInteger)
    heads_hash: Mapped[str] = mapped_column(String(64))
    prev_hash: Mapped[str] = mapped_column(String(64))
    digest_hash: Mapped[str] = mapped_column(String(64), unique=True)
    signature: Mapped[str] = mapped_column(String(128))
    key_id: Mapped[str] = mapped_column(String(32))

    __table_args__ = (Index("ix_ledger_digests_taken_at", "taken_at"),)


class PointAdjustment(Base):
    """A manual grant (+) or deduction (−) of points: one staff member asks, another approves."""

    __tablename__ = "point_adjustments"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    member_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("members.id"))
    amount: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    """``pending``, ``approved`` or ``rejected``."""
    requested_by_id: Mapped[str] = mapped_column(String(64))
    requested_by: Mapped[str] = mapped_column(String(100))
    requested_at: Mapped[datetime]
    decided_by_id: Mapped[str | None] = mapped_column(String(64))
    decided_by: Mapped[str | None] = mapped_column(String(100))
    decided_at: Mapped[datetime | None]
    note: Mapped[str] = mapped_column(String(200), default="")
    posting_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("ledger_postings.id"))

    __table_args__ = (
        Index("ix_point_adjustments_status_requested_at", "status", "requested_at"),
        Index("ix_point_adjustments_member_id", "member_id"),
    )


class LiabilitySnapshot(Base):
    """The points liability at the end of a business day (L6)."""

    __tablename__ = "ledger_liability_snapshots"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    asset: Mapped[str] = mapped_column(String(16))
    business_day: Mapped[date] = mapped_column(Date())
    as_of: Mapped[datetime]
    outstanding: Mapped[int] = mapped_column(BigInteger)
    pending: Mapped[int] = mapped_column(BigInteger)
    issued_total: Mapped[int] = mapped_column(BigInteger)
    redeemed_total: Mapped[int] = mapped_column(BigInteger)
    expired_total: Mapped[int] = mapped_column(BigInteger)
    adjusted_total: Mapped[int] = mapped_column(BigInteger)
    unit_cost_millifen: Mapped[int] = mapped_column(BigInteger)
    liability_fen: Mapped[int] = mapped_column(BigInteger)
    """(outstanding + pending) × unit cost, half-up to the fen."""
    created_at: Mapped[datetime]

    __table_args__ = (UniqueConstraint("asset", "business_day"),)


class Reconciliation(Base):
    """A month-end re-addition of every entry against the cached balances (L6)."""

    __tablename__ = "ledger_reconciliations"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    as_of: Mapped[datetime]
    accounts_checked: Mapped[int] = mapped_column(BigInteger)
    entries_total: Mapped[int] = mapped_column(BigInteger)
    """The sum of every entry of every account: zero in a sound ledger."""
    differences: Mapped[int] = mapped_column(BigInteger)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    ok: Mapped[bool]
    created_at: Mapped[datetime]
