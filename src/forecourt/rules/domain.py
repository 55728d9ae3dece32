"""How a basket earns points (SPEC R1–R5, R7, §5). Pure: no database, no web.

A rule is data: filters (validity window, stations/regions, tiers, grades, categories), an optional
CEL condition and one action. Purchase rules apply per line (``applies_to="line"``) or once per
basket. Actions:

- ``rate``: points per ¥1 paid on the line (the base rate). Of the rate rules that apply to a line,
  the most specific scope wins (station, then region, then the whole brand: a regional or station
  program overrides the brand's, R7), then the highest priority.
- ``multiplier``: a promotional multiplier of the line's base points. Of the non-stackable ones that
  apply, only the highest counts; stackable ones multiply on top of it (R5). A factor below 1 lowers
  the points; its share of the breakdown is negative.
- the member's tier multiplier always applies last, to base × promotion.
- ``bonus``: fixed points, once per basket (or once per line for a line rule). A basket rule with a
  grade or category filter applies when the basket has a line that fits it.
- ``per_liter``: points per litre (kg, kWh) of the line.
- ``hook``: asks another context to act (e.g. grant a coupon); it earns no points itself.

Rules are considered in priority order (highest first); a rule with ``stop`` that applies ends the
consideration of every lower-priority rule for that line (or basket).

Arithmetic is exact: money in fen, factors in thousandths, and each line's points are floored once,
after base × promotion × tier (SPEC §3: points earned are floored). The breakdown attributes each
line's points to the rules that made them (base, promotion, tier) and always sums to the total.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from forecourt.rules.conditions import Condition, context_for, fields_needed, set_line

Trigger = Literal["purchase", "first_plate", "referral", "check_in", "profile_completed", "monthly_task"]
TRIGGERS: tuple[str, ...] = (
    "purchase",
    "first_plate",
    "referral",
    "check_in",
    "profile_completed",
    "monthly_task",
)
ActionType = Literal["rate", "multiplier", "bonus", "per_liter", "hook"]
ACTION_TYPES: tuple[str, ...] = ("rate", "multiplier", "bonus", "per_liter", "hook")
SCALE = 1000
"""Rates and factors are kept in thousandths: a rate of 1 point per ¥1 is 1000, ×2 is 2000."""


@dataclass(frozen=True)
class Action:
    type: ActionType
    milli: int = 0
    """rate: points per ¥1 × 1000; multiplier: factor × 1000; per_liter: points per litre × 1000."""
    points: int = 0
    """bonus: fixed points."""
    hook: str = ""
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Rule:
    """One version of an earning rule, ready to evaluate."""

    code: str
    name: str
    action: Action
    trigger: str = "purchase"
    applies_to: Literal["line", "basket"] = "line"
    priority: int = 0
    stackable: bool = False
    stop: bool = False
    stations: frozenset[str] = frozenset()
    regions: frozenset[str] = frozenset()
    tiers: frozenset[str] = frozenset()
    grades: frozenset[str] = frozenset()
    categories: frozenset[str] = frozenset()
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    condition: Condition | None = None
    cap_per_day: int | None = None
    cap_per_month: int | None = None
    budget_points: int | None = None
    version: int = 1

    @property
    def specificity(self) -> int:
        """2 for a station program, 1 for a regional one, 0 for the brand's (R7)."""
        return 2 if self.stations else 1 if self.regions else 0

    def in_force(self, at: datetime) -> bool:
        return (self.valid_from is None or at >= self.valid_from) and (
            self.valid_until is None or at < self.valid_until
        )

    def in_scope(self, facts: BasketFacts) -> bool:
        if self.stations and facts.station not in self.stations:
            return False
        if self.regions and not self.stations and facts.region not in self.regions:
            return False
        return not self.tiers or facts.tier in self.tiers

    def fits_line(self, line: LineFacts) -> bool:
        if self.grades and line.grade not in self.grades:
            return False
        return not self.categories or line.category in self.categories


@dataclass(frozen=True)
class LineFacts:
    line_id: str
    kind: str
    category: str
    paid_fen: int
    gross_fen: int
    grade: str = ""
    sku: str = ""
    liters: Decimal = Decimal(0)
    quantity: int = 0

    def values(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "grade": self.grade,
            "category": self.category,
            "sku": self.sku,
            "liters": float(self.liters),
            "quantity": self.quantity,
            "gross_fen": self.gross_fen,
            "paid_fen": self.paid_fen,
        }


@dataclass(frozen=True)
class BasketFacts:
    """What conditions and filters know of the sale, in the chain's local time."""

    station: str
    region: str
    occurred_at: datetime
    local_time: datetime
    is_holiday: bool
    is_workday: bool
    tier: str
    tier_multiplier_milli: int
    member: bool = True
    birthday_week: bool = False
    birthday_today: bool = False
    tags: tuple[str, ...] = ()
    days_since_join: int = 0

    def values(self, lines: Sequence[LineFacts]) -> dict[str, dict[str, Any]]:
        return {
            "basket": {
                "station": self.station,
                "region": self.region,
                "weekday": self.local_time.isoweekday(),
                "hour": self.local_time.hour,
                "date": self.local_time.date().isoformat(),
                "day": self.local_time.day,
                "month": self.local_time.month,
                "is_holiday": self.is_holiday,
                "is_workday": self.is_workday,
                "gross_fen": sum(line.gross_fen for line in lines),
                "fuel_liters": float(sum((line.liters for line in lines if line.kind == "fuel"), Decimal(0))),
                "lines": len(lines),
            },
            "member": {
                "tier": self.tier,
                "birthday_week": self.birthday_week,
                "birthday_today": self.birthday_today,
                "tags": list(self.tags),
                "days_since_join": self.days_since_join,
                "anonymous": not self.member,
            },
        }


@dataclass(frozen=True)
class HookCall:
    rule: str
    hook: str
    params: Mapping[str, Any]
    line_id: str | None = None


@dataclass
class Earning:
    """Points a basket earns, per rule (in the order the rules were applied)."""

    by_rule: dict[str, int] = field(default_factory=dict)
    hooks: list[HookCall] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.by_rule.values())

    def add(self, rule: str, points: int) -> None:
        """Credit ``rule`` with ``points``. A rule that lowers the points (a multiplier below 1) gets
        a negative share, so the breakdown still sums to the total."""
        if points:
            self.by_rule[rule] = self.by_rule.get(rule, 0) + points

    def limited(self, allowed: Mapping[str, int]) -> Earning:
        """The earning with each rule named in ``allowed`` cut to at most that many points (caps
        and budgets)."""
        result = Earning(hooks=list(self.hooks))
        for rule, points in self.by_rule.items():
            keep = min(points, max(0, allowed[rule])) if rule in allowed else points
            result.add(rule, keep)
        return result


def allocate(total: int, weights: Mapping[str, int]) -> dict[str, int]:
    """Split ``total`` over keys in proportion to ``weights``, exactly: floors first, then the
    largest remainders (ties: key order) get one more. Zero weights get nothing."""
    weight_sum = sum(weights.values())
    if total <= 0 or weight_sum <= 0:
        return dict.fromkeys(weights, 0)
    floors = {key: total * weight // weight_sum for key, weight in weights.items()}
    left = total - sum(floors.values())
    order = sorted(weights, key=lambda key: -(total * weights[key] % weight_sum))
    for key in order[:left]:
        floors[key] += 1
    return floors


class RuleSet:
    """The purchase rules in force, compiled, in evaluation order."""

    def __init__(self, rules: Sequence[Rule], revision: int = 0) -> None:
        ordered = sorted(
            (rule for rule in rules if rule.trigger == "purchase"), key=lambda r: (-r.priority, r.code)
        )
        self.revision = revision
        self.line_rules = [rule for rule in ordered if rule.applies_to == "line"]
        self.basket_rules = [rule for rule in ordered if rule.applies_to == "basket"]
        self.by_code = {rule.code: rule for rule in ordered}
        self.needed = fields_needed(rule.condition for rule in ordered)

    def earn(self, facts: BasketFacts, lines: Sequence[LineFacts]) -> Earning:
        """The points the basket earns (before caps and budgets, which need the member's usage)."""
        earning = Earning()
        if not facts.member:
            return earning
        line_candidates = [r for r in self.line_rules if r.in_force(facts.occurred_at) and r.in_scope(facts)]
        basket_candidates = [
            r
            for r in self.basket_rules
            if r.in_force(facts.occurred_at)
            and r.in_scope(facts)
            and (not (r.grades or r.categories) or any(r.fits_line(line) for line in lines))
        ]
        context = None
        if self.needed and (
            any(r.condition for r in line_candidates) or any(r.condition for r in basket_candidates)
        ):
            context = context_for(facts.values(lines), self.needed)
        basket_holds: dict[str, bool] = {}

        def holds(rule: Rule) -> bool:
            if rule.condition is None:
                return True
            if not rule.condition.reads_line:
                if rule.code not in basket_holds:
                    basket_holds[rule.code] = rule.condition.holds(context)
                return basket_holds[rule.code]
            return rule.condition.holds(context)

        for line in lines:
            applicable: list[Rule] = []
            line_set = False
            for rule in line_candidates:
                if not rule.fits_line(line):
                    continue
                if rule.condition is not None and rule.condition.reads_line and not line_set:
                    set_line(context, line.values(), self.needed)
                    line_set = True
                if holds(rule):
                    applicable.append(rule)
                    if rule.stop:
                        break
            _earn_line(earning, facts, line, applicable)
        for rule in basket_candidates:
            if holds(rule):
                _apply_basket_rule(earning, rule)
                if rule.stop:
                    break
        return earning


def _earn_line(earning: Earning, facts: BasketFacts, line: LineFacts, rules: Sequence[Rule]) -> None:
    rates = [rule for rule in rules if rule.action.type == "rate"]
    if rates and line.paid_fen > 0:
        base = max(rates, key=lambda rule: (rule.specificity, rule.priority))
        promotions = [rule for rule in rules if rule.action.type == "multiplier"]
        exclusive = [rule for rule in promotions if not rule.stackable]
        steps: list[tuple[str, int]] = []
        if exclusive:
            best = max(exclusive, key=lambda rule: (rule.action.milli, rule.priority))
            steps.append((best.code, best.action.milli))
        steps += [(rule.code, rule.action.milli) for rule in promotions if rule.stackable]
        steps.append((f"tier:{facts.tier}", facts.tier_multiplier_milli))
        # points × 100 fen × SCALE^k: one exact product, floored once per step boundary
        numerator = line.paid_fen * base.action.milli
        denominator = 100 * SCALE
        before = numerator // denominator
        earning.add(base.code, before)
        for code, milli in steps:
            numerator *= milli
            denominator *= SCALE
            after = numerator // denominator
            earning.add(code, after - before)
            before = after
    for rule in rules:
        if rule.action.type == "per_liter":
            earning.add(rule.code, int(line.liters * rule.action.milli) // SCALE)
        elif rule.action.type == "bonus":
            earning.add(rule.code, rule.action.points)
        elif rule.action.type == "hook":
            earning.hooks.append(HookCall(rule.code, rule.action.hook, rule.action.params, line.line_id))


def _apply_basket_rule(earning: Earning, rule: Rule) -> None:
    if rule.action.type == "bonus":
        earning.add(rule.code, rule.action.points)
    elif rule.action.type == "hook":
        earning.hooks.append(HookCall(rule.code, rule.action.hook, rule.action.params))
