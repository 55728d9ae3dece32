"""Reconciliation requests and answers."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

StatementProvider = Literal["wechat", "alipay", "sandbox"]
Resolution = Literal["accepted_provider", "accepted_ours", "written_off", "credited_member"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StatementRead(Strict):
    id: uuid.UUID
    provider: str
    business_date: date
    file_name: str
    digest: str
    lines: int
    total_fen: int
    imported_at: datetime
    imported_by: str
    duplicate: bool


class ItemRead(Strict):
    id: uuid.UUID
    business_date: date
    provider: str
    kind: str
    classification: str
    reference: str
    ours_fen: int | None
    theirs_fen: int | None
    status: str
    resolution: str | None
    note: str | None
    resolved_by: str | None
    resolved_at: datetime | None
    found_at: datetime


class ResolveRequest(Strict):
    resolution: Resolution
    note: str = Field(min_length=1, max_length=500)


class RunRead(Strict):
    provider: str
    business_date: date
    summary: dict[str, Any]
    ran_at: datetime


class SummaryRead(Strict):
    business_date: date
    runs: list[RunRead]
    open_items: int
