"""Coupon arithmetic (SPEC C1, C2, C4, C5, §5). Pure: no database, no web.

A coupon's **terms** come from its template. Whether a held coupon can be used is decided in two
steps: the *occasion* (validity dates, weekday and time window, station or region, tier) and then
the *basket* (eligible lines, threshold, the stacking rules).

Application order (SPEC §5): item vouchers → per-litre → percent-off → amount-off, each on what
remains of its eligible lines after the tier discount and the coupons before it; a threshold is
checked on the eligible amount before that coupon. Within one kind, the coupon with the higher
threshold goes first (so both thresholds can be met), then the larger value, then the template code.
The order is a property of the set of coupons: a set prices the same whichever way it was named,
and whichever coupon of a template it holds (so the earliest-expiring one can stand for all).

Stacking (C4): at most ``max_per_order`` coupons; at most one of each template; a coupon marked
exclusive stands alone; two coupons of the same stacking group exclude each other (percent-off
coupons share the group ``percent`` by default, so 9折 and 85折 never combine, while a 9折 may
join a 满减).

The best combination (C5) maximises what the member saves, coupons and points together (points
are redeemed after coupons, so a coupon can lower the points that may be used); ties go to the
coupons that expire first [seed 002] (compared earliest first; using a coupon beats not using
it), then to more coupon value (points kept), then fewer coupons, then the smallest ids:
deterministic.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time
from decimal import Decimal
from typing import Literal

from forecourt.kit.money import half_up
from forecourt.rules.domain import allocate

CouponKind = Literal["amount_off", "percent_off", "per_liter", "voucher"]
KIND_ORDER: dict[str, int] = {"voucher": 0, "per_liter": 1, "percent_off": 2, "amount_off": 3}
DEFAULT_PERCENT_GROUP = "percent"


@dataclass(frozen=True)
class Terms:
    """What a coupon of a template does and where it may be used."""

    kind: CouponKind
    amount_off_fen: int = 0
    """amount_off: the amount (满100减15 → 1500); voucher: the most it pays for the item (0 = all)."""
    percent_off_bp: int = 0
    """percent_off: the share taken off, in basis points (9折 → 1000)."""
    cap_fen: int = 0
    """percent_off and per_liter: the most one coupon takes off (0 = no cap)."""
    per_liter_fen: int = 0
    max_liters: Decimal | None = None
    threshold_fen: int = 0
    """Minimum spend on the eligible lines, before this coupon."""
    grades: frozenset[str] = frozenset()
    categories: frozenset[str] = frozenset()
    skus: frozenset[str] = frozenset()
    stations: frozenset[str] = frozenset()
    regions: frozenset[str] = frozenset()
    tiers: frozenset[str] = frozenset()
    weekdays: frozenset[int] = frozenset()
    """ISO weekdays (1 = Monday … 7 = Sunday) in the chain's time zone; empty = every day."""
    time_from: time | None = None
    time_to: time | None = None
    """A daily window [from, to) in the chain's time zone; ``to`` before ``from`` spans midnight."""
    stack_group: str | None = None
    exclusive: bool = False

    @property
    def group(self) -> str | None:
        if self.stack_group:
            return self.stack_group
        return DEFAULT_PERCENT_GROUP if self.kind == "percent_off" else None

    @property
    def value(self) -> int:
        return {
            "amount_off": self.amount_off_fen,
            "percent_off": self.percent_off_bp,
            "per_liter": self.per_liter_fen,
            "voucher": self.amount_off_fen,
        }[self.kind]


@dataclass(frozen=True)
class HeldCoupon:
    """A coupon a member holds, as the checkout sees it."""

    id: uuid.UUID
    template: str
    title: str
    terms: Terms
    valid_from: datetime
    expires_at: datetime


@dataclass(frozen=True)
class Occasion:
    """Where and when the coupon would be used."""

    at: datetime
    local: datetime
    """``at`` in the chain's time zone (weekdays and time windows)."""
    station: str
    region: str
    """The station's region code ("" when it has none)."""
    tier: str


@dataclass
class Item:
    """A basket line as coupons see it: ``net_fen`` is what remains of it so far."""

    line_id: str
    kind: str
    category: str
    net_fen: int
    unit_price_fen: int
    grade: str | None = None
    sku: str | None = None
    liters: Decimal | None = None


@dataclass(frozen=True)
class Applied:
    coupon: HeldCoupon
    by_line: dict[str, int]

    @property
    def amount_fen(self) -> int:
        return sum(self.by_line.values())


@dataclass(frozen=True)
class Refusal:
    """Why a coupon cannot be used: ``expired`` or a ``coupon_not_applicable`` reason."""

    coupon: HeldCoupon
    reason: str


class CouponRefused(Exception):
    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal.reason)
        self.refusal = refusal


def application_key(coupon: HeldCoupon) -> tuple[int, int, int, str, str]:
    """Not the expiry: two coupons of a template must take the same place among the others."""
    terms = coupon.terms
    return (KIND_ORDER[terms.kind], -terms.threshold_fen, -terms.value, coupon.template, str(coupon.id))


def occasion_refusal(coupon: HeldCoupon, occasion: Occasion) -> str | None:
    """The reason the coupon cannot be used on this occasion, whatever the basket, or None."""
    terms = coupon.terms
    if coupon.expires_at <= occasion.at:
        return "expired"
    if coupon.valid_from > occasion.at:
        return "not_yet_valid"
    if terms.weekdays and occasion.local.isoweekday() not in terms.weekdays:
        return "wrong_day"
    if terms.time_from is not None and terms.time_to is not None:
        now = occasion.local.time().replace(tzinfo=None)
        start, end = terms.time_from, terms.time_to
        inside = start <= now < end if start <= end else (now >= start or now < end)
        if not inside:
            return "wrong_time"
    if terms.stations or terms.regions:
        at_station = occasion.station in terms.stations
        in_region = bool(occasion.region) and occasion.region in terms.regions
        if not (at_station or in_region):
            return "wrong_station"
    if terms.tiers and occasion.tier not in terms.tiers:
        return "wrong_tier"
    return None


def eligible(terms: Terms, item: Item) -> bool:
    if terms.kind == "per_liter" and item.kind != "fuel":
        return False
    if terms.grades and (item.kind != "fuel" or item.grade not in terms.grades):
        return False
    if terms.categories and item.category not in terms.categories:
        return False
    return not (terms.skus and item.sku not in terms.skus)


def _no_line_reason(terms: Terms) -> str:
    if terms.grades:
        return "wrong_grade"
    if terms.categories or terms.skus or terms.kind in ("per_liter", "voucher"):
        return "wrong_category"
    return "nothing_to_discount"


def discount_of(coupon: HeldCoupon, items: Sequence[Item]) -> dict[str, int] | str:
    """What this coupon takes off each eligible line of what remains, or the reason it takes nothing."""
    terms = coupon.terms
    lines = [item for item in items if eligible(terms, item) and item.net_fen > 0]
    if not lines:
        return _no_line_reason(terms)
    base = sum(item.net_fen for item in lines)
    if base < terms.threshold_fen:
        return "below_threshold"
    if terms.kind == "voucher":
        # One unit of the dearest eligible line it can pay (first line on a tie): what remains only
        # shrinks, so a voucher never pays more after other coupons than alone.
        def pays(item: Item) -> int:
            amount = min(item.unit_price_fen, item.net_fen)
            return min(amount, terms.amount_off_fen) if terms.amount_off_fen else amount

        item = max(lines, key=pays)
        return {item.line_id: pays(item)}
    if terms.kind == "amount_off":
        amount = terms.amount_off_fen
    elif terms.kind == "percent_off":
        amount = half_up(Decimal(base) * terms.percent_off_bp / 10_000)
    else:
        liters = sum((item.liters or Decimal(0) for item in lines), Decimal(0))
        if terms.max_liters is not None:
            liters = min(liters, terms.max_liters)
        amount = half_up(liters * terms.per_liter_fen)
    if terms.cap_fen and terms.kind in ("percent_off", "per_liter"):
        amount = min(amount, terms.cap_fen)
    amount = min(amount, base)
    if amount <= 0:
        return "nothing_to_discount"
    return allocate(amount, {item.line_id: item.net_fen for item in lines})


def stacking_refusal(coupons: Sequence[HeldCoupon], max_per_order: int) -> Refusal | None:
    """The first coupon that breaks the stacking rules when the set is used together, or None."""
    if len(coupons) > max_per_order:
        return Refusal(coupons[max_per_order], "too_many_coupons")
    templates: set[str] = set()
    groups: set[str] = set()
    for coupon in coupons:
        terms = coupon.terms
        if (terms.exclusive and len(coupons) > 1) or coupon.template in templates:
            return Refusal(coupon, "exclusive_conflict")
        if terms.group is not None and terms.group in groups:
            return Refusal(coupon, "exclusive_conflict")
        templates.add(coupon.template)
        if terms.group is not None:
            groups.add(terms.group)
    return None


def _apply(applied: Applied, items: list[Item]) -> list[Item]:
    return [
        Item(
            line_id=item.line_id,
            kind=item.kind,
            category=item.category,
            net_fen=item.net_fen - applied.by_line.get(item.line_id, 0),
            unit_price_fen=item.unit_price_fen,
            grade=item.grade,
            sku=item.sku,
            liters=item.liters,
        )
        for item in items
    ]


def apply_chosen(
    coupons: Sequence[HeldCoupon], occasion: Occasion, items: Sequence[Item], max_per_order: int
) -> list[Applied]:
    """Use exactly these coupons (the member or attendant named them), or raise ``CouponRefused``
    naming the first one that cannot be used and why."""
    for coupon in coupons:
        reason = occasion_refusal(coupon, occasion)
        if reason is not None:
            raise CouponRefused(Refusal(coupon, reason))
    ordered = sorted(coupons, key=application_key)
    refusal = stacking_refusal(ordered, max_per_order)
    if refusal is not None:
        raise CouponRefused(refusal)
    remaining = list(items)
    result: list[Applied] = []
    for coupon in ordered:
        outcome = discount_of(coupon, remaining)
        if isinstance(outcome, str):
            raise CouponRefused(Refusal(coupon, outcome))
        applied = Applied(coupon, outcome)
        result.append(applied)
        remaining = _apply(applied, remaining)
    return result


PointsValue = Callable[[int], int | None]
"""Given what is payable after coupons, the fen that points will pay (None: this points request
cannot be met with that little left payable)."""


@dataclass(order=True, frozen=True)
class _Rank:
    """Smaller is better."""

    savings: int
    expiries: tuple[datetime, ...]
    """Sorted, closed by ``NEVER``: a set using a coupon that expires sooner ranks first, and one
    that uses a coupon ranks before one that leaves it."""
    coupon_fen: int
    count: int
    ids: tuple[str, ...]


NEVER = datetime.max.replace(tzinfo=UTC)


def rank(applied: Sequence[Applied], points_fen: int) -> _Rank:
    coupon_fen = sum(a.amount_fen for a in applied)
    return _Rank(
        savings=-(coupon_fen + points_fen),
        expiries=(*sorted(a.coupon.expires_at for a in applied), NEVER),
        coupon_fen=-coupon_fen,
        count=len(applied),
        ids=tuple(sorted(str(a.coupon.id) for a in applied)),
    )


@dataclass
class _Search:
    candidates: list[HeldCoupon]
    standalone: list[int]
    payable: int
    points_value: PointsValue
    max_per_order: int
    points_ceiling: int
    points_step: int
    best: list[Applied] = field(default_factory=list)
    best_rank: _Rank | None = None
    top: list[list[int]] = field(default_factory=list)
    """``top[i][k]``: the sum of the k largest standalone discounts among candidates i, i+1, …"""
    earliest: list[list[datetime]] = field(default_factory=list)
    """``earliest[i]``: the soonest expiries among candidates i, i+1, … (as many as one order takes)."""
    remainders: list[list[int]] = field(default_factory=list)
    """``remainders[i][k]``: a bit set of the remainders modulo ``points_step`` of the sums of at
    most k amount-off values among candidates i, i+1, …"""

    def __post_init__(self) -> None:
        count, slots, step = len(self.candidates), self.max_per_order, self.points_step
        largest: list[int] = []
        self.top = [[0] * (slots + 1) for _ in range(count + 1)]
        self.remainders = [[1] * (slots + 1) for _ in range(count + 1)]
        self.earliest = [[] for _ in range(count + 1)]
        full = (1 << step) - 1
        for index in range(count - 1, -1, -1):
            largest = sorted([*largest, self.standalone[index]], reverse=True)[:slots]
            self.earliest[index] = sorted([*self.earliest[index + 1], self.candidates[index].expires_at])[
                :slots
            ]
            shift = self.candidates[index].terms.amount_off_fen % step
            for k in range(1, slots + 1):
                self.top[index][k] = sum(largest[:k])
                taken = self.remainders[index + 1][k - 1]
                rotated = ((taken << shift) | (taken >> (step - shift))) & full
                self.remainders[index][k] = self.remainders[index + 1][k] | rotated

    def fixed_amounts_only(self, start: int, items: list[Item], slots: int) -> bool:
        """True when every coupon that could still be added is an amount-off that takes off exactly
        its amount (its lines stay above it whatever else applies): the coupons' total can then only
        grow by sums of those amounts."""
        more = self.top[start][slots]
        for coupon in self.candidates[start:]:
            terms = coupon.terms
            if terms.kind != "amount_off":
                return False
            base = sum(item.net_fen for item in items if eligible(terms, item))
            if base - more < terms.amount_off_fen:
                return False
        return True

    def savings_within_steps(self, start: int, chosen_fen: int, slots: int) -> int:
        """The most the member can save when only fixed amounts can be added: points pay whole
        steps, so savings ≤ the payable amount less what is left over of the last step; the
        amounts that can be added decide which left-overs are possible."""
        step = self.points_step
        target = (self.payable - chosen_fen) % step
        reachable = self.remainders[start][slots]
        below = reachable & ((1 << (target + 1)) - 1)
        if below:
            return self.payable - (target - (below.bit_length() - 1))
        return self.payable - (target - (reachable.bit_length() - 1) + step)

    def consider(self, chosen: list[Applied], payable_after: int) -> None:
        points_fen = self.points_value(payable_after)
        if points_fen is None:
            return
        candidate = rank(chosen, points_fen)
        if self.best_rank is None or candidate < self.best_rank:
            self.best, self.best_rank = list(chosen), candidate

    def bound(
        self, start: int, chosen: list[Applied], chosen_fen: int, slots: int, fixed: bool
    ) -> tuple[int, tuple[datetime, ...], int]:
        """The best any extension from candidate ``start`` on could rank: (savings, expiries, coupon
        value) like ``_Rank``. Each part only worsens as ``start`` grows."""
        coupon_fen = chosen_fen + self.top[start][slots]
        savings = min(self.payable, coupon_fen + self.points_ceiling)
        if fixed:
            savings = min(savings, self.savings_within_steps(start, chosen_fen, slots))
        soonest = sorted([*(a.coupon.expires_at for a in chosen), *self.earliest[start][:slots]])
        return -savings, (*soonest, NEVER), -coupon_fen

    def walk(self, start: int, items: list[Item], chosen: list[Applied], groups: frozenset[str]) -> None:
        chosen_fen = sum(a.amount_fen for a in chosen)
        self.consider(chosen, self.payable - chosen_fen)
        slots = self.max_per_order - len(chosen)
        if slots <= 0 or (chosen and chosen[0].coupon.terms.exclusive):
            return
        fixed = self.points_step > 1 and self.fixed_amounts_only(start, items, slots)
        for index in range(start, len(self.candidates)):
            if self.best_rank is not None:
                best = self.best_rank
                if self.bound(index, chosen, chosen_fen, slots, fixed) > (
                    best.savings,
                    best.expiries,
                    best.coupon_fen,
                ):
                    return
            coupon = self.candidates[index]
            terms = coupon.terms
            if (terms.exclusive and chosen) or (terms.group is not None and terms.group in groups):
                continue
            outcome = discount_of(coupon, items)
            if isinstance(outcome, str):
                continue
            applied = Applied(coupon, outcome)
            self.walk(
                index + 1,
                _apply(applied, items),
                [*chosen, applied],
                groups | {terms.group} if terms.group is not None else groups,
            )


def best_combination(
    held: Iterable[HeldCoupon],
    occasion: Occasion,
    items: Sequence[Item],
    max_per_order: int,
    points_value: PointsValue,
    points_ceiling: int,
    points_step: int = 1,
) -> list[Applied]:
    """The coupons that, with the points redeemed after them, save the member most (see the module
    docstring for ties). ``points_ceiling`` bounds what points could ever pay and ``points_step``
    divides whatever they pay (100 fen: points pay whole yuan), both for pruning.

    Only the first-expiring coupon of each template is a candidate (one per template per order,
    and of equal coupons the earlier-expiring is preferred); of templates with identical terms only
    as many as one order can use, first-expiring first (they are interchangeable); and only those
    that take something off the basket alone: a coupon's discount alone bounds its discount in any
    combination, since amounts only shrink as coupons apply. The search walks sets in application
    order, applying each coupon once on its parent's remainder, and prunes branches whose bound
    cannot beat the best.
    """
    first_of_template: dict[str, HeldCoupon] = {}
    for coupon in held:
        if occasion_refusal(coupon, occasion) is not None:
            continue
        known = first_of_template.get(coupon.template)
        if known is None or (coupon.expires_at, str(coupon.id)) < (known.expires_at, str(known.id)):
            first_of_template[coupon.template] = coupon
    alike: dict[Terms, list[HeldCoupon]] = {}
    for coupon in sorted(first_of_template.values(), key=lambda c: (c.expires_at, str(c.id))):
        room = 1 if coupon.terms.exclusive or coupon.terms.group is not None else max_per_order
        same = alike.setdefault(coupon.terms, [])
        if len(same) < room:
            same.append(coupon)
    candidates: list[HeldCoupon] = []
    standalone: list[int] = []
    for coupon in sorted((c for same in alike.values() for c in same), key=application_key):
        outcome = discount_of(coupon, items)
        if not isinstance(outcome, str):
            candidates.append(coupon)
            standalone.append(sum(outcome.values()))
    payable = sum(item.net_fen for item in items)
    search = _Search(
        candidates=candidates,
        standalone=standalone,
        payable=payable,
        points_value=points_value,
        max_per_order=max_per_order,
        # An explicit number of points pays the same whatever the coupons leave (if it fits), so
        # what it pays on the whole basket bounds it even when the caller's ceiling is lower.
        points_ceiling=max(points_ceiling, points_value(payable) or 0),
        points_step=points_step,
    )
    search.walk(0, list(items), [], frozenset())
    return search.best


@dataclass(frozen=True)
class CouponOffer:
    """What the checkout's coupon stage is given: the member's usable coupons (for ``auto``), the
    coupons named in the request (resolved), the occasion and the per-order maximum."""

    held: tuple[HeldCoupon, ...]
    chosen: tuple[HeldCoupon, ...]
    occasion: Occasion
    max_per_order: int
