"""Coupon arithmetic (SPEC C1, C2, C4, C5, §5), purely: what a coupon takes off, when it may be used,
which coupons go together, in which order, and the best combination with the points after them."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Literal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from forecourt.coupons.domain import (
    Applied,
    CouponRefused,
    HeldCoupon,
    Item,
    Occasion,
    Terms,
    apply_chosen,
    best_combination,
    discount_of,
    occasion_refusal,
    rank,
    stacking_refusal,
)
from forecourt.kit.money import half_up
from forecourt.pos.checkout import POINT_STEP_FEN, points_value_fen

BEIJING = ZoneInfo("Asia/Shanghai")
WEDNESDAY_NOON = datetime(2026, 3, 4, 12, tzinfo=BEIJING)
ISSUED = datetime(2026, 1, 1, tzinfo=UTC)
EXPIRES = datetime(2026, 12, 31, tzinfo=UTC)
WEEKEND = frozenset({6, 7})


def coupon(
    kind: Literal["amount_off", "percent_off", "per_liter", "voucher"] = "amount_off",
    *,
    template: str | None = None,
    valid_from: datetime = ISSUED,
    expires_at: datetime = EXPIRES,
    **terms: Any,
) -> HeldCoupon:
    coupon_id = uuid.uuid4()
    return HeldCoupon(
        id=coupon_id,
        template=template or f"T-{coupon_id.hex[:8]}",
        title=kind,
        terms=Terms(kind=kind, **terms),
        valid_from=valid_from,
        expires_at=expires_at,
    )


def occasion(
    at: datetime = WEDNESDAY_NOON, *, station: str = "S001", region: str = "KM-N", tier: str = "regular"
) -> Occasion:
    return Occasion(
        at=at.astimezone(UTC), local=at.astimezone(BEIJING), station=station, region=region, tier=tier
    )


def fuel(line_id: str, liters: str, price_fen: int = 750, grade: str = "92", tier_bp: int = 0) -> Item:
    """A fuel line after the tier's fuel discount (half-up per line), as the checkout builds it."""
    gross = half_up(Decimal(liters) * price_fen)
    net = gross - half_up(Decimal(gross) * tier_bp / 10_000)
    return Item(line_id, "fuel", "fuel", net, price_fen, grade=grade, liters=Decimal(liters))


def goods(line_id: str, net_fen: int, category: str = "shop", quantity: int = 1) -> Item:
    return Item(line_id, "goods", category, net_fen * quantity, net_fen, sku=f"SKU-{category}")


def taken(coupon: HeldCoupon, items: Sequence[Item]) -> dict[str, int] | str:
    return discount_of(coupon, items)


def total(applied: Sequence[Applied]) -> dict[str, int]:
    return {a.coupon.title: a.amount_fen for a in applied}


# ---------------------------------------------------------------- C1: what each template takes off


def test_amount_off_takes_15_yuan_from_a_basket_of_100_yuan() -> None:
    man_100_jian_15 = coupon(amount_off_fen=1500, threshold_fen=10_000)
    assert taken(man_100_jian_15, [goods("1", 10_000)]) == {"1": 1500}


def test_amount_off_is_refused_one_fen_below_its_threshold() -> None:
    man_100_jian_15 = coupon(amount_off_fen=1500, threshold_fen=10_000)
    assert taken(man_100_jian_15, [goods("1", 9_999)]) == "below_threshold"


def test_amount_off_never_takes_more_than_the_eligible_lines() -> None:
    assert taken(coupon(amount_off_fen=1500), [goods("1", 800)]) == {"1": 800}


@pytest.mark.parametrize(
    ("base", "discount"),
    [(10_000, 1000), (10_005, 1001), (12_345, 1235), (12_344, 1234), (19_999, 2000), (30_000, 2000)],
)
def test_percent_off_takes_a_share_rounded_half_up_and_capped(base: int, discount: int) -> None:
    nine_tenths_at_most_20 = coupon("percent_off", percent_off_bp=1000, cap_fen=2000)
    assert taken(nine_tenths_at_most_20, [goods("1", base)]) == {"1": discount}


def test_percent_off_without_cap_takes_the_whole_share() -> None:
    assert taken(coupon("percent_off", percent_off_bp=1000), [goods("1", 50_000)]) == {"1": 5000}


@pytest.mark.parametrize(
    ("liters", "discount"),
    [("10.00", 300), ("33.33", 1000), ("0.05", 2), ("40.00", 1200), ("55.55", 1200)],
)
def test_per_litre_off_takes_30_fen_a_litre_for_at_most_40_litres(liters: str, discount: int) -> None:
    thirty_fen_a_litre = coupon("per_liter", per_liter_fen=30, max_liters=Decimal(40))
    assert taken(thirty_fen_a_litre, [fuel("1", liters)]) == {"1": discount}


def test_per_litre_off_counts_litres_of_every_fuel_line_together_under_the_maximum() -> None:
    thirty_fen_a_litre = coupon("per_liter", per_liter_fen=30, max_liters=Decimal(40))
    outcome = taken(thirty_fen_a_litre, [fuel("1", "30.00"), fuel("2", "30.00", grade="95"), goods("3", 500)])
    assert isinstance(outcome, dict)
    assert sum(outcome.values()) == 1200
    assert set(outcome) == {"1", "2"}


def test_per_litre_off_is_refused_on_a_shop_only_basket() -> None:
    assert taken(coupon("per_liter", per_liter_fen=30), [goods("1", 5000)]) == "wrong_category"


def test_grade_coupon_for_92_is_refused_on_95_as_wrong_grade() -> None:
    only_92 = coupon(amount_off_fen=1000, grades=frozenset({"92"}))
    assert taken(only_92, [fuel("1", "30.00", grade="95")]) == "wrong_grade"


def test_grade_coupon_for_92_takes_only_from_the_92_line() -> None:
    only_92 = coupon("percent_off", percent_off_bp=1000, grades=frozenset({"92"}))
    basket = [fuel("1", "20.00", grade="95"), fuel("2", "20.00", grade="92"), goods("3", 3000)]
    assert taken(only_92, basket) == {"2": 1500}


def test_grade_threshold_counts_only_lines_of_that_grade() -> None:
    only_92_over_200 = coupon(amount_off_fen=2000, threshold_fen=20_000, grades=frozenset({"92"}))
    basket = [fuel("1", "20.00", grade="92"), fuel("2", "20.00", grade="95")]
    assert taken(only_92_over_200, basket) == "below_threshold"


def test_car_wash_coupon_is_refused_on_a_fuel_only_basket_as_wrong_category() -> None:
    car_wash = coupon(amount_off_fen=500, categories=frozenset({"car_wash"}))
    assert taken(car_wash, [fuel("1", "30.00")]) == "wrong_category"


def test_shop_coupon_takes_only_from_shop_goods() -> None:
    shop = coupon(amount_off_fen=500, threshold_fen=2000, categories=frozenset({"shop"}))
    basket = [
        fuel("1", "30.00"),
        goods("2", 1500),
        goods("3", 1000, quantity=2),
        goods("4", 3000, "car_wash"),
    ]
    outcome = taken(shop, basket)
    assert outcome == {"2": 214, "3": 286}


def test_shop_coupon_threshold_ignores_fuel() -> None:
    shop = coupon(amount_off_fen=500, threshold_fen=2000, categories=frozenset({"shop"}))
    assert taken(shop, [fuel("1", "30.00"), goods("2", 1500)]) == "below_threshold"


def test_car_wash_voucher_pays_one_unit_of_the_car_wash_line() -> None:
    free_wash = coupon("voucher", amount_off_fen=4000, categories=frozenset({"car_wash"}))
    basket = [fuel("1", "30.00"), goods("2", 3000, "car_wash", quantity=2)]
    assert taken(free_wash, basket) == {"2": 3000}


def test_car_wash_voucher_pays_at_most_its_amount() -> None:
    free_wash = coupon("voucher", amount_off_fen=4000, categories=frozenset({"car_wash"}))
    assert taken(free_wash, [goods("1", 5000, "car_wash")]) == {"1": 4000}


def test_car_wash_voucher_without_limit_pays_the_whole_unit() -> None:
    free_wash = coupon("voucher", categories=frozenset({"car_wash"}))
    assert taken(free_wash, [goods("1", 5000, "car_wash", quantity=3)]) == {"1": 5000}


def test_car_wash_voucher_pays_the_dearest_car_wash_it_can() -> None:
    free_wash = coupon("voucher", categories=frozenset({"car_wash"}))
    basket = [goods("1", 2000, "car_wash"), goods("2", 4500, "car_wash")]
    assert taken(free_wash, basket) == {"2": 4500}


def test_car_wash_voucher_is_refused_without_a_car_wash() -> None:
    free_wash = coupon("voucher", amount_off_fen=4000, categories=frozenset({"car_wash"}))
    assert taken(free_wash, [fuel("1", "30.00"), goods("2", 800)]) == "wrong_category"


def test_amount_off_is_spread_over_eligible_lines_to_the_fen() -> None:
    outcome = taken(coupon(amount_off_fen=1000), [goods("1", 3333), goods("2", 3333), goods("3", 3334)])
    assert outcome == {"1": 333, "2": 333, "3": 334}


@given(
    nets=st.lists(st.integers(min_value=1, max_value=50_000), min_size=1, max_size=4),
    amount=st.integers(min_value=1, max_value=20_000),
    bp=st.integers(min_value=1, max_value=9_999),
)
def test_discount_is_spread_over_eligible_lines_exactly(nets: list[int], amount: int, bp: int) -> None:
    basket = [goods(str(index), net) for index, net in enumerate(nets)]
    base = sum(nets)
    for each, expected in (
        (coupon(amount_off_fen=amount), min(amount, base)),
        (coupon("percent_off", percent_off_bp=bp), half_up(Decimal(base) * bp / 10_000)),
    ):
        outcome = taken(each, basket)
        if expected == 0:
            assert outcome == "nothing_to_discount"
            continue
        assert isinstance(outcome, dict)
        assert sum(outcome.values()) == expected
        assert all(0 <= outcome[item.line_id] <= item.net_fen for item in basket)


# ---------------------------------------------------------------- C2: when a coupon may be used


def test_coupon_is_expired_from_its_expiry_instant() -> None:
    held = coupon(expires_at=WEDNESDAY_NOON.astimezone(UTC))
    assert occasion_refusal(held, occasion(WEDNESDAY_NOON - timedelta(microseconds=1))) is None
    assert occasion_refusal(held, occasion(WEDNESDAY_NOON)) == "expired"


def test_coupon_is_not_yet_valid_before_its_start() -> None:
    held = coupon(valid_from=WEDNESDAY_NOON.astimezone(UTC))
    assert occasion_refusal(held, occasion(WEDNESDAY_NOON - timedelta(seconds=1))) == "not_yet_valid"
    assert occasion_refusal(held, occasion(WEDNESDAY_NOON)) is None


@pytest.mark.parametrize(
    ("local", "reason"),
    [
        (datetime(2026, 3, 6, 23, 59, tzinfo=BEIJING), "wrong_day"),  # Friday night
        (datetime(2026, 3, 7, 0, 30, tzinfo=BEIJING), None),  # Saturday 00:30, still Friday in UTC
        (datetime(2026, 3, 8, 23, 30, tzinfo=BEIJING), None),  # Sunday night, Sunday in UTC too
        (datetime(2026, 3, 9, 0, 0, tzinfo=BEIJING), "wrong_day"),  # Monday 00:00, Sunday in UTC
    ],
)
def test_weekend_only_coupon_goes_by_the_chain_time_weekday(local: datetime, reason: str | None) -> None:
    assert occasion_refusal(coupon(weekdays=WEEKEND), occasion(local)) == reason


@pytest.mark.parametrize(
    ("clock", "reason"),
    [(time(5, 59), "wrong_time"), (time(6, 0), None), (time(9, 59, 59), None), (time(10, 0), "wrong_time")],
)
def test_morning_coupon_is_valid_from_six_until_ten(clock: time, reason: str | None) -> None:
    morning = coupon(time_from=time(6), time_to=time(10))
    at = datetime.combine(WEDNESDAY_NOON.date(), clock, tzinfo=BEIJING)
    assert occasion_refusal(morning, occasion(at)) == reason


@pytest.mark.parametrize(
    ("clock", "reason"),
    [
        (time(21, 59), "wrong_time"),
        (time(22, 0), None),
        (time(23, 59), None),
        (time(0, 0), None),
        (time(5, 59), None),
        (time(6, 0), "wrong_time"),
        (time(12, 0), "wrong_time"),
    ],
)
def test_night_coupon_window_spans_midnight(clock: time, reason: str | None) -> None:
    night = coupon(time_from=time(22), time_to=time(6))
    at = datetime.combine(WEDNESDAY_NOON.date(), clock, tzinfo=BEIJING)
    assert occasion_refusal(night, occasion(at)) == reason


def test_time_window_is_read_in_chain_time() -> None:
    morning = coupon(time_from=time(6), time_to=time(10))
    at = datetime(2026, 3, 4, 1, 0, tzinfo=UTC)  # 09:00 in Beijing
    assert occasion_refusal(morning, occasion(at)) is None


def test_station_coupon_is_refused_at_another_station() -> None:
    only_s001 = coupon(stations=frozenset({"S001"}))
    assert occasion_refusal(only_s001, occasion(station="S001")) is None
    assert occasion_refusal(only_s001, occasion(station="S002")) == "wrong_station"


def test_region_coupon_is_valid_at_any_station_of_the_region() -> None:
    north = coupon(regions=frozenset({"KM-N"}))
    assert occasion_refusal(north, occasion(station="S009", region="KM-N")) is None
    assert occasion_refusal(north, occasion(station="S009", region="KM-S")) == "wrong_station"
    assert occasion_refusal(north, occasion(station="S009", region="")) == "wrong_station"


def test_station_or_region_coupon_is_valid_at_either() -> None:
    held = coupon(stations=frozenset({"S100"}), regions=frozenset({"KM-N"}))
    assert occasion_refusal(held, occasion(station="S100", region="KM-S")) is None
    assert occasion_refusal(held, occasion(station="S001", region="KM-N")) is None
    assert occasion_refusal(held, occasion(station="S001", region="KM-S")) == "wrong_station"


def test_gold_and_diamond_coupon_is_refused_to_silver() -> None:
    held = coupon(tiers=frozenset({"gold", "diamond"}))
    assert occasion_refusal(held, occasion(tier="gold")) is None
    assert occasion_refusal(held, occasion(tier="silver")) == "wrong_tier"


def test_named_coupon_refused_on_the_occasion_names_the_reason() -> None:
    weekend = coupon(weekdays=WEEKEND)
    with pytest.raises(CouponRefused) as refused:
        apply_chosen([weekend], occasion(), [goods("1", 5000)], 3)
    assert (refused.value.refusal.coupon, refused.value.refusal.reason) == (weekend, "wrong_day")


# ---------------------------------------------------------------- C4: stacking and order


def refusal_of(
    coupons: Sequence[HeldCoupon], items: Sequence[Item], max_per_order: int = 3
) -> tuple[HeldCoupon, str]:
    with pytest.raises(CouponRefused) as refused:
        apply_chosen(coupons, occasion(), items, max_per_order)
    return refused.value.refusal.coupon, refused.value.refusal.reason


def test_two_percent_off_coupons_exclude_each_other() -> None:
    nine, eighty_five = coupon("percent_off", percent_off_bp=1000), coupon("percent_off", percent_off_bp=1500)
    refusal = stacking_refusal([eighty_five, nine], 3)
    assert refusal is not None
    assert (refusal.coupon, refusal.reason) == (nine, "exclusive_conflict")
    assert refusal_of([nine, eighty_five], [goods("1", 10_000)]) == (nine, "exclusive_conflict")


def test_percent_off_joins_amount_off() -> None:
    nine = coupon("percent_off", percent_off_bp=1000, cap_fen=2000)
    man_100_jian_15 = coupon(amount_off_fen=1500, threshold_fen=10_000)
    applied = apply_chosen([man_100_jian_15, nine], occasion(), [fuel("1", "40.00")], 3)
    assert [(a.coupon, a.amount_fen) for a in applied] == [(nine, 2000), (man_100_jian_15, 1500)]


def test_exclusive_coupon_stands_alone() -> None:
    exclusive = coupon(amount_off_fen=3000, exclusive=True)
    other = coupon(amount_off_fen=500)
    basket = [goods("1", 10_000)]
    assert refusal_of([other, exclusive], basket) == (exclusive, "exclusive_conflict")
    assert total(apply_chosen([exclusive], occasion(), basket, 3)) == {"amount_off": 3000}


def test_one_coupon_per_template_per_order() -> None:
    first = coupon(amount_off_fen=500, template="BIRTHDAY", expires_at=EXPIRES - timedelta(days=1))
    second = coupon(amount_off_fen=500, template="BIRTHDAY")
    refused, reason = refusal_of([first, second], [goods("1", 10_000)])
    assert (refused in (first, second), reason) == (True, "exclusive_conflict")


def test_more_coupons_than_max_per_order_are_too_many() -> None:
    small, middle, large = (coupon(amount_off_fen=fen) for fen in (100, 200, 300))
    assert refusal_of([small, middle, large], [goods("1", 10_000)], max_per_order=2) == (
        small,
        "too_many_coupons",
    )
    assert len(apply_chosen([small, large], occasion(), [goods("1", 10_000)], 2)) == 2


def test_amount_off_coupons_of_a_custom_stack_group_exclude_each_other() -> None:
    promo_a = coupon(amount_off_fen=500, stack_group="summer")
    promo_b = coupon(amount_off_fen=800, stack_group="summer")
    assert refusal_of([promo_a, promo_b], [goods("1", 10_000)]) == (promo_a, "exclusive_conflict")


def test_percent_off_coupons_of_different_custom_groups_stack() -> None:
    fuel_promo = coupon("percent_off", percent_off_bp=1000, stack_group="fuel-promo")
    brand = coupon("percent_off", percent_off_bp=500, stack_group="brand", threshold_fen=5000)
    applied = apply_chosen([fuel_promo, brand], occasion(), [goods("1", 10_000)], 3)
    # Higher threshold first: 5% of 100 yuan, then 10% of 95 yuan.
    assert [(a.coupon, a.amount_fen) for a in applied] == [(brand, 500), (fuel_promo, 950)]


def test_percent_off_before_amount_off_can_break_the_amount_off_threshold() -> None:
    nine = coupon("percent_off", percent_off_bp=1000)
    man_100_jian_15 = coupon(amount_off_fen=1500, threshold_fen=10_000)
    basket = [goods("1", 10_500)]
    assert refusal_of([man_100_jian_15, nine], basket) == (man_100_jian_15, "below_threshold")
    assert refusal_of([nine, man_100_jian_15], basket) == (man_100_jian_15, "below_threshold")


def test_best_combination_takes_the_amount_off_when_the_percent_off_would_break_its_threshold() -> None:
    nine = coupon("percent_off", percent_off_bp=1000)
    man_100_jian_15 = coupon(amount_off_fen=1500, threshold_fen=10_000)
    chosen = best_combination([nine, man_100_jian_15], occasion(), [goods("1", 10_500)], 3, no_points, 0)
    assert [a.coupon for a in chosen] == [man_100_jian_15]


def test_per_litre_applies_before_percent_off() -> None:
    per_litre = coupon("per_liter", per_liter_fen=30, max_liters=Decimal(40))
    nine = coupon("percent_off", percent_off_bp=1000)
    applied = apply_chosen([nine, per_litre], occasion(), [fuel("1", "40.00")], 3)
    assert [(a.coupon, a.amount_fen) for a in applied] == [(per_litre, 1200), (nine, 2880)]


def test_higher_threshold_amount_off_goes_first_so_both_thresholds_are_met() -> None:
    man_100_jian_15 = coupon(amount_off_fen=1500, threshold_fen=10_000)
    man_50_jian_5 = coupon(amount_off_fen=500, threshold_fen=5000)
    for named in ([man_50_jian_5, man_100_jian_15], [man_100_jian_15, man_50_jian_5]):
        applied = apply_chosen(named, occasion(), [goods("1", 10_500)], 3)
        assert [(a.coupon, a.amount_fen) for a in applied] == [(man_100_jian_15, 1500), (man_50_jian_5, 500)]


def test_equal_coupons_tie_to_the_one_that_expires_first() -> None:
    later = coupon(amount_off_fen=1000, template="A", expires_at=EXPIRES)
    sooner = coupon(amount_off_fen=1000, template="A", expires_at=EXPIRES - timedelta(days=30))
    other_group_later = coupon(amount_off_fen=1000, stack_group="g", template="B")
    other_group_sooner = coupon(
        amount_off_fen=1000, stack_group="g", template="C", expires_at=ISSUED + timedelta(days=200)
    )
    chosen = best_combination(
        [later, other_group_later, sooner, other_group_sooner],
        occasion(),
        [goods("1", 10_000)],
        3,
        no_points,
        0,
    )
    assert {a.coupon.id for a in chosen} == {sooner.id, other_group_sooner.id}


def test_best_combination_keeps_points_when_coupons_save_as_much() -> None:
    """¥10 off as a coupon or as 1,000 points saves the same: the coupon is used, the points kept."""
    ten_off = coupon(amount_off_fen=1000)
    basket = [goods("1", 1000)]
    chosen = best_combination(
        [ten_off],
        occasion(),
        basket,
        3,
        lambda payable: points_value_fen("auto", 1000, payable),
        points_value_fen("auto", 1000, 1000) or 0,
    )
    assert [a.coupon for a in chosen] == [ten_off]


def no_points(_payable: int) -> int:
    return 0


def test_best_combination_pays_the_dearest_car_wash_with_a_free_wash_voucher() -> None:
    """Each voucher pays the dearest wash it can, so alone it bounds what it pays with others
    (the search prunes on that bound)."""
    shop_voucher = coupon("voucher", amount_off_fen=1200, categories=frozenset({"shop"}))
    wash_a = coupon("voucher", categories=frozenset({"car_wash"}), expires_at=EXPIRES - timedelta(days=1))
    wash_b = coupon("voucher", categories=frozenset({"car_wash"}))
    basket = [goods("1", 1500), goods("2", 1000, "car_wash"), goods("3", 3000, "car_wash")]
    assert [a.amount_fen for a in apply_chosen([wash_a, wash_b], occasion(), basket, 2)] == [3000, 1000]
    chosen = best_combination([shop_voucher, wash_a, wash_b], occasion(), basket, 2, no_points, 0)
    assert [(a.coupon, a.by_line) for a in chosen] == [(shop_voucher, {"1": 1200}), (wash_a, {"3": 3000})]


def test_which_coupon_of_a_template_is_used_does_not_change_the_order() -> None:
    """Two 减15 coupons, one on anything and one on fuel only: a coupon's place among the others must
    not depend on its expiry, or a later copy of a template could save more than the first one."""
    anything_sooner = coupon(amount_off_fen=1500, template="ANY", expires_at=EXPIRES - timedelta(days=60))
    anything_later = coupon(amount_off_fen=1500, template="ANY", expires_at=EXPIRES)
    fuel_only = coupon(
        amount_off_fen=1500,
        template="FUEL",
        categories=frozenset({"fuel"}),
        expires_at=EXPIRES - timedelta(days=30),
    )
    basket = [fuel("1", "10.00", price_fen=100), goods("2", 1000)]
    with_sooner = apply_chosen([anything_sooner, fuel_only], occasion(), basket, 3)
    with_later = apply_chosen([anything_later, fuel_only], occasion(), basket, 3)
    assert [a.by_line for a in with_sooner] == [a.by_line for a in with_later]
    chosen = best_combination(
        [anything_later, fuel_only, anything_sooner], occasion(), basket, 3, no_points, 0
    )
    assert {a.coupon.id for a in chosen} == {anything_sooner.id, fuel_only.id}
    assert sum(a.amount_fen for a in chosen) == max(
        sum(a.amount_fen for a in with_sooner), sum(a.amount_fen for a in with_later)
    )


# ------------------------------------------------------------- C5: the best combination, against brute force

TODAY = datetime(2026, 3, 7, 10, tzinfo=BEIJING)
"""A Saturday morning: the occasion of the property test."""
EXPIRIES = [TODAY + timedelta(days=days) for days in (30, 3, 90)] * 4 + [TODAY - timedelta(days=1)]


@st.composite
def terms(draw: st.DrawFn) -> Terms:
    kind = draw(st.sampled_from(["amount_off", "percent_off", "per_liter", "voucher"]))
    common: dict[str, Any] = {
        "threshold_fen": draw(st.sampled_from([0, 0, 0, 3000, 5000, 10_000, 20_000])),
        "stack_group": draw(st.sampled_from([None, None, "a", "b"])),
        "exclusive": draw(st.integers(min_value=0, max_value=5)) == 5,
        "grades": draw(st.sampled_from([frozenset()] * 8 + [frozenset({"92"}), frozenset({"95"})])),
        "tiers": draw(st.sampled_from([frozenset()] * 9 + [frozenset({"gold"})])),
        "weekdays": draw(st.sampled_from([frozenset()] * 6 + [WEEKEND, frozenset({1, 2, 3, 4, 5})])),
    }
    categories = draw(
        st.sampled_from(
            [frozenset()] * 4 + [frozenset({"fuel"}), frozenset({"shop"}), frozenset({"car_wash"})]
        )
    )
    if kind == "amount_off":
        return Terms(
            kind="amount_off",
            amount_off_fen=draw(st.sampled_from([250, 300, 333, 500, 1000, 1234, 1500, 2000, 5000])),
            categories=categories,
            **common,
        )
    if kind == "percent_off":
        return Terms(
            kind="percent_off",
            percent_off_bp=draw(st.sampled_from([500, 1000, 1500, 3000])),
            cap_fen=draw(st.sampled_from([0, 1000, 2000])),
            categories=categories,
            **common,
        )
    if kind == "per_liter":
        return Terms(
            kind="per_liter",
            per_liter_fen=draw(st.sampled_from([20, 30, 50])),
            max_liters=draw(st.sampled_from([None, Decimal(20), Decimal(40)])),
            cap_fen=draw(st.sampled_from([0, 0, 1000])),
            **common,
        )
    return Terms(
        kind="voucher",
        amount_off_fen=draw(st.sampled_from([0, 2000, 4000])),
        categories=draw(
            st.sampled_from([frozenset({"car_wash"}), frozenset({"car_wash"}), frozenset({"shop"})])
        ),
        **{**common, "grades": frozenset(), "threshold_fen": 0},
    )


@st.composite
def wallets(draw: st.DrawFn) -> list[HeldCoupon]:
    templates = draw(st.lists(terms(), min_size=3, max_size=8))
    size = draw(st.integers(min_value=0, max_value=8))
    held = []
    for _ in range(size):
        index = draw(st.integers(min_value=0, max_value=len(templates) - 1))
        starts_tomorrow = draw(st.integers(min_value=0, max_value=14)) == 14
        held.append(
            HeldCoupon(
                id=draw(st.uuids()),
                template=f"T{index}",
                title=f"T{index}",
                terms=templates[index],
                valid_from=TODAY + timedelta(days=1) if starts_tomorrow else TODAY - timedelta(days=10),
                expires_at=draw(st.sampled_from(EXPIRIES)),
            )
        )
    return held


@st.composite
def baskets(draw: st.DrawFn) -> list[Item]:
    tier_bp = draw(st.sampled_from([0, 200, 300, 400]))
    lines = []
    for index in range(draw(st.sampled_from([3, 2, 1]))):
        line_id = str(index + 1)
        if draw(st.booleans()):
            liters = draw(st.decimals(min_value=5, max_value=60, places=2))
            price = draw(st.integers(min_value=700, max_value=850))
            lines.append(fuel(line_id, str(liters), price, draw(st.sampled_from(["92", "95"])), tier_bp))
        else:
            category = draw(st.sampled_from(["shop", "car_wash"]))
            unit = draw(st.integers(min_value=500, max_value=6000))
            lines.append(goods(line_id, unit, category, draw(st.integers(min_value=1, max_value=3))))
    return lines


@dataclass(frozen=True)
class PointsRequest:
    wanted: Literal["auto"] | int
    available: int

    def value(self, payable: int) -> int | None:
        return points_value_fen(self.wanted, self.available, payable)

    def ceiling(self, payable: int) -> int:
        """As ``pos/checkout.py`` ``apply_coupons`` bounds it."""
        return points_value_fen("auto", self.available, payable) or 0


@st.composite
def points_requests(draw: st.DrawFn) -> PointsRequest:
    available = draw(st.integers(min_value=0, max_value=30_000))
    wanted: Literal["auto"] | int = draw(
        st.one_of(
            st.just("auto"),
            st.just(0),
            st.integers(min_value=0, max_value=300).map(lambda hundreds: hundreds * 100),
        )
    )
    return PointsRequest(wanted, available)


def brute_force(
    held: Sequence[HeldCoupon],
    on: Occasion,
    basket: Sequence[Item],
    max_per_order: int,
    points: PointsRequest,
) -> tuple[Any, list[Applied]] | None:
    payable = sum(item.net_fen for item in basket)
    best: tuple[Any, list[Applied]] | None = None
    for size in range(len(held) + 1):
        for subset in itertools.combinations(held, size):
            if any(occasion_refusal(each, on) is not None for each in subset):
                continue
            if stacking_refusal(subset, max_per_order) is not None:
                continue
            try:
                applied = apply_chosen(subset, on, basket, max_per_order)
            except CouponRefused:
                continue
            points_fen = points.value(payable - sum(a.amount_fen for a in applied))
            if points_fen is None:
                continue
            candidate = rank(applied, points_fen)
            if best is None or candidate < best[0]:
                best = (candidate, applied)
    return best


def optimise(
    held: Sequence[HeldCoupon],
    on: Occasion,
    basket: Sequence[Item],
    max_per_order: int,
    points: PointsRequest,
) -> list[Applied]:
    payable = sum(item.net_fen for item in basket)
    return best_combination(
        held, on, basket, max_per_order, points.value, points.ceiling(payable), points_step=POINT_STEP_FEN
    )


@settings(max_examples=300, deadline=None)
@given(
    held=wallets(),
    basket=baskets(),
    max_per_order=st.sampled_from([3, 2, 1]),
    points=points_requests(),
    tier=st.sampled_from(["regular", "gold"]),
    shuffle=st.randoms(use_true_random=False),
)
def test_best_combination_saves_as_much_as_brute_force(
    held: list[HeldCoupon],
    basket: list[Item],
    max_per_order: int,
    points: PointsRequest,
    tier: str,
    shuffle: Any,
) -> None:
    on = occasion(TODAY, tier=tier)
    chosen = optimise(held, on, basket, max_per_order, points)
    best = brute_force(held, on, basket, max_per_order, points)
    payable = sum(item.net_fen for item in basket)
    if best is None:
        assert chosen == []
        return
    points_fen = points.value(payable - sum(a.amount_fen for a in chosen))
    assert points_fen is not None
    assert rank(chosen, points_fen) == best[0]
    assert [(a.coupon.id, a.by_line) for a in chosen] == [(a.coupon.id, a.by_line) for a in best[1]]

    shuffled = list(held)
    shuffle.shuffle(shuffled)
    again = optimise(shuffled, on, [replace(item) for item in basket], max_per_order, points)
    assert [(a.coupon.id, a.by_line) for a in again] == [(a.coupon.id, a.by_line) for a in chosen]


@settings(max_examples=100, deadline=None)
@given(
    expiries=st.lists(st.integers(min_value=1, max_value=5), min_size=2, max_size=7),
    max_per_order=st.sampled_from([3, 2, 1]),
    group=st.sampled_from([None, "g"]),
    points=points_requests(),
)
def test_coupons_of_templates_with_identical_terms_are_chosen_first_expiring_first(
    expiries: list[int], max_per_order: int, group: str | None, points: PointsRequest
) -> None:
    """Six lookalike 满50减5 from different campaigns: the search keeps only as many as one order
    can use, and picks exactly what brute force picks (the ones expiring first)."""
    held = [
        coupon(
            threshold_fen=5_000, amount_off_fen=500, stack_group=group, expires_at=EXPIRES - timedelta(days=d)
        )
        for d in expiries
    ]
    basket = [fuel("1", "30.00")]
    on = occasion()
    chosen = optimise(held, on, basket, max_per_order, points)
    best = brute_force(held, on, basket, max_per_order, points)
    assert [a.coupon.id for a in chosen] == ([a.coupon.id for a in best[1]] if best else [])


@settings(max_examples=60, deadline=None)
@given(
    amounts=st.lists(st.integers(min_value=1, max_value=3_000), min_size=1, max_size=10),
    liters=st.integers(min_value=500, max_value=9_000),
    available=st.sampled_from([0, 2_500, 100_000]),
    max_per_order=st.sampled_from([3, 2]),
)
def test_with_points_paying_whole_yuan_the_fen_left_over_decides_like_brute_force(
    amounts: list[int], liters: int, available: int, max_per_order: int
) -> None:
    """Amount-off coupons of any amount in fen and a large points balance: which set leaves the
    least fen for the driver to pay is what the search's remainder bound must not prune away."""
    held = [
        coupon(amount_off_fen=amount, expires_at=EXPIRES - timedelta(hours=n))
        for n, amount in enumerate(amounts)
    ]
    basket = [fuel("1", str(Decimal(liters) / 100)), goods("2", 1_234)]
    points = PointsRequest("auto", available)
    on = occasion()
    chosen = optimise(held, on, basket, max_per_order, points)
    best = brute_force(held, on, basket, max_per_order, points)
    assert best is not None
    assert [a.coupon.id for a in chosen] == [a.coupon.id for a in best[1]]


def test_on_equal_savings_the_coupon_that_expires_first_is_used_even_if_points_pay_more() -> None:
    """Points can pay the whole ¥100 either way: the ¥15 coupon expiring tomorrow is used rather
    than the ¥30 one expiring next month (they exclude each other) [seed 002]."""
    soon = coupon(amount_off_fen=1_500, stack_group="weekly", expires_at=WEDNESDAY_NOON + timedelta(days=1))
    later = coupon(amount_off_fen=3_000, stack_group="weekly", expires_at=WEDNESDAY_NOON + timedelta(days=30))
    basket = [goods("1", 10_000)]
    chosen = optimise([later, soon], occasion(), basket, 3, PointsRequest("auto", 20_000))
    assert [a.coupon.id for a in chosen] == [soon.id]
    best = brute_force([later, soon], occasion(), basket, 3, PointsRequest("auto", 20_000))
    assert best is not None
    assert [a.coupon.id for a in best[1]] == [soon.id]
