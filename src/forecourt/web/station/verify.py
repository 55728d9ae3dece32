"""Station console: verify (核销) a voucher — type or scan its code, see it, verify it at this station."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Form, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from forecourt.auth.permissions import Permission
from forecourt.coupons import redemption
from forecourt.coupons.voucher_preview import voucher_preview
from forecourt.db.session import get_session
from forecourt.errors import InvalidRequest
from forecourt.kit.actor import Actor
from forecourt.kit.clock import utcnow
from forecourt.stations import service as stations
from forecourt.web.access import staff_page
from forecourt.web.i18n import N_, gettext
from forecourt.web.routing import web_router
from forecourt.web.station.till import own_station, station_context
from forecourt.web.templating import render

router = web_router(prefix="/station")

SessionDep = Annotated[Session, Depends(get_session)]
Verifier = Annotated[Actor, staff_page(Permission.COUPONS_VERIFY, console="station")]
NO_CODE = N_("Type or scan the voucher's code.")
STATUSES = {
    "available": N_("Available"),
    "used": N_("Used"),
    "expired": N_("Expired"),
    "refunded_expired": N_("Expired"),
    "void": N_("Void"),
}


@router.get("/verify")
def verify_page(request: Request, session: SessionDep, actor: Verifier) -> Response:
    return render(
        request,
        "station/verify.html",
        {**station_context(request, session, actor), "section": "/station/verify"},
    )


def _code(code: str) -> str:
    if not code.strip():
        raise InvalidRequest(gettext(NO_CODE))
    return code.strip()


@router.post("/verify/check")
def check_voucher(
    request: Request, session: SessionDep, actor: Verifier, code: Annotated[str, Form()] = ""
) -> Response:
    """Show the voucher a code names, with the button to verify it (changes nothing)."""
    own_station(request, session, actor)
    preview = voucher_preview(session, _code(code), utcnow())
    return render(request, "station/_voucher.html", {"voucher": preview, "statuses": STATUSES})


@router.post("/verify")
def verify_voucher(
    request: Request, session: SessionDep, actor: Verifier, code: Annotated[str, Form()] = ""
) -> Response:
    """核销 at the staff member's own station (the API's station scope)."""
    station = own_station(request, session, actor)
    result = redemption.verify(
        session,
        _code(code),
        station=station.code,
        region=stations.region_code_of(session, station),
        actor=actor,
        now=utcnow(),
    )
    return render(request, "station/_verified.html", {"result": result})
