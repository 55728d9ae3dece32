"""POS API v1 endpoints. Every route is device-signed (see ``forecourt.devices.signing``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from sqlalchemy.orm import Session

from forecourt.db.session import api_router, get_session
from forecourt.devices.dependencies import device_access
from forecourt.devices.service import DeviceIdentity
from forecourt.kit.clock import utcnow
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
