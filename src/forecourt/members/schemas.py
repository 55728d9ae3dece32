"""Request and response bodies of the member APIs (staff, member self-service, member login)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Gender = Literal["male", "female"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MemberCreate(Strict):
    phone: str = Field(max_length=32)
    name: str | None = Field(default=None, max_length=50)
    gender: Gender | None = None
    birthday: date | None = None
    occupation: str | None = Field(default=None, max_length=64)
    id_number: str | None = Field(default=None, max_length=32)
    plates: list[str] = Field(default_factory=list, max_length=5)
    referral_code: str | None = Field(default=None, max_length=16)
    marketing_consent: bool = False
    home_station: str | None = None


class ProfileUpdate(Strict):
    """Only the fields sent change; ``null`` clears one."""

    name: str | None = Field(default=None, max_length=50)
    gender: Gender | None = None
    birthday: date | None = None
    occupation: str | None = Field(default=None, max_length=64)
    home_station: str | None = None
    marketing_consent: bool | None = None


class StaffProfileUpdate(ProfileUpdate):
    id_number: str | None = Field(default=None, max_length=32)


class PlateBind(Strict):
    plate: str = Field(max_length=32)


class PlateRead(BaseModel):
    plate: str
    kind: str
    bound_at: datetime


class VehicleWrite(Strict):
    model: str = Field(default="", max_length=100)
    plate: str | None = Field(default=None, max_length=32)
    displacement_cc: int | None = None
    fuel_preference: str | None = Field(default=None, max_length=8)
    yearly_mileage_km: int | None = None


class VehicleUpdate(Strict):
    model: str | None = Field(default=None, max_length=100)
    plate: str | None = Field(default=None, max_length=32)
    displacement_cc: int | None = None
    fuel_preference: str | None = Field(default=None, max_length=8)
    yearly_mileage_km: int | None = None


class VehicleRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    plate: str | None
    model: str
    displacement_cc: int | None
    fuel_preference: str | None
    yearly_mileage_km: int | None


class TagRef(BaseModel):
    code: str
    name: str


class Points(BaseModel):
    available: int = 0
    pending: int = 0


class TierRef(BaseModel):
    code: str
    name: str


class Wallet(BaseModel):
    balance_fen: int = 0


class MemberRead(BaseModel):
    """A member as staff see them; ``masked`` says whether personal data is masked."""

    id: uuid.UUID
    status: str
    card_no: str | None
    phone: str | None
    name: str | None
    id_number: str | None
    masked: bool
    gender: str | None
    birthday: date | None
    occupation: str | None
    home_station: str | None
    marketing_consent: bool
    referral_code: str | None
    source: str
    plates: list[PlateRead]
    tags: list[TagRef]
    profile_completion: int
    points: Points
    tier: TierRef
    wallet: Wallet
    created_at: datetime


class MemberSummary(BaseModel):
    """A search result row."""

    id: uuid.UUID
    card_no: str | None
    phone: str | None
    name: str | None
    plates: list[str]
    status: str
    created_at: datetime


class MemberDetail(MemberRead):
    vehicles: list[VehicleRead]


class EraseRequest(Strict):
    reason: str = Field(min_length=1, max_length=200)


class MeErase(Strict):
    confirm: Literal["DELETE"]
    """The member types DELETE: erasure cannot be undone."""


class MemberCodeRead(BaseModel):
    code: str
    valid_until: datetime
    qr_svg: str


class TransferRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    plate: str
    kind: str
    from_member_id: uuid.UUID
    to_member_id: uuid.UUID
    status: str
    requested_at: datetime
    requested_by: str
    decided_at: datetime | None
    decided_by: str | None
    note: str


class TransferDecision(Strict):
    note: str = Field(default="", max_length=200)


class TagCreate(Strict):
    code: str = Field(max_length=48)
    name: str = Field(max_length=100)
    description: str = Field(default="", max_length=300)


class TagRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    code: str
    name: str
    kind: str
    description: str


class TagAssign(Strict):
    tag: str = Field(max_length=48)


class SmsCodeRequest(Strict):
    phone: str = Field(max_length=32)


class SmsCodeSent(BaseModel):
    sent: bool = True
    resend_after: datetime
    expires_in_seconds: int = 300


class SmsLogin(Strict):
    phone: str = Field(max_length=32)
    code: str = Field(min_length=1, max_length=12)
    referral_code: str | None = Field(default=None, max_length=16)
    marketing_consent: bool = False


class RefreshRequest(Strict):
    refresh_token: str = Field(min_length=1, max_length=200)


class MemberTokens(BaseModel):
    access_token: str
    refresh_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth token type, not a secret
    expires_at: datetime
    refresh_expires_at: datetime
    member_id: uuid.UUID
    registered: bool


class IdentifierIn(Strict):
    type: Literal["phone", "plate", "member_code", "card_no"]
    value: str = Field(min_length=1, max_length=64)


class IdentifyRequest(Strict):
    station: str = Field(max_length=32)
    identifier: IdentifierIn


class PosMember(BaseModel):
    id: uuid.UUID
    card_no: str | None
    name: str | None
    """Masked (张*): the attendant greets the member without seeing their data."""
    tier: TierRef
    points: Points
    wallet_balance_fen: int
    plates: list[str]


class PosCoupon(BaseModel):
    id: uuid.UUID
    title: str
    kind: str
    expires_at: datetime | None


class IdentifyResponse(BaseModel):
    member: PosMember
    coupons: list[PosCoupon]


class ImportRow(BaseModel):
    row: int
    status: Literal["imported", "skipped", "failed"]
    code: str | None = None
    message: str | None = None
    phone: str | None = None
    """Masked."""


class ImportReport(BaseModel):
    id: uuid.UUID
    filename: str
    total_rows: int
    imported: int
    skipped: int
    failed: int
    rows: list[ImportRow]
    """Every row that was not imported, and why."""
