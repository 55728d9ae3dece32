"""Fixtures of the rule tests: the POS fixtures (a station's terminal, members) and a terminal factory."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.devices.support import issue
from tests.pos.conftest import member, pii, signer, terminal
from tests.pos.support import Terminal, priced_station

__all__ = ["member", "pii", "signer", "terminal", "terminal_at"]


@pytest.fixture
def terminal_at(session: Session, app: FastAPI, client: TestClient) -> Callable[..., Terminal]:
    """``terminal_at(region="KM-N")`` → a terminal of a new station of that region (PRICES since 30 days)."""

    def build(region: str | None = None) -> Terminal:
        station = priced_station(session, region=region)
        return Terminal(client, issue(session, app, station))

    return build
