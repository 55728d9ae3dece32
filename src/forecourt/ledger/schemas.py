from __future__ import annotations

import uuid
from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field


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


class AdjustmentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount: int
    """Points to grant (positive) or deduct (negative)."""
    reason: str = Field(min_length=1, max_length=300)


class AdjustmentDecision(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str = Field(default="", max_length=200)


class AdjustmentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    member_id: uuid.UUID
    amount: int
    reason: str
    status: str
    requested_by: str
    requested_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    note: str
    posting_id: uuid.UUID | None


class SnapshotRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    business_day: date
    outstanding: int
    pending: int
    issued_total: int
    redeemed_total: int
    expired_total: int
    adjusted_total: int
    unit_cost_millifen: int
    liability_fen: int


class FlowRead(BaseModel):
    station: str | None
    earned: int
    burned: int
    expired: int


class LiabilityReport(BaseModel):
    snapshots: list[SnapshotRead]
    breakage_rate: str
    """Expired ÷ issued as of the last snapshot, e.g. "0.0312"."""
    earn_burn: list[FlowRead]
    """Points earned, spent and expired in the period, per station (null: not at a station)."""
