"""Fixtures of the payment tests: an app with the payments router and test providers, members."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from forecourt.app import create_app
from forecourt.config import Settings
from forecourt.kit.clock import utcnow
from forecourt.members.pii import Pii
from forecourt.payments.config import Payments
from forecourt.payments.endpoints import router
from forecourt.risk import service as risk
from tests.auth.fast_staff import staff
from tests.members.support import member_login
from tests.payments.support import DeviceLogin, all_providers
from tests.pos.conftest import member, pii, signer

__all__ = ["member", "pii", "signer", "staff"]


def with_payments(app: FastAPI, payments: Payments) -> FastAPI:
    """The app with the payments router (unless app.py already mounts it) and the test providers."""
    if not any(getattr(route, "path", "") == "/api/v1/payments/notify/{provider}" for route in app.routes):
        app.include_router(router)
    app.state.payments = payments
    return app


@pytest.fixture
def payments() -> Payments:
    return all_providers()


@pytest.fixture
def app(database: object, test_settings: Settings, payments: Payments) -> FastAPI:
    return with_payments(create_app(test_settings, database=database), payments)  # type: ignore[arg-type]


@pytest.fixture
def member_auth(client: TestClient, session: Session, pii: Pii) -> Callable[..., DeviceLogin]:
    """``member_auth()`` → a member signed in on a member-app device they verified before (the
    step-up itself is tested in test_device_step_up); ``verified=False`` for a device never seen."""

    def build(phone: str | None = None, *, verified: bool = True) -> DeviceLogin:
        login = member_login(client, session, pii, phone)
        device = DeviceLogin(**vars(login), device_id=f"app-{uuid.uuid4().hex[:16]}")
        if verified:
            risk.confirm_device(session, uuid.UUID(login.member_id), device.device_id, utcnow())
            session.flush()
        return device

    return build
