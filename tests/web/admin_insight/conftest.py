"""Fixtures of the admin insight pages: the app's personal-data codec and ledger signer, members
made through the services, and a signed-in console client per role."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from forecourt.ledger.chain import Signer
from forecourt.members.models import Member
from forecourt.members.pii import Pii
from tests.fixtures.builders import StaffLogin
from tests.members.support import make_member
from tests.web.support import sign_in


@pytest.fixture
def pii(app: FastAPI) -> Pii:
    result: Pii = app.state.pii
    return result


@pytest.fixture
def signer(app: FastAPI) -> Signer:
    result: Signer = app.state.ledger_signer
    return result


@pytest.fixture
def member(session: Session, pii: Pii) -> Callable[..., Member]:
    """``member(plates=("云A12345",), phone=...)`` → a registered member."""

    def build(**fields: object) -> Member:
        return make_member(session, pii, **fields)  # type: ignore[arg-type]

    return build


@pytest.fixture
def signed_in(client: TestClient, staff: Callable[..., StaffLogin]) -> Callable[[str], StaffLogin]:
    """``signed_in("finance")`` → that staff member, signed in to the admin console on ``client``."""

    def sign(role: str) -> StaffLogin:
        login = staff(role)
        sign_in(client, login, console="admin")
        return login

    return sign


LONG_AGO = timedelta(days=400)
