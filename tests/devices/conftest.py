"""Fixtures of the device tests."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from sqlalchemy.orm import Session

from tests.devices.support import IssuedCredential, issue


@pytest.fixture
def credential(session: Session, app: FastAPI) -> IssuedCredential:
    """A POS device credential of a fresh station."""
    return issue(session, app)
