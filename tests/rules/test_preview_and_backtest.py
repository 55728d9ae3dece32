"""Trying rules before they go live (R6): what a basket would earn, and what a draft rule would have
cost over the real sales of the last days."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from forecourt.kit.actor import SYSTEM
from forecourt.members import tags
from forecourt.members.models import Member
from forecourt.rules.models import EarningRule
from tests.devices.support import error_of
from tests.fixtures.builders import StaffLogin
from tests.pos.support import Terminal, fuel, goods
from tests.rules.support import RULES, bonus, earned, last_local, local, multiplier, past_days, rule

WEDNESDAY, TUESDAY, SATURDAY = 3, 2, 6
PREVIEW = f"{RULES}/preview"
BACKTEST = f"{RULES}/backtest"
DOUBLE_92 = rule("double-92", multiplier("2"), name="92# 双倍", grades=["92"])
DOUBLE_WASH = rule("double-wash", multiplier("2"), name="洗车双倍", categories=["car_wash"])


@pytest.fixture
def marketing(staff: Callable[..., StaffLogin]) -> StaffLogin:
    return staff("marketing")


def rule_rows(session: Session) -> int:
    session.expire_all()
    return int(session.scalar(select(func.count()).select_from(EarningRule)) or 0)


# --- preview ---------------------------------------------------------------------------------


def test_preview_shows_what_a_basket_earns_rule_by_rule(
    client: TestClient, marketing: StaffLogin, terminal: Terminal, member: Callable[..., Member]
) -> None:
    basket = terminal.basket(
        fuel("95", "40.00"), goods(), member=member(tier="silver"), occurred_at=last_local(WEDNESDAY)
    )
    response = client.post(PREVIEW, json=basket, headers=marketing.headers)
    assert response.status_code == 200, response.json()
    body = response.json()
    # 95# ¥320 − 2% = ¥313.60 → 313 × 2 × 1.2 = 752; the wash ¥30 × 1.2 = 36
    assert (body["gross_fen"], body["discount_fen"], body["due_fen"]) == (35_000, 640, 34_360)
    assert earned(body) == {"base-rate": 343, "premium-grades-double": 314, "tier:silver": 131}
    assert body["points_earned"]["total"] == 788 == sum(earned(body).values())
    names = {item["rule"]: item["name"] for item in body["points_earned"]["breakdown"]}
    assert names["premium-grades-double"] == "95#/98# 双倍积分"


def test_preview_with_draft_rules_changes_nothing_stored(
    client: TestClient,
    session: Session,
    marketing: StaffLogin,
    terminal: Terminal,
    member: Callable[..., Member],
) -> None:
    rows = rule_rows(session)
    basket = terminal.basket(fuel("92", "40.00"), member=member(), occurred_at=last_local(WEDNESDAY))
    assert earned(client.post(PREVIEW, json=basket, headers=marketing.headers).json()) == {"base-rate": 300}

    drafts = [
        rule("wednesday-triple", multiplier("3"), name="周三加油 ×3", condition="basket.weekday == 3"),
        rule("base-rate", {"type": "rate", "points_per_yuan": "1.5"}, name="基础积分 1.5 分/元"),
    ]
    body = client.post(PREVIEW, json={**basket, "draft_rules": drafts}, headers=marketing.headers).json()
    assert earned(body) == {"base-rate": 450, "wednesday-triple": 900}
    assert {item["rule"]: item["name"] for item in body["points_earned"]["breakdown"]} == {
        "base-rate": "基础积分 1.5 分/元",
        "wednesday-triple": "周三加油 ×3",
    }
    assert rule_rows(session) == rows
    # the pump still earns by the rules in force
    assert earned(terminal.quote(basket).json()) == {"base-rate": 300}


def test_preview_refuses_an_invalid_draft_and_needs_rules_read(
    client: TestClient,
    staff: Callable[..., StaffLogin],
    terminal: Terminal,
    member: Callable[..., Member],
) -> None:
    basket = terminal.basket(fuel("92", "40.00"), member=member(), occurred_at=last_local(WEDNESDAY))
    finance, attendant = staff("finance"), staff("attendant")
    assert client.post(PREVIEW, json=basket, headers=finance.headers).status_code == 200
    bad = {**basket, "draft_rules": [rule("bad", multiplier("2"), condition="basket.weekday ==")]}
    refused = client.post(PREVIEW, json=bad, headers=finance.headers)
    assert (refused.status_code, error_of(refused)["code"]) == (400, "invalid_rule_condition")
    denied = client.post(PREVIEW, json=basket, headers=attendant.headers)
    assert (denied.status_code, error_of(denied)["code"]) == (403, "permission_denied")
    assert client.post(BACKTEST, json={"rule": DOUBLE_92}, headers=attendant.headers).status_code == 403


# --- back-test -------------------------------------------------------------------------------


def commit(terminal: Terminal, *lines: dict[str, Any], **options: Any) -> dict[str, Any]:
    response = terminal.commit(terminal.basket(*lines, **options))
    assert response.status_code == 201, response.json()
    return dict(response.json())


def backtest(client: TestClient, who: StaffLogin, document: dict[str, Any], days: int = 7) -> dict[str, Any]:
    response = client.post(BACKTEST, json={"rule": document, "days": days}, headers=who.headers)
    assert response.status_code == 200, response.json()
    return dict(response.json())


def test_backtest_of_a_92_double_over_committed_sales(
    client: TestClient,
    session: Session,
    staff: Callable[..., StaffLogin],
    marketing: StaffLogin,
    terminal: Terminal,
    member: Callable[..., Member],
) -> None:
    alice, bob, carol = member(), member(), member(tier="silver")
    first, second = past_days(2)
    # alice: 92# ¥300 → +300; 95# is doubled already and not 92#; a Saturday is doubled already → +0
    commit(terminal, fuel("92", "40.00"), member=alice, occurred_at=local(first, 9))
    commit(terminal, fuel("95", "20.00"), member=alice, occurred_at=local(first, 10))
    commit(terminal, fuel("92", "40.00"), member=alice, occurred_at=last_local(SATURDAY))
    # bob: 92# ¥75 → +75; a refunded sale does not count
    commit(terminal, fuel("92", "10.00"), member=bob, occurred_at=local(second, 8))
    refunded = commit(terminal, fuel("92", "40.00"), member=bob, occurred_at=local(second, 9))
    assert terminal.refund(refunded["id"]).status_code in (200, 201)
    # carol (silver): ¥294 paid → 294 × 1.2 = 352 today, 294 × 2 × 1.2 = 705 with the rule → +353
    commit(terminal, fuel("92", "40.00"), member=carol, occurred_at=local(second, 20))
    # an anonymous sale earns nothing either way
    commit(terminal, fuel("92", "40.00"), occurred_at=local(second, 21))
    rows = rule_rows(session)

    result = backtest(client, marketing, DOUBLE_92)
    assert result == {
        "rule": "double-92",
        "days": 7,
        "sales_considered": 5,
        "sales_affected": 3,
        "members_affected": 3,
        "points": 300 + 75 + 353,
        "cost_fen": 728,
    }
    assert rule_rows(session) == rows
    assert backtest(client, staff("finance"), DOUBLE_92) == result


def test_backtest_looks_back_only_the_days_asked(
    client: TestClient, marketing: StaffLogin, terminal: Terminal, member: Callable[..., Member]
) -> None:
    driver = member()
    days = past_days(5)  # a Saturday doubles washes already: the rule would add nothing then
    commit(terminal, goods(quantity=2), member=driver, occurred_at=local(days[-1], 12))
    commit(terminal, goods(), member=driver, occurred_at=local(days[0], 23))
    everything = backtest(client, marketing, DOUBLE_WASH, days=7)
    assert (everything["sales_considered"], everything["points"]) == (2, 60 + 30)
    last_days = backtest(client, marketing, DOUBLE_WASH, days=3)
    assert (last_days["sales_considered"], last_days["points"]) == (1, 30)


def test_a_daily_cap_caps_the_backtest(
    client: TestClient, marketing: StaffLogin, terminal: Terminal, member: Callable[..., Member]
) -> None:
    alice, bob = member(), member()
    first, second = past_days(2)
    for moment in (local(first, 9), local(first, 18), local(second, 12)):
        commit(terminal, goods(quantity=5), member=alice, occurred_at=moment)
    commit(terminal, goods(), member=bob, occurred_at=local(first, 9))
    capped = {**DOUBLE_WASH, "caps": {"per_member_per_day": 120}}
    result = backtest(client, marketing, capped)
    # alice: ¥150 of washes → +150 a sale, capped to 120 on each day (then nothing); bob: +30
    assert (result["points"], result["sales_affected"], result["members_affected"]) == (270, 3, 2)
    assert (result["sales_considered"], result["cost_fen"]) == (4, 270)

    monthly = backtest(client, marketing, {**DOUBLE_WASH, "caps": {"per_member_per_month": 200}})
    assert monthly["points"] == (200 if first.month == second.month else 270) + 30
    assert backtest(client, marketing, {**DOUBLE_WASH, "budget_points": 100})["points"] == 100


def test_preview_and_backtest_read_the_members_tags(
    client: TestClient,
    session: Session,
    marketing: StaffLogin,
    terminal: Terminal,
    member: Callable[..., Member],
) -> None:
    tags.create_tag(session, SYSTEM, code="fleet", name="车队客户")
    fleet, walk_in = member(), member()
    tags.assign(session, SYSTEM, fleet, "fleet")
    session.flush()
    fleet_bonus = rule("fleet-bonus", bonus(50), applies_to="basket", condition="'fleet' in member.tags")
    day = past_days(1)[0]
    for driver in (fleet, walk_in):
        basket = terminal.basket(fuel("92", "10.00"), member=driver, occurred_at=local(day, 12))
        preview = client.post(
            PREVIEW, json={**basket, "draft_rules": [fleet_bonus]}, headers=marketing.headers
        )
        assert earned(preview.json()).get("fleet-bonus") == (50 if driver is fleet else None)
        commit(terminal, fuel("92", "10.00"), member=driver, occurred_at=local(day, 12))
    result = backtest(client, marketing, fleet_bonus)
    assert (result["points"], result["sales_affected"], result["sales_considered"]) == (50, 1, 2)
