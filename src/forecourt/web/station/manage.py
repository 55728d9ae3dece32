"""Station console, manager pages: this station's prices and its open/closed switch.

A manager acts on their own station only (``stations.service`` checks the scope again). Setting a
price needs ``prices:write``; opening and closing the station needs ``stations:operate``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Form, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from forecourt.auth.permissions import Permission
from forecourt.db.session import get_session
from forecourt.errors import InvalidRequest
from forecourt.kit.actor import Actor
from forecourt.stations import service as stations
from forecourt.stations.models import Station
from forecourt.web.access import staff_page
from forecourt.web.forms import fen_or_none
from forecourt.web.i18n import N_, gettext
from forecourt.web.routing import web_router
from forecourt.web.station.till import own_station, station_context
from forecourt.web.templating import render, yuan

router = web_router(prefix="/station")

SessionDep = Annotated[Session, Depends(get_session)]
PriceSetter = Annotated[Actor, staff_page(Permission.PRICES_WRITE, console="station")]
Operator = Annotated[Actor, staff_page(Permission.STATIONS_OPERATE, console="station")]
NO_PRICE = N_("Type the new price in yuan per litre, e.g. 7.85.")
PRICE_SET = N_("New price for %(grade)s: %(price)s, from now on.")
OPENED = N_("The station is open: it takes sales.")
CLOSED = N_("The station is closed: it takes no sales.")


def _manage(request: Request, session: Session, actor: Actor, done: str = "") -> Response:
    context = station_context(request, session, actor)
    station: Station | None = context["station"]
    return render(
        request,
        "station/manage.html",
        {
            **context,
            "section": "/station/manage",
            "board": stations.price_board(session, station.code) if station else [],
            "scheduled": stations.scheduled_prices(session, station.code) if station else [],
            "grades": {g.code: g for g in stations.list_grades(session)},
            "open_now": stations.is_open_now(station) if station else False,
            "may_operate": actor.has(Permission.STATIONS_OPERATE),
            "done": done,
        },
    )


@router.get("/manage")
def manage_page(request: Request, session: SessionDep, actor: PriceSetter) -> Response:
    return _manage(request, session, actor)


@router.post("/manage/price")
def set_price(
    request: Request,
    session: SessionDep,
    actor: PriceSetter,
    grade: Annotated[str, Form()] = "",
    price: Annotated[str, Form()] = "",
) -> Response:
    """A new price from now on for one grade of the manager's station (audited by the service)."""
    station = own_station(request, session, actor)
    price_fen = fen_or_none(price, "price")
    if not price_fen:
        raise InvalidRequest(gettext(NO_PRICE))
    row = stations.set_price(session, actor, station.code, grade=grade, price_fen=price_fen)
    grade_name = stations.get_grade(session, row.grade_code).name
    done = gettext(PRICE_SET) % {"grade": grade_name, "price": yuan(price_fen)}
    return _manage(request, session, actor, done)


@router.post("/manage/open")
def set_open(
    request: Request,
    session: SessionDep,
    actor: Operator,
    is_open: Annotated[str, Form()] = "",
) -> Response:
    """Open (``is_open=1``) or close (``is_open=0``) the station for sales."""
    station = own_station(request, session, actor)
    opening = is_open == "1"
    stations.set_open(session, actor, station.code, is_open=opening)
    return _manage(request, session, actor, gettext(OPENED if opening else CLOSED))
