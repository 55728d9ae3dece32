"""Fixtures of the rule tests: the POS fixtures (a station's terminal, members) and a terminal factory."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from forecourt.kit.actor import SYSTEM
from forecourt.kit.clock import utcnow
from forecourt.stations import service as stations
from tests.devices.support import issue
from tests.fixtures.builders import make_station
from tests.pos.conftest import member, pii, signer, terminal
from tests.pos.support import PRICES, Terminal

__all__ = ["member", "pii", "signer", "terminal", "terminal_at"]


@pytest.fixture
def terminal_at(session: Session, app: FastAPI, client: TestClient) -> Callable[..., Terminal]:
    """``terminal_at(region="KM-N")`` → a terminal of a new station of that region (PRICES since 30 days)."""

    def build(region: str | None = None) -> Terminal:
        station = make_station(session, region=region)
        for grade, price in PRICES.items():
            stations.set_price(
                session,
                SYSTEM,
                station.code,
                grade=grade,
                price_fen=price,
                effective_from=utcnow() - timedelta(days=30),
            )
        session.flush()
        return Terminal(client, issue(session, app, station))

    return build
