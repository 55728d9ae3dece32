"""Device credentials: issue, list, revoke, and authenticate a signed request.

A request is accepted when the device exists and is not revoked, the timestamp is within the
allowed skew, the signature matches, and the nonce was not seen before. The nonce is recorded only
after the signature checks out (nobody can burn a device's nonces without its secret), and in its
own transaction (a request that later fails still used its nonce).
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from forecourt.audit import service as audit
from forecourt.devices import repository, signing
from forecourt.devices.errors import (
    DeviceAuthMalformed,
    DeviceNotFound,
    DeviceRevoked,
    DeviceUnknown,
    NonceReplayed,
    SignatureInvalid,
    TimestampSkew,
)
from forecourt.devices.models import Device
from forecourt.kit.actor import Actor
from forecourt.kit.clock import utcnow
from forecourt.kit.crypto import KeyRing
from forecourt.kit.ids import random_token
from forecourt.stations import service as stations

SECRET_PURPOSE = "device-secret"  # noqa: S105 - an encryption context label


@dataclass(frozen=True)
class IssuedDevice:
    device: Device
    secret: str


@dataclass(frozen=True)
class DeviceIdentity:
    """The authenticated caller of a POS request."""

    device_id: str
    station_id: uuid.UUID

    def actor(self) -> Actor:
        return Actor(kind="device", id=self.device_id, label=self.device_id, station_id=self.station_id)


def create_device(
    session: Session, actor: Actor, keyring: KeyRing, *, station: str, name: str = ""
) -> IssuedDevice:
    station_row = stations.station_in_scope(session, actor, station)
    secret = random_token(32)
    device = Device(
        id=f"dev_{secrets.token_hex(8)}",
        station_id=station_row.id,
        name=name,
        secret_ciphertext=keyring.encrypt(secret, SECRET_PURPOSE),
        created_at=utcnow(),
        created_by=actor.label,
    )
    session.add(device)
    session.flush()
    audit.record(
        session,
        actor,
        "device.create",
        "device",
        device.id,
        after={"station": station_row.code, "name": name},
    )
    return IssuedDevice(device=device, secret=secret)


def get_device(session: Session, device_id: str) -> Device:
    device = repository.get(session, device_id)
    if device is None:
        raise DeviceNotFound(device_id=device_id)
    return device


def revoke_device(session: Session, actor: Actor, device_id: str) -> Device:
    device = get_device(session, device_id)
    stations.check_scope(actor, device.station_id)
    if device.revoked_at is None:
        device.revoked_at = utcnow()
        audit.record(
            session,
            actor,
            "device.revoke",
            "device",
            device.id,
            before={"revoked": False},
            after={"revoked": True},
        )
    return device


def list_devices(session: Session, actor: Actor, *, station: str | None = None) -> Sequence[Device]:
    """Devices of one station or all; station-bound staff see their own station's only."""
    if station:
        station_id: uuid.UUID | None = stations.station_in_scope(session, actor, station).id
    else:
        station_id = actor.station_id
    return repository.list_devices(session, station_id)


def authenticate_request(
    session: Session,
    keyring: KeyRing,
    *,
    device_id: str,
    timestamp: str,
    nonce: str,
    signature: str,
    method: str,
    path: str,
    body: bytes,
    max_skew_seconds: int,
) -> DeviceIdentity:
    if not signing.TIMESTAMP_PATTERN.fullmatch(timestamp):
        raise DeviceAuthMalformed("X-Timestamp is unix seconds.")
    if not signing.NONCE_PATTERN.fullmatch(nonce):
        raise DeviceAuthMalformed("X-Nonce has 8 to 64 characters: letters, digits, - and _.")
    now = utcnow()
    if abs(int(timestamp) - now.timestamp()) > max_skew_seconds:
        raise TimestampSkew(server_time=int(now.timestamp()), max_skew_seconds=max_skew_seconds)
    device = repository.get(session, device_id)
    if device is None:
        raise DeviceUnknown()
    if device.revoked_at is not None:
        raise DeviceRevoked()
    secret = keyring.decrypt(device.secret_ciphertext, SECRET_PURPOSE)
    if not signing.signature_matches(secret, signature, method, path, timestamp, nonce, body):
        raise SignatureInvalid()
    if not repository.add_nonce(session, device.id, nonce, now):
        raise NonceReplayed()
    stale_before = now - timedelta(minutes=1)
    if device.last_seen_at is None or device.last_seen_at < stale_before:  # at most one write a minute
        repository.touch(session, device.id, now, stale_before=stale_before)
    return DeviceIdentity(device_id=device.id, station_id=device.station_id)


def purge_nonces(session: Session, now: datetime, max_skew_seconds: int) -> int:
    """Forget nonces old enough that their timestamps can no longer pass the skew check."""
    return repository.delete_nonces_before(session, now - timedelta(seconds=2 * max_skew_seconds + 60))
