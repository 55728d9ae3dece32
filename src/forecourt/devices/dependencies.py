"""The device access dependency: a POS route's caller is a signed, non-replayed device request."""

from __future__ import annotations

from typing import Any

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from forecourt.db.session import Database
from forecourt.devices import service
from forecourt.devices.errors import DeviceAuthMissing
from forecourt.devices.service import DeviceIdentity


class DeviceAccess:
    policy = "device"

    async def __call__(self, request: Request) -> DeviceIdentity:
        headers = request.headers
        device_id = headers.get("x-device-id")
        timestamp = headers.get("x-timestamp")
        nonce = headers.get("x-nonce")
        signature = headers.get("x-signature")
        if not (device_id and timestamp and nonce and signature):
            raise DeviceAuthMissing()
        body = await request.body()
        raw_path = request.scope.get("raw_path") or request.url.path.encode()
        path = raw_path.decode("latin-1") + (f"?{request.url.query}" if request.url.query else "")
        database: Database = request.app.state.database
        state = request.app.state

        def authenticate(session: Any) -> DeviceIdentity:
            return service.authenticate_request(
                session,
                state.keyring,
                device_id=device_id,
                timestamp=timestamp,
                nonce=nonce,
                signature=signature,
                method=request.method,
                path=path,
                body=body,
                max_skew_seconds=state.settings.device_clock_skew_seconds,
            )

        identity: DeviceIdentity = await run_in_threadpool(database.run, authenticate)
        request.state.device = identity
        return identity


device_access: Any = Depends(DeviceAccess())
