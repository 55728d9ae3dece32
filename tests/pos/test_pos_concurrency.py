"""Sales racing each other for real (committed transactions, one thread per POS request), on
SQLite and PostgreSQL alike (SPEC §3): a member's points are never overdrawn, and one
Idempotency-Key makes one sale however many copies of the request arrive at once."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from forecourt.app import create_app
from forecourt.config import Settings
from forecourt.db.session import Database
from forecourt.devices import service as devices
from forecourt.kit.actor import SYSTEM
from forecourt.ledger import points
from forecourt.ledger.chain import Signer
from forecourt.ledger.models import Entry, LedgerAccount, Lot
from forecourt.pos.models import Sale
from tests.devices.support import IssuedCredential
from tests.fixtures.builders import unique
from tests.members.support import earn_points, make_member
from tests.pos.support import Terminal, fuel, priced_station

pytestmark = pytest.mark.committed

THREADS = 12
HELD = 50_000
"""Points the member holds before the race."""
PER_SALE = 7_500
"""10 L of 92# cost ¥75.00: paid entirely with 7,500 points, so the sale earns nothing back."""


@dataclass(frozen=True)
class Shop:
    app: FastAPI
    credential: IssuedCredential
    member_id: uuid.UUID


@pytest.fixture
def shop(committed_database: Database, test_settings: Settings, signer: Signer) -> Shop:
    """A station with prices, its POS credential and a member holding ``HELD`` points, all committed."""
    app = create_app(test_settings, database=committed_database)
    with committed_database.transaction() as session:
        station = priced_station(session, code=unique("S"))
        issued = devices.create_device(session, SYSTEM, app.state.keyring, station=station.code, name="till")
        credential = IssuedCredential(device_id=issued.device.id, secret=issued.secret, station=station)
        member = make_member(session, app.state.pii)
        earn_points(session, signer, member.id, HELD)
        member_id = member.id
    return Shop(app, credential, member_id)


@pytest.fixture
def terminals(shop: Shop) -> Iterator[list[Terminal]]:
    """One terminal (its own client) per thread, all of the shop's station."""
    clients = [TestClient(shop.app, raise_server_exceptions=False) for _ in range(THREADS)]
    yield [Terminal(client, shop.credential) for client in clients]
    for client in clients:
        client.close()


def race(count: int, call: Callable[[int], Any]) -> list[Any]:
    """Run ``call(0)`` … ``call(count - 1)`` on ``count`` threads released at the same moment."""
    start = threading.Barrier(count)

    def run(index: int) -> Any:
        start.wait(timeout=30)
        return call(index)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


def redeeming_sale(terminal: Terminal, member_id: uuid.UUID) -> dict[str, Any]:
    body = terminal.basket(fuel("92", "10.00"), points=PER_SALE)
    body["member"] = {"type": "member_id", "value": str(member_id)}
    return {**body, "pos_txn_id": terminal.next_txn(), "payments": []}


def answer(response: Any) -> tuple[int, str | None]:
    body = response.json()
    return response.status_code, body["error"]["code"] if "error" in body else None


def test_simultaneous_sales_never_overdraw_the_members_points(
    shop: Shop, terminals: list[Terminal], committed_database: Database
) -> None:
    def sell(index: int) -> Any:
        terminal = terminals[index]
        return terminal.post(
            "/api/v1/pos/transactions", redeeming_sale(terminal, shop.member_id), key=str(uuid.uuid4())
        )

    responses = race(THREADS, sell)
    answers = sorted((answer(r) for r in responses), key=str)
    affordable = HELD // PER_SALE
    assert answers == sorted(
        [(201, None)] * affordable + [(409, "insufficient_points")] * (THREADS - affordable), key=str
    ), [r.json() for r in responses]
    sold = [r.json() for r in responses if r.status_code == 201]
    assert all(s["points_redeemed"] == PER_SALE and s["due_fen"] == 0 for s in sold)

    with committed_database.transaction(write=False) as session:
        held = points.balances(session, shop.member_id)
        assert held.available == HELD - affordable * PER_SALE >= 0
        redeemed = session.scalar(
            select(func.sum(Sale.points_redeemed)).where(Sale.member_id == shop.member_id)
        )
        assert redeemed == affordable * PER_SALE <= HELD
        account = session.scalars(
            select(LedgerAccount).where(
                LedgerAccount.member_id == shop.member_id,
                LedgerAccount.asset == points.ASSET,
                LedgerAccount.purpose == "available",
            )
        ).one()
        entries = session.scalar(select(func.sum(Entry.amount)).where(Entry.account_id == account.id))
        lots = session.scalars(select(Lot.remaining).where(Lot.account_id == account.id)).all()
        assert entries == account.balance == held.available
        assert min(lots) >= 0
        assert sum(lots) == held.available

    # each answer reports the balance its own sale left: 42,500, 35,000, … 5,000 in some order
    assert sorted(s["member_after"]["points_available"] for s in sold) == [
        HELD - PER_SALE * n for n in range(affordable, 0, -1)
    ]


def test_twenty_copies_of_one_request_make_one_sale(
    shop: Shop, terminals: list[Terminal], committed_database: Database
) -> None:
    copies = 20
    body = redeeming_sale(terminals[0], shop.member_id)
    key = f"race-{uuid.uuid4()}"
    clients = [TestClient(shop.app, raise_server_exceptions=False) for _ in range(copies)]
    try:
        senders = [Terminal(client, shop.credential) for client in clients]
        responses = race(copies, lambda index: senders[index].post("/api/v1/pos/transactions", body, key=key))
    finally:
        for client in clients:
            client.close()

    answers = [answer(r) for r in responses]
    assert set(answers) <= {(201, None), (409, "idempotency_key_in_use")}, [r.json() for r in responses]
    sales = [r.json() for r in responses if r.status_code == 201]
    assert sales, "no copy got the sale"
    assert all(sale == sales[0] for sale in sales)
    later = terminals[0].post("/api/v1/pos/transactions", body, key=key)
    assert later.status_code == 201
    assert later.headers["Idempotent-Replayed"] == "true"
    assert later.json() == sales[0]

    with committed_database.transaction(write=False) as session:
        assert (
            session.scalar(
                select(func.count()).select_from(Sale).where(Sale.pos_txn_id == body["pos_txn_id"])
            )
            == 1
        )
        assert points.balances(session, shop.member_id).available == HELD - PER_SALE


def test_simultaneous_completions_of_one_prepay_make_one_sale(
    shop: Shop, terminals: list[Terminal], committed_database: Database
) -> None:
    authorized = terminals[0].post(
        "/api/v1/pos/authorizations",
        {
            "station": shop.credential.station.code,
            "member": {"type": "member_id", "value": str(shop.member_id)},
            "grade": "92",
            "amount_fen": 20_000,
            "payment_method": "wechat",
        },
        key=str(uuid.uuid4()),
    )
    assert authorized.status_code == 201, authorized.json()
    path = f"/api/v1/pos/authorizations/{authorized.json()['id']}/complete"

    def complete(index: int) -> Any:
        terminal = terminals[index]
        return terminal.post(
            path, {"pos_txn_id": terminal.next_txn(), "liters": "20.00"}, key=str(uuid.uuid4())
        )

    answers = sorted((answer(r) for r in race(THREADS, complete)), key=str)
    assert answers == sorted([(200, None)] + [(409, "authorization_closed")] * (THREADS - 1), key=str)
    with committed_database.transaction(write=False) as session:
        assert session.scalar(select(func.count()).select_from(Sale)) == 1


def test_simultaneous_full_refunds_of_one_sale_refund_it_once(
    shop: Shop, terminals: list[Terminal], committed_database: Database
) -> None:
    body = terminals[0].basket(fuel("92", "40.00"))
    body["member"] = {"type": "member_id", "value": str(shop.member_id)}
    sold = terminals[0].commit(body)
    assert sold.status_code == 201, sold.json()
    sale = sold.json()

    responses = race(THREADS, lambda index: terminals[index].refund(sale["id"]))
    answers = sorted((answer(r) for r in responses), key=str)
    assert answers == sorted([(200, None)] + [(409, "refund_not_possible")] * (THREADS - 1), key=str)
    [refund] = [r.json()["refund"] for r in responses if r.status_code == 200]
    assert refund["refunded_fen"] == sale["due_fen"]
    assert refund["points_clawed_back"] == sale["points_earned"]["total"]
    with committed_database.transaction(write=False) as session:
        assert points.balances(session, shop.member_id).available == HELD
