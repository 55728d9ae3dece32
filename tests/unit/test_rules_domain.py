"""How a basket earns points (SPEC R1–R5, R7), evaluated purely: no database, no web."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest
from hypothesis import given
from hypothesis import strategies as st

from forecourt.rules.calendar import holiday_facts, in_birthday_week
from forecourt.rules.conditions import compile_condition
from forecourt.rules.domain import Action, BasketFacts, Earning, LineFacts, Rule, RuleSet, allocate
from forecourt.rules.errors import InvalidCondition

BEIJING = ZoneInfo("Asia/Shanghai")
WEDNESDAY = datetime(2026, 3, 4, 10, tzinfo=BEIJING)
SATURDAY = datetime(2026, 3, 7, 10, tzinfo=BEIJING)


def facts(
    at: datetime = WEDNESDAY,
    *,
    station: str = "S001",
    region: str = "KM-N",
    tier: str = "regular",
    tier_milli: int = 1000,
    **extra: Any,
) -> BasketFacts:
    local = at.astimezone(BEIJING)
    holiday, workday = holiday_facts(local.date())
    return BasketFacts(
        station=station,
        region=region,
        occurred_at=at.astimezone(UTC),
        local_time=local,
        is_holiday=holiday,
        is_workday=workday,
        tier=tier,
        tier_multiplier_milli=tier_milli,
        **extra,
    )


def fuel(paid_fen: int, grade: str = "92", liters: str = "40.00", line_id: str = "1") -> LineFacts:
    return LineFacts(
        line_id=line_id,
        kind="fuel",
        category="fuel",
        paid_fen=paid_fen,
        gross_fen=paid_fen,
        grade=grade,
        liters=Decimal(liters),
    )


def wash(paid_fen: int = 3000, line_id: str = "2") -> LineFacts:
    return LineFacts(
        line_id=line_id,
        kind="goods",
        category="car_wash",
        paid_fen=paid_fen,
        gross_fen=paid_fen,
        sku="WASH-STD",
        quantity=1,
    )


def rate(code: str = "base-rate", per_yuan: str = "1", **options: Any) -> Rule:
    return Rule(code, code, Action("rate", milli=int(Decimal(per_yuan) * 1000)), **options)


def times(code: str, factor: str, **options: Any) -> Rule:
    return Rule(code, code, Action("multiplier", milli=int(Decimal(factor) * 1000)), **options)


def bonus(code: str, points: int, **options: Any) -> Rule:
    return Rule(code, code, Action("bonus", points=points), **options)


def when(source: str, *, line: bool = True) -> Any:
    return compile_condition(source, allow_line=line)


def earn(rules: list[Rule], *lines: LineFacts, basket: BasketFacts | None = None) -> dict[str, int]:
    return RuleSet(rules).earn(basket or facts(), lines).by_rule


# --- rates and multipliers (R1, R2, R5) ------------------------------------------------------


def test_base_rate_is_one_point_per_yuan_paid_floored() -> None:
    assert earn([rate()], fuel(30_099)) == {"base-rate": 300}
    assert earn([rate(per_yuan="1.5")], fuel(1_099)) == {"base-rate": 16}


def test_nothing_paid_earns_nothing_and_an_anonymous_sale_earns_nothing() -> None:
    assert earn([rate()], fuel(0)) == {}
    assert RuleSet([rate()]).earn(replace(facts(), member=False), [fuel(30_000)]).total == 0


def test_only_the_highest_non_stackable_multiplier_counts() -> None:
    rules = [rate(), times("saturday-double", "2"), times("premium-triple", "3"), times("tiny", "1.1")]
    assert earn(rules, fuel(10_000)) == {"base-rate": 100, "premium-triple": 200}


def test_stackable_multipliers_multiply_on_top_of_the_highest() -> None:
    rules = [
        rate(),
        times("saturday-double", "2"),
        times("premium-triple", "3"),
        times("app-bonus", "1.5", stackable=True),
        times("member-day", "2", stackable=True),
    ]
    earned = earn(rules, fuel(10_000))
    assert earned == {"base-rate": 100, "premium-triple": 200, "app-bonus": 150, "member-day": 450}
    assert sum(earned.values()) == 100 * 3 * 15 // 10 * 2


def test_the_tier_multiplier_applies_last_to_base_times_promotion() -> None:
    basket = facts(tier="silver", tier_milli=1200)
    earned = earn([rate(), times("saturday-double", "2")], fuel(31_360), basket=basket)
    # 313.60 × 2 × 1.2 = 752.64 → 752, split base / promotion / tier
    assert earned == {"base-rate": 313, "saturday-double": 314, "tier:silver": 125}


def test_a_tier_multiplier_applies_without_any_promotion() -> None:
    earned = earn([rate()], fuel(10_000), basket=facts(tier="diamond", tier_milli=2000))
    assert earned == {"base-rate": 100, "tier:diamond": 100}


def test_points_are_floored_once_per_line_not_per_step() -> None:
    # ¥0.99 × 1.5 × 1.5 × 1.2 = 2.673: floored per step it would be 0 → 0 → 0 → 0
    basket = facts(tier="silver", tier_milli=1200)
    rules = [rate(), times("a", "1.5"), times("b", "1.5", stackable=True)]
    assert sum(earn(rules, fuel(99), basket=basket).values()) == 2
    # two lines are floored separately: 1.99 + 1.99 → 1 + 1, not 3
    assert earn([rate()], fuel(199), fuel(199, line_id="2")) == {"base-rate": 2}


def test_a_multiplier_below_one_lowers_the_points_and_the_breakdown_still_adds_up() -> None:
    earning = RuleSet([rate(), times("half-points", "0.5")]).earn(facts(), [fuel(10_000)])
    assert earning.total == 50
    assert earning.by_rule == {"base-rate": 100, "half-points": -50}


def test_multipliers_without_a_rate_earn_nothing() -> None:
    assert earn([times("saturday-double", "2")], fuel(10_000)) == {}


def _product_points(paid_fen: int, rate_milli: int, factors: list[int], tier_milli: int) -> int:
    exact = Fraction(paid_fen, 100) * Fraction(rate_milli, 1000) * Fraction(tier_milli, 1000)
    for milli in factors:
        exact *= Fraction(milli, 1000)
    return math.floor(exact)


@st.composite
def baskets_and_rules(draw: st.DrawFn) -> tuple[list[Rule], list[LineFacts], int]:
    rules = [rate("base-rate", str(Decimal(draw(st.integers(1, 5000))) / 1000))]
    for n in range(draw(st.integers(0, 5))):
        rules.append(
            Rule(
                f"m{n}",
                f"m{n}",
                Action("multiplier", milli=draw(st.integers(100, 5000))),
                stackable=draw(st.booleans()),
                priority=draw(st.integers(-3, 3)),
                grades=frozenset(draw(st.sets(st.sampled_from(["92", "95", "98", "0"]), max_size=2))),
            )
        )
    for n in range(draw(st.integers(0, 2))):
        rules.append(
            Rule(
                f"l{n}",
                f"l{n}",
                Action("per_liter", milli=draw(st.integers(1, 3000))),
                grades=frozenset({"0"}),
            )
        )
    for n in range(draw(st.integers(0, 2))):
        rules.append(
            bonus(f"b{n}", draw(st.integers(1, 500)), applies_to=draw(st.sampled_from(["line", "basket"])))
        )
    lines = [
        LineFacts(
            line_id=str(n),
            kind="fuel",
            category="fuel",
            paid_fen=draw(st.integers(0, 200_000)),
            gross_fen=200_000,
            grade=draw(st.sampled_from(["92", "95", "98", "0"])),
            liters=Decimal(draw(st.integers(1, 20_000))) / 100,
        )
        for n in range(draw(st.integers(1, 4)))
    ]
    return rules, lines, draw(st.integers(500, 3000))


@given(baskets_and_rules())
def test_the_breakdown_always_sums_to_the_exact_floored_total(
    case: tuple[list[Rule], list[LineFacts], int],
) -> None:
    rules, lines, tier_milli = case
    earning = RuleSet(rules).earn(facts(tier="t", tier_milli=tier_milli), lines)
    expected = 0
    for line in lines:
        fitting = [rule for rule in rules if rule.fits_line(line)]
        promotions = [r.action.milli for r in fitting if r.action.type == "multiplier"]
        exclusive = [r.action.milli for r in fitting if r.action.type == "multiplier" and not r.stackable]
        factors = [max(exclusive)] if exclusive else []
        factors += [r.action.milli for r in fitting if r.action.type == "multiplier" and r.stackable]
        assert len(factors) <= len(promotions)
        expected += _product_points(line.paid_fen, rules[0].action.milli, factors, tier_milli)
        expected += sum(
            int(line.liters * r.action.milli) // 1000 for r in fitting if r.action.type == "per_liter"
        )
        expected += sum(
            r.action.points for r in fitting if r.action.type == "bonus" and r.applies_to == "line"
        )
    expected += sum(r.action.points for r in rules if r.action.type == "bonus" and r.applies_to == "basket")
    assert earning.total == expected
    assert sum(earning.by_rule.values()) == earning.total
    assert all(points != 0 for points in earning.by_rule.values())


# --- scope, priority and stop (R5, R7) -------------------------------------------------------


def test_a_station_rate_beats_a_regional_one_which_beats_the_brands_whatever_their_priorities() -> None:
    brand = rate("brand", "1", priority=100)
    regional = rate("kunming-north", "2", regions=frozenset({"KM-N"}), priority=50)
    station = rate("s001-rate", "3", stations=frozenset({"S001"}), priority=-100)
    everything = [brand, regional, station]
    assert earn(everything, fuel(10_000)) == {"s001-rate": 300}
    assert earn(everything, fuel(10_000), basket=facts(station="S002")) == {"kunming-north": 200}
    assert earn(everything, fuel(10_000), basket=facts(station="S009", region="KM-S")) == {"brand": 100}


def test_of_two_rates_of_the_same_scope_the_higher_priority_wins() -> None:
    assert earn([rate("low", "2", priority=1), rate("high", "1", priority=5)], fuel(10_000)) == {"high": 100}


def test_a_stop_rule_ends_every_lower_priority_rule() -> None:
    rules = [
        rate(),
        times("no-promotions-on-diesel", "1", priority=50, stop=True, grades=frozenset({"0"})),
        times("saturday-double", "2", priority=10),
        bonus("fill-up", 10, priority=5),
    ]
    assert earn(rules, fuel(10_000, grade="92")) == {"base-rate": 100, "saturday-double": 100, "fill-up": 10}
    # the stop rule applies to diesel: the lower-priority multiplier, bonus and even the base rate end
    assert earn(rules, fuel(10_000, grade="0")) == {}
    assert earn([*rules[1:], rate(priority=60)], fuel(10_000, grade="0")) == {"base-rate": 100}


def test_a_stop_rule_that_does_not_apply_stops_nothing() -> None:
    rules = [
        rate(),
        bonus("weekday-stop", 1, priority=9, stop=True, condition=when("basket.weekday == 6")),
        bonus("b", 2),
    ]
    assert earn(rules, fuel(1_000)) == {"base-rate": 10, "b": 2}


def test_a_basket_stop_rule_ends_lower_basket_rules() -> None:
    rules = [
        bonus("first", 50, applies_to="basket", priority=2, stop=True),
        bonus("second", 20, applies_to="basket"),
    ]
    assert earn(rules, fuel(1_000)) == {"first": 50}


# --- filters ---------------------------------------------------------------------------------


def test_grade_and_category_filters_pick_the_lines() -> None:
    rules = [
        rate(),
        times("premium-grades-double", "2", grades=frozenset({"95", "98"})),
        bonus("wash-bonus", 30, categories=frozenset({"car_wash"})),
    ]
    earned = earn(rules, fuel(10_000, "92"), fuel(10_000, "95", line_id="3"), wash())
    assert earned == {"base-rate": 230, "premium-grades-double": 100, "wash-bonus": 30}


def test_tier_filter_and_validity_window() -> None:
    rules = [
        rate(),
        times("gold-only", "2", tiers=frozenset({"gold"})),
        bonus(
            "march-promo",
            88,
            valid_from=datetime(2026, 3, 1, tzinfo=UTC),
            valid_until=datetime(2026, 3, 5, tzinfo=UTC),
        ),
    ]
    assert earn(rules, fuel(1_000)) == {"base-rate": 10, "march-promo": 88}
    assert earn(rules, fuel(1_000), basket=facts(tier="gold")) == {
        "base-rate": 10,
        "gold-only": 10,
        "march-promo": 88,
    }
    assert earn(rules, fuel(1_000), basket=facts(SATURDAY)) == {"base-rate": 10}
    # valid_until is exclusive, valid_from inclusive
    ends = datetime(2026, 3, 5, tzinfo=UTC)
    assert "march-promo" not in earn(rules, fuel(1_000), basket=facts(ends))
    assert "march-promo" in earn(rules, fuel(1_000), basket=facts(datetime(2026, 3, 1, tzinfo=UTC)))


def test_a_basket_rule_with_a_grade_filter_needs_a_line_of_that_grade() -> None:
    rules = [rate(), bonus("premium-basket", 50, applies_to="basket", grades=frozenset({"95", "98"}))]
    assert earn(rules, fuel(1_000, "92")) == {"base-rate": 10}
    assert earn(rules, fuel(1_000, "92"), fuel(1_000, "98", line_id="2")) == {
        "base-rate": 20,
        "premium-basket": 50,
    }


# --- per-litre and bonus actions -------------------------------------------------------------


def test_per_liter_points_are_floored_per_line_and_not_multiplied() -> None:
    rules = [
        rate(),
        times("saturday-double", "2"),
        Rule("diesel-per-liter", "x", Action("per_liter", milli=1500), grades=frozenset({"0"})),
    ]
    earned = earn(rules, fuel(10_000, "0", liters="33.33"), basket=facts(tier="gold", tier_milli=1500))
    assert earned == {"base-rate": 100, "saturday-double": 100, "tier:gold": 100, "diesel-per-liter": 49}


def test_a_bonus_is_once_per_line_for_a_line_rule_and_once_per_basket_for_a_basket_rule() -> None:
    rules = [bonus("per-fueling", 10), bonus("per-visit", 100, applies_to="basket")]
    assert earn(rules, fuel(1_000), fuel(1_000, line_id="2"), wash()) == {"per-fueling": 30, "per-visit": 100}


def test_a_hook_earns_nothing_and_is_asked_for() -> None:
    rule = Rule(
        "wash-coupon",
        "x",
        Action("hook", hook="coupon.grant", params={"template": "WASH"}),
        applies_to="basket",
    )
    earning = RuleSet([rate(), rule]).earn(facts(), [fuel(1_000)])
    assert earning.by_rule == {"base-rate": 10}
    assert [(h.rule, h.hook, dict(h.params), h.line_id) for h in earning.hooks] == [
        ("wash-coupon", "coupon.grant", {"template": "WASH"}, None)
    ]


# --- conditions ------------------------------------------------------------------------------


def test_line_conditions_are_checked_per_line_basket_conditions_once() -> None:
    rules = [
        rate(),
        bonus("big-fill", 20, condition=when("line.liters >= 30.0")),
        bonus("saturday-visit", 5, applies_to="basket", condition=when("basket.weekday == 6", line=False)),
        bonus("three-lines", 7, applies_to="basket", condition=when("basket.lines == 3", line=False)),
    ]
    lines = (fuel(1_000, liters="40.00"), fuel(1_000, liters="10.00", line_id="2"), wash())
    assert earn(rules, *lines) == {"base-rate": 50, "big-fill": 20, "three-lines": 7}
    assert earn(rules, *lines, basket=facts(SATURDAY))["saturday-visit"] == 5


def test_conditions_read_the_member_and_the_holiday_calendar() -> None:
    rules = [
        rate(),
        times("birthday-week-double", "2", condition=when("member.birthday_week")),
        bonus("holiday", 9, applies_to="basket", condition=when("basket.is_holiday", line=False)),
        bonus("commuters", 3, applies_to="basket", condition=when("'commuter' in member.tags", line=False)),
    ]
    national_day = facts(datetime(2026, 10, 1, 9, tzinfo=BEIJING), birthday_week=True, tags=("commuter",))
    assert earn(rules, fuel(1_000), basket=national_day) == {
        "base-rate": 10,
        "birthday-week-double": 10,
        "holiday": 9,
        "commuters": 3,
    }
    assert earn(rules, fuel(1_000)) == {"base-rate": 10}


def test_a_condition_over_a_macro_variable_compiles_and_holds() -> None:
    condition = when("member.tags.exists(t, t.startsWith('ride'))", line=False)
    rules = [rate(), bonus("ride-hailing", 4, applies_to="basket", condition=condition)]
    assert earn(rules, fuel(1_000), basket=facts(tags=("ride-hailing",))) == {
        "base-rate": 10,
        "ride-hailing": 4,
    }
    assert earn(rules, fuel(1_000), basket=facts(tags=("commuter",))) == {"base-rate": 10}


def test_a_condition_that_fails_at_run_time_does_not_hold() -> None:
    # the sample data has one line; a basket of two divides by zero
    condition = when("basket.gross_fen / (basket.lines - 2) != 0", line=False)
    rules = [rate(), bonus("odd", 50, applies_to="basket", condition=condition)]
    assert earn(rules, fuel(1_000)) == {"base-rate": 10, "odd": 50}
    assert earn(rules, fuel(1_000), fuel(1_000, line_id="2")) == {"base-rate": 20}


def test_a_constant_condition_holds_without_any_field() -> None:
    assert earn([rate(), bonus("always", 1, condition=when("true"))], fuel(100)) == {
        "base-rate": 1,
        "always": 1,
    }


@pytest.mark.parametrize(
    ("source", "allow_line", "says"),
    [
        ("basket.weekday ==", True, "does not parse"),
        ("fleet.size > 3", True, "Unknown variables: fleet"),
        ("line.grade == '95'", False, "only rules applied per line"),
        ("basket.wheels == 4", True, "no field `wheels`"),
        ("line.colour == 'red'", True, "no field `colour`"),
        ("basket.weekday + 1", True, "true or false"),
        ("basket.station + 1 == 2", True, "fails on sample data"),
    ],
)
def test_compile_condition_refusals(source: str, allow_line: bool, says: str) -> None:
    with pytest.raises(InvalidCondition) as refused:
        compile_condition(source, allow_line=allow_line)
    assert refused.value.code == "invalid_rule_condition"
    assert says in str(refused.value.message)


def test_an_empty_condition_is_none() -> None:
    assert compile_condition("  ", allow_line=False) is None


# --- caps and allocation helpers -------------------------------------------------------------


def test_limited_cuts_named_rules_and_keeps_the_rest() -> None:
    earning = Earning(by_rule={"base-rate": 300, "saturday-double": 300, "welcome-bonus": 50})
    limited = earning.limited({"saturday-double": 120, "welcome-bonus": -5})
    assert limited.by_rule == {"base-rate": 300, "saturday-double": 120}
    assert limited.total == 420
    assert earning.total == 650


@given(
    st.integers(0, 10**9),
    st.dictionaries(st.text(min_size=1, max_size=3), st.integers(0, 10**7), min_size=1, max_size=8),
)
def test_allocate_splits_exactly_and_proportionally(total: int, weights: dict[str, int]) -> None:
    shares = allocate(total, weights)
    assert set(shares) == set(weights)
    weight_sum = sum(weights.values())
    if weight_sum == 0 or total == 0:
        assert set(shares.values()) <= {0}
        return
    assert sum(shares.values()) == total
    for key, weight in weights.items():
        exact = Fraction(total * weight, weight_sum)
        assert math.floor(exact) <= shares[key] <= math.ceil(exact)


# --- the business calendar -------------------------------------------------------------------


def test_national_day_is_a_public_holiday() -> None:
    assert holiday_facts(date(2026, 10, 1)) == (True, False)
    assert holiday_facts(date(2026, 3, 7)) == (False, False)  # an ordinary Saturday: off, not a holiday
    assert holiday_facts(date(2026, 3, 4)) == (False, True)


def test_a_make_up_working_sunday_is_a_workday() -> None:
    days = (date(2026, 1, 1) + timedelta(days=n) for n in range(365))
    sunday = next(day for day in days if day.isoweekday() == 7 and chinese_calendar.is_workday(day))
    assert holiday_facts(sunday) == (False, True)


def test_a_year_the_calendar_does_not_know_has_weekends_off_and_no_holidays() -> None:
    assert holiday_facts(date(2199, 10, 1)) == (False, True)  # a Tuesday
    assert holiday_facts(date(2199, 10, 5)) == (False, False)  # a Saturday


def test_birthday_week_runs_monday_to_sunday_across_new_year() -> None:
    birthday = date(1990, 12, 31)  # 2025-12-31 is a Wednesday: its week is 29 Dec – 4 Jan
    assert in_birthday_week(birthday, date(2025, 12, 29))
    assert in_birthday_week(birthday, date(2026, 1, 4))
    assert not in_birthday_week(birthday, date(2026, 1, 5))
    assert not in_birthday_week(birthday, date(2025, 12, 28))
    new_year = date(1992, 1, 1)  # 2027-01-01 is a Friday: its week starts Monday 28 Dec 2026
    assert in_birthday_week(new_year, date(2026, 12, 28))
    assert not in_birthday_week(new_year, date(2026, 12, 27))
    assert not in_birthday_week(None, date(2026, 12, 28))


def test_a_29_february_birthday_falls_on_28_february_in_a_common_year() -> None:
    leapling = date(2000, 2, 29)
    # 2026-02-28 is a Saturday: the week of 23 Feb – 1 Mar
    assert in_birthday_week(leapling, date(2026, 2, 23))
    assert in_birthday_week(leapling, date(2026, 3, 1))
    assert not in_birthday_week(leapling, date(2026, 3, 2))
    # 2028-02-29 is a Tuesday: 28 Feb – 5 Mar
    assert in_birthday_week(leapling, date(2028, 3, 5))
    assert not in_birthday_week(leapling, date(2028, 2, 27))
