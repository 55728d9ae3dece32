"""Fixtures of the payment tests: an app with the payments router and test providers, members."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from forecourt.app import create_app
from forecourt.config import Settings
from forecourt.members.pii import Pii
from forecourt.payments.config import Payments
from forecourt.payments.endpoints import router
from tests.auth.fast_staff import staff
from tests.members.support import MemberLogin, member_login
from tests.payments.support import all_providers
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
def member_auth(client: TestClient, session: Session, pii: Pii) -> Callable[..., MemberLogin]:
    def build(phone: str | None = None) -> MemberLogin:
        return member_login(client, session, pii, phone)

    return build
