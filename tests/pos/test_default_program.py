"""The default program's numbers at the pump (SPEC §5), through the POS API."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta

from forecourt.kit.clock import chain_zone, utcnow
from forecourt.members.models import Member
from tests.pos.support import Terminal, fuel, goods

SATURDAY, WEDNESDAY = 6, 3


def last_local(weekday: int, hour: int = 10) -> datetime:
    """The latest past moment (within the last week) that is ``weekday`` (ISO) at ``hour`` local."""
    now = utcnow().astimezone(chain_zone())
    day = now.date() - timedelta(days=(now.isoweekday() - weekday) % 7)
    moment = datetime.combine(day, time(hour), tzinfo=chain_zone())
    return moment if moment <= now else moment - timedelta(days=7)


def test_weekday_92_regular_earns_1_point_per_yuan(terminal: Terminal, member: Callable[..., Member]) -> None:
    driver = member()
    quote = terminal.quote(
        terminal.basket(fuel("92", "40.00"), member=driver, occurred_at=last_local(WEDNESDAY))
    )
    assert quote.status_code == 200, quote.json()
    body = quote.json()
    assert body["gross_fen"] == 30_000
    assert body["lines"][0]["unit_price_fen"] == 750
    assert body["discount_fen"] == 0
    assert body["due_fen"] == 30_000
    assert body["points_earned"] == {
        "total": 300,
        "breakdown": [{"rule": "base-rate", "name": "基础积分 1 分/元", "points": 300}],
    }


def test_saturday_95_silver_earns_2_4_points_per_yuan(
    terminal: Terminal, member: Callable[..., Member]
) -> None:
    driver = member(tier="silver")
    body = terminal.quote(
        terminal.basket(fuel("95", "40.00"), member=driver, occurred_at=last_local(SATURDAY))
    ).json()
    assert body["gross_fen"] == 32_000
    assert body["discount_fen"] == 640  # 98折 on fuel
    assert body["due_fen"] == 31_360
    earned = {item["rule"]: item["points"] for item in body["points_earned"]["breakdown"]}
    # base 313 × 2 (Saturday and 95# are both ×2: only one counts) × 1.2 (silver) = 752.64 → 752
    assert earned == {"base-rate": 313, "premium-grades-double": 314, "tier:silver": 125}
    assert body["points_earned"]["total"] == 752


def test_only_the_highest_promotion_counts_then_the_tier(
    terminal: Terminal, member: Callable[..., Member]
) -> None:
    moment = last_local(SATURDAY)
    driver = member(tier="gold", birthday=date(1990, moment.month, moment.day))
    body = terminal.quote(terminal.basket(fuel("98", "10.00"), member=driver, occurred_at=moment)).json()
    # 98# 10 L = ¥90.00, gold 3% → ¥87.30: 87 × 2 (not × 8) × 1.5 = 261.9 → 261
    assert body["due_fen"] == 8_730
    assert body["points_earned"]["total"] == 261


def test_birthday_week_doubles_points(terminal: Terminal, member: Callable[..., Member]) -> None:
    moment = last_local(WEDNESDAY)
    driver = member(birthday=date(1985, moment.month, moment.day))
    body = terminal.quote(terminal.basket(fuel("92", "20.00"), member=driver, occurred_at=moment)).json()
    earned = {item["rule"]: item["points"] for item in body["points_earned"]["breakdown"]}
    assert earned == {"base-rate": 150, "birthday-week-double": 150}


def test_silver_discount_is_on_fuel_only(terminal: Terminal, member: Callable[..., Member]) -> None:
    driver = member(tier="silver")
    body = terminal.quote(
        terminal.basket(fuel("92", "40.00"), goods(), member=driver, occurred_at=last_local(WEDNESDAY))
    ).json()
    fuel_line, wash = body["lines"]
    assert (fuel_line["gross_fen"], fuel_line["discount_fen"]) == (30_000, 600)
    assert (wash["gross_fen"], wash["discount_fen"]) == (3_000, 0)
    assert [d["source"] for d in body["discounts"]] == ["tier"]
    assert body["due_fen"] == 32_400


def test_anonymous_sale_earns_nothing(terminal: Terminal) -> None:
    body = terminal.quote(terminal.basket(fuel("92", "10.00"))).json()
    assert body["member"] is None
    assert body["due_fen"] == 7_500
    assert body["points_earned"] == {"total": 0, "breakdown": []}
