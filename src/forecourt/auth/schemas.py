from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from forecourt.auth.permissions import Role


class LoginRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class TokenResponse(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth token type, not a secret
    expires_at: datetime


class StaffRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    username: str
    display_name: str
    role: Role
    station: str | None = None
    partner_code: str | None = None
    is_active: bool
    created_at: datetime
    last_login_at: datetime | None


class MeRead(StaffRead):
    permissions: list[str]


class StaffCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")
    password: str = Field(max_length=256)
    role: Role
    station: str | None = Field(
        default=None, description="Station code; required for station_manager and attendant"
    )
    display_name: str = Field(default="", max_length=100)
    partner_code: str | None = Field(
        default=None, min_length=1, max_length=40, description="Partner accounts only"
    )


class StaffUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Role | None = None
    station: str | None = Field(default=None, description="Station code; send null to detach")
    is_active: bool | None = None
    password: str | None = Field(default=None, max_length=256)
    display_name: str | None = Field(default=None, max_length=100)


class RevokedTokens(BaseModel):
    revoked: int
