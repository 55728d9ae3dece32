"""The risk rules at the pump (SPEC X3): limits at their edges, refusals that keep only their
decision, and rules that staff switch off or tune."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, time, timedelta
from typing import Any

import pytest
import time_machine
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from forecourt.kit.actor import SYSTEM
from forecourt.kit.clock import chain_zone, to_chain_time, utcnow
from forecourt.ledger import points
from forecourt.ledger.models import Posting
from forecourt.members.models import Member
from forecourt.pos.models import Sale
from forecourt.risk.models import RiskDecision
from forecourt.wallet import service as wallet
from tests.members.support import earn_points
from tests.pos.support import Terminal, goods

RULES = "/api/v1/risk/rules"


@pytest.fixture
def midnight() -> datetime:
    """The next midnight in Beijing time (an aware datetime), a little ahead of the real clock."""
    tomorrow = to_chain_time(utcnow()).date() + timedelta(days=1)
    return datetime.combine(tomorrow, time(), tzinfo=chain_zone())


def at(moment: datetime) -> time_machine.travel:
    """``with at(moment):`` the clock stands still at ``moment``."""
    return time_machine.travel(moment, tick=False)


def pay(terminal: Terminal, member: Member, amount_fen: int, **redeem: Any) -> Any:
    """A sale of one item costing ``amount_fen``, paid in cash (less what ``points`` redeem)."""
    return terminal.commit(terminal.basket(goods(unit_price_fen=amount_fen), member=member, **redeem))


def refusal(response: Any) -> tuple[int, str, str]:
    body = response.json()
    assert "error" in body, body
    return response.status_code, body["error"]["code"], body["error"]["details"]["rule"]


def sales_of(session: Session, member: Member) -> int:
    session.expire_all()
    return int(session.scalar(select(func.count()).select_from(Sale).where(Sale.member_id == member.id)) or 0)


def decisions_of(session: Session, member: Member) -> list[RiskDecision]:
    session.expire_all()
    return list(session.scalars(select(RiskDecision).where(RiskDecision.member_id == member.id)))


def set_rule(client: TestClient, headers: dict[str, str], code: str, enabled: bool, **params: int) -> Any:
    return client.put(f"{RULES}/{code}", json={"enabled": enabled, "params": params}, headers=headers)


# --- payments per minute -----------------------------------------------------------------------------


def test_the_fourth_payment_within_a_minute_is_refused_and_the_one_61_seconds_after_the_first_passes(
    terminal: Terminal, member: Callable[..., Member], session: Session, midnight: datetime
) -> None:
    driver = member()
    start = midnight - timedelta(hours=6)
    for offset in (0, 10, 20):
        with at(start + timedelta(seconds=offset)):
            assert pay(terminal, driver, 3000).status_code == 201
    with at(start + timedelta(seconds=59)):
        refused = pay(terminal, driver, 3000)
    assert refusal(refused) == (409, "risk_rejected", "payments_per_minute")
    details = refused.json()["error"]["details"]
    assert details["payments_in_window"] == 3
    assert details["max_payments"] == 3
    assert details["amount_fen"] == 3000
    with at(start + timedelta(seconds=61)):
        assert pay(terminal, driver, 3000).status_code == 201
    assert sales_of(session, driver) == 4


def test_payments_are_counted_per_member(
    terminal: Terminal, member: Callable[..., Member], midnight: datetime
) -> None:
    first, second = member(), member()
    with at(midnight - timedelta(hours=6)):
        for _ in range(3):
            assert pay(terminal, first, 3000).status_code == 201
        assert pay(terminal, second, 3000).status_code == 201
        assert pay(terminal, first, 3000).status_code == 409


def test_sales_paid_wholly_with_points_are_not_payments(
    terminal: Terminal,
    member: Callable[..., Member],
    session: Session,
    app: Any,
    midnight: datetime,
) -> None:
    driver = member()
    earn_points(session, app.state.ledger_signer, driver.id, 10_000)
    with at(midnight - timedelta(hours=6)):
        for _ in range(3):
            assert pay(terminal, driver, 3000).status_code == 201
        assert pay(terminal, driver, 1000, points=1000).status_code == 201


# --- paid per day ------------------------------------------------------------------------------------


def test_10_000_yuan_a_day_is_allowed_and_one_fen_more_is_refused(
    terminal: Terminal, member: Callable[..., Member], session: Session, midnight: datetime
) -> None:
    driver = member()
    noon = midnight - timedelta(hours=12)
    with at(noon):
        assert pay(terminal, driver, 600_000).status_code == 201
    with at(noon + timedelta(hours=1)):
        assert pay(terminal, driver, 400_000).status_code == 201  # ¥10,000.00 in the day
    with at(noon + timedelta(hours=2)):
        refused = pay(terminal, driver, 1)
    assert refusal(refused) == (409, "risk_rejected", "paid_per_day")
    details = refused.json()["error"]["details"]
    assert details["paid_today_fen"] == 1_000_000
    assert details["would_be_fen"] == 1_000_001
    assert details["max_paid_fen"] == 1_000_000
    assert details["day"] == (midnight - timedelta(days=1)).date().isoformat()
    assert sales_of(session, driver) == 2


def test_one_payment_of_10_000_01_yuan_is_refused(
    terminal: Terminal, member: Callable[..., Member], midnight: datetime
) -> None:
    driver = member()
    with at(midnight - timedelta(hours=3)):
        assert refusal(pay(terminal, driver, 1_000_001)) == (409, "risk_rejected", "paid_per_day")
        assert pay(terminal, driver, 1_000_000).status_code == 201


def test_wallet_money_counts_towards_the_daily_limit(
    terminal: Terminal, member: Callable[..., Member], session: Session, app: Any, midnight: datetime
) -> None:
    driver = member()
    wallet.top_up(
        session,
        app.state.ledger_signer,
        SYSTEM,
        driver.id,
        900_000,
        method="cash",
        idempotency_key="risk-test",
    )
    session.flush()
    with at(midnight - timedelta(hours=3)):
        body = terminal.basket(goods(unit_price_fen=900_000), member=driver, wallet=True)
        assert terminal.commit(body).status_code == 201
        assert pay(terminal, driver, 100_000).status_code == 201
        assert refusal(pay(terminal, driver, 1)) == (409, "risk_rejected", "paid_per_day")


def test_midnight_in_beijing_time_starts_a_new_day(
    terminal: Terminal, member: Callable[..., Member], midnight: datetime
) -> None:
    driver = member()
    with at(midnight - timedelta(seconds=2)):
        assert pay(terminal, driver, 1_000_000).status_code == 201
    with at(midnight - timedelta(seconds=1)):  # 23:59:59 local: still the same day
        assert refusal(pay(terminal, driver, 1)) == (409, "risk_rejected", "paid_per_day")
    with at(midnight):  # 00:00:00 local: a new day (16:00 UTC)
        assert pay(terminal, driver, 1).status_code == 201


# --- what a refusal leaves behind ----------------------------------------------------------------


def test_a_refused_commit_keeps_its_decision_and_nothing_of_the_sale(
    terminal: Terminal, member: Callable[..., Member], session: Session, app: Any, midnight: datetime
) -> None:
    driver = member()
    earn_points(session, app.state.ledger_signer, driver.id, 5_000)
    start = midnight - timedelta(hours=6)
    with at(start):
        for _ in range(3):
            assert pay(terminal, driver, 3000).status_code == 201
    session.expire_all()
    postings_before = session.scalar(select(func.count()).select_from(Posting))
    held_before = points.balances(session, driver.id).available
    with at(start + timedelta(seconds=30)):
        key = str(uuid.uuid4())
        body = terminal.basket(goods(unit_price_fen=5000), member=driver, points=2000)
        full = {
            **body,
            "pos_txn_id": terminal.next_txn(),
            "payments": [{"method": "cash", "amount_fen": 3000}],
        }
        refused = terminal.post("/api/v1/pos/transactions", full, key=key)
        again = terminal.post("/api/v1/pos/transactions", full, key=key)
    assert refusal(refused) == (409, "risk_rejected", "payments_per_minute")
    assert again.json() == refused.json()  # the refusal is the answer to the key, decided once

    assert sales_of(session, driver) == 3
    assert session.scalar(select(func.count()).select_from(Posting)) == postings_before
    assert points.balances(session, driver.id).available == held_before
    [decision] = decisions_of(session, driver)
    assert decision.rule == "payments_per_minute"
    assert decision.action == "payment"
    assert decision.outcome == "rejected"
    assert decision.reasons["payments_in_window"] == 3
    assert decision.reasons["amount_fen"] == 3000
    assert str(decision.id) == refused.json()["error"]["details"]["decision_id"]
    assert decision.decided_at == start + timedelta(seconds=30)


# --- redemptions ---------------------------------------------------------------------------------


def test_a_burst_of_redemptions_is_refused_while_sales_without_redemption_pass(
    terminal: Terminal,
    member: Callable[..., Member],
    session: Session,
    app: Any,
    staff: Any,
    client: TestClient,
    midnight: datetime,
) -> None:
    finance = staff("finance").headers
    assert (
        set_rule(client, finance, "redemption_burst", True, max_redemptions=2, window_seconds=600).status_code
        == 200
    )
    assert (
        set_rule(client, finance, "payments_per_minute", False, max_payments=3, window_seconds=60).status_code
        == 200
    )
    driver = member()
    earn_points(session, app.state.ledger_signer, driver.id, 10_000)
    start = midnight - timedelta(hours=6)
    with at(start):
        assert pay(terminal, driver, 3000, points=1000).status_code == 201
    with at(start + timedelta(minutes=5)):
        assert pay(terminal, driver, 3000, points=1000).status_code == 201
    with at(start + timedelta(minutes=9)):
        refused = pay(terminal, driver, 3000, points=1000)
        assert pay(terminal, driver, 3000).status_code == 201
    assert refusal(refused) == (409, "risk_rejected", "redemption_burst")
    assert refused.json()["error"]["details"]["redemptions_in_window"] == 2
    with at(start + timedelta(minutes=10)):  # the first redemption has left the window
        assert pay(terminal, driver, 3000, points=1000).status_code == 201
    [decision] = decisions_of(session, driver)
    assert (decision.action, decision.rule) == ("redemption", "redemption_burst")


# --- staff switch rules off and tune them -------------------------------------------------------


def test_a_disabled_rule_lets_the_fourth_payment_pass(
    terminal: Terminal,
    member: Callable[..., Member],
    staff: Any,
    client: TestClient,
    midnight: datetime,
) -> None:
    answer = set_rule(
        client, staff("finance").headers, "payments_per_minute", False, max_payments=3, window_seconds=60
    )
    assert answer.status_code == 200, answer.json()
    assert answer.json()["enabled"] is False
    driver = member()
    with at(midnight - timedelta(hours=6)):
        for _ in range(5):
            assert pay(terminal, driver, 3000).status_code == 201


def test_tuned_parameters_take_effect_at_once(
    terminal: Terminal,
    member: Callable[..., Member],
    staff: Any,
    client: TestClient,
    midnight: datetime,
) -> None:
    finance = staff("finance").headers
    assert set_rule(client, finance, "paid_per_day", True, max_paid_fen=50_000).status_code == 200
    assert (
        set_rule(client, finance, "payments_per_minute", True, max_payments=1, window_seconds=300).status_code
        == 200
    )
    driver = member()
    start = midnight - timedelta(hours=6)
    with at(start):
        assert pay(terminal, driver, 30_000).status_code == 201
    with at(start + timedelta(seconds=299)):
        assert refusal(pay(terminal, driver, 100)) == (409, "risk_rejected", "payments_per_minute")
    with at(start + timedelta(seconds=300)):
        assert refusal(pay(terminal, driver, 20_001)) == (409, "risk_rejected", "paid_per_day")
        assert pay(terminal, driver, 20_000).status_code == 201
