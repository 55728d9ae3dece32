"""Risk rules as data, and the pure tests each one applies (SPEC X3).

A rule is a code, an on/off switch and parameters that staff tune. The tests here take the member's
recent history (already read) and the attempt, and answer with a ``Refusal`` naming the rule and
the figures, or ``None``. Windows are half-open: a rolling window of 60 s ending at ``at`` holds what
happened after ``at - 60 s`` up to ``at``, so a payment exactly 60 s after another no longer sees it.
A "day" is the chain's local day (Asia/Shanghai by default): midnight there resets the daily total.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

PAYMENTS_PER_MINUTE = "payments_per_minute"
PAID_PER_DAY = "paid_per_day"
REDEMPTION_BURST = "redemption_burst"
NEW_DEVICE_STEP_UP = "new_device_step_up"

REJECTED, STEP_UP, STEP_UP_PASSED = "rejected", "step_up", "step_up_passed"
"""Decision outcomes: refused; refused until the member proves it is them (SMS code); proved."""


@dataclass(frozen=True)
class ParamSpec:
    """One integer parameter of a rule and the range staff may set it to."""

    name: str
    minimum: int
    maximum: int


@dataclass(frozen=True)
class RuleDefinition:
    code: str
    description: str
    enabled: bool
    params: Mapping[str, int]
    specs: tuple[ParamSpec, ...] = field(default=())


DEFINITIONS: dict[str, RuleDefinition] = {
    rule.code: rule
    for rule in (
        RuleDefinition(
            PAYMENTS_PER_MINUTE,
            "At most max_payments payments per member in a rolling window of window_seconds.",
            True,
            {"max_payments": 3, "window_seconds": 60},
            (ParamSpec("max_payments", 1, 1000), ParamSpec("window_seconds", 1, 86_400)),
        ),
        RuleDefinition(
            PAID_PER_DAY,
            "At most max_paid_fen paid (external payment + wallet) per member per local day.",
            True,
            {"max_paid_fen": 1_000_000},
            (ParamSpec("max_paid_fen", 1, 10_000_000_000),),
        ),
        RuleDefinition(
            REDEMPTION_BURST,
            "At most max_redemptions sales redeeming points or coupons per member in window_seconds.",
            True,
            {"max_redemptions": 10, "window_seconds": 600},
            (ParamSpec("max_redemptions", 1, 1000), ParamSpec("window_seconds", 1, 86_400)),
        ),
        RuleDefinition(
            NEW_DEVICE_STEP_UP,
            "A payment from a member-app device never verified for that member needs an SMS code.",
            True,
            {},
        ),
    )
}


@dataclass(frozen=True)
class Refusal:
    rule: str
    outcome: str
    reasons: dict[str, Any]


def params_problems(code: str, params: Mapping[str, Any]) -> list[str]:
    """What is wrong with ``params`` for rule ``code`` (empty when they are fine): exactly the
    rule's parameters, each a whole number in its range."""
    definition = DEFINITIONS.get(code)
    if definition is None:
        return [f"there is no risk rule {code!r}"]
    known = {spec.name for spec in definition.specs}
    problems = [f"unknown parameter {name!r}" for name in sorted(set(params) - known)]
    for spec in definition.specs:
        value = params.get(spec.name)
        if value is None:
            problems.append(f"{spec.name} is required")
        elif isinstance(value, bool) or not isinstance(value, int):
            problems.append(f"{spec.name} must be a whole number")
        elif not spec.minimum <= value <= spec.maximum:
            problems.append(f"{spec.name} must be between {spec.minimum} and {spec.maximum}")
    return problems


def window_start(at: datetime, seconds: int) -> datetime:
    return at - timedelta(seconds=seconds)


def day_bounds(at: datetime, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The local day holding ``at``: [midnight, next midnight), as aware datetimes."""
    day = at.astimezone(zone).date()
    start = datetime.combine(day, time(), tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time(), tzinfo=zone)
    return start, end


def payments_rate_refusal(
    params: Mapping[str, int], at: datetime, earlier_payments: Sequence[datetime]
) -> Refusal | None:
    """The payment at ``at`` would be one too many in the window (``earlier_payments``: moments of
    the member's earlier payments, any range)."""
    since = window_start(at, params["window_seconds"])
    within = sorted(moment for moment in earlier_payments if since < moment <= at)
    if len(within) + 1 <= params["max_payments"]:
        return None
    return Refusal(
        PAYMENTS_PER_MINUTE,
        REJECTED,
        {
            "max_payments": params["max_payments"],
            "window_seconds": params["window_seconds"],
            "payments_in_window": len(within),
            "window_started_at": within[0].isoformat(),
        },
    )


def paid_per_day_refusal(
    params: Mapping[str, int], day: str, paid_today_fen: int, amount_fen: int
) -> Refusal | None:
    """Paying ``amount_fen`` would take the member's local day past the limit."""
    limit = params["max_paid_fen"]
    if paid_today_fen + amount_fen <= limit:
        return None
    return Refusal(
        PAID_PER_DAY,
        REJECTED,
        {
            "max_paid_fen": limit,
            "day": day,
            "paid_today_fen": paid_today_fen,
            "amount_fen": amount_fen,
            "would_be_fen": paid_today_fen + amount_fen,
        },
    )


def redemption_burst_refusal(
    params: Mapping[str, int], at: datetime, earlier_redemptions: Sequence[datetime]
) -> Refusal | None:
    since = window_start(at, params["window_seconds"])
    within = [moment for moment in earlier_redemptions if since < moment <= at]
    if len(within) + 1 <= params["max_redemptions"]:
        return None
    return Refusal(
        REDEMPTION_BURST,
        REJECTED,
        {
            "max_redemptions": params["max_redemptions"],
            "window_seconds": params["window_seconds"],
            "redemptions_in_window": len(within),
        },
    )
