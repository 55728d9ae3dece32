"""Simultaneous fapiao requests for the same sale, for real (committed transactions, one thread per
request) on SQLite and PostgreSQL: exactly one request covers the sale, the others get a clean 409."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from forecourt.app import create_app
from forecourt.config import Settings
from forecourt.db.session import Database
from forecourt.devices import service as devices
from forecourt.invoices.models import InvoicedSale, InvoiceRequest
from forecourt.kit.actor import SYSTEM
from tests.devices.support import IssuedCredential
from tests.fixtures.builders import unique
from tests.invoices.support import ME, mount
from tests.members.support import member_login
from tests.pos.support import Terminal, fuel, priced_station
from tests.pos.test_pos_concurrency import answer, race

pytestmark = pytest.mark.committed

THREADS = 8


def test_simultaneous_requests_for_one_sale_let_exactly_one_win(
    committed_database: Database, test_settings: Settings
) -> None:
    app = create_app(test_settings, database=committed_database)
    mount(app)
    with committed_database.transaction() as session:
        station = priced_station(session, code=unique("S"))
        issued = devices.create_device(session, SYSTEM, app.state.keyring, station=station.code, name="till")
        credential = IssuedCredential(device_id=issued.device.id, secret=issued.secret, station=station)
    clients = [TestClient(app, raise_server_exceptions=False) for _ in range(THREADS)]
    try:
        with committed_database.transaction(write=False) as session:
            login = member_login(clients[0], session, app.state.pii)
        terminal = Terminal(clients[0], credential)
        body = terminal.basket(fuel("92", "20.00"))
        body["member"] = {"type": "member_id", "value": login.member_id}
        sold = terminal.commit(body)
        assert sold.status_code == 201, sold.json()
        sale_id = sold.json()["id"]

        def request(index: int) -> Any:
            return clients[index].post(
                ME,
                json={"sale_ids": [sale_id], "title": f"请求{index}", "email": f"m{index}@example.cn"},
                headers=login.headers,
            )

        responses = race(THREADS, request)
    finally:
        for client in clients:
            client.close()

    answers = sorted((answer(r) for r in responses), key=str)
    assert answers == sorted([(201, None)] + [(409, "sale_already_invoiced")] * (THREADS - 1), key=str), [
        r.json() for r in responses
    ]
    with committed_database.transaction(write=False) as session:
        assert session.scalar(select(func.count()).select_from(InvoiceRequest)) == 1
        covered = session.scalars(select(InvoicedSale)).all()
        assert [(row.sale_id, row.amount_fen) for row in covered] == [(uuid.UUID(sale_id), 15_000)]
