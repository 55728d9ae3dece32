"""Invoice requests and answers (SPEC W6)."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class InvoiceCreate(Strict):
    sale_ids: list[uuid.UUID] = Field(min_length=1, max_length=100)
    title: str = Field(min_length=1, max_length=200)
    """The buyer's name on the fapiao: a person or a company."""
    tax_number: str | None = Field(default=None, pattern=r"^[0-9A-Z]{15,20}$")
    """The company's unified social credit code (统一社会信用代码); none for a person."""
    email: str = Field(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class InvoicedSaleRead(Strict):
    sale_id: uuid.UUID
    amount_fen: int
    station: str
    occurred_at: datetime


class InvoiceRead(Strict):
    id: uuid.UUID
    member_id: uuid.UUID
    title: str
    tax_number: str | None
    email: str
    """The member sees their address; staff see it masked."""
    amount_fen: int
    status: str
    platform_ref: str | None
    failure: str | None
    sales: list[InvoicedSaleRead]
    created_at: datetime
    issued_at: datetime | None


class UninvoicedSale(Strict):
    sale_id: uuid.UUID
    station: str
    occurred_at: datetime
    fuel_liters: Decimal
    amount_fen: int
    """What a fapiao for this sale would show: fuel paid by money and wallet principal, after refunds."""


class Uninvoiced(Strict):
    total_fen: int
    sales: list[UninvoicedSale]
