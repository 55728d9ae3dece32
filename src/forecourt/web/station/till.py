"""What every station page needs: the signed-in staff member's own station, and the console as a till.

Station-bound staff (managers, attendants) act on their own station only. HQ staff have no station:
their pages show a notice instead (``station is None``) and their writes are refused.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from forecourt.devices.service import DeviceIdentity
from forecourt.errors import PermissionDenied
from forecourt.kit.actor import Actor
from forecourt.stations import service as stations
from forecourt.stations.models import Station
from forecourt.web.i18n import N_, gettext

NO_STATION = N_("The station console is for station staff: your account belongs to no station.")


@dataclass(frozen=True)
class ConsoleTill(DeviceIdentity):
    """The station console acting as a POS terminal: sales are the station's, and the staff member
    signed in (not a device) is the actor recorded on the ledger postings, coupon use and audit rows."""

    staff: Actor | None = None

    def actor(self) -> Actor:
        return self.staff if self.staff is not None else super().actor()


def station_of(session: Session, actor: Actor) -> Station | None:
    """The staff member's own station, None for HQ staff."""
    if actor.station_id is None:
        return None
    return stations.get_station_by_id(session, actor.station_id)


def own_station(session: Session, actor: Actor) -> Station:
    """The station a write acts on; HQ staff are refused (the console is the stations')."""
    station = station_of(session, actor)
    if station is None:
        raise PermissionDenied(gettext(NO_STATION))
    return station


def till_of(actor: Actor, station: Station) -> ConsoleTill:
    return ConsoleTill(device_id=f"console:{actor.label}", station_id=station.id, staff=actor)
