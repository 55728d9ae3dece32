from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from forecourt.db.upsert import insert_for
from forecourt.devices.models import Device, DeviceNonce


def get(session: Session, device_id: str) -> Device | None:
    return session.get(Device, device_id)


def list_devices(session: Session, station_id: uuid.UUID | None) -> Sequence[Device]:
    query = select(Device).order_by(Device.created_at)
    if station_id is not None:
        query = query.where(Device.station_id == station_id)
    return session.scalars(query).all()


def add_nonce(session: Session, device_id: str, nonce: str, seen_at: datetime) -> bool:
    """Record the nonce; False when the device used it before (a replay). One statement."""
    inserted = session.execute(
        insert_for(session, DeviceNonce)
        .values(device_id=device_id, nonce=nonce, seen_at=seen_at)
        .on_conflict_do_nothing()
        .returning(DeviceNonce.nonce)
    ).scalar()
    return inserted is not None


def touch(session: Session, device_id: str, now: datetime, stale_before: datetime) -> None:
    session.execute(
        update(Device)
        .where(Device.id == device_id, or_(Device.last_seen_at.is_(None), Device.last_seen_at < stale_before))
        .values(last_seen_at=now)
    )


def delete_nonces_before(session: Session, moment: datetime) -> int:
    result = session.execute(delete(DeviceNonce).where(DeviceNonce.seen_at < moment))
    return int(result.rowcount)  # type: ignore[attr-defined]
