"""Prepaid recharge cards (SPEC W1): printed once, activated at the counter, redeemed once into a
wallet with the right PIN — under concurrency too — and refused with clean errors otherwise."""

from __future__ import annotations

import csv
import io
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from forecourt.app import create_app
from forecourt.audit.models import AuditEntry
from forecourt.config import Settings
from forecourt.db.session import Database
from forecourt.kit.actor import SYSTEM
from forecourt.members import member_auth as member_sessions
from forecourt.wallet import cards
from forecourt.wallet import service as wallet
from forecourt.wallet.card_endpoints import router as cards_router
from forecourt.wallet.models import RechargeCard, WalletTopUp
from tests.conftest import RollbackDatabase
from tests.members.support import MemberLogin, make_member

BATCHES = "/api/v1/recharge-cards/batches"
REDEEM = "/api/v1/me/recharge-cards/redeem"


def with_cards(app: FastAPI) -> FastAPI:
    if not any(getattr(route, "path", "") == BATCHES for route in app.routes):
        app.include_router(cards_router)
    return app


@pytest.fixture
def app(database: RollbackDatabase, test_settings: Settings) -> FastAPI:
    return with_cards(create_app(test_settings, database=database))


def error_code(response: Any) -> str:
    body = response.json()
    assert "error" in body, body
    code: str = body["error"]["code"]
    return code


def printed_batch(
    client: TestClient, finance: dict[str, str], *, face_fen: int = 10_000, size: int = 3
) -> dict[str, str]:
    """A batch created and exported: code → PIN."""
    made = client.post(
        BATCHES, json={"face_fen": face_fen, "size": size, "note": "测试批次"}, headers=finance
    )
    assert made.status_code == 201, made.text
    exported = client.get(f"{BATCHES}/{made.json()['id']}/cards.csv", headers=finance)
    assert exported.status_code == 200, exported.text
    return {row["code"]: row["pin"] for row in csv.DictReader(io.StringIO(exported.text))}


def activate(client: TestClient, headers: dict[str, str], code: str) -> Any:
    return client.post(f"/api/v1/recharge-cards/{code}/activate", headers=headers)


def redeem(client: TestClient, login: MemberLogin, code: str, pin: str) -> Any:
    return client.post(REDEEM, json={"code": code, "pin": pin}, headers=login.headers)


def wrong(pin: str) -> str:
    return f"{(int(pin) + 1) % 10**8:08d}"


# --- batches and the one-time export -------------------------------------------------------------


def test_finance_prints_a_batch_whose_pins_are_8_digits_kept_only_as_digests(
    client: TestClient, staff: Any, session: Session
) -> None:
    finance = staff("finance").headers
    made = client.post(BATCHES, json={"face_fen": 50_000, "size": 4, "note": None}, headers=finance)
    assert made.status_code == 201, made.text
    batch = made.json()
    assert (batch["size"], batch["issued"], batch["printed"]) == (4, 4, False)
    exported = client.get(f"{BATCHES}/{batch['id']}/cards.csv", headers=finance)
    assert exported.status_code == 200, exported.text
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert len(rows) == 4
    assert len({row["code"] for row in rows}) == 4
    assert all(len(row["pin"]) == 8 and row["pin"].isdigit() for row in rows)
    assert {row["face_yuan"] for row in rows} == {"500.00"}
    session.expire_all()
    stored = {card.code: card.pin_digest for card in session.scalars(select(RechargeCard))}
    for row in rows:
        assert row["pin"] not in stored[row["code"]]
        assert stored[row["code"]] == cards.pin_digest(
            client.app.state.settings.secret_key, row["code"], row["pin"]
        )  # type: ignore[attr-defined]
    assert client.get(f"{BATCHES}/{batch['id']}", headers=finance).json()["printed"] is True


def test_the_pins_can_be_exported_only_once_and_the_export_is_audited(
    client: TestClient, staff: Any, session: Session
) -> None:
    finance = staff("finance").headers
    made = client.post(BATCHES, json={"face_fen": 10_000, "size": 2}, headers=finance).json()
    assert client.get(f"{BATCHES}/{made['id']}/cards.csv", headers=finance).status_code == 200
    again = client.get(f"{BATCHES}/{made['id']}/cards.csv", headers=finance)
    assert again.status_code == 409
    assert error_code(again) == "recharge_cards_already_exported"
    session.expire_all()
    exports = session.scalars(
        select(AuditEntry).where(
            AuditEntry.action == "recharge_cards.exported", AuditEntry.entity_id == made["id"]
        )
    ).all()
    assert len(exports) == 1


def test_only_finance_creates_and_exports_batches(client: TestClient, staff: Any) -> None:
    attendant = staff("attendant").headers
    assert client.post(BATCHES, json={"face_fen": 10_000, "size": 1}, headers=attendant).status_code == 403
    made = client.post(BATCHES, json={"face_fen": 10_000, "size": 1}, headers=staff("finance").headers).json()
    assert client.get(f"{BATCHES}/{made['id']}/cards.csv", headers=attendant).status_code == 403


def test_a_batch_needs_a_positive_face_value_and_size(client: TestClient, staff: Any) -> None:
    finance = staff("finance").headers
    assert client.post(BATCHES, json={"face_fen": 0, "size": 1}, headers=finance).status_code == 422
    assert client.post(BATCHES, json={"face_fen": 100, "size": 0}, headers=finance).status_code == 422


# --- activation and redemption -------------------------------------------------------------------


def test_a_lost_export_is_recovered_by_a_reprint_of_the_unsold_cards_whose_old_pins_die(
    client: TestClient, staff: Any, member_auth: Callable[..., MemberLogin]
) -> None:
    finance = staff("finance").headers
    made = client.post(BATCHES, json={"face_fen": 10_000, "size": 2, "note": "丢失的导出"}, headers=finance)
    batch_id = made.json()["id"]
    exported = client.get(f"{BATCHES}/{batch_id}/cards.csv", headers=finance)
    (sold, sold_pin), (unsold, old_pin) = sorted(
        (row["code"], row["pin"]) for row in csv.DictReader(io.StringIO(exported.text))
    )
    assert activate(client, staff("attendant").headers, sold).status_code == 200

    reprinted = client.post(f"{BATCHES}/{batch_id}/reprint", headers=finance)
    assert reprinted.status_code == 200, reprinted.text
    new_pins = {row["code"]: row["pin"] for row in csv.DictReader(io.StringIO(reprinted.text))}
    assert set(new_pins) == {unsold}, "a sold card keeps its PIN"
    login = member_auth()
    assert activate(client, staff("attendant").headers, unsold).status_code == 200
    assert error_code(redeem(client, login, unsold, old_pin)) == "recharge_card_pin_wrong"
    assert redeem(client, login, unsold, new_pins[unsold]).status_code == 201
    assert redeem(client, login, sold, sold_pin).status_code == 201


def test_a_card_activated_by_station_staff_puts_its_face_value_into_the_wallet_without_bonus(
    client: TestClient, staff: Any, member_auth: Callable[..., MemberLogin], session: Session
) -> None:
    finance = staff("finance").headers
    pins = printed_batch(client, finance, face_fen=50_000, size=1)  # ¥500 reaches the default bonus tier
    [(code, pin)] = pins.items()
    activated = activate(client, staff("attendant").headers, code)
    assert activated.status_code == 200, activated.text
    assert activated.json()["status"] == "active"
    login = member_auth()
    done = redeem(client, login, code.lower(), pin)
    assert done.status_code == 201, done.text
    assert (done.json()["amount_fen"], done.json()["bonus_fen"]) == (50_000, 0)
    assert done.json()["wallet"] == {"principal_fen": 50_000, "bonus_fen": 0, "balance_fen": 50_000}
    session.expire_all()
    top_up = session.scalars(select(WalletTopUp).where(WalletTopUp.reference == code)).one()
    assert top_up.method == "recharge_card"
    card = session.scalars(select(RechargeCard).where(RechargeCard.code == code)).one()
    assert (card.status, str(card.member_id)) == ("redeemed", login.member_id)
    assert card.activated_by is not None


def test_a_redeemed_card_is_refused_to_another_member_and_its_redeemer_retries_safely(
    client: TestClient, staff: Any, member_auth: Callable[..., MemberLogin]
) -> None:
    finance = staff("finance").headers
    [(code, pin)] = printed_batch(client, finance, size=1).items()
    assert activate(client, finance, code).status_code == 200
    first, second = member_auth(), member_auth()
    assert redeem(client, first, code, pin).status_code == 201
    again = redeem(client, first, code, pin)
    assert again.status_code == 201
    assert again.json()["wallet"]["balance_fen"] == 10_000
    refused = redeem(client, second, code, pin)
    assert (refused.status_code, error_code(refused)) == (409, "recharge_card_already_redeemed")
    assert client.get("/api/v1/me/wallet", headers=second.headers).json()["balance_fen"] == 0


def test_a_card_not_activated_at_a_counter_cannot_be_redeemed(
    client: TestClient, staff: Any, member_auth: Callable[..., MemberLogin]
) -> None:
    [(code, pin)] = printed_batch(client, staff("finance").headers, size=1).items()
    refused = redeem(client, member_auth(), code, pin)
    assert (refused.status_code, error_code(refused)) == (409, "recharge_card_not_active")


def test_a_void_card_cannot_be_redeemed_nor_activated(
    client: TestClient, staff: Any, member_auth: Callable[..., MemberLogin]
) -> None:
    finance = staff("finance").headers
    [(code, pin)] = printed_batch(client, finance, size=1).items()
    assert activate(client, finance, code).status_code == 200
    voided = client.post(
        f"/api/v1/recharge-cards/{code}/void", json={"reason": "reported stolen"}, headers=finance
    )
    assert voided.status_code == 200
    assert voided.json()["status"] == "void"
    refused = redeem(client, member_auth(), code, pin)
    assert (refused.status_code, error_code(refused)) == (409, "recharge_card_void")
    again = activate(client, staff("attendant").headers, code)
    assert (again.status_code, error_code(again)) == (409, "recharge_card_not_activatable")


def test_a_card_of_a_batch_never_exported_cannot_be_activated(
    client: TestClient, staff: Any, session: Session
) -> None:
    finance = staff("finance").headers
    made = client.post(BATCHES, json={"face_fen": 10_000, "size": 1}, headers=finance).json()
    session.expire_all()
    code = session.scalars(
        select(RechargeCard.code).where(RechargeCard.batch_id == uuid.UUID(made["id"]))
    ).one()
    refused = activate(client, staff("attendant").headers, code)
    assert (refused.status_code, error_code(refused)) == (409, "recharge_card_not_printed")


def test_five_wrong_pins_lock_the_card_even_for_the_right_pin(
    client: TestClient, staff: Any, member_auth: Callable[..., MemberLogin], session: Session
) -> None:
    finance = staff("finance").headers
    [(code, pin)] = printed_batch(client, finance, size=1).items()
    assert activate(client, finance, code).status_code == 200
    login = member_auth()
    for tries_left in (4, 3, 2, 1):
        attempt = redeem(client, login, code, wrong(pin))
        assert (attempt.status_code, error_code(attempt)) == (409, "recharge_card_pin_wrong")
        assert attempt.json()["error"]["details"]["tries_left"] == tries_left
    fifth = redeem(client, login, code, wrong(pin))
    assert (fifth.status_code, error_code(fifth)) == (409, "recharge_card_locked")
    right = redeem(client, login, code, pin)
    assert (right.status_code, error_code(right)) == (409, "recharge_card_locked")
    assert client.get("/api/v1/me/wallet", headers=login.headers).json()["balance_fen"] == 0
    session.expire_all()
    assert session.scalars(select(RechargeCard.failed_attempts).where(RechargeCard.code == code)).one() == 5


def test_an_unknown_card_code_is_not_found(
    client: TestClient, member_auth: Callable[..., MemberLogin]
) -> None:
    refused = redeem(client, member_auth(), "NOSUCHCARD", "12345678")
    assert (refused.status_code, error_code(refused)) == (404, "recharge_card_not_found")


# --- concurrency ---------------------------------------------------------------------------------


def race(count: int, call: Callable[[int], Any]) -> list[Any]:
    start = threading.Barrier(count)

    def run(index: int) -> Any:
        start.wait(timeout=60)
        return call(index)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


@pytest.mark.committed
def test_members_racing_with_the_right_pin_redeem_the_card_exactly_once(
    committed_database: Database, test_settings: Settings
) -> None:
    app = with_cards(create_app(test_settings, database=committed_database))
    secret_key = test_settings.secret_key
    racers = 6
    with committed_database.transaction() as session:
        batch = cards.create_batch(session, SYSTEM, face_fen=20_000, size=1, note=None)
        text = cards.export_batch(session, SYSTEM, secret_key, batch.id)
        [row] = list(csv.DictReader(io.StringIO(text)))
        cards.activate(session, SYSTEM, row["code"])
        members = [make_member(session, app.state.pii) for _ in range(racers)]
        tokens = [member_sessions._issue(session, test_settings, member).access_token for member in members]
        member_ids = [member.id for member in members]
    clients = [TestClient(app, raise_server_exceptions=False) for _ in range(racers)]

    def attempt(index: int) -> tuple[int, str | None]:
        response = clients[index].post(
            REDEEM,
            json={"code": row["code"], "pin": row["pin"]},
            headers={"Authorization": f"Bearer {tokens[index]}"},
        )
        body = response.json()
        return response.status_code, body["error"]["code"] if "error" in body else None

    try:
        outcomes = race(racers, attempt)
    finally:
        for client in clients:
            client.close()
    assert sorted(outcomes, key=str) == sorted(
        [(201, None)] + [(409, "recharge_card_already_redeemed")] * (racers - 1), key=str
    )
    with committed_database.transaction(write=False) as session:
        totals = [wallet.balances(session, member_id).total_fen for member_id in member_ids]
        assert sorted(totals) == [0] * (racers - 1) + [20_000]
        assert (
            len(session.scalars(select(WalletTopUp).where(WalletTopUp.method == "recharge_card")).all()) == 1
        )
