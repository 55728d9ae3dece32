"""Every refusal at the pump is a clear error with a stable code, and changes nothing: no sale row,
no posting, no sale event, the member's points untouched (SPEC §7, issue 5).

Offline replay is the other side of the time checks: a sale up to 7 days late is priced at the price
that was in force when it happened.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, time, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from forecourt.kit.actor import SYSTEM
from forecourt.kit.clock import chain_zone, utcnow
from forecourt.ledger.chain import Signer
from forecourt.members.models import Member
from forecourt.pos.models import Sale
from forecourt.stations import service as stations
from tests.devices.support import error_of, issue
from tests.fixtures.builders import make_station
from tests.members.support import earn_points
from tests.pos.support import Footprint, Terminal, footprint, fuel, goods, points_of, sale_body

TRANSACTIONS = "/api/v1/pos/transactions"


@pytest.fixture
def driver(member: Callable[..., Member], session: Session, signer: Signer) -> Member:
    """A member holding 5,000 points, so a refused sale that redeems some shows they stay put."""
    made = member()
    earn_points(session, signer, made.id, 5_000)
    return made


@pytest.fixture
def unchanged(session: Session, driver: Member) -> Iterator[None]:
    """Asserts, after the test, that it left no sale, posting or sale event and the points as they were."""
    before = footprint(session)
    yield
    assert footprint(session) == before
    assert points_of(session, driver) == 5_000


def local(days_ago: int, at: time) -> datetime:
    """A moment ``days_ago`` days back at local time ``at`` (the chain's time zone)."""
    day = utcnow().astimezone(chain_zone()).date() - timedelta(days=days_ago)
    return datetime.combine(day, at, tzinfo=chain_zone())


def refused(terminal: Terminal, body: dict[str, Any], *, payments_fen: int = 30_000) -> tuple[Any, Any]:
    """Quote ``body``, then commit it paid ``payments_fen`` in cash: both answers."""
    quoted = terminal.quote(body)
    committed = terminal.post(
        TRANSACTIONS, sale_body(terminal, body, ("cash", payments_fen)), key=str(uuid.uuid4())
    )
    return quoted, committed


def assert_refused(answers: tuple[Any, Any], status: int, code: str) -> None:
    for response in answers:
        assert response.status_code == status, response.json()
        assert error_of(response)["code"] == code


# --- the station -------------------------------------------------------------------------------


@pytest.mark.usefixtures("unchanged")
def test_a_closed_station_takes_no_sale(terminal: Terminal, driver: Member, session: Session) -> None:
    stations.set_open(session, SYSTEM, terminal.station, is_open=False)
    session.flush()
    answers = refused(terminal, terminal.basket(fuel("92", "40.00"), member=driver, points=1_000))
    assert_refused(answers, 409, "station_closed")


def test_a_station_takes_no_sale_outside_its_opening_hours(
    terminal: Terminal, driver: Member, session: Session
) -> None:
    stations.update_station(
        session, SYSTEM, terminal.station, {"opens_at": time(6, 0), "closes_at": time(22, 0)}
    )
    session.flush()
    before = footprint(session)
    late_night = terminal.basket(fuel("92", "40.00"), member=driver, occurred_at=local(1, time(23, 30)))
    assert_refused(refused(terminal, late_night), 409, "station_closed")
    early = terminal.basket(fuel("92", "40.00"), member=driver, occurred_at=local(1, time(5, 59)))
    assert_refused(refused(terminal, early), 409, "station_closed")
    assert footprint(session) == before
    in_hours = terminal.basket(fuel("92", "40.00"), member=driver, occurred_at=local(1, time(6, 0)))
    assert terminal.commit(in_hours).status_code == 201


# --- what is sold and at what price ------------------------------------------------------------


@pytest.mark.usefixtures("unchanged")
def test_an_unknown_grade_is_refused(terminal: Terminal, driver: Member) -> None:
    answers = refused(terminal, terminal.basket(fuel("93", "40.00"), member=driver, points=1_000))
    assert_refused(answers, 400, "unknown_grade")
    assert "92" in error_of(answers[0])["details"]["grades"]


@pytest.mark.usefixtures("unchanged")
def test_a_grade_the_station_has_no_price_for_is_refused(terminal: Terminal, driver: Member) -> None:
    answers = refused(terminal, terminal.basket(fuel("lng", "20.00"), member=driver, points=1_000))
    assert_refused(answers, 409, "no_price")
    assert error_of(answers[0])["details"]["grade"] == "lng"


@pytest.mark.usefixtures("unchanged")
def test_a_sale_before_the_first_price_of_its_grade_is_refused(
    terminal: Terminal, driver: Member, session: Session
) -> None:
    stations.set_price(
        session,
        SYSTEM,
        terminal.station,
        grade="cng",
        price_fen=455,
        effective_from=utcnow() - timedelta(days=2),
    )
    session.flush()
    answers = refused(
        terminal,
        terminal.basket(
            fuel("cng", "10.00"), member=driver, points=1_000, occurred_at=utcnow() - timedelta(days=3)
        ),
    )
    assert_refused(answers, 409, "no_price")
    priced_now = terminal.quote(terminal.basket(fuel("cng", "10.00"), member=driver))
    assert priced_now.status_code == 200
    assert priced_now.json()["lines"][0]["unit_price_fen"] == 455


@pytest.mark.usefixtures("unchanged")
def test_a_nozzle_that_dispenses_another_grade_is_refused(
    terminal: Terminal, driver: Member, session: Session
) -> None:
    stations.set_pump_layout(
        session,
        SYSTEM,
        terminal.station,
        [
            stations.PumpSpec(1, (stations.NozzleSpec(1, "92"), stations.NozzleSpec(2, "95"))),
            stations.PumpSpec(2, (stations.NozzleSpec(3, "0"),)),
        ],
    )
    session.flush()
    answers = refused(terminal, terminal.basket(fuel("95", "40.00", nozzle="1"), member=driver, points=1_000))
    assert_refused(answers, 400, "nozzle_grade_mismatch")
    assert error_of(answers[0])["details"] == {"nozzle": "1", "nozzle_grade": "92", "grade": "95"}
    right_nozzle = terminal.quote(terminal.basket(fuel("95", "40.00", nozzle="2"), member=driver))
    assert right_nozzle.status_code == 200, right_nozzle.json()


@pytest.mark.usefixtures("unchanged")
def test_explicit_coupon_ids_are_unknown_until_coupons_exist(terminal: Terminal, driver: Member) -> None:
    body = terminal.basket(fuel("92", "40.00"), member=driver, points=1_000)
    body["redeem"]["coupons"] = [str(uuid.uuid4())]
    assert_refused(refused(terminal, body), 404, "coupon_not_found")


# --- when it happened --------------------------------------------------------------------------


@pytest.mark.usefixtures("unchanged")
def test_a_sale_more_than_5_minutes_in_the_future_is_refused(terminal: Terminal, driver: Member) -> None:
    ahead = terminal.basket(
        fuel("92", "40.00"), member=driver, points=1_000, occurred_at=utcnow() + timedelta(minutes=6)
    )
    answers = refused(terminal, ahead)
    assert_refused(answers, 400, "occurred_at_in_future")
    assert set(error_of(answers[0])["details"]) == {"occurred_at", "server_time"}
    slightly_ahead = terminal.basket(
        fuel("92", "40.00"), member=driver, occurred_at=utcnow() + timedelta(minutes=4)
    )
    assert terminal.quote(slightly_ahead).status_code == 200


@pytest.mark.usefixtures("unchanged")
def test_a_sale_older_than_7_days_is_refused(terminal: Terminal, driver: Member) -> None:
    stale = terminal.basket(
        fuel("92", "40.00"), member=driver, points=1_000, occurred_at=utcnow() - timedelta(days=7, minutes=1)
    )
    assert_refused(refused(terminal, stale), 400, "occurred_at_too_old")
    just_in_time = terminal.basket(
        fuel("92", "40.00"), member=driver, occurred_at=utcnow() - timedelta(days=6, hours=23)
    )
    assert terminal.quote(just_in_time).status_code == 200


@pytest.mark.usefixtures("unchanged")
def test_an_occurred_at_without_an_offset_is_malformed(terminal: Terminal, driver: Member) -> None:
    body = terminal.basket(fuel("92", "40.00"), member=driver, points=1_000)
    body["occurred_at"] = local(1, time(10)).replace(tzinfo=None).isoformat()
    for response in refused(terminal, body):
        assert response.status_code == 422, response.json()


def test_an_offline_sale_is_priced_at_the_price_in_force_when_it_happened(
    terminal: Terminal, driver: Member, session: Session
) -> None:
    stations.set_price(
        session,
        SYSTEM,
        terminal.station,
        grade="92",
        price_fen=780,
        effective_from=utcnow() - timedelta(days=1),
    )
    session.flush()
    three_days_ago = utcnow() - timedelta(days=3)
    replayed = terminal.commit(
        terminal.basket(fuel("92", "40.00"), member=driver, occurred_at=three_days_ago)
    )
    assert replayed.status_code == 201, replayed.json()
    sale = replayed.json()
    assert sale["lines"][0]["unit_price_fen"] == 750
    assert sale["gross_fen"] == sale["due_fen"] == 30_000
    assert sale["points_earned"]["breakdown"][0] == {
        "rule": "base-rate",
        "name": "基础积分 1 分/元",
        "points": 300,
    }
    assert datetime.fromisoformat(sale["occurred_at"]) == three_days_ago
    row = session.get(Sale, uuid.UUID(sale["id"]))
    assert row is not None
    assert row.recorded_at - row.occurred_at > timedelta(days=2)
    today = terminal.commit(terminal.basket(fuel("92", "40.00"), member=driver))
    assert today.json()["lines"][0]["unit_price_fen"] == 780
    assert today.json()["gross_fen"] == 31_200


# --- what is paid ------------------------------------------------------------------------------


@pytest.mark.usefixtures("unchanged")
@pytest.mark.parametrize("paid_fen", [29_000 - 1, 29_000 + 1, 0])
def test_payments_must_add_up_to_the_amount_due(terminal: Terminal, driver: Member, paid_fen: int) -> None:
    body = terminal.basket(fuel("92", "40.00"), member=driver, points=1_000)
    assert terminal.quote(body).json()["due_fen"] == 29_000
    response = terminal.post(
        TRANSACTIONS, sale_body(terminal, body, ("cash", paid_fen)), key=str(uuid.uuid4())
    )
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "payment_mismatch"
    assert error["details"] == {"due_fen": 29_000, "payments_fen": paid_fen}


@pytest.mark.usefixtures("unchanged")
def test_split_payments_are_added_up(terminal: Terminal, driver: Member) -> None:
    body = terminal.basket(fuel("92", "40.00"), goods(), member=driver, points=1_000)
    short = sale_body(terminal, body, ("wechat", 20_000), ("cash", 11_999))
    response = terminal.post(TRANSACTIONS, short, key=str(uuid.uuid4()))
    assert error_of(response)["code"] == "payment_mismatch"
    assert error_of(response)["details"] == {"due_fen": 32_000, "payments_fen": 31_999}


# --- who asks, for whom ------------------------------------------------------------------------


@pytest.mark.usefixtures("unchanged")
def test_a_device_cannot_sell_for_another_station(
    terminal: Terminal, driver: Member, session: Session
) -> None:
    other = make_station(session, prices={"92": 750})
    body = terminal.basket(fuel("92", "40.00"), member=driver, points=1_000) | {"station": other.code}
    answers = refused(terminal, body)
    assert_refused(answers, 403, "device_station_mismatch")
    assert error_of(answers[0])["details"] == {"station": other.code}


@pytest.mark.usefixtures("unchanged")
@pytest.mark.parametrize(
    "identifier",
    [
        {"type": "member_id", "value": str(uuid.UUID(int=7))},
        {"type": "member_id", "value": "not-a-uuid"},
        {"type": "phone", "value": "13000000000"},
        {"type": "card_no", "value": "0000000000000000"},
    ],
)
def test_an_unknown_member_is_refused(terminal: Terminal, driver: Member, identifier: dict[str, str]) -> None:
    body = terminal.basket(fuel("92", "40.00")) | {"member": identifier}
    assert_refused(refused(terminal, body), 404, "member_not_found")


@pytest.mark.usefixtures("unchanged")
def test_two_lines_with_one_line_id_are_malformed(terminal: Terminal, driver: Member) -> None:
    body = terminal.basket(fuel("92", "40.00", line_id="1"), goods(line_id="1"), member=driver, points=1_000)
    for response in refused(terminal, body):
        assert response.status_code == 422, response.json()


@pytest.mark.usefixtures("unchanged")
def test_an_unsigned_request_is_refused(terminal: Terminal, driver: Member) -> None:
    body = terminal.basket(fuel("92", "40.00"), member=driver, points=1_000)
    quoted = terminal.client.post("/api/v1/pos/quote", json=body)
    committed = terminal.client.post(
        TRANSACTIONS,
        json=sale_body(terminal, body, ("cash", 29_000)),
        headers={"Idempotency-Key": "unsigned-1"},
    )
    for response in (quoted, committed):
        assert response.status_code == 401, response.json()
        assert error_of(response)["code"] == "device_auth_missing"


def test_a_station_cannot_see_or_refund_another_stations_sale(
    terminal: Terminal, driver: Member, session: Session, app: FastAPI, client: TestClient
) -> None:
    sale = terminal.commit(terminal.basket(fuel("92", "40.00"), member=driver)).json()
    neighbour = Terminal(client, issue(session, app, make_station(session)))
    before: Footprint = footprint(session)
    seen = neighbour.get(f"{TRANSACTIONS}/{sale['id']}")
    assert seen.status_code == 404
    assert error_of(seen)["code"] == "transaction_not_found"
    refund = neighbour.refund(sale["id"])
    assert refund.status_code == 404
    assert error_of(refund)["code"] == "transaction_not_found"
    assert footprint(session) == before
    assert points_of(session, driver) == 5_000 + sale["points_earned"]["total"]
    nowhere = terminal.get(f"{TRANSACTIONS}/{uuid.uuid4()}")
    assert error_of(nowhere)["code"] == "transaction_not_found"
    assert terminal.get(f"{TRANSACTIONS}/{sale['id']}").json()["status"] == "completed"
