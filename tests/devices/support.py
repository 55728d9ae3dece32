"""Device test helpers: issue a POS credential, sign requests, look at what the database kept."""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from forecourt.devices import service as devices
from forecourt.devices.models import DeviceNonce
from forecourt.devices.signing import signed_headers
from forecourt.kit.actor import SYSTEM
from forecourt.stations.models import Station
from tests.fixtures.builders import make_station

STATUS = "/api/v1/pos/status"
DEVICES = "/api/v1/devices"

_nonces = itertools.count(1)


def fresh_nonce() -> str:
    return f"n{next(_nonces):05d}-{uuid.uuid4().hex[:12]}"


def error_of(response: Any) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "details"}, body
    return dict(body["error"])


@dataclass(frozen=True)
class IssuedCredential:
    device_id: str
    secret: str
    station: Station

    def headers(
        self,
        method: str = "GET",
        path: str = STATUS,
        body: bytes = b"",
        *,
        timestamp: int | None = None,
        nonce: str | None = None,
        secret: str | None = None,
    ) -> dict[str, str]:
        return signed_headers(
            self.device_id,
            secret or self.secret,
            method,
            path,
            body,
            timestamp=int(time.time()) if timestamp is None else timestamp,
            nonce=nonce or fresh_nonce(),
        )


def issue(
    session: Session, app: FastAPI, station: Station | None = None, name: str = "1号收银台"
) -> IssuedCredential:
    station = station or make_station(session)
    issued = devices.create_device(session, SYSTEM, app.state.keyring, station=station.code, name=name)
    session.flush()
    return IssuedCredential(device_id=issued.device.id, secret=issued.secret, station=station)


def nonces_of(session: Session, device_id: str) -> list[str]:
    return list(
        session.scalars(
            select(DeviceNonce.nonce).where(DeviceNonce.device_id == device_id).order_by(DeviceNonce.nonce)
        )
    )


def nonce_count(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(DeviceNonce)) or 0)


def device_row(session: Session, device_id: str) -> dict[str, Any]:
    """The raw ``devices`` row, bypassing the ORM identity map."""
    row = session.execute(text("SELECT * FROM devices WHERE id = :id"), {"id": device_id}).mappings().one()
    return dict(row)


def send_raw_headers(app: FastAPI, path: str, headers: dict[str, bytes]) -> httpx.Response:
    """GET ``path`` with header values sent as raw bytes (as an HTTP server passes them on: latin-1).

    The Starlette TestClient re-encodes header values as UTF-8, so it cannot send a byte such as 0xB2.
    """

    async def send() -> httpx.Response:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            return await client.get(path, headers=[(name.encode(), value) for name, value in headers.items()])

    return asyncio.run(send())
