"""Stations, regions, grades and prices over HTTP (admin API, SPEC §7)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Query
from pydantic import AwareDatetime
from sqlalchemy.orm import Session
from starlette import status

from forecourt.auth.dependencies import require
from forecourt.auth.permissions import Permission
from forecourt.db.session import api_router, get_session
from forecourt.kit.actor import Actor
from forecourt.kit.clock import utcnow
from forecourt.kit.pagination import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    Page,
    decode_cursor,
    encode_cursor,
    parse_datetime,
)
from forecourt.stations import service
from forecourt.stations.models import Nozzle, Pump, Region, Station, StationPrice
from forecourt.stations.schemas import (
    GradeRead,
    NozzleLayout,
    PriceBoard,
    PriceRead,
    PriceSet,
    PumpLayout,
    PumpLayoutSet,
    RegionCreate,
    RegionPriceResult,
    RegionRead,
    StationCreate,
    StationDetail,
    StationRead,
    StationStatus,
    StationUpdate,
)

router = api_router(prefix="/api/v1", tags=["stations"])

SessionDep = Annotated[Session, Depends(get_session)]


def _price(row: StationPrice) -> PriceRead:
    return PriceRead(
        grade=row.grade_code,
        price_fen=row.price_fen,
        effective_from=row.effective_from,
        recorded_at=row.recorded_at,
        recorded_by=row.recorded_by,
        source=row.source,
    )


def _station(station: Station, regions: dict[uuid.UUID, Region]) -> StationRead:
    region = regions.get(station.region_id) if station.region_id else None
    return StationRead(
        id=station.id,
        code=station.code,
        name=station.name,
        region=RegionRead.model_validate(region) if region else None,
        address=station.address,
        lat=float(station.lat) if station.lat is not None else None,
        lng=float(station.lng) if station.lng is not None else None,
        opens_at=station.opens_at,
        closes_at=station.closes_at,
        is_open=station.is_open,
        open_now=service.is_open_now(station),
        status_changed_at=station.status_changed_at,
    )


def _detail(session: Session, station: Station) -> StationDetail:
    base = _station(station, service.regions_by_id(session))
    return StationDetail(
        **base.model_dump(),
        prices=[_price(row) for row in service.price_board(session, station.code)],
        scheduled_prices=[_price(row) for row in service.scheduled_prices(session, station.code)],
    )


@router.get("/regions", response_model=list[RegionRead])
def list_regions(
    session: SessionDep, _: Annotated[Actor, require(Permission.STATIONS_READ)]
) -> list[RegionRead]:
    return [RegionRead.model_validate(region) for region in service.list_regions(session)]


@router.post("/regions", response_model=RegionRead, status_code=status.HTTP_201_CREATED)
def create_region(
    body: RegionCreate, session: SessionDep, actor: Annotated[Actor, require(Permission.STATIONS_WRITE)]
) -> RegionRead:
    return RegionRead.model_validate(service.create_region(session, actor, code=body.code, name=body.name))


@router.put("/regions/{code}/prices", response_model=RegionPriceResult)
def set_region_price(
    code: str,
    body: PriceSet,
    session: SessionDep,
    actor: Annotated[Actor, require(Permission.PRICES_WRITE_REGION)],
) -> RegionPriceResult:
    """Set one grade's price at every station of a region (bulk price change)."""
    rows = service.set_region_price(
        session, actor, code, grade=body.grade, price_fen=body.price_fen, effective_from=body.effective_from
    )
    codes = service.station_codes(session, {row.station_id for row in rows})
    return RegionPriceResult(
        region=service.get_region(session, code).code,
        grade=rows[0].grade_code,
        price_fen=body.price_fen,
        effective_from=rows[0].effective_from,
        stations=sorted(codes.values()),
    )


@router.get("/grades", response_model=list[GradeRead])
def list_grades(
    session: SessionDep, _: Annotated[Actor, require(Permission.STATIONS_READ)]
) -> list[GradeRead]:
    return [GradeRead.model_validate(grade) for grade in service.list_grades(session)]


@router.get("/stations", response_model=Page[StationRead])
def list_stations(
    session: SessionDep,
    _: Annotated[Actor, require(Permission.STATIONS_READ)],
    region: str | None = None,
    is_open: bool | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> Page[StationRead]:
    after = decode_cursor(cursor, str)[0] if cursor else None
    stations = service.list_stations(session, region=region, is_open=is_open, after=after, limit=limit)
    regions = service.regions_by_id(session)
    next_cursor = encode_cursor(stations[-1].code) if len(stations) == limit else None
    return Page[StationRead](items=[_station(s, regions) for s in stations], next_cursor=next_cursor)


@router.post("/stations", response_model=StationDetail, status_code=status.HTTP_201_CREATED)
def create_station(
    body: StationCreate, session: SessionDep, actor: Annotated[Actor, require(Permission.STATIONS_WRITE)]
) -> StationDetail:
    station = service.create_station(session, actor, **body.model_dump())
    return _detail(session, station)


@router.get("/stations/{code}", response_model=StationDetail)
def get_station(
    code: str, session: SessionDep, _: Annotated[Actor, require(Permission.STATIONS_READ)]
) -> StationDetail:
    return _detail(session, service.get_station(session, code))


@router.patch("/stations/{code}", response_model=StationDetail)
def update_station(
    code: str,
    body: StationUpdate,
    session: SessionDep,
    actor: Annotated[Actor, require(Permission.STATIONS_WRITE)],
) -> StationDetail:
    station = service.update_station(session, actor, code, body.model_dump(exclude_unset=True))
    return _detail(session, station)


@router.put("/stations/{code}/status", response_model=StationDetail)
def set_station_status(
    code: str,
    body: StationStatus,
    session: SessionDep,
    actor: Annotated[Actor, require(Permission.STATIONS_OPERATE)],
) -> StationDetail:
    """Open or close a station (a closed station takes no sales)."""
    return _detail(session, service.set_open(session, actor, code, is_open=body.is_open))


@router.put("/stations/{code}/prices", response_model=PriceRead)
def set_price(
    code: str, body: PriceSet, session: SessionDep, actor: Annotated[Actor, require(Permission.PRICES_WRITE)]
) -> PriceRead:
    """Set a price per litre (kg, kWh) from now, from a future time, or from a past time (audited)."""
    row = service.set_price(
        session, actor, code, grade=body.grade, price_fen=body.price_fen, effective_from=body.effective_from
    )
    return _price(row)


@router.get("/stations/{code}/prices", response_model=PriceBoard)
def price_board(
    code: str,
    session: SessionDep,
    _: Annotated[Actor, require(Permission.STATIONS_READ)],
    at: Annotated[AwareDatetime | None, Query(description="The moment to look at; default now")] = None,
) -> PriceBoard:
    """The price of every grade in force at a moment ("the 95# price at S001 last Tuesday 14:00")."""
    moment = at or utcnow()
    station = service.get_station(session, code)
    return PriceBoard(
        station=station.code,
        at=moment,
        prices=[_price(r) for r in service.price_board(session, code, moment)],
    )


@router.get("/stations/{code}/prices/history", response_model=Page[PriceRead])
def price_history(
    code: str,
    session: SessionDep,
    _: Annotated[Actor, require(Permission.STATIONS_READ)],
    grade: str | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> Page[PriceRead]:
    before = None
    if cursor:
        effective, recorded, row_id = decode_cursor(cursor, parse_datetime, parse_datetime, uuid.UUID)
        before = (effective, recorded, row_id)
    rows = service.price_history(session, code, grade=grade, before=before, limit=limit)
    next_cursor = (
        encode_cursor(rows[-1].effective_from.isoformat(), rows[-1].recorded_at.isoformat(), str(rows[-1].id))
        if len(rows) == limit
        else None
    )
    return Page[PriceRead](items=[_price(row) for row in rows], next_cursor=next_cursor)


@router.get("/stations/{code}/pumps", response_model=PumpLayoutSet)
def get_pumps(
    code: str, session: SessionDep, _: Annotated[Actor, require(Permission.STATIONS_READ)]
) -> PumpLayoutSet:
    return _layout(service.pump_layout(session, code))


@router.put("/stations/{code}/pumps", response_model=PumpLayoutSet)
def set_pumps(
    code: str,
    body: PumpLayoutSet,
    session: SessionDep,
    actor: Annotated[Actor, require(Permission.STATIONS_WRITE)],
) -> PumpLayoutSet:
    """Replace the station's pumps and nozzles (nozzles are numbered across the station)."""
    specs = [
        service.PumpSpec(pump.number, tuple(service.NozzleSpec(n.number, n.grade) for n in pump.nozzles))
        for pump in body.pumps
    ]
    return _layout(service.set_pump_layout(session, actor, code, specs))


def _layout(layout: list[tuple[Pump, list[Nozzle]]]) -> PumpLayoutSet:
    return PumpLayoutSet(
        pumps=[
            PumpLayout(
                number=pump.number,
                nozzles=[NozzleLayout(number=n.number, grade=n.grade_code) for n in nozzles],
            )
            for pump, nozzles in layout
        ]
    )
