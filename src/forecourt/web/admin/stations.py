"""Admin stations and prices (with history).

Prices are set through ``stations.service`` exactly as the API's price routes set them (the same
checks, audit and ``station.price_changed`` event): a refused price changes nothing and shows the
service's error. Prices are typed in yuan (8.15) and kept in fen; "effective from" is a chain-time
moment (empty: now).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from forecourt.auth.permissions import Permission
from forecourt.db.session import get_session
from forecourt.kit.actor import Actor
from forecourt.stations import price_log
from forecourt.stations import service as stations
from forecourt.stations.models import Station
from forecourt.web.access import staff_page
from forecourt.web.forms import chain_moment, fen_of
from forecourt.web.i18n import N_, gettext
from forecourt.web.routing import web_router
from forecourt.web.tables import PER_PAGE, offset_of, page_number, page_of, xlsx_response
from forecourt.web.templating import render

router = web_router(prefix="/admin")

SessionDep = Annotated[Session, Depends(get_session)]

Reader = Annotated[Actor, staff_page(Permission.STATIONS_READ)]
ALL_STATIONS = 10_000
"""A chain's stations fit one read; the list pages through them in memory."""
SOURCES = {"station": N_("This station"), "region": N_("Region-wide change")}
STATION_COLUMNS = (
    N_("Code"),
    N_("Name"),
    N_("Region"),
    N_("Address"),
    N_("Hours"),
    N_("Open"),
    N_("Open now"),
)


# --- form helpers the admin program pages share ---------------------------------------------------


def after_post(request: Request, url: str) -> Response:
    """Post/redirect/get: htmx is told to load ``url``; a plain form post is redirected there."""
    if request.headers.get("hx-request") == "true":
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


# --- stations list ---------------------------------------------------------------------------------


def _filtered(session: Session, region: str | None, status: str | None) -> Sequence[Station]:
    is_open = {"open": True, "closed": False}.get(status or "")
    return stations.list_stations(session, region=region or None, is_open=is_open, limit=ALL_STATIONS)


def _hours(station: Station) -> str:
    if station.opens_at is None or station.closes_at is None:
        return gettext("24 hours")
    return f"{station.opens_at:%H:%M}-{station.closes_at:%H:%M}"


@router.get("/stations")
def station_list(
    request: Request,
    actor: Reader,
    session: SessionDep,
    region: str | None = None,
    status: str | None = None,
    page: str | None = None,
    saved: str | None = None,
) -> Response:
    number = page_number(page)
    rows = _filtered(session, region, status)
    start = offset_of(number)
    return render(
        request,
        "admin/stations/list.html",
        {
            "section": "/admin/stations",
            "regions": stations.list_regions(session),
            "regions_by_id": stations.regions_by_id(session),
            "grades": stations.list_grades(session),
            "region": region or "",
            "status": status or "",
            "page": page_of(request, rows[start : start + PER_PAGE], page=number, total=len(rows)),
            "hours": _hours,
            "open_now": stations.is_open_now,
            "saved": saved,
            "export_url": str(request.url.replace(path="/admin/stations.xlsx")),
            "can_set_region": actor.has(Permission.PRICES_WRITE_REGION),
        },
    )


@router.get("/stations.xlsx")
def station_export(
    actor: Reader, session: SessionDep, region: str | None = None, status: str | None = None
) -> Response:
    regions = stations.regions_by_id(session)
    rows = [
        (
            s.code,
            s.name,
            regions[s.region_id].name if s.region_id in regions else "",
            s.address,
            _hours(s),
            gettext("Yes") if s.is_open else gettext("No"),
            gettext("Yes") if stations.is_open_now(s) else gettext("No"),
        )
        for s in _filtered(session, region, status)
    ]
    return xlsx_response(gettext("Stations"), [gettext(c) for c in STATION_COLUMNS], rows)


@router.post("/stations/region-prices")
def set_region_price(
    request: Request,
    actor: Annotated[Actor, staff_page(Permission.PRICES_WRITE_REGION)],
    session: SessionDep,
    region: Annotated[str, Form()] = "",
    grade: Annotated[str, Form()] = "",
    price_yuan: Annotated[str, Form()] = "",
    effective_from: Annotated[str, Form()] = "",
) -> Response:
    """One grade's price at every station of a region (the API's bulk price change)."""
    rows = stations.set_region_price(
        session,
        actor,
        region,
        grade=grade,
        price_fen=fen_of(price_yuan),
        effective_from=chain_moment(effective_from),
    )
    return after_post(request, f"/admin/stations?region={region}&saved={rows[0].grade_code}")


# --- one station -----------------------------------------------------------------------------------


@router.get("/stations/{code}")
def station_detail(
    code: str,
    request: Request,
    actor: Reader,
    session: SessionDep,
    grade: str | None = None,
    page: str | None = None,
    saved: str | None = None,
) -> Response:
    station = stations.get_station(session, code)
    number = page_number(page)
    history, total = price_log.price_history_page(
        session, station.code, grade=grade or None, offset=offset_of(number), limit=PER_PAGE
    )
    region = stations.regions_by_id(session).get(station.region_id) if station.region_id else None
    context: dict[str, Any] = {
        "section": "/admin/stations",
        "station": station,
        "region": region,
        "hours": _hours(station),
        "open_now": stations.is_open_now(station),
        "prices": stations.price_board(session, station.code),
        "scheduled": stations.scheduled_prices(session, station.code),
        "grades": stations.list_grades(session),
        "grade": grade or "",
        "history": page_of(request, history, page=number, total=total),
        "saved": saved,
        "can_set_price": actor.has(Permission.PRICES_WRITE) and actor.may_act_on_station(station.id),
        "source_label": lambda key: gettext(SOURCES[key]) if key in SOURCES else key,
    }
    return render(request, "admin/stations/detail.html", context)


@router.post("/stations/{code}/prices")
def set_price(
    code: str,
    request: Request,
    actor: Annotated[Actor, staff_page(Permission.PRICES_WRITE)],
    session: SessionDep,
    grade: Annotated[str, Form()] = "",
    price_yuan: Annotated[str, Form()] = "",
    effective_from: Annotated[str, Form()] = "",
) -> Response:
    """The API's ``PUT /stations/{code}/prices``: now, from a future moment, or backdated (audited)."""
    row = stations.set_price(
        session,
        actor,
        code,
        grade=grade,
        price_fen=fen_of(price_yuan),
        effective_from=chain_moment(effective_from),
    )
    return after_post(request, f"/admin/stations/{code}?saved={row.grade_code}")
