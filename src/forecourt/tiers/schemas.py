from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field


class TierRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    name: str
    rank: int
    threshold: int
    multiplier_permille: int
    fuel_discount_bp: int
    points_never_expire: bool
    priority_lane: bool


class TierChangeRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    from_code: str
    to_code: str
    reason: str
    metric_value: int | None
    actor: str
    note: str
    occurred_at: datetime


class TierStatus(BaseModel):
    tier: TierRead
    projected_tier: TierRead
    """What the qualifying amount so far earns: the tier the next evaluation moves towards."""
    metric: str
    window: str
    value: int
    """The qualifying amount over the window (fen for money_paid_fen)."""
    next_tier: TierRead | None
    to_next: int | None
    """How much more reaches the next tier ("再消费¥X升级")."""
    to_keep: int
    """How much more keeps this tier at the next evaluation ("再消费¥X即可保级"); 0 when kept."""
    grace_until: datetime | None
    manual_until: datetime | None
    history: list[TierChangeRead]


class ManualTier(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tier: str = Field(max_length=32)
    until: datetime | None = None
    note: str = Field(min_length=1, max_length=200)


class TierProgramRead(BaseModel):
    metric: str
    window: str
    grace_months: int
    thresholds: dict[str, int]
    """Each tier's qualifying amount by code, in the metric's units (fen, litres × 100, visits, points)."""


class TierProgramUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    metric: str | None = None
    window: str | None = None
    grace_months: int | None = None
    thresholds: dict[str, Annotated[int, Field(ge=0)]] | None = None
    """New thresholds by tier code (required with a new metric); tiers left out keep theirs."""
