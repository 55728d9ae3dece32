"""Fixtures of the POS tests: a station with prices since a month ago, its terminal, members."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from forecourt.config import Settings
from forecourt.kit.actor import SYSTEM
from forecourt.kit.clock import utcnow
from forecourt.ledger.chain import Signer, signer_for
from forecourt.members.models import Member
from forecourt.members.pii import Pii
from forecourt.tiers import service as tiers
from tests.devices.support import issue
from tests.members.support import make_member
from tests.pos.support import Terminal, priced_station


@pytest.fixture
def pii(app: FastAPI) -> Pii:
    result: Pii = app.state.pii
    return result


@pytest.fixture(scope="session")
def signer(test_settings: Settings) -> Signer:
    return signer_for(test_settings.ledger_signing_key)


@pytest.fixture
def terminal(session: Session, app: FastAPI, client: TestClient) -> Terminal:
    """A POS terminal of a fresh station whose prices (PRICES) are in force since 30 days ago."""
    station = priced_station(session)
    return Terminal(client, issue(session, app, station))


@pytest.fixture
def member(session: Session, pii: Pii) -> Callable[..., Member]:
    """``member(tier="silver", birthday=date(...))`` → a registered member (tier set by hand)."""

    def build(tier: str | None = None, **fields: Any) -> Member:
        made = make_member(session, pii, **fields)
        if tier is not None and tier != "regular":
            tiers.set_manual(
                session, SYSTEM, made.id, tier, until=utcnow() + timedelta(days=365), note="test"
            )
        session.flush()
        return made

    return build
