"""Tier rules.

Upgrades happen the moment qualifying activity is recorded. Downgrades only happen in the monthly
evaluation: a member below their tier's threshold first gets a grace period (default 3 months, an
``at_risk`` event); still below when it ends, they drop one level, never more. A tier set by hand
holds until its expiry. The default program (SPEC §5) is installed by ``forecourt migrate``.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise
from typing import Any

from sqlalchemy import ColumnElement, exists, func, select
from sqlalchemy.orm import Session

from forecourt.audit import service as audit
from forecourt.db.outbox import publish
from forecourt.db.upsert import insert_for
from forecourt.kit.actor import Actor
from forecourt.kit.clock import utcnow
from forecourt.kit.ids import new_id
from forecourt.tiers.errors import InvalidTierChange, TierNotFound
from forecourt.tiers.models import MemberTier, TierActivity, TierChange, TierLevel, TierProgram
from forecourt.tiers.windows import add_months, window_start

PROGRAM = "default"
METRICS = ("money_paid_fen", "liters_centi", "visits", "points_earned")
WINDOWS = ("rolling_12_months", "calendar_year", "cumulative")

# code, name, rank, threshold (fen paid in 12 months), multiplier ‰, fuel discount bp, never expire, priority
DEFAULT_LEVELS = (
    ("regular", "普通", 0, 0, 1000, 0, False, False),
    ("silver", "银牌", 1, 200_000, 1200, 200, False, False),
    ("gold", "金牌", 2, 800_000, 1500, 300, False, False),
    ("diamond", "钻石", 3, 2_000_000, 2000, 400, True, True),
)


def install_defaults(session: Session) -> None:
    """The default program of SPEC §5, on a database that has none."""
    if session.get(TierProgram, PROGRAM) is None:
        session.add(
            TierProgram(
                code=PROGRAM,
                metric="money_paid_fen",
                window="rolling_12_months",
                grace_months=3,
                updated_at=utcnow(),
            )
        )
    if session.scalar(select(func.count()).select_from(TierLevel)) == 0:
        for code, name, rank, threshold, multiplier, discount, never_expire, priority in DEFAULT_LEVELS:
            session.add(
                TierLevel(
                    code=code,
                    name=name,
                    rank=rank,
                    threshold=threshold,
                    multiplier_permille=multiplier,
                    fuel_discount_bp=discount,
                    points_never_expire=never_expire,
                    priority_lane=priority,
                )
            )
    session.flush()


def program(session: Session) -> TierProgram:
    found = session.get(TierProgram, PROGRAM)
    if found is None:
        raise RuntimeError("no tier program: run `forecourt migrate`, which installs the defaults")
    return found


def levels(session: Session) -> list[TierLevel]:
    return list(session.scalars(select(TierLevel).order_by(TierLevel.rank)))


def level(session: Session, code: str) -> TierLevel:
    found = session.get(TierLevel, code)
    if found is None:
        raise TierNotFound(tier=code)
    return found


def current(session: Session, member_id: uuid.UUID) -> TierLevel:
    row = session.get(MemberTier, member_id)
    return level(session, row.tier_code) if row is not None else levels(session)[0]


def metric_value(session: Session, member_id: uuid.UUID, at: datetime) -> int:
    """The member's qualifying amount over the program's window ending at ``at``."""
    prog = program(session)
    column = getattr(TierActivity, prog.metric)
    query = select(func.coalesce(func.sum(column), 0)).where(
        TierActivity.member_id == member_id, TierActivity.occurred_at <= at
    )
    start = window_start(prog.window, at)
    if start is not None:
        query = query.where(TierActivity.occurred_at > start)
    return int(session.scalar(query) or 0)


def qualifying_level(all_levels: Sequence[TierLevel], value: int) -> TierLevel:
    best = all_levels[0]
    for candidate in all_levels:
        if value >= candidate.threshold:
            best = candidate
    return best


def _change(
    session: Session,
    member_id: uuid.UUID,
    row: MemberTier | None,
    old: TierLevel,
    new: TierLevel,
    *,
    reason: str,
    actor: Actor,
    at: datetime,
    value: int | None,
    note: str = "",
    manual_until: datetime | None = None,
) -> MemberTier:
    if row is None:
        row = MemberTier(member_id=member_id, tier_code=new.code, since=at, updated_at=at)
        session.add(row)
    row.tier_code, row.since, row.grace_until, row.manual_until, row.updated_at = (
        new.code,
        at,
        None,
        manual_until,
        at,
    )
    session.add(
        TierChange(
            id=new_id(),
            member_id=member_id,
            from_code=old.code,
            to_code=new.code,
            reason=reason,
            metric_value=value,
            actor=f"{actor.kind}:{actor.label}"[:140],
            note=note[:200],
            occurred_at=at,
        )
    )
    topic = (
        "tier.upgraded"
        if new.rank > old.rank
        else "tier.downgraded"
        if new.rank < old.rank
        else "tier.changed"
    )
    publish(
        session,
        topic,
        {
            "member_id": str(member_id),
            "from": old.code,
            "to": new.code,
            "reason": reason,
            "at": at.isoformat(),
        },
    )
    session.flush()
    return row


def record_activity(
    session: Session,
    actor: Actor,
    member_id: uuid.UUID,
    *,
    source_key: str,
    occurred_at: datetime,
    money_paid_fen: int = 0,
    liters_centi: int = 0,
    visits: int = 0,
    points_earned: int = 0,
) -> TierLevel:
    """Count a qualifying event (once per ``source_key``) and upgrade at once if it qualifies.
    Returns the member's tier afterwards."""
    inserted = session.execute(
        insert_for(session, TierActivity)
        .values(
            id=new_id(),
            member_id=member_id,
            source_key=source_key,
            occurred_at=occurred_at,
            money_paid_fen=money_paid_fen,
            liters_centi=liters_centi,
            visits=visits,
            points_earned=points_earned,
        )
        .on_conflict_do_nothing(index_elements=["source_key"])
        .returning(TierActivity.id)
    ).scalar()
    if inserted is None:  # counted before
        return current(session, member_id)
    return upgrade_if_qualified(session, actor, member_id, at=max(occurred_at, utcnow()))


def upgrade_if_qualified(session: Session, actor: Actor, member_id: uuid.UUID, *, at: datetime) -> TierLevel:
    row = session.get(MemberTier, member_id)
    all_levels = levels(session)
    old = level(session, row.tier_code) if row is not None else all_levels[0]
    value = metric_value(session, member_id, at)
    target = qualifying_level(all_levels, value)
    if target.rank > old.rank:
        _change(session, member_id, row, old, target, reason="upgrade", actor=actor, at=at, value=value)
        return target
    if row is not None and row.grace_until is not None and value >= old.threshold:
        row.grace_until = None  # back above the threshold: no longer at risk
    return old


def set_manual(
    session: Session, actor: Actor, member_id: uuid.UUID, tier_code: str, *, until: datetime | None, note: str
) -> MemberTier:
    """Set a tier by hand (e.g. a VIP) until ``until``; afterwards the evaluation takes over again."""
    now = utcnow()
    if until is not None and until <= now:
        raise InvalidTierChange("A manual tier's expiry must be in the future.", field="until")
    if not note.strip():
        raise InvalidTierChange("A manual tier change needs a note saying why.", field="note")
    new = level(session, tier_code)
    row = session.get(MemberTier, member_id)
    old = current(session, member_id)
    row = _change(
        session,
        member_id,
        row,
        old,
        new,
        reason="manual",
        actor=actor,
        at=now,
        value=None,
        note=note,
        manual_until=until,
    )
    audit.record(
        session,
        actor,
        "tier.set_manual",
        "member",
        member_id,
        before={"tier": old.code},
        after={"tier": new.code, "until": until, "note": note},
    )
    return row


@dataclass(frozen=True)
class Evaluation:
    outcome: str
    """``kept``, ``upgraded``, ``at_risk``, ``downgraded``, ``manual_held`` or ``manual_expired``."""
    tier: str


def evaluate_member(session: Session, actor: Actor, member_id: uuid.UUID, at: datetime) -> Evaluation:
    """The monthly evaluation of one member as of ``at`` (idempotent for the same ``at``)."""
    return evaluate_batch(session, actor, [member_id], at)[member_id]


def metric_values(session: Session, member_ids: Sequence[uuid.UUID], at: datetime) -> dict[uuid.UUID, int]:
    """``metric_value`` for many members in one query."""
    prog = program(session)
    column = getattr(TierActivity, prog.metric)
    query = (
        select(TierActivity.member_id, func.coalesce(func.sum(column), 0))
        .where(TierActivity.member_id.in_(member_ids), TierActivity.occurred_at <= at)
        .group_by(TierActivity.member_id)
    )
    start = window_start(prog.window, at)
    if start is not None:
        query = query.where(TierActivity.occurred_at > start)
    return {member_id: int(total) for member_id, total in session.execute(query)}


def evaluate_batch(
    session: Session, actor: Actor, member_ids: Sequence[uuid.UUID], at: datetime
) -> dict[uuid.UUID, Evaluation]:
    """The monthly evaluation of many members as of ``at``: a grace period first, then one level down
    at a time. A tier reached after ``at`` is left alone (the job evaluates as of a month boundary
    and may run after it)."""
    prog = program(session)
    all_levels = levels(session)
    by_code = {candidate.code: candidate for candidate in all_levels}
    rows = {
        row.member_id: row
        for row in session.scalars(select(MemberTier).where(MemberTier.member_id.in_(member_ids)))
    }
    values = metric_values(session, member_ids, at)
    results: dict[uuid.UUID, Evaluation] = {}
    for member_id in member_ids:
        row = rows.get(member_id)
        old = by_code[row.tier_code] if row is not None else all_levels[0]
        value = values.get(member_id, 0)
        target = qualifying_level(all_levels, value)
        results[member_id] = _evaluate(
            session, actor, member_id, row, old, target, value, all_levels, prog, at
        )
    return results


def _evaluate(
    session: Session,
    actor: Actor,
    member_id: uuid.UUID,
    row: MemberTier | None,
    old: TierLevel,
    target: TierLevel,
    value: int,
    all_levels: Sequence[TierLevel],
    prog: TierProgram,
    at: datetime,
) -> Evaluation:
    if row is not None and row.manual_until is not None:
        if row.manual_until > at:
            return Evaluation("manual_held", old.code)
        _change(
            session, member_id, row, old, target, reason="manual_expired", actor=actor, at=at, value=value
        )
        return Evaluation("manual_expired", target.code)
    if target.rank > old.rank:
        _change(session, member_id, row, old, target, reason="upgrade", actor=actor, at=at, value=value)
        return Evaluation("upgraded", target.code)
    if row is None or target.rank == old.rank:
        if row is not None:
            row.grace_until = None
        return Evaluation("kept", old.code)
    if row.since > at:
        return Evaluation("kept", old.code)  # reached after the moment evaluated: next month's turn
    if row.grace_until is None:
        row.grace_until = add_months(at, prog.grace_months)
        row.updated_at = at
        publish(
            session,
            "tier.at_risk",
            {
                "member_id": str(member_id),
                "tier": old.code,
                "grace_until": row.grace_until.isoformat(),
                "needed": old.threshold - value,
            },
            dedupe_key=f"tier.at_risk:{member_id}:{row.grace_until.isoformat()}",
        )
        return Evaluation("at_risk", old.code)
    if row.grace_until > at:
        return Evaluation("at_risk", old.code)
    lower = next(candidate for candidate in reversed(all_levels) if candidate.rank < old.rank)
    _change(session, member_id, row, old, lower, reason="downgrade", actor=actor, at=at, value=value)
    return Evaluation("downgraded", lower.code)


def members_to_evaluate(session: Session, after: uuid.UUID | None, limit: int) -> list[uuid.UUID]:
    """Members above the entry tier (those below can only go up, which happens at once)."""
    query = select(MemberTier.member_id).order_by(MemberTier.member_id).limit(limit)
    if after is not None:
        query = query.where(MemberTier.member_id > after)
    return list(session.scalars(query))


@dataclass(frozen=True)
class Progress:
    tier: TierLevel
    projected: TierLevel
    """The tier the current value qualifies for (what the next evaluation moves towards)."""
    value: int
    next_tier: TierLevel | None
    to_next: int | None
    """How much more of the metric reaches the next tier."""
    to_keep: int
    """How much more keeps the current tier at the next evaluation (0 when it is kept already)."""
    grace_until: datetime | None
    manual_until: datetime | None


def progress(session: Session, member_id: uuid.UUID, at: datetime) -> Progress:
    all_levels = levels(session)
    row = session.get(MemberTier, member_id)
    tier = level(session, row.tier_code) if row is not None else all_levels[0]
    value = metric_value(session, member_id, at)
    higher = [candidate for candidate in all_levels if candidate.rank > tier.rank]
    next_tier = higher[0] if higher else None
    return Progress(
        tier=tier,
        projected=qualifying_level(all_levels, value),
        value=value,
        next_tier=next_tier,
        to_next=max(0, next_tier.threshold - value) if next_tier else None,
        to_keep=max(0, tier.threshold - value),
        grace_until=row.grace_until if row else None,
        manual_until=row.manual_until if row else None,
    )


def history(session: Session, member_id: uuid.UUID) -> Sequence[TierChange]:
    return session.scalars(
        select(TierChange).where(TierChange.member_id == member_id).order_by(TierChange.occurred_at.desc())
    ).all()


def never_expiring(member_id: Any) -> ColumnElement[bool]:
    """A condition on a member id column: the member's tier keeps their points from expiring."""
    return exists(
        select(MemberTier.member_id)
        .join(TierLevel, TierLevel.code == MemberTier.tier_code)
        .where(MemberTier.member_id == member_id, TierLevel.points_never_expire.is_(True))
    )


def points_never_expire(session: Session, member_id: uuid.UUID) -> bool:
    """Whether the member's tier has the never-expire benefit (one query, no row for the entry tier)."""
    return bool(session.scalar(select(never_expiring(member_id))))


def thresholds(session: Session) -> dict[str, int]:
    """Each level's qualifying amount, in the program metric's units."""
    return {candidate.code: candidate.threshold for candidate in levels(session)}


def _check_thresholds(all_levels: Sequence[TierLevel], given: dict[str, int]) -> dict[str, int]:
    """The thresholds after applying ``given``: known codes, the entry level at 0, rising with rank."""
    unknown = sorted(set(given) - {candidate.code for candidate in all_levels})
    if unknown:
        raise InvalidTierChange(f"No tier has the code {unknown[0]!r}.", field="thresholds")
    result = {candidate.code: given.get(candidate.code, candidate.threshold) for candidate in all_levels}
    ordered = [result[candidate.code] for candidate in all_levels]
    if ordered[0] != 0:
        raise InvalidTierChange("The entry tier's threshold is 0.", field="thresholds")
    if any(lower >= higher for lower, higher in pairwise(ordered)):
        raise InvalidTierChange("Each tier's threshold is above the one below it.", field="thresholds")
    return result


def configure(
    session: Session,
    actor: Actor,
    *,
    metric: str | None = None,
    window: str | None = None,
    grace_months: int | None = None,
    thresholds: dict[str, int] | None = None,
) -> TierProgram:
    """Change how members qualify (audited): the metric, the window, the grace period and each level's
    threshold. Thresholds are in the metric's units, so a new metric needs new thresholds. Upgrades
    follow at a member's next qualifying event, downgrades at the next evaluation."""
    prog = program(session)
    all_levels = levels(session)
    before = {
        "metric": prog.metric,
        "window": prog.window,
        "grace_months": prog.grace_months,
        "thresholds": {candidate.code: candidate.threshold for candidate in all_levels},
    }
    if metric is not None and metric != prog.metric:
        if metric not in METRICS:
            raise InvalidTierChange(f"The metric is one of {', '.join(METRICS)}.", field="metric")
        if thresholds is None:
            raise InvalidTierChange(
                "Thresholds are in the metric's units: give them with a new metric.", field="thresholds"
            )
        prog.metric = metric
    if window is not None:
        if window not in WINDOWS:
            raise InvalidTierChange(f"The window is one of {', '.join(WINDOWS)}.", field="window")
        prog.window = window
    if grace_months is not None:
        if not 0 <= grace_months <= 24:
            raise InvalidTierChange("The grace period is 0 to 24 months.", field="grace_months")
        prog.grace_months = grace_months
    if thresholds is not None:
        for candidate, value in zip(
            all_levels, _check_thresholds(all_levels, thresholds).values(), strict=True
        ):
            candidate.threshold = value
    after = {
        "metric": prog.metric,
        "window": prog.window,
        "grace_months": prog.grace_months,
        "thresholds": {candidate.code: candidate.threshold for candidate in all_levels},
    }
    if after == before:
        return prog
    prog.updated_at = utcnow()
    audit.record(session, actor, "tier.program_update", "tier_program", prog.code, before=before, after=after)
    return prog


def reconsider_after_refund(
    session: Session, actor: Actor, member_id: uuid.UUID, *, sale_recorded_at: datetime, at: datetime
) -> TierLevel:
    """A refund takes back an upgrade its sale brought: when the member's tier came from an upgrade
    recorded since that sale and the qualifying value no longer reaches it, they return to the tier
    the value reaches, never below the tier they held before that upgrade (reason ``refund``).
    Anything else waits for the monthly evaluation, as downgrades do (T3)."""
    row = session.get(MemberTier, member_id)
    if row is None or row.manual_until is not None:
        return current(session, member_id)
    last = session.scalar(
        select(TierChange)
        .where(TierChange.member_id == member_id)
        .order_by(TierChange.occurred_at.desc(), TierChange.id.desc())
        .limit(1)
    )
    held = level(session, row.tier_code)
    if last is None or last.reason != "upgrade" or last.occurred_at < sale_recorded_at:
        return held
    value = metric_value(session, member_id, at)
    if value >= held.threshold:
        return held
    before = level(session, last.from_code)
    target = qualifying_level(levels(session), value)
    if target.rank < before.rank:
        target = before
    if target.rank >= held.rank:
        return held
    _change(session, member_id, row, held, target, reason="refund", actor=actor, at=at, value=value)
    return target


def first_fueling(session: Session, member_id: uuid.UUID) -> tuple[str, datetime] | None:
    """The source key (``sale:<id>``) and moment of the member's first counted sale with fuel."""
    row = session.execute(
        select(TierActivity.source_key, TierActivity.occurred_at)
        .where(
            TierActivity.member_id == member_id,
            TierActivity.liters_centi > 0,
            TierActivity.source_key.like("sale:%"),
        )
        .order_by(TierActivity.occurred_at)
        .limit(1)
    ).first()
    return (row.source_key, row.occurred_at) if row is not None else None
