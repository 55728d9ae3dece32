"""Payment requests and answers."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

ProviderName = Literal["wechat", "alipay", "unionpay", "sandbox"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TopUpIntentCreate(Strict):
    amount_fen: int = Field(gt=0, le=5_000_000)
    provider: ProviderName


class IntentRead(Strict):
    id: uuid.UUID
    out_trade_no: str
    member_id: uuid.UUID | None
    purpose: str
    provider: str
    amount_fen: int
    refunded_fen: int
    status: str
    created_at: datetime
    paid_at: datetime | None
    closed_at: datetime | None


class TopUpIntentRead(IntentRead):
    checkout: dict[str, Any]
    """What the member's app passes to the provider's SDK to pay."""


class SandboxPayRead(Strict):
    intent_id: uuid.UUID
    notification: Literal["sent"]


class RefundCreate(Strict):
    amount_fen: int | None = Field(default=None, gt=0, le=5_000_000)
    """Omitted: whatever of the top-up is not yet refunded."""
    reason: str = Field(min_length=1, max_length=200)


class RefundRead(Strict):
    id: uuid.UUID
    intent_id: uuid.UUID
    out_refund_no: str
    amount_fen: int
    status: str
    reason: str
    created_at: datetime
    completed_at: datetime | None
