"""Admin program pages: tiers, earning rules with preview and back-test.

The pages read and change the program through the services the API uses: ``tiers.service`` for
the levels, ``rules.service`` for rules and their versions (every change is a new, audited
version; the version the page showed travels with the form, so a change made meanwhile by someone
else is refused, not overwritten), ``pos.trials.backtest`` for back-tests and
``pos.tier_preview`` for "what would this basket earn for a member of that tier".
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import Depends, Form, Request
from fastapi.responses import PlainTextResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from forecourt.auth.permissions import Permission
from forecourt.db.session import get_session, reads_only
from forecourt.errors import InvalidRequest
from forecourt.kit.actor import Actor
from forecourt.kit.clock import utcnow
from forecourt.pos import tier_preview, trials
from forecourt.pos.schemas import FuelLine
from forecourt.rules import service as rules
from forecourt.rules.schemas import RuleDocument, RuleRead
from forecourt.stations import service as stations
from forecourt.tiers import service as tiers
from forecourt.web.access import staff_page
from forecourt.web.admin.stations import after_post
from forecourt.web.forms import chain_moment, fen_of, positive_decimal
from forecourt.web.i18n import N_, gettext
from forecourt.web.routing import web_router
from forecourt.web.tables import PER_PAGE, offset_of, page_number, page_of, xlsx_response
from forecourt.web.templating import render

router = web_router(prefix="/admin")

SessionDep = Annotated[Session, Depends(get_session)]
Reader = Annotated[Actor, staff_page(Permission.RULES_READ)]
Manager = Annotated[Actor, staff_page(Permission.RULES_MANAGE)]

METRICS = {
    "money_paid_fen": N_("Money paid"),
    "liters_centi": N_("Litres bought"),
    "visits": N_("Visits"),
    "points_earned": N_("Points earned"),
}
WINDOWS = {
    "rolling_12_months": N_("Rolling 12 months"),
    "calendar_year": N_("Calendar year"),
    "cumulative": N_("Since joining"),
}
TRIGGERS = {
    "purchase": N_("Purchase"),
    "first_plate": N_("First plate bound"),
    "referral": N_("Referral"),
    "check_in": N_("Daily check-in"),
    "profile_completed": N_("Profile completed"),
    "monthly_task": N_("Monthly task"),
}
STATUSES = {"active": N_("Active"), "draft": N_("Draft"), "retired": N_("Retired")}
RULE_COLUMNS = (
    N_("Code"),
    N_("Name"),
    N_("Trigger"),
    N_("Status"),
    N_("Priority"),
    N_("Action"),
    N_("Valid from"),
    N_("Valid until"),
    N_("Scope"),
    N_("Version"),
)


def _label(table: dict[str, str], key: str) -> str:
    return gettext(table[key]) if key in table else key


def threshold_text(metric: str, value: int) -> str:
    """A tier threshold in the program's metric, as people say it (¥2,000, 500 L, 12 visits)."""
    if metric == "money_paid_fen":
        whole, cents = divmod(value, 100)
        return f"¥{whole:,}" + (f".{cents:02d}" if cents else "")
    if metric == "liters_centi":
        return gettext("%(liters)s L") % {"liters": f"{Decimal(value) / 100:,.2f}".rstrip("0").rstrip(".")}
    if metric == "visits":
        return gettext("%(count)s visits") % {"count": f"{value:,}"}
    return gettext("%(points)s points") % {"points": f"{value:,}"}


def action_text(rule: RuleDocument) -> str:
    action = rule.action
    match action.type:
        case "rate":
            return gettext("%(points)s points per ¥1") % {"points": action.points_per_yuan.normalize()}
        case "multiplier":
            return gettext("× %(factor)s") % {"factor": action.factor.normalize()}
        case "per_liter":
            return gettext("%(points)s points per litre") % {"points": action.points_per_liter.normalize()}
        case "bonus":
            return gettext("+%(points)s points") % {"points": f"{action.points:,}"}
        case _:
            return gettext("Runs %(hook)s") % {"hook": action.hook}


def action_value(rule: RuleDocument) -> str:
    """The one number of a rule's action a back-test may try another value of."""
    action = rule.action
    match action.type:
        case "rate":
            return str(action.points_per_yuan.normalize())
        case "multiplier":
            return str(action.factor.normalize())
        case "per_liter":
            return str(action.points_per_liter.normalize())
        case "bonus":
            return str(action.points)
        case _:
            return ""


def scope_text(rule: RuleDocument) -> str:
    parts = []
    if rule.scope.regions:
        parts.append(gettext("Regions: %(codes)s") % {"codes": ", ".join(rule.scope.regions)})
    if rule.scope.stations:
        parts.append(gettext("Stations: %(codes)s") % {"codes": ", ".join(rule.scope.stations)})
    if rule.tiers:
        parts.append(gettext("Tiers: %(codes)s") % {"codes": ", ".join(rule.tiers)})
    if rule.grades:
        parts.append(gettext("Grades: %(codes)s") % {"codes": ", ".join(f"{g}#" for g in rule.grades)})
    if rule.categories:
        parts.append(gettext("Categories: %(codes)s") % {"codes": ", ".join(rule.categories)})
    return " · ".join(parts) or gettext("Whole brand")


def _helpers() -> dict[str, Any]:
    return {
        "action_text": action_text,
        "scope_text": scope_text,
        "trigger_label": lambda key: _label(TRIGGERS, key),
        "status_label": lambda key: _label(STATUSES, key),
    }


# --- tiers -----------------------------------------------------------------------------------------


@router.get("/program")
def tier_page(request: Request, actor: Reader, session: SessionDep) -> Response:
    program = tiers.program(session)
    return render(
        request,
        "admin/program/tiers.html",
        {
            "section": "/admin/program",
            "subsection": "tiers",
            "program": program,
            "metric": _label(METRICS, program.metric),
            "window": _label(WINDOWS, program.window),
            "levels": tiers.levels(session),
            "threshold": lambda value: threshold_text(program.metric, value),
        },
    )


# --- rules -----------------------------------------------------------------------------------------


def _filtered_rules(session: Session, status: str | None, trigger: str | None) -> list[RuleRead]:
    found = rules.list_rules(
        session,
        status=status if status in STATUSES else None,
        trigger=trigger if trigger in TRIGGERS else None,
    )
    return sorted(found, key=lambda r: (r.status != "active", r.trigger != "purchase", -r.priority, r.code))


@router.get("/program/rules")
def rule_list(
    request: Request,
    actor: Reader,
    session: SessionDep,
    status: str | None = None,
    trigger: str | None = None,
    page: str | None = None,
) -> Response:
    number = page_number(page)
    found = _filtered_rules(session, status, trigger)
    start = offset_of(number)
    return render(
        request,
        "admin/program/rules.html",
        {
            "section": "/admin/program",
            "subsection": "rules",
            "status": status or "",
            "trigger": trigger or "",
            "statuses": STATUSES,
            "triggers": TRIGGERS,
            "page": page_of(request, found[start : start + PER_PAGE], page=number, total=len(found)),
            "export_url": str(request.url.replace(path="/admin/program/rules.xlsx")),
            "can_manage": actor.has(Permission.RULES_MANAGE),
            **_helpers(),
        },
    )


@router.get("/program/rules.xlsx")
def rule_export(
    actor: Reader, session: SessionDep, status: str | None = None, trigger: str | None = None
) -> Response:
    rows = [
        (
            r.code,
            r.name,
            _label(TRIGGERS, r.trigger),
            _label(STATUSES, r.status),
            r.priority,
            action_text(r),
            r.valid_from.isoformat() if r.valid_from else "",
            r.valid_until.isoformat() if r.valid_until else "",
            scope_text(r),
            r.version,
        )
        for r in _filtered_rules(session, status, trigger)
    ]
    return xlsx_response(gettext("Earning rules"), [gettext(c) for c in RULE_COLUMNS], rows)


@router.get("/program/rules.yaml")
def rule_yaml(actor: Manager, session: SessionDep) -> Response:
    """The whole program as the API's YAML file (``GET /api/v1/rules/export``)."""
    text = rules.dump_rule_file(rules.export_rules(session))
    return PlainTextResponse(
        text,
        media_type="application/yaml",
        headers={"Content-Disposition": 'attachment; filename="rules.yaml"'},
    )


def _preview_context(session: Session) -> dict[str, Any]:
    return {
        "preview_stations": stations.list_stations(session, limit=1000),
        "preview_grades": stations.list_grades(session),
        "preview_tiers": tiers.levels(session),
    }


@router.get("/program/preview")
def preview_page(request: Request, actor: Reader, session: SessionDep) -> Response:
    return render(
        request,
        "admin/program/preview.html",
        {"section": "/admin/program", "subsection": "preview", **_preview_context(session)},
    )


@router.get("/program/rules/{code}")
def rule_detail(code: str, request: Request, actor: Reader, session: SessionDep) -> Response:
    rule = rules.get_rule(session, code)
    versions: Sequence[RuleRead] = rules.rule_versions(session, code)
    return render(
        request,
        "admin/program/rule.html",
        {
            "section": "/admin/program",
            "subsection": "rules",
            "rule": rule,
            "versions": list(reversed(versions)),
            "value": action_value(rule),
            "can_manage": actor.has(Permission.RULES_MANAGE),
            **_helpers(),
            **_preview_context(session),
        },
    )


def _liters(session: Session, station: str, grade: str, at: datetime, liters: str, amount: str) -> Decimal:
    """The litres of the basket: as typed, or what the amount buys at the price in force then."""
    typed = positive_decimal(liters)
    if typed is not None:
        return typed
    if amount.strip():
        station_id = stations.get_station(session, station).id
        return stations.volume_for_amount(
            session, station_id, stations.get_grade(session, grade).code, fen_of(amount, "amount"), at
        )
    raise InvalidRequest(gettext("Give the litres or the amount."))


@router.post("/program/preview")
@reads_only
def preview(
    request: Request,
    actor: Reader,
    session: SessionDep,
    station: Annotated[str, Form()] = "",
    grade: Annotated[str, Form()] = "",
    liters: Annotated[str, Form()] = "",
    amount_yuan: Annotated[str, Form()] = "",
    tier: Annotated[str, Form()] = "",
    at: Annotated[str, Form()] = "",
) -> Response:
    """What the basket earns, rule by rule (an htmx fragment)."""
    moment = chain_moment(at) or utcnow()
    if not station.strip():
        raise InvalidRequest(gettext("Name the station."))
    amount = _liters(session, station, grade, moment, liters, amount_yuan)
    try:
        line = FuelLine(line_id="1", kind="fuel", grade=grade, liters=amount)
    except ValidationError as exc:
        raise InvalidRequest(
            gettext("Litres are more than 0 and at most 2,000."), liters=str(amount)
        ) from exc
    level = tiers.level(session, tier) if tier else tiers.levels(session)[0]
    quote = tier_preview.preview_for_tier(session, station=station, lines=[line], tier=level.code, at=moment)
    return render(
        request, "admin/program/preview_result.html", {"quote": quote, "tier": level, "moment": moment}
    )


@router.post("/program/rules/{code}/backtest")
@reads_only
def backtest(
    code: str,
    request: Request,
    actor: Reader,
    session: SessionDep,
    days: Annotated[str, Form()] = "30",
    value: Annotated[str, Form()] = "",
    condition: Annotated[str | None, Form()] = None,
) -> Response:
    """What the rule, as a draft with the given number and condition, would have cost over the
    last ``days`` compared with the rules in force (an htmx fragment)."""
    rule = rules.get_rule(session, code)
    document = _document(rule).model_dump()
    if value.strip():
        key = {"rate": "points_per_yuan", "multiplier": "factor", "per_liter": "points_per_liter"}.get(
            rule.action.type, "points"
        )
        document["action"] = {**document["action"], key: value.strip()}
    if condition is not None:
        document["condition"] = condition.strip()
    try:
        draft = RuleDocument.model_validate(document)
        body = trials.BacktestRequest(rule=draft, days=int(days))
    except (ValidationError, ValueError) as exc:
        raise InvalidRequest(
            gettext("Check the days (1 to 366) and the number you typed."), days=days, value=value
        ) from exc
    result = trials.backtest(session, body)
    return render(
        request,
        "admin/program/backtest_result.html",
        {"result": result, "draft": draft, "changed": draft != _document(rule)},
    )


def _document(rule: RuleRead) -> RuleDocument:
    return RuleDocument.model_validate(rule.model_dump(exclude={"version", "created_at", "created_by"}))


def _expected_version(version: str) -> int | None:
    return int(version) if version.strip().isdigit() else None


@router.post("/program/rules/{code}/status")
def change_status(
    code: str,
    request: Request,
    actor: Manager,
    session: SessionDep,
    status: Annotated[str, Form()] = "",
    version: Annotated[str, Form()] = "",
) -> Response:
    """Retire a rule, or make a draft or retired rule active again (a new version, audited)."""
    if status not in ("active", "retired"):
        raise InvalidRequest(gettext("A rule is made active or retired."), status=status)
    document = _document(rules.get_rule(session, code))
    rules.update_rule(
        session,
        actor,
        code,
        document.model_copy(update={"status": status}),
        expected_version=_expected_version(version),
    )
    return after_post(request, f"/admin/program/rules/{code}")


@router.post("/program/rules/{code}/priority")
def change_priority(
    code: str,
    request: Request,
    actor: Manager,
    session: SessionDep,
    priority: Annotated[str, Form()] = "",
    version: Annotated[str, Form()] = "",
) -> Response:
    document = _document(rules.get_rule(session, code)).model_dump()
    try:
        changed = RuleDocument.model_validate({**document, "priority": int(priority)})
    except (ValidationError, ValueError) as exc:
        raise InvalidRequest(
            gettext("A priority is a whole number from -1000 to 1000."), priority=priority
        ) from exc
    rules.update_rule(session, actor, code, changed, expected_version=_expected_version(version))
    return after_post(request, f"/admin/program/rules/{code}")
