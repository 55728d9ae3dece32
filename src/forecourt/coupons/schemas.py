"""Coupon requests and answers."""

from __future__ import annotations

import uuid
from datetime import datetime, time
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from forecourt.stations.domain import normalise_code

TemplateCode = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9][A-Z0-9_-]{1,39}$")]
Channel = Literal["claim", "batch", "rule", "campaign", "pack", "exchange", "birthday", "member_day"]
Funder = Literal["hq", "station", "partner"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TemplateTerms(Strict):
    """What the coupon does and where (see ``coupons.domain.Terms``)."""

    amount_off_fen: int = Field(default=0, ge=0, le=100_000_00)
    percent_off_bp: int = Field(default=0, ge=0, le=10_000)
    cap_fen: int = Field(default=0, ge=0, le=100_000_00)
    per_liter_fen: int = Field(default=0, ge=0, le=10_000)
    max_liters: Decimal | None = Field(default=None, gt=0, le=10_000, decimal_places=2)
    threshold_fen: int = Field(default=0, ge=0, le=100_000_00)
    grades: list[str] = Field(default_factory=list, max_length=20)
    categories: list[str] = Field(default_factory=list, max_length=20)
    skus: list[str] = Field(default_factory=list, max_length=100)
    stations: list[str] = Field(default_factory=list, max_length=500)
    regions: list[str] = Field(default_factory=list, max_length=100)
    tiers: list[str] = Field(default_factory=list, max_length=10)
    weekdays: list[int] = Field(default_factory=list, max_length=7)
    time_from: time | None = None
    time_to: time | None = None
    stack_group: str | None = Field(default=None, min_length=1, max_length=32)
    exclusive: bool = False

    @field_validator("stations", "regions")
    @classmethod
    def _codes(cls, values: list[str]) -> list[str]:
        return sorted({code for value in values if (code := normalise_code(value))})

    @field_validator("weekdays")
    @classmethod
    def _weekdays(cls, values: list[int]) -> list[int]:
        if any(day < 1 or day > 7 for day in values):
            raise ValueError("weekdays are ISO numbers 1 (Monday) to 7 (Sunday)")
        return sorted(set(values))

    @model_validator(mode="after")
    def _window(self) -> TemplateTerms:
        if (self.time_from is None) != (self.time_to is None):
            raise ValueError("a time window needs both time_from and time_to")
        if any(moment is not None and moment.tzinfo is not None for moment in (self.time_from, self.time_to)):
            raise ValueError("a time window is in the chain's time zone: give times without an offset")
        return self


class TemplateWrite(Strict):
    name: str = Field(min_length=1, max_length=100)
    kind: Literal["amount_off", "percent_off", "per_liter", "voucher"]
    terms: TemplateTerms = Field(default_factory=TemplateTerms)
    face_value_fen: int | None = Field(default=None, ge=0)
    """What the coupon is worth on paper (the ¥188 of a pack); defaults to the amount off or cap."""
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    valid_days: int | None = Field(default=None, ge=1, le=3650)
    total_stock: int | None = Field(default=None, ge=0, le=100_000_000)
    per_member_limit: int | None = Field(default=None, ge=1, le=1000)
    claimable: bool = False
    claim_from: datetime | None = None
    claim_until: datetime | None = None
    member_day: bool = False
    points_price: int | None = Field(default=None, ge=100, le=100_000_000)
    funder: Funder = "hq"
    partner_code: str | None = Field(default=None, min_length=1, max_length=40)
    settlement_fen: int | None = Field(default=None, ge=0)


class TemplateCreate(TemplateWrite):
    code: TemplateCode


class TemplateChange(Strict):
    """Fields an operator may change on a template in use (its terms stay: coupons were issued on them)."""

    name: str | None = Field(default=None, min_length=1, max_length=100)
    status: Literal["active", "retired"] | None = None
    total_stock: int | None = Field(default=None, ge=0, le=100_000_000)
    per_member_limit: int | None = Field(default=None, ge=1, le=1000)
    claimable: bool | None = None
    claim_from: datetime | None = None
    claim_until: datetime | None = None
    valid_until: datetime | None = None


class TemplateRead(TemplateCreate):
    model_config = ConfigDict(extra="forbid", from_attributes=True)

    id: uuid.UUID
    status: str
    issued_count: int
    created_at: datetime
    updated_at: datetime


class PackItem(Strict):
    template: TemplateCode
    count: int = Field(ge=1, le=50)


class PackWrite(Strict):
    name: str = Field(min_length=1, max_length=100)
    items: list[PackItem] = Field(min_length=1, max_length=20)


class PackRead(PackWrite):
    code: str
    face_value_fen: int


class BatchCreate(Strict):
    size: int = Field(ge=1, le=100_000)
    channel: Literal["batch", "campaign"] = "batch"
    note: str | None = Field(default=None, max_length=200)


class BatchRead(Strict):
    id: uuid.UUID
    template: str
    channel: str
    size: int
    note: str | None
    created_at: datetime
    created_by: str
    claimed: int


class IssueRequest(Strict):
    """Issue a template to members (a campaign): by id, or every member carrying a tag."""

    member_ids: list[uuid.UUID] = Field(default_factory=list, max_length=10_000)
    tag: str | None = None
    channel: Literal["campaign", "rule"] = "campaign"
    campaign: str = Field(min_length=1, max_length=60)
    """Names the campaign; issuing the same campaign again gives nobody a second coupon."""

    @model_validator(mode="after")
    def _someone(self) -> IssueRequest:
        if not self.member_ids and not self.tag:
            raise ValueError("name members by id or by tag")
        return self


class IssueResult(Strict):
    issued: int
    already_issued: int
    refused: dict[str, int]
    """Members refused, by error code (``coupon_out_of_stock``, ``coupon_limit_reached``)."""


class CouponRead(Strict):
    id: uuid.UUID
    code: str
    template: str
    title: str
    kind: str
    status: str
    channel: str
    face_value_fen: int
    valid_from: datetime | None
    expires_at: datetime | None
    used_at: datetime | None
    used_station: str | None
    description: str


class ClaimRequest(Strict):
    template: TemplateCode


class CodeRequest(Strict):
    code: str = Field(min_length=4, max_length=40)


class CentreEntry(Strict):
    """A template the member can claim in the coupon centre (领券中心)."""

    template: str
    title: str
    kind: str
    description: str
    face_value_fen: int
    left: int | None
    """Coupons left in stock (None: unlimited)."""
    held: int
    per_member_limit: int | None
    claim_until: datetime | None
    member_day: bool
    open_now: bool


class VerifyRequest(Strict):
    code: str = Field(min_length=4, max_length=40)
    station: str | None = None
    """The station where the voucher is used (a POS device's own; staff bound to a station: theirs)."""


class VerifyResult(Strict):
    coupon_id: uuid.UUID
    template: str
    title: str
    used_at: datetime
    station: str | None
    settlement_fen: int | None


class FunnelRow(Strict):
    key: str
    """The template code, batch id or channel."""
    issued: int
    claimed: int
    used: int
    discount_fen: int


class FundingRow(Strict):
    funder: str
    partner_code: str | None
    station: str | None
    """For station-funded coupons: the station that used them (and pays for them)."""
    used: int
    discount_fen: int
    settlement_fen: int
