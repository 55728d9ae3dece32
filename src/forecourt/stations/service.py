"""Use cases of the stations context: the network, its opening status and its prices over time.

Price rows are append-only decisions (see ``StationPrice``). A station-bound actor (manager,
attendant) acts on its own station alone: every use case that changes a station checks it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time
from decimal import ROUND_DOWN, Decimal

from sqlalchemy.orm import Session

from forecourt.audit import service as audit
from forecourt.db.outbox import publish
from forecourt.db.unique import add_unique
from forecourt.kit.actor import Actor
from forecourt.kit.clock import utcnow
from forecourt.kit.ids import new_id
from forecourt.stations import domain, repository
from forecourt.stations.errors import (
    InvalidPrice,
    InvalidPumpLayout,
    InvalidStation,
    NoPrice,
    RegionCodeTaken,
    RegionNotFound,
    StationCodeTaken,
    StationNotFound,
    StationOutOfScope,
    UnknownGrade,
)
from forecourt.stations.models import Brand, Grade, Nozzle, Pump, Region, Station, StationPrice

DEFAULT_BRAND_CODE = "main"


def install_defaults(session: Session) -> None:
    """The brand and the fuel grades every installation starts with (idempotent)."""
    if repository.default_brand(session) is None:
        session.add(Brand(id=new_id(), code=DEFAULT_BRAND_CODE, name="Forecourt"))
    for spec in domain.DEFAULT_GRADES:
        if repository.get_grade(session, spec.code) is None:
            session.add(
                Grade(
                    code=spec.code,
                    name=spec.name,
                    fuel_type=spec.fuel_type,
                    unit=spec.unit,
                    min_price_fen=spec.min_price_fen,
                    max_price_fen=spec.max_price_fen,
                    sort_order=spec.sort_order,
                )
            )
    session.flush()


def rename_brand(session: Session, actor: Actor, name: str) -> Brand:
    brand = _default_brand(session)
    before = {"name": brand.name}
    brand.name = name
    audit.record(session, actor, "brand.update", "brand", brand.id, before=before, after={"name": name})
    return brand


def _default_brand(session: Session) -> Brand:
    brand = repository.default_brand(session)
    if brand is None:
        raise RuntimeError("no brand: run `forecourt migrate`, which installs the defaults")
    return brand


def brand_name(session: Session) -> str:
    """The chain's name, as it signs text messages."""
    return _default_brand(session).name


def _code(code: str, what: str) -> str:
    normalised = domain.normalise_code(code)
    if normalised is None:
        raise InvalidStation(f"{code!r} is not a valid {what} code (letters, digits, - and _).", field="code")
    return normalised


# --- regions -----------------------------------------------------------------------------------


def create_region(session: Session, actor: Actor, *, code: str, name: str) -> Region:
    code = _code(code, "region")
    if repository.get_region_by_code(session, code) is not None:
        raise RegionCodeTaken(code=code)
    region = Region(
        id=new_id(), brand_id=_default_brand(session).id, code=code, name=name, created_at=utcnow()
    )
    add_unique(session, region, RegionCodeTaken(code=code))
    audit.record(session, actor, "region.create", "region", region.id, after={"code": code, "name": name})
    return region


def get_region(session: Session, code: str) -> Region:
    region = repository.get_region_by_code(session, code.strip().upper())
    if region is None:
        raise RegionNotFound(region=code)
    return region


def list_regions(session: Session) -> Sequence[Region]:
    return repository.list_regions(session)


def region_code_of(session: Session, station: Station) -> str:
    """The code of the station's region ("" when it has none)."""
    if station.region_id is None:
        return ""
    region = session.get(Region, station.region_id)
    return region.code if region is not None else ""


def regions_by_id(session: Session) -> dict[uuid.UUID, Region]:
    return {region.id: region for region in repository.list_regions(session)}


# --- stations ----------------------------------------------------------------------------------


def _snapshot(station: Station) -> dict[str, object]:
    return {
        "code": station.code,
        "name": station.name,
        "region_id": station.region_id,
        "address": station.address,
        "lat": station.lat,
        "lng": station.lng,
        "opens_at": station.opens_at,
        "closes_at": station.closes_at,
        "is_open": station.is_open,
    }


def _check_station_fields(station: Station) -> None:
    problem = domain.coordinates_problem(station.lat, station.lng) or domain.hours_problem(
        station.opens_at, station.closes_at
    )
    if problem:
        raise InvalidStation(problem)
    if not station.name.strip():
        raise InvalidStation("A station needs a name.", field="name")


def create_station(
    session: Session,
    actor: Actor,
    *,
    code: str,
    name: str,
    region: str | None = None,
    address: str = "",
    lat: float | None = None,
    lng: float | None = None,
    opens_at: time | None = None,
    closes_at: time | None = None,
) -> Station:
    code = _code(code, "station")
    if repository.get_station_by_code(session, code) is not None:
        raise StationCodeTaken(code=code)
    now = utcnow()
    station = Station(
        id=new_id(),
        code=code,
        name=name.strip(),
        brand_id=_default_brand(session).id,
        region_id=get_region(session, region).id if region else None,
        address=address,
        lat=domain.coordinate(lat),
        lng=domain.coordinate(lng),
        opens_at=opens_at,
        closes_at=closes_at,
        is_open=True,
        status_changed_at=now,
        created_at=now,
    )
    _check_station_fields(station)
    add_unique(session, station, StationCodeTaken(code=code))
    audit.record(session, actor, "station.create", "station", station.id, after=_snapshot(station))
    return station


def get_station(session: Session, code: str) -> Station:
    station = repository.get_station_by_code(session, code.strip().upper())
    if station is None:
        raise StationNotFound(station=code)
    return station


def get_station_by_id(session: Session, station_id: uuid.UUID) -> Station:
    station = repository.get_station(session, station_id)
    if station is None:
        raise StationNotFound(station_id=str(station_id))
    return station


def station_codes(session: Session, station_ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    return {sid: get_station_by_id(session, sid).code for sid in station_ids}


def station_in_scope(session: Session, actor: Actor, code: str) -> Station:
    """The station, if the actor may act on it (station-bound staff: their own only)."""
    station = get_station(session, code)
    check_scope(actor, station.id)
    return station


def check_scope(actor: Actor, station_id: uuid.UUID) -> None:
    if not actor.may_act_on_station(station_id):
        raise StationOutOfScope()


def list_stations(
    session: Session,
    *,
    region: str | None = None,
    is_open: bool | None = None,
    after: str | None = None,
    limit: int = 50,
) -> Sequence[Station]:
    region_id = get_region(session, region).id if region else None
    return repository.list_stations(session, region_id=region_id, is_open=is_open, after=after, limit=limit)


def update_station(session: Session, actor: Actor, code: str, changes: dict[str, object]) -> Station:
    """Apply the given fields (name, region, address, lat, lng, opens_at, closes_at)."""
    station = station_in_scope(session, actor, code)
    before = _snapshot(station)
    if "name" in changes:
        station.name = str(changes["name"]).strip()
    if "address" in changes:
        station.address = str(changes["address"] or "")
    if "region" in changes:
        region_code = changes["region"]
        station.region_id = get_region(session, str(region_code)).id if region_code else None
    if "lat" in changes or "lng" in changes:
        station.lat = domain.coordinate(changes.get("lat", station.lat))  # type: ignore[arg-type]
        station.lng = domain.coordinate(changes.get("lng", station.lng))  # type: ignore[arg-type]
    if "opens_at" in changes or "closes_at" in changes:
        station.opens_at = changes.get("opens_at", station.opens_at)  # type: ignore[assignment]
        station.closes_at = changes.get("closes_at", station.closes_at)  # type: ignore[assignment]
    _check_station_fields(station)
    audit.record(
        session, actor, "station.update", "station", station.id, before=before, after=_snapshot(station)
    )
    return station


def set_open(session: Session, actor: Actor, code: str, *, is_open: bool) -> Station:
    station = station_in_scope(session, actor, code)
    if station.is_open == is_open:
        return station
    station.is_open = is_open
    station.status_changed_at = utcnow()
    audit.record(
        session,
        actor,
        "station.open" if is_open else "station.close",
        "station",
        station.id,
        before={"is_open": not is_open},
        after={"is_open": is_open},
    )
    publish(session, "station.status_changed", {"station": station.code, "is_open": is_open})
    return station


def is_open_now(station: Station, moment: datetime | None = None) -> bool:
    from forecourt.kit.clock import to_chain_time

    local = to_chain_time(moment or utcnow())
    return station.is_open and domain.within_hours(local, station.opens_at, station.closes_at)


# --- grades and prices ---------------------------------------------------------------------------


def list_grades(session: Session) -> Sequence[Grade]:
    return repository.list_grades(session)


def get_grade(session: Session, code: str) -> Grade:
    grade = repository.get_grade(session, code.strip().lower())
    if grade is None:
        raise UnknownGrade(grade=code, grades=[g.code for g in repository.list_grades(session)])
    return grade


def _check_price(grade: Grade, price_fen: int) -> None:
    problem = domain.price_problem(price_fen, grade.min_price_fen, grade.max_price_fen)
    if problem:
        raise InvalidPrice(
            f"{price_fen} fen per {grade.unit} is not a believable price for {grade.name}: {problem}.",
            grade=grade.code,
            price_fen=price_fen,
            min_price_fen=grade.min_price_fen,
            max_price_fen=grade.max_price_fen,
        )


def _record_price(
    session: Session,
    actor: Actor,
    station: Station,
    grade: Grade,
    price_fen: int,
    effective_from: datetime,
    source: str,
    now: datetime,
) -> StationPrice:
    previous = repository.price_at(session, station.id, grade.code, effective_from)
    row = StationPrice(
        id=new_id(),
        station_id=station.id,
        grade_code=grade.code,
        price_fen=price_fen,
        effective_from=effective_from,
        recorded_at=now,
        recorded_by=actor.label,
        source=source,
    )
    session.add(row)
    audit.record(
        session,
        actor,
        "price.set",
        "station",
        station.id,
        before={"grade": grade.code, "price_fen": previous.price_fen if previous else None},
        after={
            "grade": grade.code,
            "price_fen": price_fen,
            "effective_from": effective_from,
            "backdated": effective_from < now,
            "source": source,
        },
    )
    publish(
        session,
        "station.price_changed",
        {
            "station": station.code,
            "grade": grade.code,
            "price_fen": price_fen,
            "effective_from": effective_from.isoformat(),
        },
    )
    return row


def set_price(
    session: Session,
    actor: Actor,
    code: str,
    *,
    grade: str,
    price_fen: int,
    effective_from: datetime | None = None,
) -> StationPrice:
    """Record a price from now, from a future moment (scheduled) or from a past one (backdated, audited)."""
    station = station_in_scope(session, actor, code)
    grade_row = get_grade(session, grade)
    _check_price(grade_row, price_fen)
    now = utcnow()
    return _record_price(session, actor, station, grade_row, price_fen, effective_from or now, "station", now)


def set_region_price(
    session: Session,
    actor: Actor,
    region_code: str,
    *,
    grade: str,
    price_fen: int,
    effective_from: datetime | None = None,
) -> list[StationPrice]:
    """The same price for a grade at every station of a region, effective at one moment."""
    region = get_region(session, region_code)
    grade_row = get_grade(session, grade)
    _check_price(grade_row, price_fen)
    stations = repository.stations_in_region(session, region.id)
    if not stations:
        raise InvalidPrice("The region has no stations.", region=region.code)
    now = utcnow()
    moment = effective_from or now
    rows = [
        _record_price(session, actor, station, grade_row, price_fen, moment, "region", now)
        for station in stations
    ]
    audit.record(
        session,
        actor,
        "price.set_region",
        "region",
        region.id,
        after={
            "grade": grade_row.code,
            "price_fen": price_fen,
            "effective_from": moment,
            "stations": len(rows),
        },
    )
    return rows


def price_board(session: Session, code: str, at: datetime | None = None) -> list[StationPrice]:
    """Every grade's price in force at a station at ``at`` (default now)."""
    station = get_station(session, code)
    return sorted(repository.prices_at(session, station.id, at or utcnow()), key=lambda row: row.grade_code)


def scheduled_prices(session: Session, code: str) -> Sequence[StationPrice]:
    return repository.scheduled_prices(session, get_station(session, code).id, utcnow())


def price_in_force(session: Session, station_id: uuid.UUID, grade_code: str, at: datetime) -> int:
    """The price per unit in fen for a sale at ``at``; NoPrice when none was in force."""
    row = repository.price_at(session, station_id, grade_code, at)
    if row is None:
        raise NoPrice(grade=grade_code, at=at.isoformat())
    return row.price_fen


def volume_for_amount(
    session: Session, station_id: uuid.UUID, grade_code: str, amount_fen: int, at: datetime
) -> Decimal:
    """The volume an amount of money buys at the price in force at ``at``, down to the centilitre: the
    pump never dispenses more than was paid for."""
    price = price_in_force(session, station_id, grade_code, at)
    return (Decimal(amount_fen) / Decimal(price)).quantize(Decimal("0.01"), rounding=ROUND_DOWN)


def price_history(
    session: Session,
    code: str,
    *,
    grade: str | None = None,
    before: tuple[datetime, datetime, uuid.UUID] | None = None,
    limit: int = 50,
) -> Sequence[StationPrice]:
    station = get_station(session, code)
    grade_code = get_grade(session, grade).code if grade else None
    return repository.price_history(session, station.id, grade_code=grade_code, before=before, limit=limit)


# --- pumps and nozzles ---------------------------------------------------------------------------


@dataclass(frozen=True)
class NozzleSpec:
    number: int
    grade: str


@dataclass(frozen=True)
class PumpSpec:
    number: int
    nozzles: tuple[NozzleSpec, ...]


def pump_layout(session: Session, code: str) -> list[tuple[Pump, list[Nozzle]]]:
    return repository.pumps_of(session, get_station(session, code).id)


def _layout_snapshot(layout: list[tuple[Pump, list[Nozzle]]]) -> dict[str, object]:
    return {
        "pumps": [
            {"number": pump.number, "nozzles": [{"number": n.number, "grade": n.grade_code} for n in nozzles]}
            for pump, nozzles in layout
        ]
    }


def set_pump_layout(
    session: Session, actor: Actor, code: str, pumps: Sequence[PumpSpec]
) -> list[tuple[Pump, list[Nozzle]]]:
    """Replace a station's pumps and nozzles with the given layout."""
    station = station_in_scope(session, actor, code)
    pump_numbers = [pump.number for pump in pumps]
    nozzle_numbers = [nozzle.number for pump in pumps for nozzle in pump.nozzles]
    if len(set(pump_numbers)) != len(pump_numbers):
        raise InvalidPumpLayout("Pump numbers repeat.")
    if len(set(nozzle_numbers)) != len(nozzle_numbers):
        raise InvalidPumpLayout("Nozzle numbers repeat; they are numbered across the station.")
    if any(number < 1 for number in pump_numbers + nozzle_numbers):
        raise InvalidPumpLayout("Pumps and nozzles are numbered from 1.")
    grades = {
        nozzle.grade: get_grade(session, nozzle.grade).code for pump in pumps for nozzle in pump.nozzles
    }
    before = _layout_snapshot(repository.pumps_of(session, station.id))
    repository.delete_pumps_of(session, station.id)
    session.flush()
    new_pumps = [(Pump(id=new_id(), station_id=station.id, number=spec.number), spec) for spec in pumps]
    session.add_all(pump for pump, _spec in new_pumps)
    session.flush()
    session.add_all(
        Nozzle(
            id=new_id(),
            station_id=station.id,
            pump_id=pump.id,
            number=nozzle.number,
            grade_code=grades[nozzle.grade],
        )
        for pump, spec in new_pumps
        for nozzle in spec.nozzles
    )
    session.flush()
    layout = repository.pumps_of(session, station.id)
    audit.record(
        session, actor, "station.pumps", "station", station.id, before=before, after=_layout_snapshot(layout)
    )
    return layout


def nozzle_grade(session: Session, station_id: uuid.UUID, number: int) -> str | None:
    nozzle = repository.get_nozzle(session, station_id, number)
    return nozzle.grade_code if nozzle else None
