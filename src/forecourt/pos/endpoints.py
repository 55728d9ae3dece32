"""POS API v1 endpoints. Every route is device-signed (see ``forecourt.devices.signing``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from forecourt.db.session import api_router, get_session
from forecourt.devices.dependencies import device_access
from forecourt.devices.service import DeviceIdentity
from forecourt.kit.clock import utcnow
from forecourt.members import identify as members_identify
from forecourt.members import repository as members_repository
from forecourt.members import service as members
from forecourt.members.facts import facts_of
from forecourt.members.schemas import IdentifyRequest, IdentifyResponse, Points, PosMember, TierRef
from forecourt.pos.errors import DeviceStationMismatch
from forecourt.pos.schemas import PosStatus
from forecourt.stations import service as stations

router = api_router(prefix="/api/v1/pos", tags=["pos"])


@router.get("/status", response_model=PosStatus)
def pos_status(
    session: Annotated[Session, Depends(get_session)], device: Annotated[DeviceIdentity, device_access]
) -> PosStatus:
    """Who the device is, whether its station is open, and the server clock (to keep X-Timestamp in sync)."""
    station = stations.get_station_by_id(session, device.station_id)
    now = utcnow()
    return PosStatus(
        device_id=device.device_id,
        station=station.code,
        station_name=station.name,
        station_open=station.is_open,
        server_time=now,
        server_timestamp=int(now.timestamp()),
    )


@router.post("/identify", response_model=IdentifyResponse)
def identify(
    body: IdentifyRequest,
    request: Request,
    session: Annotated[Session, Depends(get_session)],
    device: Annotated[DeviceIdentity, device_access],
) -> IdentifyResponse:
    """Find the member at the pump by phone, plate, scanned member code or card number."""
    station = stations.get_station(session, body.station)
    if station.id != device.station_id:
        raise DeviceStationMismatch(station=body.station)
    pii = request.app.state.pii
    member = members_identify.identify(session, pii, body.identifier.type, body.identifier.value, utcnow())
    facts = facts_of(session, member)
    return IdentifyResponse(
        member=PosMember(
            id=member.id,
            card_no=member.card_no,
            name=members.personal(pii, member, reveal=False).name,
            tier=TierRef(code=facts.tier_code, name=facts.tier_name),
            points=Points(available=facts.points_available, pending=facts.points_pending),
            wallet_balance_fen=facts.wallet_balance_fen,
            plates=[row.plate for row in members_repository.plates_of(session, member.id)],
        ),
        coupons=[],
    )
