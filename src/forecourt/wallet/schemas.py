"""Wallet requests and answers."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WalletRead(Strict):
    principal_fen: int
    bonus_fen: int
    balance_fen: int


class TopUpRequest(Strict):
    amount_fen: int = Field(gt=0, le=10_000_000)
    method: Literal["cash", "bank_card", "wechat", "alipay", "unionpay", "transfer"]
    reference: str | None = Field(default=None, max_length=100)
    """The payment's reference (a card slip, a bank transfer number)."""
    station: str | None = Field(default=None, max_length=32)


class TopUpRead(Strict):
    id: uuid.UUID
    member_id: uuid.UUID
    amount_fen: int
    bonus_fen: int
    method: str
    reference: str | None
    station: str | None
    created_at: datetime
    wallet: WalletRead


class BonusTierDoc(Strict):
    min_fen: int = Field(gt=0, le=100_000_000)
    bonus_fen: int = Field(ge=0, le=100_000_000)


class BonusTiers(Strict):
    tiers: list[BonusTierDoc] = Field(max_length=20)
