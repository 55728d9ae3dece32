"""Every query of the stations context."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, Select, delete, func, select
from sqlalchemy.orm import Session

from forecourt.db.keyset import before_key
from forecourt.stations.models import Brand, Grade, Nozzle, Pump, Region, Station, StationPrice


def get_brand_by_code(session: Session, code: str) -> Brand | None:
    return session.scalar(select(Brand).where(Brand.code == code))


def default_brand(session: Session) -> Brand | None:
    return session.scalar(select(Brand).order_by(Brand.code).limit(1))


def get_region_by_code(session: Session, code: str) -> Region | None:
    return session.scalar(select(Region).where(Region.code == code))


def get_region(session: Session, region_id: uuid.UUID) -> Region | None:
    return session.get(Region, region_id)


def list_regions(session: Session) -> Sequence[Region]:
    return session.scalars(select(Region).order_by(Region.code)).all()


def get_station_by_code(session: Session, code: str) -> Station | None:
    return session.scalar(select(Station).where(Station.code == code))


def get_station(session: Session, station_id: uuid.UUID) -> Station | None:
    return session.get(Station, station_id)


def list_stations(
    session: Session, *, region_id: uuid.UUID | None, is_open: bool | None, after: str | None, limit: int
) -> Sequence[Station]:
    query = select(Station).order_by(Station.code).limit(limit)
    if region_id is not None:
        query = query.where(Station.region_id == region_id)
    if is_open is not None:
        query = query.where(Station.is_open == is_open)
    if after:
        query = query.where(Station.code > after)
    return session.scalars(query).all()


def stations_in_region(session: Session, region_id: uuid.UUID) -> Sequence[Station]:
    return session.scalars(select(Station).where(Station.region_id == region_id).order_by(Station.code)).all()


def get_grade(session: Session, code: str) -> Grade | None:
    return session.get(Grade, code)


def list_grades(session: Session) -> Sequence[Grade]:
    return session.scalars(select(Grade).order_by(Grade.sort_order, Grade.code)).all()


def price_at(session: Session, station_id: uuid.UUID, grade_code: str, at: datetime) -> StationPrice | None:
    return session.scalar(
        select(StationPrice)
        .where(
            StationPrice.station_id == station_id,
            StationPrice.grade_code == grade_code,
            StationPrice.effective_from <= at,
        )
        .order_by(StationPrice.effective_from.desc(), StationPrice.recorded_at.desc(), StationPrice.id.desc())
        .limit(1)
    )


def _latest_per_grade(*conditions: ColumnElement[bool]) -> Select[StationPrice]:
    """For each (grade, effective_from) among matching rows, the row recorded last (a correction
    recorded later for the same moment replaces the earlier one)."""
    ranked = (
        select(
            StationPrice.id,
            func.row_number()
            .over(
                partition_by=(StationPrice.grade_code, StationPrice.effective_from),
                order_by=(StationPrice.recorded_at.desc(), StationPrice.id.desc()),
            )
            .label("rank"),
        )
        .where(*conditions)
        .subquery()
    )
    return select(StationPrice).join(ranked, ranked.c.id == StationPrice.id).where(ranked.c.rank == 1)


def prices_at(session: Session, station_id: uuid.UUID, at: datetime) -> list[StationPrice]:
    """The price of every grade in force at ``at`` (one row per grade that has one)."""
    ranked = (
        select(
            StationPrice.id,
            func.row_number()
            .over(
                partition_by=StationPrice.grade_code,
                order_by=(
                    StationPrice.effective_from.desc(),
                    StationPrice.recorded_at.desc(),
                    StationPrice.id.desc(),
                ),
            )
            .label("rank"),
        )
        .where(StationPrice.station_id == station_id, StationPrice.effective_from <= at)
        .subquery()
    )
    return list(
        session.scalars(
            select(StationPrice).join(ranked, ranked.c.id == StationPrice.id).where(ranked.c.rank == 1)
        )
    )


def scheduled_prices(session: Session, station_id: uuid.UUID, after: datetime) -> Sequence[StationPrice]:
    """Prices recorded to take effect after ``after``, the latest correction of each."""
    query = _latest_per_grade(StationPrice.station_id == station_id, StationPrice.effective_from > after)
    return session.scalars(query.order_by(StationPrice.effective_from, StationPrice.grade_code)).all()


def price_history(
    session: Session,
    station_id: uuid.UUID,
    *,
    grade_code: str | None,
    before: tuple[datetime, datetime, uuid.UUID] | None,
    limit: int,
) -> Sequence[StationPrice]:
    """Newest effective first; ``before`` is the sort key of the previous page's last row."""
    order = (StationPrice.effective_from, StationPrice.recorded_at, StationPrice.id)
    query = (
        select(StationPrice)
        .where(StationPrice.station_id == station_id)
        .order_by(*(column.desc() for column in order))
        .limit(limit)
    )
    if grade_code:
        query = query.where(StationPrice.grade_code == grade_code)
    if before:
        query = query.where(before_key(order, before))
    return session.scalars(query).all()


def pumps_of(session: Session, station_id: uuid.UUID) -> list[tuple[Pump, list[Nozzle]]]:
    pumps = session.scalars(select(Pump).where(Pump.station_id == station_id).order_by(Pump.number)).all()
    nozzles = session.scalars(
        select(Nozzle).where(Nozzle.station_id == station_id).order_by(Nozzle.number)
    ).all()
    by_pump: dict[uuid.UUID, list[Nozzle]] = {pump.id: [] for pump in pumps}
    for nozzle in nozzles:
        by_pump[nozzle.pump_id].append(nozzle)
    return [(pump, by_pump[pump.id]) for pump in pumps]


def delete_pumps_of(session: Session, station_id: uuid.UUID) -> None:
    session.execute(delete(Nozzle).where(Nozzle.station_id == station_id))
    session.execute(delete(Pump).where(Pump.station_id == station_id))


def get_nozzle(session: Session, station_id: uuid.UUID, number: int) -> Nozzle | None:
    return session.scalar(select(Nozzle).where(Nozzle.station_id == station_id, Nozzle.number == number))
