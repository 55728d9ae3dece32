from __future__ import annotations

import uuid
from datetime import datetime, time

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

_FORBID = ConfigDict(extra="forbid")


class RegionCreate(BaseModel):
    model_config = _FORBID

    code: str = Field(min_length=1, max_length=32)
    name: str = Field(min_length=1, max_length=100)


class RegionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    name: str


class StationCreate(BaseModel):
    model_config = _FORBID

    code: str = Field(min_length=1, max_length=32, examples=["S001"])
    name: str = Field(min_length=1, max_length=100, examples=["昆明北京路站"])
    region: str | None = Field(default=None, description="Region code")
    address: str = Field(default="", max_length=200)
    lat: float | None = Field(default=None, description="GCJ-02 latitude")
    lng: float | None = Field(default=None, description="GCJ-02 longitude")
    opens_at: time | None = Field(default=None, description="Local time; leave both empty for 24 hours")
    closes_at: time | None = None


class StationUpdate(BaseModel):
    model_config = _FORBID

    name: str | None = Field(default=None, min_length=1, max_length=100)
    region: str | None = None
    address: str | None = Field(default=None, max_length=200)
    lat: float | None = None
    lng: float | None = None
    opens_at: time | None = None
    closes_at: time | None = None


class StationStatus(BaseModel):
    model_config = _FORBID

    is_open: bool


class PriceRead(BaseModel):
    grade: str
    price_fen: int
    effective_from: datetime
    recorded_at: datetime
    recorded_by: str
    source: str


class StationRead(BaseModel):
    id: uuid.UUID
    code: str
    name: str
    region: RegionRead | None
    address: str
    lat: float | None
    lng: float | None
    opens_at: time | None
    closes_at: time | None
    is_open: bool
    open_now: bool
    status_changed_at: datetime


class StationDetail(StationRead):
    prices: list[PriceRead]
    scheduled_prices: list[PriceRead]


class PriceSet(BaseModel):
    model_config = _FORBID

    grade: str = Field(min_length=1, max_length=8, examples=["95"])
    price_fen: int = Field(strict=True, description="Price per litre (kg, kWh) in fen", examples=[812])
    effective_from: AwareDatetime | None = Field(
        default=None,
        description="Default now; a future time schedules, a past time records a price that was in force",
    )


class RegionPriceResult(BaseModel):
    region: str
    grade: str
    price_fen: int
    effective_from: datetime
    stations: list[str]


class PriceBoard(BaseModel):
    station: str
    at: datetime
    prices: list[PriceRead]


class GradeRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    name: str
    fuel_type: str
    unit: str
    min_price_fen: int
    max_price_fen: int


class NozzleLayout(BaseModel):
    model_config = _FORBID

    number: int = Field(strict=True)
    grade: str


class PumpLayout(BaseModel):
    model_config = _FORBID

    number: int = Field(strict=True)
    nozzles: list[NozzleLayout] = Field(max_length=16)


class PumpLayoutSet(BaseModel):
    model_config = _FORBID

    pumps: list[PumpLayout] = Field(max_length=100)
