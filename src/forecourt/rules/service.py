"""Earning rules: versioned storage, the default program, YAML files, the compiled rule set, and the
caps and budgets that limit what a rule gives.

Every change writes a new version (the old one is ``superseded``), is audited, and bumps the rule
set revision, which each process compares (one cheap read per sale) before reusing its compiled
rules.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import ValidationError
from sqlalchemy import event, select, update
from sqlalchemy.orm import Session

from forecourt.audit import service as audit
from forecourt.db.upsert import insert_for
from forecourt.kit.actor import SYSTEM, Actor
from forecourt.kit.clock import to_chain_time, utcnow
from forecourt.kit.ids import new_id
from forecourt.rules import hooks
from forecourt.rules.conditions import compile_condition
from forecourt.rules.domain import SCALE, Action, Earning, Rule, RuleSet
from forecourt.rules.errors import (
    InvalidRule,
    InvalidRuleFile,
    RuleChangedMeanwhile,
    RuleExists,
    RuleNotFound,
)
from forecourt.rules.models import EarningRule, RuleBudget, RuleSetRevision, RuleUsage
from forecourt.rules.schemas import RuleDocument, RuleFile, RuleImportReport, RuleRead
from forecourt.stations import service as stations
from forecourt.tiers import service as tiers

DEFAULT_RULES: tuple[dict[str, Any], ...] = (
    {
        "code": "base-rate",
        "name": "基础积分 1 分/元",
        "description": "1 point per ¥1 paid (SPEC §5).",
        "action": {"type": "rate", "points_per_yuan": "1"},
    },
    {
        "code": "saturday-double",
        "name": "周六双倍积分",
        "priority": 10,
        "condition": "basket.weekday == 6",
        "action": {"type": "multiplier", "factor": "2"},
    },
    {
        "code": "premium-grades-double",
        "name": "95#/98# 双倍积分",
        "priority": 10,
        "grades": ["95", "98"],
        "action": {"type": "multiplier", "factor": "2"},
    },
    {
        "code": "birthday-week-double",
        "name": "生日周双倍积分",
        "priority": 10,
        "condition": "member.birthday_week",
        "action": {"type": "multiplier", "factor": "2"},
    },
    {
        "code": "welcome",
        "name": "绑定车牌送 500 积分",
        "trigger": "first_plate",
        "action": {"type": "bonus", "points": 500},
    },
    {
        "code": "referral",
        "name": "推荐有礼：双方各 1,000 积分（被推荐人首次加油后到账）",
        "trigger": "referral",
        "action": {"type": "bonus", "points": 1000},
    },
    {
        "code": "daily-check-in",
        "name": "每日签到 5 积分，连续 7 天再送 30",
        "trigger": "check_in",
        "action": {"type": "bonus", "points": 5, "params": {"streak_days": 7, "streak_bonus": 30}},
    },
    {
        "code": "profile-completed",
        "name": "完善资料送 200 积分",
        "trigger": "profile_completed",
        "action": {"type": "bonus", "points": 200},
    },
    {
        "code": "diesel-200l-monthly",
        "name": "月加柴油满 200 升送 300 积分",
        "trigger": "monthly_task",
        "grades": ["0"],
        "action": {"type": "bonus", "points": 300, "params": {"min_liters": 200}},
    },
)
"""The default program of SPEC §5 (installed by ``forecourt migrate`` on a new database)."""


def _milli(value: Decimal) -> int:
    return int(value * SCALE)


def to_rule(document: RuleDocument, version: int = 1) -> Rule:
    """The domain rule of a document, checked: actions fit the trigger, the condition compiles
    and reads only what the rule may see, hooks exist, windows and parameters make sense."""
    action = document.action
    purchase = document.trigger == "purchase"
    if action.type in ("rate", "multiplier", "per_liter") and not (
        purchase and document.applies_to == "line"
    ):
        raise InvalidRule(f"A {action.type} action applies to the lines of a purchase.", code=document.code)
    if not purchase and action.type != "bonus":
        raise InvalidRule("An event rule gives a bonus.", code=document.code)
    if action.type == "hook" and not hooks.is_registered(action.hook):
        raise InvalidRule(f"No hook named {action.hook!r} is available.", code=document.code)
    if document.valid_from and document.valid_until and document.valid_from >= document.valid_until:
        raise InvalidRule("valid_from must be before valid_until.", code=document.code)
    if document.trigger == "monthly_task":
        liters = action.params.get("min_liters") if action.type == "bonus" else None
        if not isinstance(liters, int | float) or liters <= 0:
            raise InvalidRule("A monthly task needs params.min_liters > 0.", code=document.code)
    if document.trigger == "check_in" and action.type == "bonus":
        for key in ("streak_days", "streak_bonus"):
            value = action.params.get(key, 0)
            if not isinstance(value, int) or value < 0:
                raise InvalidRule(f"params.{key} is a whole number ≥ 0.", code=document.code)
    if not purchase and document.condition:
        raise InvalidRule("Event rules take no condition.", code=document.code)
    condition = compile_condition(document.condition, allow_line=purchase and document.applies_to == "line")
    match action.type:
        case "rate":
            domain_action = Action("rate", milli=_milli(action.points_per_yuan))
        case "multiplier":
            domain_action = Action("multiplier", milli=_milli(action.factor))
        case "per_liter":
            domain_action = Action("per_liter", milli=_milli(action.points_per_liter))
        case "bonus":
            domain_action = Action("bonus", points=action.points, params=dict(action.params))
        case "hook":
            domain_action = Action("hook", hook=action.hook, params=dict(action.params))
    return Rule(
        code=document.code,
        name=document.name,
        action=domain_action,
        trigger=document.trigger,
        applies_to=document.applies_to,
        priority=document.priority,
        stackable=document.stackable,
        stop=document.stop,
        stations=frozenset(document.scope.stations),
        regions=frozenset(document.scope.regions),
        tiers=frozenset(document.tiers),
        grades=frozenset(document.grades),
        categories=frozenset(document.categories),
        valid_from=document.valid_from,
        valid_until=document.valid_until,
        condition=condition,
        cap_per_day=document.caps.per_member_per_day,
        cap_per_month=document.caps.per_member_per_month,
        budget_points=document.budget_points,
        version=version,
    )


def _document_of(row: EarningRule) -> RuleDocument:
    return RuleDocument.model_validate(row.document)


def _read(row: EarningRule) -> RuleRead:
    return RuleRead(
        **_document_of(row).model_dump(),
        version=row.version,
        created_at=row.created_at,
        created_by=row.created_by,
    )


def _bump_revision(session: Session) -> None:
    _forget_compiled(session)
    now = utcnow()
    row = session.get(RuleSetRevision, 1)
    if row is None:
        session.add(RuleSetRevision(id=1, revision=1, changed_at=now))
    else:
        row.revision += 1
        row.changed_at = now
    session.flush()


def _current_row(session: Session, code: str) -> EarningRule | None:
    return session.scalar(
        select(EarningRule)
        .where(EarningRule.code == code, EarningRule.status != "superseded")
        .order_by(EarningRule.version.desc())
        .limit(1)
    )


def _write(session: Session, actor: Actor, document: RuleDocument, version: int) -> EarningRule:
    to_rule(document, version)  # refuse what cannot be evaluated before storing it
    _check_names(session, document)
    row = EarningRule(
        id=new_id(),
        code=document.code,
        version=version,
        name=document.name,
        trigger=document.trigger,
        status=document.status,
        document=document.model_dump(mode="json"),
        created_at=utcnow(),
        created_by=f"{actor.kind}:{actor.label}"[:140],
    )
    session.add(row)
    _bump_revision(session)
    return row


def _check_names(session: Session, document: RuleDocument) -> None:
    """Grades and tiers a rule names must exist: a typo ("95#") would make a rule that never fires;
    so must what a hook action names (a coupon template)."""
    if document.action.type == "hook":
        problem = hooks.params_problem(session, document.action.hook, document.action.params)
        if problem is not None:
            raise InvalidRule(problem, code=document.code)
    grades = {grade.code for grade in stations.list_grades(session)}
    unknown_grades = sorted(set(document.grades) - grades)
    if unknown_grades:
        raise InvalidRule(
            f"Unknown grades: {', '.join(unknown_grades)}.", code=document.code, grades=sorted(grades)
        )
    levels = {level.code for level in tiers.levels(session)}
    unknown_tiers = sorted(set(document.tiers) - levels)
    if unknown_tiers:
        raise InvalidRule(
            f"Unknown tiers: {', '.join(unknown_tiers)}.", code=document.code, tiers=sorted(levels)
        )


def create_rule(session: Session, actor: Actor, document: RuleDocument) -> RuleRead:
    if session.scalar(select(EarningRule.id).where(EarningRule.code == document.code).limit(1)):
        raise RuleExists(code=document.code)
    row = _write(session, actor, document, 1)
    audit.record(session, actor, "rule.create", "earning_rule", document.code, after=row.document)
    return _read(row)


def update_rule(
    session: Session, actor: Actor, code: str, document: RuleDocument, *, expected_version: int | None = None
) -> RuleRead:
    """Write the next version of a rule. With ``expected_version`` a concurrent change is refused
    instead of silently overwritten."""
    if document.code != code:
        raise InvalidRule("The code of a rule cannot change; create a new rule.", code=code)
    current = _current_row(session, code)
    if current is None:
        raise RuleNotFound(code=code)
    if expected_version is not None and current.version != expected_version:
        raise RuleChangedMeanwhile(code=code, version=current.version)
    before = dict(current.document)
    current.status = "superseded"
    session.flush()
    row = _write(session, actor, document, current.version + 1)
    audit.record(session, actor, "rule.update", "earning_rule", code, before=before, after=row.document)
    return _read(row)


def retire_rule(session: Session, actor: Actor, code: str) -> RuleRead:
    current = _current_row(session, code)
    if current is None:
        raise RuleNotFound(code=code)
    document = _document_of(current).model_copy(update={"status": "retired"})
    return update_rule(session, actor, code, document)


def get_rule(session: Session, code: str) -> RuleRead:
    row = _current_row(session, code)
    if row is None:
        raise RuleNotFound(code=code)
    return _read(row)


def rule_versions(session: Session, code: str) -> list[RuleRead]:
    rows = session.scalars(select(EarningRule).where(EarningRule.code == code).order_by(EarningRule.version))
    found = [_read(row) for row in rows]
    if not found:
        raise RuleNotFound(code=code)
    return found


def list_rules(session: Session, *, status: str | None = None, trigger: str | None = None) -> list[RuleRead]:
    query = select(EarningRule).where(EarningRule.status != "superseded")
    if status:
        query = query.where(EarningRule.status == status)
    if trigger:
        query = query.where(EarningRule.trigger == trigger)
    return [_read(row) for row in session.scalars(query.order_by(EarningRule.code))]


def install_defaults(session: Session) -> None:
    """The default program (SPEC §5) on a database that has no rules."""
    if session.scalar(select(EarningRule.id).limit(1)) is not None:
        return
    for document in DEFAULT_RULES:
        _write(session, SYSTEM, RuleDocument.model_validate(document), 1)
    session.flush()


# --- YAML files (X7) -------------------------------------------------------------------------


def export_rules(session: Session) -> RuleFile:
    rows = session.scalars(
        select(EarningRule).where(EarningRule.status != "superseded").order_by(EarningRule.code)
    )
    return RuleFile(exported_at=utcnow(), rules=[_document_of(row) for row in rows])


def parse_rule_file(text: str) -> RuleFile:
    import yaml

    try:
        data = yaml.safe_load(text)
        return RuleFile.model_validate(data)
    except yaml.YAMLError as exc:
        raise InvalidRuleFile(f"Not YAML: {exc}") from exc
    except ValidationError as exc:
        raise InvalidRuleFile(
            errors=[{"at": ".".join(str(p) for p in e["loc"]), "problem": e["msg"]} for e in exc.errors()]
        ) from exc


def dump_rule_file(rule_file: RuleFile) -> str:
    import yaml

    return yaml.safe_dump(rule_file.model_dump(mode="json"), allow_unicode=True, sort_keys=False)


def import_rules(
    session: Session, actor: Actor, rule_file: RuleFile, *, retire_missing: bool = False
) -> RuleImportReport:
    """Bring the program to the file: new rules are created, changed ones get a new version, equal
    ones are left alone (importing the same file twice changes nothing); with ``retire_missing``
    rules absent from the file are retired. All or nothing: the request's transaction."""
    codes = [document.code for document in rule_file.rules]
    if len(set(codes)) != len(codes):
        raise InvalidRuleFile("A code appears twice in the file.")
    report = RuleImportReport(created=[], changed=[], unchanged=[], retired=[])
    for document in rule_file.rules:
        current = _current_row(session, document.code)
        if current is None:
            create_rule(session, actor, document)
            report.created.append(document.code)
        elif _document_of(current) == document:
            report.unchanged.append(document.code)
        else:
            update_rule(session, actor, document.code, document)
            report.changed.append(document.code)
    if retire_missing:
        for read in list_rules(session):
            if read.code not in codes and read.status != "retired":
                retire_rule(session, actor, read.code)
                report.retired.append(read.code)
    return report


# --- the compiled rule set -------------------------------------------------------------------

_cache_lock = threading.Lock()
_cache: dict[tuple[int, int, datetime | None], tuple[RuleSet, dict[str, list[Rule]]]] = {}


def _revision(session: Session) -> tuple[int, datetime | None]:
    row = session.execute(select(RuleSetRevision.revision, RuleSetRevision.changed_at)).first()
    return (row.revision, row.changed_at) if row is not None else (0, None)


def _compiled(session: Session) -> tuple[RuleSet, dict[str, list[Rule]]]:
    """The compiled rules, checked against the revision once per transaction (a sale asks for
    its purchase and event rules without reading the revision twice)."""
    held = session.info.get("compiled_rules")
    if held is not None:
        return held  # type: ignore[no-any-return]
    compiled = _compiled_for_revision(session)
    session.info["compiled_rules"] = compiled
    return compiled


def _forget_compiled(session: Session) -> None:
    session.info.pop("compiled_rules", None)


@event.listens_for(Session, "after_transaction_end")
def _forget_at_transaction_end(session: Session, transaction: Any) -> None:
    if transaction.parent is None:
        _forget_compiled(session)


def _compiled_for_revision(session: Session) -> tuple[RuleSet, dict[str, list[Rule]]]:
    revision, changed_at = _revision(session)
    key = (id(session.get_bind()), revision, changed_at)
    found = _cache.get(key)
    if found is not None:
        return found
    rules = [
        to_rule(_document_of(row), row.version)
        for row in session.scalars(select(EarningRule).where(EarningRule.status == "active"))
    ]
    events: dict[str, list[Rule]] = {}
    for rule in sorted(rules, key=lambda r: (-r.priority, r.code)):
        if rule.trigger != "purchase":
            events.setdefault(rule.trigger, []).append(rule)
    compiled = (RuleSet(rules, revision), events)
    with _cache_lock:
        for stale in [k for k in _cache if k[0] == key[0]]:
            del _cache[stale]
        _cache[key] = compiled
    return compiled


def rule_set(session: Session) -> RuleSet:
    """The purchase rules in force, compiled (cached per process until the rules change)."""
    return _compiled(session)[0]


def event_rules(session: Session, trigger: str) -> list[Rule]:
    """The active rules for an event trigger, highest priority first."""
    return _compiled(session)[1].get(trigger, [])


def draft_rule_set(session: Session, drafts: Sequence[RuleDocument]) -> RuleSet:
    """The rule set in force with ``drafts`` added (or replacing rules of the same code): what a
    back-test or a preview of a rule not yet saved evaluates."""
    replaced = {document.code for document in drafts}
    active = [rule for rule in rule_set(session).by_code.values() if rule.code not in replaced]
    return RuleSet([*active, *(to_rule(document) for document in drafts)])


# --- caps and budgets ------------------------------------------------------------------------


def _periods(rule: Rule, at: datetime) -> list[tuple[str, int]]:
    local = to_chain_time(at)
    periods = []
    if rule.cap_per_day is not None:
        periods.append((f"D{local.date().isoformat()}", rule.cap_per_day))
    if rule.cap_per_month is not None:
        periods.append((f"M{local.strftime('%Y-%m')}", rule.cap_per_month))
    return periods


def _limited_rules(rules: RuleSet, earning: Earning) -> list[Rule]:
    return [
        rule
        for code in earning.by_rule
        if (rule := rules.by_code.get(code)) is not None
        and (rule.cap_per_day is not None or rule.cap_per_month is not None or rule.budget_points is not None)
    ]


def allowance(
    session: Session, rules: RuleSet, member_id: uuid.UUID, earning: Earning, at: datetime
) -> Earning:
    """What the earning would be under each rule's caps and budget as things stand (a quote)."""
    allowed: dict[str, int] = {}
    for rule in _limited_rules(rules, earning):
        room = earning.by_rule[rule.code]
        for period, cap in _periods(rule, at):
            used = session.scalar(
                select(RuleUsage.points).where(
                    RuleUsage.rule_code == rule.code,
                    RuleUsage.member_id == member_id,
                    RuleUsage.period == period,
                )
            )
            room = min(room, cap - int(used or 0))
        if rule.budget_points is not None:
            used = session.scalar(select(RuleBudget.used).where(RuleBudget.rule_code == rule.code))
            room = min(room, rule.budget_points - int(used or 0))
        allowed[rule.code] = max(0, room)
    return earning.limited(allowed)


def consume(
    session: Session, rules: RuleSet, member_id: uuid.UUID, earning: Earning, at: datetime
) -> Earning:
    """Take the earning's points from each capped or budgeted rule's allowance, atomically: the
    conditional updates below never let concurrent sales take a rule past its cap or budget
    (whatever does not fit is not given). A period's usage counts only what was granted: when a
    later limit (the month after the day, the budget after both) gives less, the earlier usage
    rows, still locked by this transaction, get the difference back. Returns the earning as
    granted."""
    allowed: dict[str, int] = {}
    for rule in _limited_rules(rules, earning):
        want = earning.by_rule[rule.code]
        taken: list[tuple[RuleUsage, int]] = []
        for period, cap in _periods(rule, at):
            row, want = _take_usage(session, rule.code, member_id, period, want, cap)
            taken.append((row, want))
        if rule.budget_points is not None:
            want = _take_budget(session, rule.code, want, rule.budget_points)
        for row, took in taken:
            row.points -= took - want
        if any(took != want for _, took in taken):
            session.flush()
        allowed[rule.code] = want
    return earning.limited(allowed)


def _take_usage(
    session: Session, rule: str, member_id: uuid.UUID, period: str, want: int, cap: int
) -> tuple[RuleUsage, int]:
    """Add up to ``want`` points to the member's usage of ``rule`` in ``period`` without passing
    ``cap``; returns the row (locked) and what was added."""
    statement = insert_for(session, RuleUsage).values(
        rule_code=rule, member_id=member_id, period=period, points=0
    )
    session.execute(statement.on_conflict_do_nothing(index_elements=["rule_code", "member_id", "period"]))
    row = session.execute(
        select(RuleUsage)
        .where(RuleUsage.rule_code == rule, RuleUsage.member_id == member_id, RuleUsage.period == period)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()
    take = max(0, min(want, cap - row.points))
    row.points += take
    session.flush()
    return row, take


def _take_budget(session: Session, rule: str, want: int, budget: int) -> int:
    statement = insert_for(session, RuleBudget).values(rule_code=rule, used=0)
    session.execute(statement.on_conflict_do_nothing(index_elements=["rule_code"]))
    for _ in range(5):
        used = int(session.scalar(select(RuleBudget.used).where(RuleBudget.rule_code == rule)) or 0)
        take = max(0, min(want, budget - used))
        if take == 0:
            return 0
        done = session.execute(
            update(RuleBudget)
            .where(RuleBudget.rule_code == rule, RuleBudget.used + take <= budget)
            .values(used=RuleBudget.used + take)
        )
        if getattr(done, "rowcount", 0) == 1:
            return take
    return 0


def budget_used(session: Session) -> Mapping[str, int]:
    return {row.rule_code: int(row.used) for row in session.scalars(select(RuleBudget))}
