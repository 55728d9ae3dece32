from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session
from starlette import status

from forecourt.auth.dependencies import require
from forecourt.auth.permissions import Permission
from forecourt.db.session import api_router, get_session
from forecourt.devices import service
from forecourt.devices.models import Device
from forecourt.devices.schemas import DeviceCreate, DeviceCredential, DeviceRead
from forecourt.kit.actor import Actor
from forecourt.stations import service as stations

router = api_router(prefix="/api/v1", tags=["devices"])

SessionDep = Annotated[Session, Depends(get_session)]


def _read(session: Session, device: Device) -> DeviceRead:
    return DeviceRead(
        id=device.id,
        station=stations.get_station_by_id(session, device.station_id).code,
        name=device.name,
        created_at=device.created_at,
        created_by=device.created_by,
        revoked_at=device.revoked_at,
        last_seen_at=device.last_seen_at,
    )


@router.post("/stations/{code}/devices", response_model=DeviceCredential, status_code=status.HTTP_201_CREATED)
def create_device(
    code: str,
    body: DeviceCreate,
    request: Request,
    session: SessionDep,
    actor: Annotated[Actor, require(Permission.DEVICES_MANAGE)],
) -> DeviceCredential:
    """Issue a POS device credential for a station; the secret is shown this once."""
    issued = service.create_device(session, actor, request.app.state.keyring, station=code, name=body.name)
    return DeviceCredential(
        device_id=issued.device.id,
        secret=issued.secret,
        station=stations.get_station_by_id(session, issued.device.station_id).code,
    )


@router.get("/devices", response_model=list[DeviceRead])
def list_devices(
    session: SessionDep,
    actor: Annotated[Actor, require(Permission.DEVICES_MANAGE)],
    station: str | None = None,
) -> list[DeviceRead]:
    return [_read(session, device) for device in service.list_devices(session, actor, station=station)]


@router.post("/devices/{device_id}/revoke", response_model=DeviceRead)
def revoke_device(
    device_id: str, session: SessionDep, actor: Annotated[Actor, require(Permission.DEVICES_MANAGE)]
) -> DeviceRead:
    return _read(session, service.revoke_device(session, actor, device_id))
