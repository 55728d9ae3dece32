"""Fixtures of the risk tests: the app with the risk router, a POS terminal, members, finance staff."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from forecourt.app import create_app
from forecourt.config import Settings
from forecourt.members.models import Member
from forecourt.risk.endpoints import router as risk_router
from tests.conftest import RollbackDatabase
from tests.devices.support import issue
from tests.members.support import make_member
from tests.pos.support import Terminal, priced_station


@pytest.fixture
def app(database: RollbackDatabase, test_settings: Settings) -> FastAPI:
    """The application, with the risk router mounted if ``create_app`` does not mount it yet."""
    made = create_app(test_settings, database=database)
    if not any(getattr(route, "path", "") == "/api/v1/risk/rules" for route in made.routes):
        made.include_router(risk_router)
    return made


@pytest.fixture
def terminal(session: Session, app: FastAPI, client: TestClient) -> Terminal:
    return Terminal(client, issue(session, app, priced_station(session)))


@pytest.fixture
def member(session: Session, app: FastAPI) -> Callable[..., Member]:
    def build(**fields: Any) -> Member:
        made = make_member(session, app.state.pii, **fields)
        session.flush()
        return made

    return build
