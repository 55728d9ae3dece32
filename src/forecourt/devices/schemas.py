from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class DeviceCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(default="", max_length=100, examples=["1号收银台"])


class DeviceRead(BaseModel):
    id: str
    station: str
    name: str
    created_at: datetime
    created_by: str
    revoked_at: datetime | None
    last_seen_at: datetime | None


class DeviceCredential(BaseModel):
    """Shown once: the secret cannot be read back."""

    device_id: str
    secret: str
    station: str
