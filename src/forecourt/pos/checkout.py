"""Checkout arithmetic (SPEC §5). Pure: prices and member facts come in, the priced basket comes out.

The basket goes through named stages in a fixed order::

    tier_discount → coupons → points → wallet

Each stage reads and changes one ``Checkout``: discounts are recorded per line with their source,
so every later stage sees what remains of each line. The coupons stage applies the coupons named
in the request, or with ``"auto"`` the combination that saves the member most together with the
points redeemed after it (``forecourt.coupons.domain``); the wallet pays what is left when asked:
fuel credit first, on the fuel lines only, then principal, then bonus (``forecourt.wallet.domain``).
Money is integer fen, rounded half-up; points redeemed are whole hundreds (100 points = ¥1) and never
more than what is payable.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

from forecourt.coupons.domain import (
    Applied,
    CouponOffer,
    CouponRefused,
    Item,
    apply_chosen,
    best_combination,
)
from forecourt.coupons.errors import CouponExpired, CouponNotApplicable, CouponNotFound
from forecourt.kit.money import half_up
from forecourt.pos.errors import (
    InsufficientPointsForRedemption,
    InvalidPointsAmount,
    PointsExceedPayable,
)
from forecourt.rules.domain import allocate
from forecourt.wallet.domain import pay as wallet_pay

POINTS_PER_YUAN = 100
"""Redemption: 100 points pay ¥1 (SPEC §5)."""
POINT_STEP = 100
"""Points are redeemed in whole hundreds."""
POINT_STEP_FEN = POINT_STEP * 100 // POINTS_PER_YUAN
"""What one step of points pays (¥1)."""


@dataclass
class Line:
    line_id: str
    kind: Literal["fuel", "goods"]
    category: str
    unit_price_fen: int
    gross_fen: int
    grade: str | None = None
    sku: str | None = None
    liters: Decimal | None = None
    quantity: int | None = None
    discount_fen: int = 0

    @property
    def net_fen(self) -> int:
        return self.gross_fen - self.discount_fen


def fuel_line(line_id: str, grade: str, liters: Decimal, unit_price_fen: int) -> Line:
    """Fuel gross = litres × price, half-up to the fen."""
    return Line(
        line_id=line_id,
        kind="fuel",
        category="fuel",
        grade=grade,
        liters=liters,
        unit_price_fen=unit_price_fen,
        gross_fen=half_up(liters * unit_price_fen),
    )


def goods_line(line_id: str, sku: str, category: str, quantity: int, unit_price_fen: int) -> Line:
    return Line(
        line_id=line_id,
        kind="goods",
        category=category,
        sku=sku,
        quantity=quantity,
        unit_price_fen=unit_price_fen,
        gross_fen=quantity * unit_price_fen,
    )


@dataclass(frozen=True)
class Discount:
    source: Literal["tier", "coupon", "points"]
    ref: str | None
    line_id: str
    amount_fen: int
    label: str


@dataclass(frozen=True)
class Shopper:
    """What the checkout knows of an identified member."""

    member_id: uuid.UUID
    tier_code: str
    tier_name: str
    fuel_discount_bp: int
    points_available: int
    points_pending: int = 0
    wallet_principal_fen: int = 0
    wallet_bonus_fen: int = 0
    wallet_fuel_credit_fen: int = 0
    """Fuel credit (加油金) usable now: it pays fuel lines only."""


@dataclass(frozen=True)
class Redemption:
    coupons: Literal["auto"] | list[uuid.UUID] = field(default_factory=list)
    points: Literal["auto"] | int = 0
    wallet: bool = False


@dataclass
class Checkout:
    lines: list[Line]
    shopper: Shopper | None
    redeem: Redemption
    coupon_offer: CouponOffer | None = None
    discounts: list[Discount] = field(default_factory=list)
    coupons_applied: list[Applied] = field(default_factory=list)
    points_redeemed: int = 0
    wallet_principal_fen: int = 0
    wallet_bonus_fen: int = 0
    wallet_credit_fen: int = 0
    """What fuel credit pays (fuel lines only)."""

    @property
    def gross_fen(self) -> int:
        return sum(line.gross_fen for line in self.lines)

    @property
    def discount_fen(self) -> int:
        return sum(line.discount_fen for line in self.lines)

    @property
    def payable_fen(self) -> int:
        return self.gross_fen - self.discount_fen

    @property
    def wallet_fen(self) -> int:
        """Everything the wallet pays: fuel credit, principal and bonus."""
        return self.wallet_credit_fen + self.wallet_principal_fen + self.wallet_bonus_fen

    @property
    def due_fen(self) -> int:
        """What the external payment must cover."""
        return self.payable_fen - self.wallet_fen

    def discount(
        self,
        line: Line,
        source: Literal["tier", "coupon", "points"],
        ref: str | None,
        amount: int,
        label: str,
    ) -> None:
        amount = min(amount, line.net_fen)
        if amount <= 0:
            return
        line.discount_fen += amount
        self.discounts.append(Discount(source, ref, line.line_id, amount, label))

    def credit_by_line(self) -> dict[str, int]:
        """The fuel credit's part of each line: shared over the fuel lines by their net."""
        return allocate(
            self.wallet_credit_fen,
            {line.line_id: line.net_fen if line.kind == "fuel" else 0 for line in self.lines},
        )

    def paid_by_line(self) -> dict[str, int]:
        """What each line was paid with money that earns points: its net, less its share of fuel
        credit and of the wallet's bonus part (both were gifts; principal counts as paid, SPEC §5).
        Bonus is shared over what fuel credit left of each line."""
        credit = self.credit_by_line()
        left = {line.line_id: line.net_fen - credit[line.line_id] for line in self.lines}
        bonus = allocate(self.wallet_bonus_fen, left)
        return {line_id: amount - bonus[line_id] for line_id, amount in left.items()}


Stage = Callable[[Checkout], None]


def tier_discount(checkout: Checkout) -> None:
    """The tier's fuel discount (银牌 98折 …): fuel lines only, half-up per line."""
    shopper = checkout.shopper
    if shopper is None or shopper.fuel_discount_bp <= 0:
        return
    percent = Decimal(shopper.fuel_discount_bp) / 100
    for line in checkout.lines:
        if line.kind == "fuel":
            amount = half_up(Decimal(line.gross_fen) * shopper.fuel_discount_bp / 10_000)
            checkout.discount(
                line,
                "tier",
                shopper.tier_code,
                amount,
                f"{shopper.tier_name}会员 {percent.normalize()}% 油品折扣",
            )


def apply_coupons(checkout: Checkout) -> None:
    """Coupons after the tier discount, before points (SPEC §5). Named coupons are used exactly or
    refused with the reason; ``auto`` picks the best combination with the points that follow."""
    wanted = checkout.redeem.coupons
    offer = checkout.coupon_offer
    if not wanted:
        return
    if offer is None:
        if isinstance(wanted, list):
            raise CouponNotFound(coupon_id=str(wanted[0]))
        return
    items = [
        Item(
            line_id=line.line_id,
            kind=line.kind,
            category=line.category,
            net_fen=line.net_fen,
            unit_price_fen=line.unit_price_fen,
            grade=line.grade,
            sku=line.sku,
            liters=line.liters,
        )
        for line in checkout.lines
    ]
    if wanted == "auto":
        available = checkout.shopper.points_available if checkout.shopper else 0
        chosen = best_combination(
            offer.held,
            offer.occasion,
            items,
            offer.max_per_order,
            points_value=lambda payable: points_value_fen(checkout.redeem.points, available, payable),
            points_ceiling=points_value_fen("auto", available, checkout.payable_fen) or 0,
            points_step=POINT_STEP_FEN,
        )
    else:
        try:
            chosen = apply_chosen(offer.chosen, offer.occasion, items, offer.max_per_order)
        except CouponRefused as refused:
            coupon_id = str(refused.refusal.coupon.id)
            if refused.refusal.reason == "expired":
                raise CouponExpired(coupon_id=coupon_id) from None
            raise CouponNotApplicable(coupon_id=coupon_id, reason=refused.refusal.reason) from None
    lines = {line.line_id: line for line in checkout.lines}
    for applied in chosen:
        for line_id, amount in applied.by_line.items():
            checkout.discount(lines[line_id], "coupon", str(applied.coupon.id), amount, applied.coupon.title)
    checkout.coupons_applied = chosen


def payable_points(payable_fen: int) -> int:
    """The most points that may pay ``payable_fen``: whole steps, never more than it."""
    return payable_fen * POINTS_PER_YUAN // 100 // POINT_STEP * POINT_STEP


def points_value_fen(wanted: Literal["auto"] | int, available: int, payable_fen: int) -> int | None:
    """What redeemed points will pay of ``payable_fen`` (None: an explicit number exceeds it)."""
    most = payable_points(payable_fen)
    if wanted == "auto":
        points = min(available, most) // POINT_STEP * POINT_STEP
    elif wanted > most:
        return None
    else:
        points = wanted
    return max(points, 0) * 100 // POINTS_PER_YUAN


def redeem_points(checkout: Checkout) -> None:
    """Points pay whole yuan: ``auto`` uses as many hundreds as the balance and the payable amount
    allow; an explicit number must be whole hundreds, held, and no more than payable. The value is
    spread over the lines in proportion to what remains of each."""
    wanted = checkout.redeem.points
    shopper = checkout.shopper
    if wanted == 0:
        return
    if shopper is None:
        raise InvalidPointsAmount("Points need an identified member.")
    most = payable_points(checkout.payable_fen)
    if wanted == "auto":
        points = min(shopper.points_available, most) // POINT_STEP * POINT_STEP
    else:
        if wanted < 0 or wanted % POINT_STEP:
            raise InvalidPointsAmount(points=wanted, step=POINT_STEP)
        if wanted > shopper.points_available:
            raise InsufficientPointsForRedemption(needed=wanted, available=shopper.points_available)
        if wanted > most:
            raise PointsExceedPayable(points=wanted, payable_fen=checkout.payable_fen)
        points = wanted
    if points <= 0:
        return
    value = points * 100 // POINTS_PER_YUAN
    shares = allocate(value, {line.line_id: line.net_fen for line in checkout.lines})
    for line in checkout.lines:
        checkout.discount(line, "points", None, shares[line.line_id], f"{points} 积分抵扣")
    checkout.points_redeemed = points


def pay_from_wallet(checkout: Checkout) -> None:
    """With ``"wallet": true`` the wallet pays what is left: fuel credit first, but no more than what
    remains of the fuel lines, then principal, then bonus (``forecourt.wallet.domain``); the rest is
    due from the external payment."""
    shopper = checkout.shopper
    if not checkout.redeem.wallet or shopper is None:
        return
    fuel_left = sum(line.net_fen for line in checkout.lines if line.kind == "fuel")
    checkout.wallet_credit_fen = min(max(shopper.wallet_fuel_credit_fen, 0), fuel_left)
    split = wallet_pay(
        shopper.wallet_principal_fen,
        shopper.wallet_bonus_fen,
        checkout.payable_fen - checkout.wallet_credit_fen,
    )
    checkout.wallet_principal_fen, checkout.wallet_bonus_fen = split.principal_fen, split.bonus_fen


STAGES: tuple[Stage, ...] = (tier_discount, apply_coupons, redeem_points, pay_from_wallet)
"""SPEC §5's order: tier discount → coupons → points → wallet; the rest is due."""


def run(checkout: Checkout) -> Checkout:
    for stage in STAGES:
        stage(checkout)
    return checkout
