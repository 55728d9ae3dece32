"""Risk requests and answers."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictInt


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RiskRuleRead(Strict):
    code: str
    description: str
    enabled: bool
    params: dict[str, Any]
    updated_at: datetime
    updated_by: str


class RiskRuleWrite(Strict):
    enabled: bool
    params: dict[str, StrictInt] = Field(default_factory=dict, max_length=10)
    """The rule's parameters, each a whole number (checked per rule: names and ranges)."""


class RiskDecisionRead(Strict):
    id: uuid.UUID
    member_id: uuid.UUID | None
    action: str
    outcome: str
    rule: str
    reasons: dict[str, Any]
    decided_at: datetime
    reviewed_at: datetime | None
    reviewed_by: str | None
    review_note: str | None


class ReviewRequest(Strict):
    note: str = Field(min_length=1, max_length=500)
