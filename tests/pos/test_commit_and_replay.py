"""Committing a sale: what it writes, what it answers, and how retries behave (SPEC §3, §7)."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from forecourt.db.outbox import OutboxEvent
from forecourt.ledger.models import Posting
from forecourt.members.models import Member
from forecourt.pos.models import Sale
from tests.devices.support import error_of
from tests.members.support import earn_points
from tests.pos.support import Terminal, fuel, points_of


def sales_count(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(Sale)) or 0)


def test_a_commit_writes_the_sale_the_points_and_the_event(
    terminal: Terminal, member: Callable[..., Member], session: Session
) -> None:
    driver = member()
    response = terminal.commit(terminal.basket(fuel("92", "40.00"), member=driver))
    assert response.status_code == 201, response.json()
    sale = response.json()
    assert sale["status"] == "completed"
    assert sale["points_earned"]["total"] == 300
    assert sale["member_after"] == {
        "points_available": 300,
        "points_pending": 0,
        "wallet_balance_fen": 0,
        "tier": {"code": "regular", "name": "普通"},
    }
    assert "¥300.00" in sale["receipt"]
    assert "本次积分" in sale["receipt"]
    assert "+300" in sale["receipt"]
    assert points_of(session, driver) == 300
    event = session.scalar(select(OutboxEvent).where(OutboxEvent.topic == "transaction.completed"))
    assert event is not None
    assert event.payload["sale_id"] == sale["id"]
    fetched = terminal.get(f"/api/v1/pos/transactions/{sale['id']}")
    assert fetched.status_code == 200
    assert fetched.json() == sale | {"refunds": []} | {
        "payments": [p | {"refunded_fen": 0} for p in sale["payments"]]
    }


def test_points_pay_whole_yuan_and_earn_only_on_the_rest(
    terminal: Terminal, member: Callable[..., Member], session: Session, signer: object
) -> None:
    driver = member()
    earn_points(session, signer, driver.id, 1_250)  # type: ignore[arg-type]
    quote = terminal.quote(terminal.basket(fuel("92", "10.00"), member=driver, points="auto")).json()
    assert quote["points_redeemed"] == 1_200  # whole hundreds
    assert quote["points_value_fen"] == 1_200
    assert quote["due_fen"] == 7_500 - 1_200
    assert quote["points_earned"]["total"] == 63  # ¥63.00 paid
    response = terminal.commit(terminal.basket(fuel("92", "10.00"), member=driver, points=1_200))
    assert response.status_code == 201, response.json()
    assert response.json()["member_after"]["points_available"] == 1_250 - 1_200 + 63


def test_points_refusals(
    terminal: Terminal, member: Callable[..., Member], session: Session, signer: object
) -> None:
    driver = member()
    earn_points(session, signer, driver.id, 50_000)  # type: ignore[arg-type]
    cases = {
        150: "invalid_points_amount",
        60_000: "insufficient_points",
        7_600: "points_exceed_payable",
    }
    for points, code in cases.items():
        response = terminal.quote(terminal.basket(fuel("92", "10.00"), member=driver, points=points))
        assert error_of(response)["code"] == code, (points, response.json())


def test_the_same_key_and_body_return_the_first_answer(
    terminal: Terminal, member: Callable[..., Member], session: Session
) -> None:
    driver = member()
    body = terminal.basket(fuel("92", "20.00"), member=driver) | {
        "pos_txn_id": "T-REPLAY-1",
        "payments": [{"method": "wechat", "amount_fen": 15_000}],
    }
    key = str(uuid.uuid4())
    first = terminal.post("/api/v1/pos/transactions", body, key=key)
    again = terminal.post("/api/v1/pos/transactions", body, key=key)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert sales_count(session) == 1
    assert points_of(session, driver) == 150
    changed = terminal.post("/api/v1/pos/transactions", body | {"pos_txn_id": "T-REPLAY-2"}, key=key)
    assert changed.status_code == 409
    assert error_of(changed)["code"] == "idempotency_key_conflict"
    assert sales_count(session) == 1


def test_a_refusal_is_replayed_too(terminal: Terminal, session: Session) -> None:
    body = terminal.basket(fuel("92", "20.00")) | {
        "pos_txn_id": "T-SHORT",
        "payments": [{"method": "cash", "amount_fen": 100}],
    }
    key = str(uuid.uuid4())
    first = terminal.post("/api/v1/pos/transactions", body, key=key)
    assert first.status_code == 400
    assert error_of(first)["code"] == "payment_mismatch"
    again = terminal.post("/api/v1/pos/transactions", body, key=key)
    assert again.status_code == 400
    assert again.json() == first.json()
    assert sales_count(session) == 0
    assert session.scalar(select(func.count()).select_from(Posting)) == 0


def test_a_pos_txn_id_is_committed_once_per_station(terminal: Terminal) -> None:
    body = terminal.basket(fuel("92", "20.00")) | {
        "pos_txn_id": "T-DUP",
        "payments": [{"method": "cash", "amount_fen": 15_000}],
    }
    assert terminal.post("/api/v1/pos/transactions", body, key="k-1").status_code == 201
    again = terminal.post("/api/v1/pos/transactions", body, key="k-2")
    assert again.status_code == 409
    assert error_of(again)["code"] == "duplicate_pos_txn_id"


def test_a_commit_needs_an_idempotency_key(terminal: Terminal) -> None:
    body = terminal.basket(fuel("92", "20.00")) | {"pos_txn_id": "T-NOKEY", "payments": []}
    response = terminal.post("/api/v1/pos/transactions", body)
    assert response.status_code == 400
    assert error_of(response)["code"] == "invalid_idempotency_key"
