"""Station console: the shift report — a chain day's sales of the staff member's station."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from forecourt.auth.permissions import Permission
from forecourt.db.session import get_session
from forecourt.kit.actor import Actor
from forecourt.kit.clock import chain_date, utcnow
from forecourt.pos import shift_report
from forecourt.web.access import staff_page
from forecourt.web.i18n import N_
from forecourt.web.routing import web_router
from forecourt.web.station.sell import PAYMENT_METHODS
from forecourt.web.station.till import station_context
from forecourt.web.tables import PER_PAGE, offset_of, page_number, page_of
from forecourt.web.templating import render

router = web_router(prefix="/station")

SessionDep = Annotated[Session, Depends(get_session)]
Operator = Annotated[Actor, staff_page(Permission.STATIONS_OPERATE, console="station")]
METHOD_LABELS = {
    **PAYMENT_METHODS,
    "wallet": N_("Wallet"),
    "wallet_bonus": N_("Wallet bonus"),
    "fuel_credit": N_("Fuel credit"),
    "fleet_card": N_("Fleet card"),
    "other": N_("Other"),
}
STATUSES = {
    "completed": N_("Completed"),
    "partially_refunded": N_("Partly refunded"),
    "refunded": N_("Refunded"),
}


def _day(value: str | None) -> date:
    """The chosen day (YYYY-MM-DD), or today in the chain's time zone."""
    if value:
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    return chain_date(utcnow())


@router.get("/shift")
def shift_page(
    request: Request,
    session: SessionDep,
    actor: Operator,
    day: str | None = None,
    page: str | None = None,
) -> Response:
    context = station_context(request, session, actor)
    station = context["station"]
    chosen = _day(day)
    context |= {
        "section": "/station/shift",
        "day": chosen,
        "methods": METHOD_LABELS,
        "statuses": STATUSES,
    }
    if station is not None:
        number = page_number(page)
        sales, total = shift_report.shift_sales(
            session, station.id, chosen, offset=offset_of(number), limit=PER_PAGE
        )
        context.update(
            totals=shift_report.shift_totals(session, station.id, chosen),
            sales=page_of(request, sales, page=number, total=total),
        )
    return render(request, "station/shift.html", context)
