"""Caps per member per day and month, and program budgets (R4): never passed, not even by sales
committed at the same moment; days and months are Beijing's."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import time_machine
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from forecourt.app import create_app
from forecourt.config import Settings
from forecourt.db.session import Database
from forecourt.kit.actor import SYSTEM
from forecourt.kit.clock import utcnow
from forecourt.ledger import points
from forecourt.members.models import Member
from forecourt.members.pii import Pii
from forecourt.pos.models import Sale
from forecourt.rules import service as rules
from forecourt.rules.models import RuleBudget, RuleUsage
from forecourt.rules.schemas import RuleDocument
from tests.devices.support import issue
from tests.members.support import make_member
from tests.pos.support import Terminal, fuel, points_of, priced_station
from tests.risk.support import rules_off
from tests.rules.support import bonus, earned, local, rule, today

MONDAY_2_MARCH = datetime.fromisoformat("2026-03-02T12:00:00+08:00")
"""Noon in Beijing: the last days of February are within the POS's 7 days of offline replay."""


def add_rule(session: Session, document: dict[str, Any]) -> None:
    rules.create_rule(session, SYSTEM, RuleDocument.model_validate(document))
    session.flush()


def sale(terminal: Terminal, driver: Member, moment: datetime) -> dict[str, Any]:
    response = terminal.commit(terminal.basket(fuel("92", "10.00"), member=driver, occurred_at=moment))
    assert response.status_code == 201, response.json()
    return dict(response.json())


def granted(terminal: Terminal, driver: Member, moments: list[datetime], code: str) -> list[int]:
    """What ``code`` gave each of the sales, committed one after the other."""
    return [earned(sale(terminal, driver, moment)).get(code, 0) for moment in moments]


# --- per member per day ----------------------------------------------------------------------


def test_a_daily_cap_holds_across_sales_and_resets_at_beijing_midnight(
    session: Session, terminal: Terminal, member: Callable[..., Member]
) -> None:
    add_rule(session, rule("visit-bonus", bonus(100), applies_to="basket", caps={"per_member_per_day": 150}))
    driver, other = member(), member()
    day = today() - timedelta(days=3)
    # 23:30 and 00:30 Beijing are the same UTC date: the cap resets with Beijing's day
    late, after_midnight = local(day, 23, 30), local(day + timedelta(days=1), 0, 30)
    assert late.astimezone(UTC).date() == after_midnight.astimezone(UTC).date()

    assert granted(terminal, driver, [local(day, 9), local(day, 12), late], "visit-bonus") == [100, 50, 0]
    assert granted(terminal, other, [local(day, 13)], "visit-bonus") == [100]
    next_day = [after_midnight, local(day + timedelta(days=1), 8), local(day + timedelta(days=1), 9)]
    assert granted(terminal, driver, next_day, "visit-bonus") == [100, 50, 0]

    # a quote already shows the cap: nothing more today
    quote = terminal.quote(
        terminal.basket(fuel("92", "10.00"), member=driver, occurred_at=local(day + timedelta(days=1), 10))
    )
    assert earned(quote.json()) == {"base-rate": 75}
    session.expire_all()
    usage = dict(
        session.execute(
            select(RuleUsage.period, RuleUsage.points).where(RuleUsage.member_id == driver.id)
        ).all()
    )
    assert usage == {f"D{day}": 150, f"D{day + timedelta(days=1)}": 150}
    assert points_of(session, driver) == 6 * 75 + 300


def test_a_monthly_cap_holds_across_days_and_resets_with_the_beijing_month(
    session: Session, pii: Pii, app: Any, client: TestClient
) -> None:
    with time_machine.travel(MONDAY_2_MARCH):
        terminal = _terminal(session, app, client)
        driver = make_member(session, pii)
        add_rule(
            session, rule("visit-bonus", bonus(100), applies_to="basket", caps={"per_member_per_month": 250})
        )
        february = [local(date(2026, 2, d), 10) for d in (24, 26)] + [local(date(2026, 2, 28), 23, 30)]
        assert granted(terminal, driver, february, "visit-bonus") == [100, 100, 50]
        # 00:30 on 1 March in Beijing is still 28 February in UTC
        march = [local(date(2026, 3, 1), 0, 30), local(date(2026, 3, 1), 9), local(date(2026, 3, 2), 9)]
        assert march[0].astimezone(UTC).date() == date(2026, 2, 28)
        assert granted(terminal, driver, march, "visit-bonus") == [100, 100, 50]
        session.expire_all()
        usage = dict(session.execute(select(RuleUsage.period, RuleUsage.points)).all())
        assert usage == {"M2026-02": 250, "M2026-03": 250}


def test_with_a_day_and_a_month_cap_the_smaller_room_wins(
    session: Session, pii: Pii, app: Any, client: TestClient
) -> None:
    with time_machine.travel(MONDAY_2_MARCH):
        terminal = _terminal(session, app, client)
        driver = make_member(session, pii)
        caps = {"per_member_per_day": 150, "per_member_per_month": 200}
        add_rule(session, rule("visit-bonus", bonus(100), applies_to="basket", caps=caps))
        moments = [local(date(2026, 2, 24), h) for h in (9, 10)] + [
            local(date(2026, 2, 26), h) for h in (9, 10)
        ]
        # the 24th: 100, then 50 (the day's cap); the 26th: 50 (the month's cap), then nothing
        assert granted(terminal, driver, moments, "visit-bonus") == [100, 50, 50, 0]
        assert granted(terminal, driver, [local(date(2026, 3, 1), 9)], "visit-bonus") == [100]
        assert points_of(session, driver) == 5 * 75 + 300


# --- program budget --------------------------------------------------------------------------


def test_a_budget_is_never_exceeded(
    session: Session, terminal: Terminal, member: Callable[..., Member]
) -> None:
    add_rule(session, rule("launch-bonus", bonus(100), applies_to="basket", budget_points=250))
    moment = utcnow() - timedelta(hours=1)
    drivers = [member() for _ in range(4)]
    given = [earned(sale(terminal, driver, moment)).get("launch-bonus", 0) for driver in drivers]
    assert given == [100, 100, 50, 0]
    session.expire_all()
    assert session.scalar(select(RuleBudget.used).where(RuleBudget.rule_code == "launch-bonus")) == 250
    assert rules.budget_used(session)["launch-bonus"] == 250
    quote = terminal.quote(terminal.basket(fuel("92", "10.00"), member=member(), occurred_at=moment))
    assert "launch-bonus" not in earned(quote.json())


def _terminal(session: Session, app: Any, client: TestClient) -> Terminal:
    """A terminal of a new station whose prices are in force since 30 days before (travelled) now."""
    return Terminal(client, issue(session, app, priced_station(session)))


# --- concurrency (real commits, both databases) ----------------------------------------------


@pytest.mark.committed
def test_sales_committed_at_once_never_pass_a_budget_or_a_daily_cap(
    committed_database: Database, test_settings: Settings
) -> None:
    app = create_app(test_settings, database=committed_database)
    with committed_database.transaction() as session:
        credential = issue(session, app, priced_station(session))
        drivers = [make_member(session, app.state.pii) for _ in range(3)]
        rules_off(
            session, "payments_per_minute"
        )  # four sales a member at once: the rate limit is not under test
        add_rule(session, rule("launch-bonus", bonus(100), applies_to="basket", budget_points=550))
        add_rule(
            session, rule("daily-visit", bonus(40), applies_to="basket", caps={"per_member_per_day": 100})
        )
    moment = utcnow() - timedelta(minutes=30)
    sales = drivers * 4
    barrier = threading.Barrier(len(sales), timeout=30)
    answers: list[Any] = [None] * len(sales)

    def commit(index: int) -> None:
        with TestClient(app, raise_server_exceptions=False) as client:
            terminal = Terminal(client, credential)
            body = terminal.basket(fuel("92", "10.00"), member=sales[index], occurred_at=moment)
            barrier.wait()
            answers[index] = terminal.commit(body, payments=[{"method": "cash", "amount_fen": 7_500}])

    threads = [threading.Thread(target=commit, args=(i,)) for i in range(len(sales))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert [a.status_code for a in answers] == [201] * len(sales), [
        a.json() for a in answers if a.status_code != 201
    ]
    results = [a.json() for a in answers]
    assert sum(earned(r).get("launch-bonus", 0) for r in results) == 550
    for driver in drivers:
        mine = [r for r in results if r["member"]["id"] == str(driver.id)]
        assert len(mine) == 4
        assert sum(earned(r).get("daily-visit", 0) for r in mine) == 100
    with committed_database.transaction(write=False) as session:
        assert session.scalar(select(RuleBudget.used).where(RuleBudget.rule_code == "launch-bonus")) == 550
        usage = session.execute(
            select(RuleUsage.member_id, RuleUsage.points).where(RuleUsage.rule_code == "daily-visit")
        ).all()
        assert sorted(used for _, used in usage) == [100, 100, 100]
        stored = session.scalars(select(Sale.points_earned)).all()
        assert sum(stored) == 12 * 75 + 550 + 300
        assert sum(points.balances(session, d.id).available for d in drivers) == sum(stored)
        assert session.scalar(select(func.count()).select_from(Sale)) == 12


def test_points_a_budget_refused_do_not_use_up_the_members_cap(
    session: Session, terminal: Terminal, member: Callable[..., Member]
) -> None:
    document = rule(
        "visit-bonus", bonus(100), applies_to="basket", caps={"per_member_per_day": 150}, budget_points=120
    )
    add_rule(session, document)
    driver = member()
    day = today() - timedelta(days=2)
    # the budget has 20 left for the second sale: the day's usage counts 20, not the 50 the cap allowed
    assert granted(terminal, driver, [local(day, 9), local(day, 10)], "visit-bonus") == [100, 20]
    session.expire_all()
    assert session.scalar(select(RuleUsage.points).where(RuleUsage.period == f"D{day}")) == 120
    rules.update_rule(
        session, SYSTEM, "visit-bonus", RuleDocument.model_validate({**document, "budget_points": 10_000})
    )
    session.flush()
    assert granted(terminal, driver, [local(day, 11)], "visit-bonus") == [30]
