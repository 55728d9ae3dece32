"""Invoice requests (SPEC W6): a member asks for a fapiao for fuel orders; the amount excludes
discounts and what bonus money paid; issuing goes through a tax platform."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from forecourt.db.base import Base
from forecourt.db.types import JSONDocument
from forecourt.kit.ids import new_id


class InvoiceRequest(Base):
    __tablename__ = "invoice_requests"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    member_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("members.id"))
    title: Mapped[str] = mapped_column(String(200))
    tax_number: Mapped[str | None] = mapped_column(String(32))
    email_ciphertext: Mapped[str] = mapped_column(String(500))
    """Encrypted like other personal data."""
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16))
    """``requested`` → ``issued`` | ``failed``; ``cancelled`` by the member before issue."""
    platform_ref: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    created_at: Mapped[datetime]
    issued_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_invoice_requests_member", "member_id", "created_at"),)


class InvoicedSale(Base):
    """A sale covered by an invoice request: a sale is invoiced at most once."""

    __tablename__ = "invoiced_sales"

    sale_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("pos_sales.id"), primary_key=True)
    request_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("invoice_requests.id"))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
