from __future__ import annotations

import uuid
from datetime import datetime, time
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, Numeric, String, Time, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from forecourt.db.base import Base
from forecourt.kit.ids import new_id


class Brand(Base):
    __tablename__ = "brands"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))


class Region(Base):
    __tablename__ = "regions"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    brand_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("brands.id"))
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime]


class Station(Base):
    __tablename__ = "stations"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    brand_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("brands.id"))
    region_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("regions.id"))
    address: Mapped[str] = mapped_column(String(200), default="")
    lat: Mapped[Decimal | None] = mapped_column(Numeric(9, 6))
    """GCJ-02 latitude (the datum of Chinese map services)."""
    lng: Mapped[Decimal | None] = mapped_column(Numeric(9, 6))
    opens_at: Mapped[time | None] = mapped_column(Time())
    """Local opening time; opens_at and closes_at both empty means open around the clock."""
    closes_at: Mapped[time | None] = mapped_column(Time())
    is_open: Mapped[bool] = mapped_column(default=True)
    """The manager's open/closed switch; a closed station takes no sales."""
    status_changed_at: Mapped[datetime]
    created_at: Mapped[datetime]

    __table_args__ = (Index("ix_stations_region_id", "region_id"),)


class Grade(Base):
    """A product sold by volume at a nozzle: petrol grades, diesel, gas, EV charging."""

    __tablename__ = "grades"

    code: Mapped[str] = mapped_column(String(8), primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
    fuel_type: Mapped[str] = mapped_column(String(16))
    unit: Mapped[str] = mapped_column(String(8))
    min_price_fen: Mapped[int]
    max_price_fen: Mapped[int]
    """Prices outside [min, max] per unit are refused as absurd."""
    sort_order: Mapped[int] = mapped_column(default=0)


class Pump(Base):
    __tablename__ = "pumps"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    station_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("stations.id", ondelete="CASCADE"))
    number: Mapped[int]

    __table_args__ = (UniqueConstraint("station_id", "number"),)


class Nozzle(Base):
    __tablename__ = "nozzles"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    station_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("stations.id", ondelete="CASCADE"))
    pump_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("pumps.id", ondelete="CASCADE"))
    number: Mapped[int]
    """Numbered across the station, as painted on the island (the POS sends it with each sale)."""
    grade_code: Mapped[str] = mapped_column(ForeignKey("grades.code"))

    __table_args__ = (UniqueConstraint("station_id", "number"), Index("ix_nozzles_pump_id", "pump_id"))


class StationPrice(Base):
    """One price decision: from ``effective_from`` on, until a later-effective row for the same grade.

    Rows are never edited. When two rows share an ``effective_from`` the later-recorded one wins, so
    a mistaken entry is corrected by recording the right price for the same moment.
    """

    __tablename__ = "station_prices"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    station_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("stations.id", ondelete="CASCADE"))
    grade_code: Mapped[str] = mapped_column(ForeignKey("grades.code"))
    price_fen: Mapped[int]
    effective_from: Mapped[datetime]
    recorded_at: Mapped[datetime]
    recorded_by: Mapped[str] = mapped_column(String(100))
    source: Mapped[str] = mapped_column(String(16), default="station")
    """'station' when set for this station, 'region' when set for its whole region."""

    __table_args__ = (
        Index("ix_station_prices_lookup", "station_id", "grade_code", "effective_from", "recorded_at"),
    )
