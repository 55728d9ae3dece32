"""Checkout arithmetic (SPEC §5), purely: fuel gross, tier discount, points redemption, allocation."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from forecourt.coupons.domain import CouponOffer, HeldCoupon, Occasion, Terms
from forecourt.coupons.errors import CouponExpired, CouponNotApplicable, CouponNotFound
from forecourt.kit.money import half_up
from forecourt.pos import checkout
from forecourt.pos.checkout import Checkout, Line, Redemption, Shopper, fuel_line, goods_line
from forecourt.pos.errors import (
    InsufficientPointsForRedemption,
    InvalidPointsAmount,
    PointsExceedPayable,
)

SILVER_BP = 200
"""银牌 98折: 2% off fuel."""


def shopper(points: int = 0, discount_bp: int = 0, tier: str = "silver") -> Shopper:
    return Shopper(
        member_id=uuid.uuid4(),
        tier_code=tier,
        tier_name="银牌",
        fuel_discount_bp=discount_bp,
        points_available=points,
    )


def run(lines: list[Line], who: Shopper | None = None, points: Any = 0, coupons: Any = None) -> Checkout:
    return checkout.run(Checkout(lines, who, Redemption(coupons=coupons or [], points=points)))


@pytest.mark.parametrize(
    ("liters", "price", "gross"),
    [
        ("40.00", 750, 30_000),
        ("10.01", 750, 7_508),  # 7,507.5 → half-up
        ("33.33", 755, 25_164),  # 25,164.15
        ("0.02", 725, 15),  # 14.5
        ("12.34", 812, 10_020),  # 10,020.08
    ],
)
def test_fuel_gross_is_litres_times_price_half_up(liters: str, price: int, gross: int) -> None:
    line = fuel_line("1", "92", Decimal(liters), price)
    assert (line.gross_fen, line.unit_price_fen, line.net_fen) == (gross, price, gross)


def test_half_up_rounds_halves_away_from_zero() -> None:
    assert [half_up(Decimal(v)) for v in ("0.5", "1.5", "2.5", "2.49")] == [1, 2, 3, 2]


def test_goods_gross_is_quantity_times_unit_price() -> None:
    assert goods_line("2", "WATER", "shop", 3, 250).gross_fen == 750


def test_tier_discount_is_on_fuel_lines_only_half_up_per_line() -> None:
    lines = [fuel_line("1", "92", Decimal("40.00"), 750), goods_line("2", "WASH-STD", "car_wash", 1, 3000)]
    priced = run(lines, shopper(discount_bp=SILVER_BP))
    assert [line.discount_fen for line in priced.lines] == [600, 0]
    assert [(d.source, d.ref, d.line_id, d.amount_fen) for d in priced.discounts] == [
        ("tier", "silver", "1", 600)
    ]
    assert priced.discounts[0].label == "银牌会员 2% 油品折扣"
    assert priced.due_fen == 32_400
    # 10.75 L × ¥7.00 = ¥75.25; 2% is 150.5 fen → 151
    assert (
        run([fuel_line("1", "92", Decimal("10.75"), 700)], shopper(discount_bp=SILVER_BP)).discount_fen == 151
    )


def test_no_member_or_a_regular_member_gets_no_tier_discount() -> None:
    lines = [fuel_line("1", "92", Decimal("40.00"), 750)]
    assert run(lines).discount_fen == 0
    assert run([fuel_line("1", "92", Decimal("40.00"), 750)], shopper(tier="regular")).discount_fen == 0


def test_auto_points_use_whole_hundreds_up_to_the_balance() -> None:
    priced = run([fuel_line("1", "92", Decimal("40.00"), 750)], shopper(points=1_299), points="auto")
    assert priced.points_redeemed == 1_200
    assert priced.due_fen == 30_000 - 1_200
    assert [(d.source, d.amount_fen, d.label) for d in priced.discounts] == [
        ("points", 1_200, "1200 积分抵扣")
    ]


def test_auto_points_never_pay_more_than_whole_yuan_of_the_payable() -> None:
    # ¥75.08 gross, silver 2% → ¥73.58 payable: at most 7,300 points
    priced = run(
        [fuel_line("1", "92", Decimal("10.01"), 750)],
        shopper(points=50_000, discount_bp=SILVER_BP),
        points="auto",
    )
    assert priced.payable_fen + priced.points_redeemed == 7_508 - 150
    assert priced.points_redeemed == 7_300
    assert priced.due_fen == 58


def test_auto_points_with_less_than_a_hundred_redeem_nothing() -> None:
    priced = run([fuel_line("1", "92", Decimal("40.00"), 750)], shopper(points=99), points="auto")
    assert (priced.points_redeemed, priced.discounts) == (0, [])


@pytest.mark.parametrize(
    ("points", "balance", "error", "code"),
    [
        (150, 10_000, InvalidPointsAmount, "invalid_points_amount"),
        (-100, 10_000, InvalidPointsAmount, "invalid_points_amount"),
        (500, 400, InsufficientPointsForRedemption, "insufficient_points"),
        (30_100, 100_000, PointsExceedPayable, "points_exceed_payable"),
    ],
)
def test_explicit_points_refusals(points: int, balance: int, error: type[Exception], code: str) -> None:
    with pytest.raises(error) as refused:
        run([fuel_line("1", "92", Decimal("40.00"), 750)], shopper(points=balance), points=points)
    assert getattr(refused.value, "code", None) == code


def test_points_without_a_member_are_refused() -> None:
    with pytest.raises(InvalidPointsAmount):
        run([fuel_line("1", "92", Decimal("40.00"), 750)], points="auto")


def test_explicit_points_may_pay_the_whole_payable() -> None:
    priced = run([fuel_line("1", "92", Decimal("40.00"), 750)], shopper(points=30_000), points=30_000)
    assert (priced.points_redeemed, priced.due_fen) == (30_000, 0)


def test_a_named_coupon_without_a_members_coupons_is_not_found() -> None:
    with pytest.raises(CouponNotFound):
        run([fuel_line("1", "92", Decimal("40.00"), 750)], shopper(), coupons=[uuid.uuid4()])


NOW = datetime(2026, 11, 10, 4, 0, tzinfo=UTC)
HERE = Occasion(at=NOW, local=NOW + timedelta(hours=8), station="S001", region="", tier="silver")


def held(terms: Terms, days: int = 30) -> HeldCoupon:
    return HeldCoupon(
        id=uuid.uuid4(),
        template=f"T{uuid.uuid4().hex[:6]}",
        title="券",
        terms=terms,
        valid_from=NOW - timedelta(days=1),
        expires_at=NOW + timedelta(days=days),
    )


def with_coupons(
    lines: list[Line],
    who: Shopper,
    *,
    chosen: tuple[HeldCoupon, ...] = (),
    mine: tuple[HeldCoupon, ...] = (),
    points: Any = 0,
) -> Checkout:
    wanted: Any = [c.id for c in chosen] if chosen else "auto"
    offer = CouponOffer(held=mine, chosen=chosen, occasion=HERE, max_per_order=3)
    return checkout.run(Checkout(lines, who, Redemption(coupons=wanted, points=points), coupon_offer=offer))


def test_a_threshold_is_checked_on_what_remains_after_earlier_coupons() -> None:
    percent = held(Terms(kind="percent_off", percent_off_bp=1000, cap_fen=2000))
    amount_off = held(Terms(kind="amount_off", amount_off_fen=1500, threshold_fen=28_000))
    with pytest.raises(CouponNotApplicable) as refused:
        with_coupons(
            [fuel_line("1", "92", Decimal("40.00"), 750)],
            shopper(discount_bp=SILVER_BP),
            chosen=(amount_off, percent),
        )
    assert refused.value.details == {"coupon_id": str(amount_off.id), "reason": "below_threshold"}


def test_coupons_then_points_then_what_is_due() -> None:
    percent = held(Terms(kind="percent_off", percent_off_bp=1000, cap_fen=2000))
    amount_off = held(Terms(kind="amount_off", amount_off_fen=1500, threshold_fen=20_000))
    priced = with_coupons(
        [fuel_line("1", "92", Decimal("40.00"), 750)],
        shopper(points=1_000, discount_bp=SILVER_BP),
        chosen=(amount_off, percent),
        points=1_000,
    )
    assert [(d.source, d.ref, d.amount_fen) for d in priced.discounts] == [
        ("tier", "silver", 600),
        ("coupon", str(percent.id), 2000),
        ("coupon", str(amount_off.id), 1500),
        ("points", None, 1000),
    ]
    assert [a.coupon.id for a in priced.coupons_applied] == [percent.id, amount_off.id]
    assert priced.due_fen == 30_000 - 600 - 2000 - 1500 - 1000


def test_an_expired_named_coupon_is_refused_as_expired() -> None:
    old = held(Terms(kind="amount_off", amount_off_fen=500), days=-1)
    with pytest.raises(CouponExpired):
        with_coupons([fuel_line("1", "92", Decimal("10.00"), 750)], shopper(), chosen=(old,))


def test_auto_takes_the_best_set_and_the_points_after_it() -> None:
    small = held(Terms(kind="amount_off", amount_off_fen=500))
    big = held(Terms(kind="amount_off", amount_off_fen=3000, threshold_fen=20_000))
    wrong_grade = held(Terms(kind="amount_off", amount_off_fen=9000, grades=frozenset({"98"})))
    priced = with_coupons(
        [fuel_line("1", "92", Decimal("40.00"), 750)],
        shopper(points=250, discount_bp=SILVER_BP),
        mine=(small, big, wrong_grade),
        points="auto",
    )
    assert {a.coupon.id for a in priced.coupons_applied} == {small.id, big.id}
    assert priced.points_redeemed == 200
    assert priced.due_fen == 30_000 - 600 - 3500 - 200


def test_points_are_spread_over_the_lines_exactly_in_proportion_to_what_remains() -> None:
    lines = [
        fuel_line("1", "92", Decimal("40.00"), 750),  # 30,000 − 600 tier = 29,400
        goods_line("2", "WASH-STD", "car_wash", 1, 3000),
        goods_line("3", "WATER", "shop", 1, 333),
    ]
    priced = run(lines, shopper(points=10_000, discount_bp=SILVER_BP), points=10_000)
    points_by_line = {d.line_id: d.amount_fen for d in priced.discounts if d.source == "points"}
    assert sum(points_by_line.values()) == 10_000
    # 8,981.76 / 916.51 / 101.73: floors, then the two largest remainders get one fen more
    assert points_by_line == {"1": 8_982, "2": 916, "3": 102}
    assert priced.due_fen == 30_000 + 3_000 + 333 - 600 - 10_000


fuel_lines = st.builds(
    lambda grade, centi, price: (grade, Decimal(centi) / 100, price),
    st.sampled_from(["92", "95", "98", "0"]),
    st.integers(1, 200_000),
    st.integers(300, 1_200),
)
goods_lines = st.tuples(st.integers(1, 10), st.integers(1, 50_000))


@given(
    fuel=st.lists(fuel_lines, max_size=4),
    goods=st.lists(goods_lines, max_size=3),
    member=st.booleans(),
    discount_bp=st.sampled_from([0, 200, 300, 400, 333]),
    balance=st.integers(0, 5_000_000),
    points=st.one_of(st.just("auto"), st.just(0)),
)
def test_checkout_adds_up_for_any_basket_and_balance(
    fuel: list[tuple[str, Decimal, int]],
    goods: list[tuple[int, int]],
    member: bool,
    discount_bp: int,
    balance: int,
    points: Any,
) -> None:
    lines = [fuel_line(f"f{n}", grade, liters, price) for n, (grade, liters, price) in enumerate(fuel)]
    lines += [goods_line(f"g{n}", "SKU", "shop", qty, price) for n, (qty, price) in enumerate(goods)]
    if not lines:
        lines = [goods_line("g", "SKU", "shop", 1, 100)]
    who = shopper(points=balance, discount_bp=discount_bp) if member else None
    priced = run(lines, who, points=points if member else 0)

    assert priced.due_fen + sum(d.amount_fen for d in priced.discounts) == priced.gross_fen
    assert priced.gross_fen == sum(line.gross_fen for line in lines)
    for discount in priced.discounts:
        line = next(line for line in priced.lines if line.line_id == discount.line_id)
        assert 0 < discount.amount_fen <= line.gross_fen
    for line in priced.lines:
        assert 0 <= line.discount_fen <= line.gross_fen
        assert line.discount_fen == sum(d.amount_fen for d in priced.discounts if d.line_id == line.line_id)
        if line.kind == "goods":
            assert all(d.source != "tier" for d in priced.discounts if d.line_id == line.line_id)
    assert priced.points_redeemed % 100 == 0
    assert 0 <= priced.points_redeemed <= balance
    assert priced.points_redeemed == sum(d.amount_fen for d in priced.discounts if d.source == "points")
    if member and points == "auto":
        # as many whole hundreds as the balance and what remains payable allow
        payable_before = priced.payable_fen + priced.points_redeemed
        assert priced.points_redeemed == min(balance, payable_before) // 100 * 100
    assert priced.due_fen >= 0


@given(
    nets=st.lists(st.integers(0, 1_000_000), min_size=1, max_size=6),
    share=st.floats(0, 1),
)
def test_points_value_is_spread_without_losing_a_fen(nets: list[int], share: float) -> None:
    lines = [goods_line(str(n), "SKU", "shop", 1, net) for n, net in enumerate(nets)]
    payable_hundreds = sum(nets) // 100
    points = int(payable_hundreds * share) * 100
    priced = run(lines, shopper(points=points), points=points)
    assert priced.points_redeemed == points
    assert sum(d.amount_fen for d in priced.discounts) == points
    assert all(line.discount_fen <= line.gross_fen for line in priced.lines)
