"""What every station page needs: the station the signed-in staff member acts on, and the console
as a till of that station.

Station-bound staff (managers, attendants) act on their own station only. HQ staff have no station:
their pages show a notice instead (``station is None``) and their writes are refused, except for an
admin, who may pick a station to act on (kept in the cookie session as its code).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from forecourt.auth.permissions import Permission, Role
from forecourt.db.session import get_session
from forecourt.devices.service import DeviceIdentity
from forecourt.errors import PermissionDenied
from forecourt.kit.actor import Actor
from forecourt.stations import service as stations
from forecourt.stations.errors import StationNotFound
from forecourt.stations.models import Station
from forecourt.web.access import staff_page
from forecourt.web.i18n import N_, gettext
from forecourt.web.routing import web_router
from forecourt.web.security import safe_next

router = web_router(prefix="/station")

NO_STATION = N_("The station console is for station staff: your account belongs to no station.")
ONLY_ADMIN = N_("Only an administrator may act for a station from head office.")
PICKED_STATION = "station_console_station"
"""Session key: the code of the station an admin picked to act on."""
PICKABLE = 500


@dataclass(frozen=True)
class ConsoleTill(DeviceIdentity):
    """The station console acting as a POS terminal: sales are the station's, and the staff member
    signed in (not a device) is the actor recorded on the ledger postings, coupon use and audit rows."""

    staff: Actor | None = None

    def actor(self) -> Actor:
        return self.staff if self.staff is not None else super().actor()


def _may_pick(actor: Actor) -> bool:
    return actor.station_id is None and actor.role == Role.ADMIN.value


def station_of(request: Request, session: Session, actor: Actor) -> Station | None:
    """The staff member's own station; for an admin the station they picked; else None."""
    if actor.station_id is not None:
        return stations.get_station_by_id(session, actor.station_id)
    code = request.session.get(PICKED_STATION)
    if not _may_pick(actor) or not isinstance(code, str):
        return None
    try:
        return stations.get_station(session, code)
    except StationNotFound:
        return None


def own_station(request: Request, session: Session, actor: Actor) -> Station:
    """The station a write acts on; HQ staff without a picked station are refused."""
    station = station_of(request, session, actor)
    if station is None:
        raise PermissionDenied(gettext(NO_STATION))
    return station


def station_context(request: Request, session: Session, actor: Actor) -> dict[str, Any]:
    """What the station layout and the no-station notice show."""
    station = station_of(request, session, actor)
    pickable: Sequence[Station] = stations.list_stations(session, limit=PICKABLE) if _may_pick(actor) else []
    return {
        "station": station,
        "station_name": station.name if station else "",
        "pick_stations": pickable,
    }


def till_of(actor: Actor, station: Station) -> ConsoleTill:
    return ConsoleTill(device_id=f"console:{actor.label}", station_id=station.id, staff=actor)


@router.post("/pick")
def pick_station(
    request: Request,
    session: Annotated[Session, Depends(get_session)],
    actor: Annotated[Actor, staff_page(Permission.POS_SELL, console="station")],
    station: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "",
) -> Response:
    """An admin picks the station the console acts on (an empty choice forgets it)."""
    if not _may_pick(actor):
        raise PermissionDenied(gettext(ONLY_ADMIN))
    if station.strip():
        request.session[PICKED_STATION] = stations.get_station(session, station).code
    else:
        request.session.pop(PICKED_STATION, None)
    return RedirectResponse(safe_next(next, "/station"), status_code=303)
