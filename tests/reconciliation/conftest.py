"""Fixtures of the reconciliation tests: the app with the reconciliation router, finance staff."""

from __future__ import annotations

import pytest
from fastapi import FastAPI

from forecourt.app import create_app
from forecourt.config import Settings
from forecourt.reconciliation.endpoints import router
from tests.auth.fast_staff import staff
from tests.conftest import RollbackDatabase
from tests.pos.conftest import member, pii, signer, terminal

__all__ = ["member", "pii", "signer", "staff", "terminal"]


@pytest.fixture
def app(database: RollbackDatabase, test_settings: Settings) -> FastAPI:
    """The application, with the reconciliation router mounted if ``create_app`` does not yet."""
    made = create_app(test_settings, database=database)
    if not any(getattr(route, "path", "") == "/api/v1/reconciliation/items" for route in made.routes):
        made.include_router(router)
    return made
