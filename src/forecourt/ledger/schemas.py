from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel


class LotRead(BaseModel):
    lot_id: uuid.UUID
    amount: int
    remaining: int
    expires_at: datetime | None


class NextExpiry(BaseModel):
    points: int
    expires_at: datetime


class PointsRead(BaseModel):
    available: int
    pending: int
    lots: list[LotRead]
    next_expiry: NextExpiry | None
    """The earliest date on which points expire, and how many expire then."""


class LedgerLineRead(BaseModel):
    posting_id: uuid.UUID
    occurred_at: datetime
    recorded_at: datetime
    reason: str
    memo: str
    available: int
    """Change of the available balance (negative when points were spent or expired)."""
    pending: int
