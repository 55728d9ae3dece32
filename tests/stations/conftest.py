"""Fixtures of the stations tests.

Two shortcuts keep these many small API tests fast; neither changes what is tested:
- one application for the whole run, pointed at each test's rolled-back database in turn (building the
  app, with its routes, took a good part of each test's time);
- staff passwords hashed cheaply (signing in is tested in tests/auth, not here).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from sqlalchemy import Engine

from forecourt.app import create_app
from forecourt.auth import passwords
from forecourt.config import Settings
from forecourt.db.session import Database
from tests.fixtures.builders import StaffLogin


@pytest.fixture(scope="session")
def _one_app(engine: Engine, test_settings: Settings) -> FastAPI:
    return create_app(test_settings, database=Database(engine))


@pytest.fixture
def app(_one_app: FastAPI, database: Database) -> Iterator[FastAPI]:
    """The shared application, answering from this test's rolled-back transaction."""
    _one_app.state.database = database
    yield _one_app
    _one_app.state.database = None


@pytest.fixture(autouse=True)
def _cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        passwords,
        "_hasher",
        PasswordHasher(time_cost=1, memory_cost=8, parallelism=1, hash_len=16, salt_len=8),
    )


@pytest.fixture
def admin(staff: Callable[..., StaffLogin]) -> StaffLogin:
    return staff("admin")
