"""The earning rule document: what the API takes and returns and what YAML files hold."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from forecourt.stations.domain import normalise_code

Code = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_.-]{1,63}$")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RateAction(Strict):
    type: Literal["rate"]
    points_per_yuan: Decimal = Field(gt=0, le=1000, decimal_places=3)


class MultiplierAction(Strict):
    type: Literal["multiplier"]
    factor: Decimal = Field(gt=0, le=100, decimal_places=3)


class BonusAction(Strict):
    type: Literal["bonus"]
    points: int = Field(gt=0, le=10_000_000)
    params: dict[str, Any] = Field(default_factory=dict)
    """Trigger-specific settings: ``streak_days``/``streak_bonus`` for check-ins,
    ``min_liters`` for a monthly task."""


class PerLiterAction(Strict):
    type: Literal["per_liter"]
    points_per_liter: Decimal = Field(gt=0, le=1000, decimal_places=3)


class HookAction(Strict):
    type: Literal["hook"]
    hook: str = Field(min_length=1, max_length=64)
    params: dict[str, Any] = Field(default_factory=dict)


RuleAction = Annotated[
    RateAction | MultiplierAction | BonusAction | PerLiterAction | HookAction, Field(discriminator="type")
]


class Scope(Strict):
    """Where a rule applies: some stations, some regions, or (both empty) the whole brand. Codes are
    normalised as the stations context writes them, so ``km-n`` names region ``KM-N``."""

    stations: list[str] = Field(default_factory=list, max_length=500)
    regions: list[str] = Field(default_factory=list, max_length=100)

    @field_validator("stations", "regions")
    @classmethod
    def _normalised_codes(cls, codes: list[str]) -> list[str]:
        normalised = []
        for code in codes:
            found = normalise_code(code)
            if found is None:
                raise ValueError(f"{code!r} is not a station or region code (letters, digits, - and _)")
            normalised.append(found)
        return normalised


class Caps(Strict):
    per_member_per_day: int | None = Field(default=None, gt=0)
    per_member_per_month: int | None = Field(default=None, gt=0)


class RuleDocument(Strict):
    """An earning rule. ``trigger`` says what earns: a purchase (the basket at the pump) or an event
    (first plate bound, referral, daily check-in, profile completed, monthly task)."""

    code: Code
    name: str = Field(min_length=1, max_length=100)
    description: str = Field(default="", max_length=500)
    trigger: Literal[
        "purchase", "first_plate", "referral", "check_in", "profile_completed", "monthly_task"
    ] = "purchase"
    applies_to: Literal["line", "basket"] = "line"
    status: Literal["active", "draft", "retired"] = "active"
    priority: int = Field(default=0, ge=-1000, le=1000)
    stackable: bool = False
    stop: bool = False
    scope: Scope = Field(default_factory=Scope)
    tiers: list[str] = Field(default_factory=list, max_length=20)
    grades: list[str] = Field(default_factory=list, max_length=20)
    categories: list[str] = Field(default_factory=list, max_length=50)
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    condition: str = Field(default="", max_length=2000)
    """A CEL boolean expression over ``basket``, ``member`` and (line rules) ``line``."""
    action: RuleAction
    caps: Caps = Field(default_factory=Caps)
    budget_points: int | None = Field(default=None, gt=0)


class RuleRead(RuleDocument):
    version: int
    created_at: datetime
    created_by: str


class RuleFile(Strict):
    """The YAML file of a whole program (``GET /api/v1/rules/export``)."""

    format: Literal["forecourt.rules/v1"] = "forecourt.rules/v1"
    exported_at: datetime | None = None
    rules: list[RuleDocument]


class RuleImportReport(BaseModel):
    created: list[str]
    changed: list[str]
    unchanged: list[str]
    retired: list[str]
