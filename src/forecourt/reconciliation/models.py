"""Reconciliation tables (SPEC W5): the providers' statement files, their lines, and the
differences found against our payments, which finance reviews and resolves."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, Date, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from forecourt.db.base import Base
from forecourt.db.types import JSONDocument
from forecourt.kit.ids import new_id


class ProviderStatement(Base):
    """One imported bill file (a day's trade bill of WeChat Pay or Alipay)."""

    __tablename__ = "provider_statements"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    provider: Mapped[str] = mapped_column(String(16))
    business_date: Mapped[date] = mapped_column(Date())
    file_name: Mapped[str] = mapped_column(String(200))
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    """SHA-256 of the file: importing the same file again changes nothing."""
    lines: Mapped[int]
    total_fen: Mapped[int] = mapped_column(BigInteger)
    imported_at: Mapped[datetime]
    imported_by: Mapped[str] = mapped_column(String(140))


class StatementLine(Base):
    __tablename__ = "statement_lines"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    statement_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("provider_statements.id"))
    provider: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(8))
    """``payment`` or ``refund``."""
    out_trade_no: Mapped[str] = mapped_column(String(64))
    provider_txn_id: Mapped[str | None] = mapped_column(String(64))
    out_refund_no: Mapped[str | None] = mapped_column(String(64))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    occurred_at: Mapped[datetime]
    raw: Mapped[dict[str, Any]] = mapped_column(JSONDocument)

    __table_args__ = (Index("ix_statement_lines_trade", "provider", "out_trade_no"),)


class ReconciliationItem(Base):
    """A difference between a provider's statement and our records, for finance to resolve."""

    __tablename__ = "reconciliation_items"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    business_date: Mapped[date] = mapped_column(Date())
    provider: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(8))
    """``payment`` or ``refund``."""
    classification: Mapped[str] = mapped_column(String(24))
    """``missing_in_ours``, ``missing_at_provider`` or ``amount_mismatch``."""
    reference: Mapped[str] = mapped_column(String(64))
    """Our out_trade_no (or out_refund_no)."""
    ours_fen: Mapped[int | None] = mapped_column(BigInteger)
    theirs_fen: Mapped[int | None] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16))
    """``open`` or ``resolved``."""
    resolution: Mapped[str | None] = mapped_column(String(32))
    note: Mapped[str | None] = mapped_column(String(500))
    resolved_by: Mapped[str | None] = mapped_column(String(140))
    resolved_at: Mapped[datetime | None]
    found_at: Mapped[datetime]

    __table_args__ = (
        UniqueConstraint(
            "provider", "business_date", "kind", "reference", name="uq_reconciliation_items_ref"
        ),
        Index("ix_reconciliation_items_status", "status", "business_date"),
    )


class ReconciliationRun(Base):
    """The summary of one day and provider: counts and amounts matched and different."""

    __tablename__ = "reconciliation_runs"

    provider: Mapped[str] = mapped_column(String(16), primary_key=True)
    business_date: Mapped[date] = mapped_column(Date(), primary_key=True)
    summary: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    ran_at: Mapped[datetime]
