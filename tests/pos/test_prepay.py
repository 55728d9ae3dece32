"""Prepay at the pump (SPEC S3, §7): the driver pays first, the price and their tier's fuel discount
are fixed then; the sale is committed on the dispensed litres and the rest goes back as change.
Open authorizations expire after 30 minutes."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from forecourt.config import Settings
from forecourt.coupons.models import Coupon
from forecourt.db.session import Database
from forecourt.jobs.registry import run_job
from forecourt.kit.actor import SYSTEM
from forecourt.kit.clock import chain_zone, utcnow
from forecourt.ledger.chain import Signer
from forecourt.members.models import Member
from forecourt.risk import service as risk
from forecourt.stations import service as stations
from forecourt.tiers import service as tiers
from forecourt.wallet import service as wallet
from tests.coupons.support import give_coupon, make_template
from tests.devices.support import error_of, issue
from tests.fixtures.builders import make_station, unique
from tests.members.support import earn_points
from tests.pos.support import Terminal, footprint, fuel, points_of, shown_member_code

AUTHORIZATIONS = "/api/v1/pos/authorizations"


def authorize(
    terminal: Terminal,
    *,
    member: Member | None = None,
    grade: str = "92",
    amount_fen: int = 20_000,
    method: str = "wechat",
    key: str | None = None,
    redeem: dict[str, Any] | None = None,
    shown: bool = False,
) -> Any:
    identifier = None
    if member is not None:
        identifier = (
            shown_member_code(terminal.client.app, member)
            if shown
            else {"type": "member_id", "value": str(member.id)}
        )
    body = {
        "station": terminal.station,
        "member": identifier,
        "grade": grade,
        "nozzle": None,
        "amount_fen": amount_fen,
        "payment_method": method,
    }
    if redeem is not None:
        body["redeem"] = redeem
    return terminal.post(AUTHORIZATIONS, body, key=key or str(uuid.uuid4()))


def opened(terminal: Terminal, **options: Any) -> dict[str, Any]:
    response = authorize(terminal, **options)
    assert response.status_code == 201, response.json()
    body: dict[str, Any] = response.json()
    return body


def complete(
    terminal: Terminal,
    authorization_id: str,
    liters: str,
    *,
    key: str | None = None,
    pos_txn_id: str | None = None,
) -> Any:
    body = {"pos_txn_id": pos_txn_id or terminal.next_txn(), "liters": liters}
    return terminal.post(f"{AUTHORIZATIONS}/{authorization_id}/complete", body, key=key or str(uuid.uuid4()))


def cancel(terminal: Terminal, authorization_id: str, reason: str = "顾客取消") -> Any:
    return terminal.post(f"{AUTHORIZATIONS}/{authorization_id}/cancel", {"reason": reason})


def status_of(terminal: Terminal, authorization_id: str) -> str:
    response = terminal.get(f"{AUTHORIZATIONS}/{authorization_id}")
    assert response.status_code == 200, response.json()
    return str(response.json()["status"])


def at_rest(moment: datetime) -> time_machine.travel:
    return time_machine.travel(moment, tick=False)


def test_authorizing_fixes_the_unit_price_and_the_tiers_fuel_discount(
    terminal: Terminal, member: Callable[..., Member]
) -> None:
    driver = member(tier="silver")
    authorization = opened(terminal, member=driver, amount_fen=20_000)
    assert authorization["status"] == "open"
    assert authorization["unit_price_fen"] == 750
    assert authorization["fuel_discount_bp"] == 200
    assert authorization["amount_fen"] == 20_000
    assert authorization["member_id"] == str(driver.id)
    assert authorization["sale_id"] is None
    created = datetime.fromisoformat(authorization["created_at"])
    assert datetime.fromisoformat(authorization["expires_at"]) - created == timedelta(minutes=30)
    # 27.21 L: ¥204.08 less 2% (¥4.08) = ¥200.00; 27.22 L would be ¥200.07
    assert authorization["max_liters"] == "27.21"
    assert terminal.get(f"{AUTHORIZATIONS}/{authorization['id']}").json() == authorization


def test_a_price_or_tier_change_before_completion_does_not_change_the_sale(
    terminal: Terminal, member: Callable[..., Member], session: Session
) -> None:
    driver = member(tier="silver")
    authorization = opened(terminal, member=driver, amount_fen=20_000)
    stations.set_price(session, SYSTEM, terminal.station, grade="92", price_fen=790, effective_from=utcnow())
    tiers.set_manual(session, SYSTEM, driver.id, "diamond", until=utcnow() + timedelta(days=30), note="test")
    session.flush()
    assert terminal.quote(terminal.basket(fuel("92", "20.00"), member=driver)).json()["due_fen"] == 15_168
    response = complete(terminal, authorization["id"], "20.00")
    assert response.status_code == 200, response.json()
    sale = response.json()["transaction"]
    assert sale["lines"][0]["unit_price_fen"] == 750
    assert sale["gross_fen"] == 15_000
    assert sale["discounts"][0]["source"] == "tier"
    assert sale["discount_fen"] == 300  # still 98折, not the diamond 96折
    assert sale["due_fen"] == 14_700


def test_completing_on_the_dispensed_litres_commits_a_sale_paid_by_the_prepaid_method(
    terminal: Terminal, member: Callable[..., Member], session: Session
) -> None:
    driver = member()
    authorization = opened(terminal, member=driver, amount_fen=30_000, method="alipay")
    response = complete(terminal, authorization["id"], "33.33")
    assert response.status_code == 200, response.json()
    result = response.json()
    sale = result["transaction"]
    assert sale["status"] == "completed"
    assert sale["gross_fen"] == sale["due_fen"] == 24_998  # 33.33 L × ¥7.50 = ¥249.975 → ¥249.98
    assert sale["payments"] == [{"method": "alipay", "amount_fen": 24_998, "refunded_fen": 0}]
    assert result["change_fen"] == 30_000 - 24_998
    earned = sale["points_earned"]["total"]
    assert {"rule": "base-rate", "name": "基础积分 1 分/元", "points": 249} in sale["points_earned"][
        "breakdown"
    ]
    assert sale["member_after"]["points_available"] == earned
    assert points_of(session, driver) == earned
    assert result["authorization"]["status"] == "completed"
    assert result["authorization"]["sale_id"] == sale["id"]
    assert status_of(terminal, authorization["id"]) == "completed"
    fetched = terminal.get(f"/api/v1/pos/transactions/{sale['id']}").json()
    assert fetched["due_fen"] == 24_998
    assert fetched["payments"] == sale["payments"]


def test_an_anonymous_prepay_is_completed_without_points(terminal: Terminal) -> None:
    authorization = opened(terminal, amount_fen=10_000, method="cash")
    assert authorization["fuel_discount_bp"] == 0
    assert authorization["max_liters"] == "13.33"
    result = complete(terminal, authorization["id"], "13.33").json()
    assert result["transaction"]["member"] is None
    assert result["transaction"]["due_fen"] == 9_998
    assert result["change_fen"] == 2


def test_dispensing_more_than_was_prepaid_is_refused_and_changes_nothing(
    terminal: Terminal, member: Callable[..., Member], session: Session
) -> None:
    driver = member(tier="silver")
    authorization = opened(terminal, member=driver, amount_fen=20_000)
    before = footprint(session)
    too_much = complete(terminal, authorization["id"], "27.22")
    assert too_much.status_code == 400
    error = error_of(too_much)
    assert error["code"] == "dispensed_exceeds_prepaid"
    assert error["details"] == {"due_fen": 20_007, "prepaid_fen": 20_000}
    assert footprint(session) == before
    assert status_of(terminal, authorization["id"]) == "open"
    exact = complete(terminal, authorization["id"], authorization["max_liters"])
    assert exact.status_code == 200, exact.json()
    assert exact.json()["transaction"]["due_fen"] == 20_000
    assert exact.json()["change_fen"] == 0


def test_an_authorization_is_completed_once(
    terminal: Terminal, member: Callable[..., Member], session: Session
) -> None:
    authorization = opened(terminal, member=member())
    first = complete(terminal, authorization["id"], "10.00")
    assert first.status_code == 200
    before = footprint(session)
    again = complete(terminal, authorization["id"], "10.00")
    assert again.status_code == 409
    error = error_of(again)
    assert error["code"] == "authorization_closed"
    assert error["details"] == {"status": "completed", "sale_id": first.json()["transaction"]["id"]}
    assert error_of(cancel(terminal, authorization["id"]))["code"] == "authorization_closed"
    assert footprint(session) == before


def test_a_cancelled_authorization_takes_no_sale(
    terminal: Terminal, member: Callable[..., Member], session: Session
) -> None:
    authorization = opened(terminal, member=member())
    before = footprint(session)
    cancelled = cancel(terminal, authorization["id"], "油枪故障")
    assert cancelled.status_code == 200, cancelled.json()
    assert cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["sale_id"] is None
    late = complete(terminal, authorization["id"], "10.00")
    assert late.status_code == 409
    assert error_of(late)["details"]["status"] == "cancelled"
    assert error_of(cancel(terminal, authorization["id"]))["code"] == "authorization_closed"
    assert footprint(session) == before


def test_completing_after_30_minutes_is_refused_as_expired(
    terminal: Terminal, member: Callable[..., Member], session: Session
) -> None:
    started = datetime.now(UTC)
    with at_rest(started):
        authorization = opened(terminal, member=member())
    with at_rest(started + timedelta(minutes=29, seconds=59)):
        assert status_of(terminal, authorization["id"]) == "open"
    before = footprint(session)
    with at_rest(started + timedelta(minutes=30)):
        late = complete(terminal, authorization["id"], "10.00")
        assert late.status_code == 409
        assert error_of(late)["code"] == "authorization_expired"
        expired_at = datetime.fromisoformat(error_of(late)["details"]["expired_at"])
        assert expired_at == datetime.fromisoformat(authorization["expires_at"])
        assert error_of(cancel(terminal, authorization["id"]))["code"] == "authorization_expired"
    assert footprint(session) == before


def test_the_expiry_job_closes_the_authorizations_left_open(
    terminal: Terminal,
    member: Callable[..., Member],
    database: Database,
    test_settings: Settings,
) -> None:
    started = datetime.now(UTC)
    with at_rest(started):
        early = opened(terminal, member=member())
        completed = opened(terminal, member=member())
        assert complete(terminal, completed["id"], "10.00").status_code == 200
    with at_rest(started + timedelta(minutes=20)):
        later = opened(terminal)
    with at_rest(started + timedelta(minutes=35)):
        assert run_job(database, test_settings, "expire-authorizations") == {"expired": 1}
        assert status_of(terminal, early["id"]) == "expired"
        assert status_of(terminal, later["id"]) == "open"
        assert run_job(database, test_settings, "expire-authorizations") == {"expired": 0}
        closed = complete(terminal, early["id"], "10.00")
        assert error_of(closed)["code"] == "authorization_closed"
        assert error_of(closed)["details"]["status"] == "expired"
    assert run_job(database, test_settings, "expire-authorizations", started + timedelta(minutes=50)) == {
        "expired": 1
    }
    assert status_of(terminal, later["id"]) == "expired"
    assert status_of(terminal, completed["id"]) == "completed"


@pytest.mark.parametrize(
    ("tier", "grade", "amount_fen", "expected"),
    [
        ("regular", "92", 15_000, "20.00"),
        ("regular", "95", 10_000, "12.50"),
        ("silver", "92", 20_000, "27.21"),
        ("gold", "98", 50_000, "57.27"),
        ("diamond", "0", 33_333, "48.22"),
        ("diamond", "92", 1, "0.00"),
    ],
)
def test_max_liters_is_the_most_the_prepaid_amount_buys(
    terminal: Terminal, member: Callable[..., Member], tier: str, grade: str, amount_fen: int, expected: str
) -> None:
    driver = member(tier=tier)
    authorization = opened(terminal, member=driver, grade=grade, amount_fen=amount_fen)
    assert authorization["max_liters"] == expected
    most = Decimal(expected)

    def due(liters: Decimal) -> int:
        quoted = terminal.quote(terminal.basket(fuel(grade, str(liters)), member=driver))
        assert quoted.status_code == 200, quoted.json()
        return int(quoted.json()["due_fen"])

    if most > 0:
        assert due(most) <= amount_fen
    assert due(most + Decimal("0.01")) > amount_fen


def test_a_retried_completion_returns_the_first_answer(
    terminal: Terminal, member: Callable[..., Member], session: Session
) -> None:
    driver = member()
    authorization = opened(terminal, member=driver)
    key = str(uuid.uuid4())
    first = complete(terminal, authorization["id"], "20.00", key=key, pos_txn_id="PREPAY-1")
    assert first.status_code == 200, first.json()
    before = footprint(session)
    again = complete(terminal, authorization["id"], "20.00", key=key, pos_txn_id="PREPAY-1")
    assert again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert footprint(session) == before
    assert points_of(session, driver) == first.json()["transaction"]["points_earned"]["total"]
    changed = complete(terminal, authorization["id"], "21.00", key=key, pos_txn_id="PREPAY-1")
    assert changed.status_code == 409
    assert error_of(changed)["code"] == "idempotency_key_conflict"


def test_a_retried_authorization_opens_one(terminal: Terminal, member: Callable[..., Member]) -> None:
    driver = member()
    key = str(uuid.uuid4())
    first = authorize(terminal, member=driver, key=key)
    again = authorize(terminal, member=driver, key=key)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"


def test_another_stations_authorization_is_not_found(
    terminal: Terminal, member: Callable[..., Member], session: Session, app: FastAPI, client: TestClient
) -> None:
    authorization = opened(terminal, member=member())
    neighbour = Terminal(client, issue(session, app, make_station(session)))
    for response in (
        neighbour.get(f"{AUTHORIZATIONS}/{authorization['id']}"),
        complete(neighbour, authorization["id"], "10.00"),
        cancel(neighbour, authorization["id"]),
    ):
        assert response.status_code == 404
        assert error_of(response)["code"] == "authorization_not_found"
    assert status_of(terminal, authorization["id"]) == "open"


def test_a_closed_station_takes_no_prepay(
    terminal: Terminal, member: Callable[..., Member], session: Session
) -> None:
    stations.set_open(session, SYSTEM, terminal.station, is_open=False)
    session.flush()
    response = authorize(terminal, member=member())
    assert response.status_code == 409
    assert error_of(response)["code"] == "station_closed"


def test_a_prepay_started_before_closing_time_is_completed_after_it(
    terminal: Terminal, member: Callable[..., Member], session: Session
) -> None:
    """The fuel is in the tank: closing at 22:00 while the nozzle runs must not lose the sale."""
    stations.update_station(session, SYSTEM, terminal.station, {"opens_at": time(6), "closes_at": time(22)})
    session.flush()
    today = datetime.now(chain_zone()).date()
    before_closing = datetime.combine(today, time(21, 50), tzinfo=chain_zone())
    with at_rest(before_closing):
        authorization = opened(terminal, member=member(), amount_fen=30_000)
    with at_rest(before_closing + timedelta(minutes=15)):
        response = complete(terminal, authorization["id"], "30.00")
    assert response.status_code == 200, response.json()
    assert response.json()["transaction"]["due_fen"] == 22_500
    assert status_of(terminal, authorization["id"]) == "completed"


def test_points_to_redeem_are_checked_when_the_driver_prepays(
    terminal: Terminal, member: Callable[..., Member], session: Session, signer: Signer
) -> None:
    """A refusal after the fuel is in the tank would leave a sale that cannot be closed."""
    driver = member()
    earn_points(session, signer, driver.id, 1_000)
    cases: list[tuple[Member | None, int | str, str]] = [
        (driver, 2_000, "insufficient_points"),
        (driver, 150, "invalid_points_amount"),
        (None, 1_000, "invalid_points_amount"),
        (None, "auto", "invalid_points_amount"),
    ]
    for who, points, code in cases:
        response = authorize(terminal, member=who, redeem={"points": points})
        assert response.status_code in (400, 409), (points, response.json())
        assert error_of(response)["code"] == code, (points, response.json())
    assert footprint(session).postings == 1


def test_a_prepay_redeeming_more_points_than_the_fuel_costs_redeems_what_it_costs(
    terminal: Terminal, member: Callable[..., Member], session: Session, signer: Signer
) -> None:
    driver = member()
    earn_points(session, signer, driver.id, 10_000)
    authorization = opened(terminal, member=driver, amount_fen=20_000, redeem={"points": 5_000})
    response = complete(terminal, authorization["id"], "5.00")  # ¥37.50 of fuel
    assert response.status_code == 200, response.json()
    sale = response.json()["transaction"]
    assert sale["points_redeemed"] == 3_700
    assert sale["due_fen"] == 50
    assert sale["payments"] == [{"method": "wechat", "amount_fen": 50, "refunded_fen": 0}]
    assert response.json()["change_fen"] == 20_000 - 50
    assert points_of(session, driver) == 10_000 - 3_700 + sale["points_earned"]["total"]


def test_a_prepay_redeeming_points_pays_the_rest_from_the_prepaid_amount(
    terminal: Terminal, member: Callable[..., Member], session: Session, signer: Signer
) -> None:
    driver = member()
    earn_points(session, signer, driver.id, 10_000)
    authorization = opened(terminal, member=driver, amount_fen=20_000, redeem={"points": 5_000})
    response = complete(terminal, authorization["id"], "20.00")  # ¥150.00 of fuel
    assert response.status_code == 200, response.json()
    sale = response.json()["transaction"]
    assert (sale["points_redeemed"], sale["due_fen"]) == (5_000, 10_000)
    assert response.json()["change_fen"] == 10_000


# --- coupons named at prepay -------------------------------------------------------------------------


def _coupon(session: Session, driver: Member, **terms: Any) -> str:
    template = make_template(session, terms=terms)
    return str(give_coupon(session, driver, template.code, utcnow()).id)


def test_a_coupon_named_at_prepay_discounts_a_fill_that_reaches_its_threshold(
    terminal: Terminal, member: Callable[..., Member], session: Session
) -> None:
    driver = member()
    coupon = _coupon(session, driver, amount_off_fen=3_000, threshold_fen=20_000)
    authorization = opened(terminal, member=driver, amount_fen=30_000, redeem={"coupons": [coupon]})
    response = complete(terminal, authorization["id"], "40.00")  # ¥300.00 of fuel
    assert response.status_code == 200, response.json()
    sale = response.json()["transaction"]
    assert [(d["source"], d["ref"], d["amount_fen"]) for d in sale["discounts"]] == [
        ("coupon", coupon, 3_000)
    ]
    assert sale["due_fen"] == 27_000
    assert response.json()["change_fen"] == 3_000


def test_a_fill_below_the_coupons_threshold_completes_without_it(
    terminal: Terminal, member: Callable[..., Member], session: Session
) -> None:
    driver = member()
    coupon = _coupon(session, driver, amount_off_fen=3_000, threshold_fen=20_000)
    authorization = opened(terminal, member=driver, amount_fen=30_000, redeem={"coupons": [coupon]})
    response = complete(terminal, authorization["id"], "10.00")  # ¥75.00: the fuel is in the tank
    assert response.status_code == 200, response.json()
    sale = response.json()["transaction"]
    assert sale["discounts"] == []
    assert sale["due_fen"] == 7_500
    session.expire_all()
    assert session.get_one(Coupon, uuid.UUID(coupon)).status == "available"


def test_a_coupon_used_elsewhere_before_completion_is_left_out(
    terminal: Terminal, member: Callable[..., Member], session: Session
) -> None:
    driver = member()
    coupon = _coupon(session, driver, amount_off_fen=1_000)
    authorization = opened(terminal, member=driver, amount_fen=20_000, redeem={"coupons": [coupon]})
    at_the_shop = terminal.basket(fuel("92", "4.00"), member=driver)
    at_the_shop["redeem"]["coupons"] = [coupon]
    assert terminal.commit(at_the_shop).status_code == 201
    response = complete(terminal, authorization["id"], "20.00")
    assert response.status_code == 200, response.json()
    assert response.json()["transaction"]["due_fen"] == 15_000


def test_a_coupon_named_at_prepay_that_is_not_the_members_is_refused_then(
    terminal: Terminal, member: Callable[..., Member], session: Session
) -> None:
    driver, other = member(), member()
    coupon = _coupon(session, other, amount_off_fen=1_000)
    before = footprint(session)
    response = authorize(terminal, member=driver, redeem={"coupons": [coupon]})
    assert response.status_code == 404
    assert error_of(response)["code"] == "coupon_not_found"
    assert footprint(session) == before


def test_points_named_at_prepay_give_way_to_the_coupon_when_the_fill_is_small(
    terminal: Terminal, member: Callable[..., Member], session: Session, signer: Signer
) -> None:
    driver = member()
    earn_points(session, signer, driver.id, 10_000)
    coupon = _coupon(session, driver, amount_off_fen=2_000)
    authorization = opened(
        terminal, member=driver, amount_fen=20_000, redeem={"coupons": [coupon], "points": 5_000}
    )
    response = complete(terminal, authorization["id"], "5.00")  # ¥37.50, ¥20 off: ¥17.50 left
    assert response.status_code == 200, response.json()
    sale = response.json()["transaction"]
    assert sale["points_redeemed"] == 1_700
    assert sale["due_fen"] == 50


def test_a_prepay_the_wallet_covers_completes_with_no_external_payment(
    terminal: Terminal, member: Callable[..., Member], session: Session, signer: Signer
) -> None:
    driver = member()
    wallet.top_up(session, signer, SYSTEM, driver.id, 50_000, method="cash", idempotency_key=unique("top-up"))
    refused = authorize(terminal, member=driver, amount_fen=20_000, redeem={"wallet": True})
    assert error_of(refused)["code"] == "wallet_needs_member_code", "a member id is no consent"
    authorization = opened(terminal, member=driver, amount_fen=20_000, redeem={"wallet": True}, shown=True)
    response = complete(terminal, authorization["id"], "10.00")  # ¥75.00, all from the wallet
    assert response.status_code == 200, response.json()
    sale = response.json()["transaction"]
    assert (sale["wallet_fen"], sale["due_fen"], sale["payments"]) == (7_500, 0, [])
    assert response.json()["change_fen"] == 20_000


def test_the_risk_rules_judge_a_prepayment_when_the_driver_prepays(
    terminal: Terminal, member: Callable[..., Member], session: Session
) -> None:
    risk.set_rule(session, SYSTEM, "paid_per_day", enabled=True, params={"max_paid_fen": 15_000})
    driver = member()
    response = authorize(terminal, member=driver, amount_fen=20_000)
    assert response.status_code == 409, response.json()
    assert (error_of(response)["code"], error_of(response)["details"]["rule"]) == (
        "risk_rejected",
        "paid_per_day",
    )
