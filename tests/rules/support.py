"""Rule test helpers: rule documents, moments in Beijing time, reading a quote's points."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from forecourt.kit.clock import chain_zone, utcnow

RULES = "/api/v1/rules"


def rule(code: str, action: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """A purchase rule document (per line unless ``applies_to`` says otherwise)."""
    return {"code": code, "name": fields.pop("name", code), "action": action, **fields}


def multiplier(factor: str) -> dict[str, Any]:
    return {"type": "multiplier", "factor": factor}


def bonus(points: int) -> dict[str, Any]:
    return {"type": "bonus", "points": points}


def local(day: date, hour: int = 10, minute: int = 0) -> datetime:
    """``day`` at ``hour``:``minute`` in the chain's time zone."""
    return datetime.combine(day, time(hour, minute), tzinfo=chain_zone())


def today() -> date:
    return utcnow().astimezone(chain_zone()).date()


def last_local(weekday: int, hour: int = 10) -> datetime:
    """The latest past moment (within the last week) that is ``weekday`` (ISO) at ``hour`` local."""
    now = utcnow().astimezone(chain_zone())
    day = now.date() - timedelta(days=(now.isoweekday() - weekday) % 7)
    moment = local(day, hour)
    return moment if moment <= now else moment - timedelta(days=7)


def earned(body: dict[str, Any]) -> dict[str, int]:
    """A quote's or sale's points per rule."""
    return {item["rule"]: item["points"] for item in body["points_earned"]["breakdown"]}


def past_days(count: int) -> list[date]:
    """``count`` local dates between 1 and 6 days ago, newest first, none a Saturday (the default
    program doubles everything on Saturdays): every hour of them is in the past and within the
    POS's 7 days of offline replay."""
    days = [today() - timedelta(days=n) for n in range(1, 7)]
    found = [day for day in days if day.isoweekday() != 6][:count]
    assert len(found) == count
    return found
